"""The local server (Chalice's, run in-process as ``make run`` runs it) over a raw socket.

A request whose body never fully arrives must not hold a server thread forever; a broken
Content-Length is a 400 and an unknown route a 404, both in the contract's shape.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from devstack.gateway import serve_app
from tests.functional import support  # noqa: F401 - imports the channel adapters in order


@pytest.fixture
def server(world):
    import app as application

    served = serve_app(application.app, "127.0.0.1", 0, stage="test", body_timeout=1.0)
    yield served.server.server_address[1]
    served.shutdown()
    served.server.server_close()


def _exchange(port: int, raw: bytes, wait: float = 10.0) -> bytes:
    """Send ``raw``, then read until the server closes the connection (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def _app_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("Thread-"))


def test_a_body_that_never_fully_arrives_is_timed_out_and_frees_its_thread(server):
    before = _app_threads()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"POST /v1/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"payer\":")
        assert sock.recv(65536) == b""  # closed by the server, not by our 10 s timeout
    assert time.monotonic() - started < 8
    deadline = time.monotonic() + 5
    while _app_threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _app_threads() <= before
    # The server still answers.
    answer = _exchange(server, b"GET /v1/public/keys HTTP/1.1\r\nHost: x\r\nConnection: close"
                               b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b"\xef\xbc\x91"])
def test_a_content_length_that_is_not_a_number_is_a_400_in_the_contracts_shape(server, length):
    answer = _exchange(server, b"POST /v1/notes HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
                       + b"\r\n\r\n{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"]["code"] == "invalid_content_length"


def test_a_body_larger_than_api_gateway_takes_is_a_413_before_it_is_read(server):
    answer = _exchange(server, b"POST /v1/notes HTTP/1.1\r\nHost: x\r\nContent-Length: "
                               b"99999999999\r\n\r\n{")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_an_unknown_route_is_a_404_in_the_contracts_shape_over_http(server):
    answer = _exchange(server, b"GET /v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close"
                               b"\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404")
    assert json.loads(body)["error"]["code"] == "route_not_found"


def test_requests_handled_at_the_same_time_each_read_their_own_body_and_headers():
    from chalice import Chalice

    echo = Chalice(app_name="echo")
    both_inside = threading.Barrier(2, timeout=10)  # each view reads only once both have begun

    @echo.route("/echo", methods=["POST"])
    def answer() -> dict:
        both_inside.wait()
        request = echo.current_request
        return {"body": request.json_body, "caller": request.headers.get("x-caller")}

    served = serve_app(echo, "127.0.0.1", 0, stage="test")
    port = served.server.server_address[1]
    answers: dict[str, bytes] = {}

    def post(who: str) -> None:
        body = json.dumps({"who": who}).encode()
        answers[who] = _exchange(port, b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                       b"Content-Type: application/json\r\nX-Caller: " +
                                 who.encode() + b"\r\nContent-Length: " +
                                 str(len(body)).encode() + b"\r\n\r\n" + body)

    try:
        callers = [threading.Thread(target=post, args=(who,)) for who in ("alice", "bob")]
        for t in callers:
            t.start()
        for t in callers:
            t.join(timeout=15)
    finally:
        served.shutdown()
        served.server.server_close()
    for who in ("alice", "bob"):
        status, _, body = answers[who].partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 200"), answers[who]
        assert json.loads(body) == {"body": {"who": who}, "caller": who}
