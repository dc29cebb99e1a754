"""Chalice's local gateway, answering as production's API Gateway is configured to.

Chalice's ``LocalGateway`` answers a path no route serves with 403 ``{"message": "Missing
Authentication Token"}``; production's gateway responses (``infra/resources.json``) answer 404 in
the contract's shape (a page for page paths): ``ContractGateway`` does the same locally, for the
local server and for ``chalice.test.Client`` alike (``ContractClient``).

The local server (``serve_app``) also bounds what one connection may cost, as API Gateway does:
a socket that stays silent for ``BODY_TIMEOUT_SECONDS`` (a body that never fully arrives, an
idle keep-alive) is closed and its thread freed; a ``Content-Length`` that is not a number is a
400 and one above ``MAX_BODY_BYTES`` (API Gateway's 10 MB) a 413, before anything is read.
It serves requests in threads, so the app's ``current_request`` (a plain attribute in Chalice,
one request per Lambda instance) is made per thread: otherwise a view reads the body, headers and
credential of whichever request started last (``per_thread_requests``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    ThreadedHTTPServer,
)
from chalice.test import Client, TestHTTPClient

from devstack.request_stats import spent

BODY_TIMEOUT_SECONDS = 15.0
MAX_BODY_BYTES = 10 * 1024 * 1024
_CODE_IN_PATH = re.compile(r"[0-9][0-9A-Za-z_-]{5,}")


class RouteNotFound(LocalGatewayException):
    """Raised for a path no route serves; answered 404 in the contract's shape."""

    CODE = 404


class _BadLength(LocalGatewayException):
    """Raised for a Content-Length that is not a number of bytes."""

    CODE = 400


class _TooLarge(LocalGatewayException):
    """Raised for a Content-Length above ``MAX_BODY_BYTES``."""

    CODE = 413


class ContractGateway(LocalGateway):
    """``LocalGateway`` whose unknown routes answer like production's gateway responses."""

    def _generate_lambda_event(self, method: str, path: str, headers: Any,
                               body: bytes | None) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # Chalice's RouteMatcher: "No matching route found"
            from chalicelib.api.refusals import unknown_route

            _, answer_headers, answer = unknown_route(path, method, headers)
            raise RouteNotFound(answer_headers, answer) from None


def _contract_error(code: str, message: str, fields: dict[str, str]) -> bytes:
    from chalicelib.api.errors import error_body

    return json.dumps(error_body(code, message, fields), ensure_ascii=False).encode("utf-8")


class ContractRequestHandler(ChaliceRequestHandler):
    """Chalice's request handler with ``ContractGateway``, a socket timeout and a body bound."""

    timeout = BODY_TIMEOUT_SECONDS  # StreamRequestHandler.setup: socket.settimeout(timeout)

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any,
                 config: Config) -> None:
        self.local_gateway = ContractGateway(app_object, config)
        # BaseHTTPRequestHandler handles the request inside __init__: the gateway comes first.
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _checked_handle(self) -> None:
        # The thread is named after the request it handles (codes in the path as {n}), so
        # profiles and devstack/request_stats.py can tell what a thread's work was for.
        threading.current_thread().name = "app {} {}".format(
            self.command, _CODE_IN_PATH.sub("{n}", self.path.split("?", 1)[0]))
        length = self.headers.get("content-length", "0").strip()
        if not length.isascii() or not length.isdigit():
            self.close_connection = True  # the body's end is unknown: nothing more can be read
            self._send_error_response(_BadLength(
                {"Content-Type": "application/json", "Connection": "close"},
                _contract_error("invalid_content_length", "Content-Length 不正确",
                                {"Content-Length": "must be a number of bytes"})))
            return
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_error_response(_TooLarge(
                {"Content-Type": "application/json", "Connection": "close"},
                _contract_error("payload_too_large", "请求体过大",
                                {"Content-Length": f"at most {MAX_BODY_BYTES} bytes"})))
            return
        started = time.perf_counter()
        try:
            self._generic_handle()
        finally:  # benchmarks: how long the app took, by route ($STACK_STATS)
            spent(f"{threading.current_thread().name} handled", time.perf_counter() - started)

    # http.server dispatches to do_<METHOD>: every method gets the checks first.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _checked_handle  # noqa: N815


def per_thread_requests(app: Any) -> None:
    """Make ``app.current_request`` and ``app.lambda_context`` one per thread (idempotent).

    Chalice sets both on the app object for each HTTP event and every ``Blueprint`` reads them
    back from it; on Lambda an instance handles one request at a time, but the local server
    handles each connection in its own thread. The app's class becomes a subclass whose two
    attributes live in a ``threading.local``: each thread sees the request it is handling.
    """
    if getattr(type(app), "_per_thread_requests", False):
        return
    here = threading.local()

    def attribute(name: str) -> property:
        return property(lambda _: getattr(here, name, None),
                        lambda _, value: setattr(here, name, value))

    app.__class__ = type(f"PerThread{type(app).__name__}", (type(app),), {
        "current_request": attribute("current_request"),
        "lambda_context": attribute("lambda_context"), "_per_thread_requests": True})
    for name in ("current_request", "lambda_context"):
        vars(app).pop(name, None)


def serve_app(app: Any, host: str, port: int, *, stage: str = "local",
              body_timeout: float = BODY_TIMEOUT_SECONDS) -> LocalDevServer:
    """Serve ``app`` on ``host:port`` (0: a free port, see ``server.server.server_address``)
    in a daemon thread, with ``ContractRequestHandler`` and requests per thread
    (:func:`per_thread_requests`); stop with ``shutdown()``."""
    per_thread_requests(app)
    # A channel may send many notifications at once; the default backlog of 5 resets them.
    server_cls = type("Server", (ThreadedHTTPServer,), {"request_queue_size": 128})
    handler = type("Handler", (ContractRequestHandler,), {"timeout": body_timeout})
    config = Config.create(chalice_stage=stage, app_name="fiscal-bills",
                           environment_variables={})
    server = LocalDevServer(app, config, host, port, handler_cls=handler,
                            server_cls=server_cls)
    threading.Thread(target=server.server.serve_forever, daemon=True, name="app").start()
    return server


class ContractClient(Client):
    """``chalice.test.Client`` whose HTTP requests go through ``ContractGateway``."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            client = TestHTTPClient(self._app, self._chalice_config)
            client._local_gateway = ContractGateway(self._app, self._chalice_config)  # noqa: SLF001
            self._http_client = client
        return self._http_client
