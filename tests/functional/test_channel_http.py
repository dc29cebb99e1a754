"""The transport to the channels' servers maps every network failure to ServiceUnavailable
(and hands HTTP error statuses to the client, which reads the channel's error body)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.adapters.channel_http import HttpReply, UrllibTransport
from chalicelib.domain.errors import ServiceUnavailable


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = 502 if self.path == "/fail" else 200
        answer = b'{"code":"SYSTEM_ERROR"}' if status == 502 else body[::-1]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Wechatpay-Nonce", "N1")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:  # the client gave up waiting (/slow)
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_answer_comes_back_with_lower_case_header_names(server):
    reply = UrllibTransport(2)("POST", f"{server}/ok", {"Content-Type": "text/plain"}, b"abc")
    assert reply == HttpReply(200, reply.headers, b"cba")
    assert reply.header("Wechatpay-Nonce") == "N1" and "wechatpay-nonce" in reply.headers


def test_an_http_error_status_is_an_answer_with_its_body(server):
    reply = UrllibTransport(2)("POST", f"{server}/fail", {}, b"")
    assert (reply.status, reply.body) == (502, b'{"code":"SYSTEM_ERROR"}')


@pytest.mark.parametrize(("path", "why"), [("/slow", "within"), ("/drop", None)])
def test_a_timeout_or_a_dropped_connection_is_service_unavailable(server, path, why):
    with pytest.raises(ServiceUnavailable, match=why):
        UrllibTransport(0.5)("POST", f"{server}{path}", {}, b"x")


def test_a_refused_connection_or_unknown_host_is_service_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    with pytest.raises(ServiceUnavailable, match="unreachable"):
        UrllibTransport(1)("GET", f"http://127.0.0.1:{port}/", {}, None)
    with pytest.raises(ServiceUnavailable, match="unreachable"):
        UrllibTransport(1)("GET", "http://channel.invalid/", {}, None)
