"""HTTP to the payment channels' servers: one transport, and the one place its errors become ours.

    urllib.error.HTTPError           → an ``HttpReply`` with its status (channels answer 4xx with
                                       a body the client reads; 5xx and 429 are for the client to
                                       turn into ``ServiceUnavailable``)
    urllib.error.URLError            ┐
    TimeoutError / socket.timeout    │
    ConnectionError / OSError        ├→ ServiceUnavailable("<host> …: <why>")
    http.client.HTTPException        ┘

The channel clients (``wechatpay.api``, ``alipay.api``, ``unionpay.api``) take any callable
``transport(method, url, headers, body) -> HttpReply``: ``UrllibTransport`` in production, the
local channel simulator called in-process in tests.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from chalicelib.domain.errors import ServiceUnavailable

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "fiscal-bills/1.0 (+urllib)"


@dataclass(frozen=True)
class HttpReply:
    """A channel's answer: status, headers with lower-case names, the raw body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Transport(Protocol):
    def __call__(self, method: str, url: str, headers: Mapping[str, str],
                 body: bytes | None) -> HttpReply: ...


def _lower(headers: object) -> dict[str, str]:
    items = headers.items() if hasattr(headers, "items") else []  # type: ignore[union-attr]
    return {str(k).lower(): str(v) for k, v in items}


class UrllibTransport:
    """``urllib.request`` with a timeout; network failures raise ``ServiceUnavailable``."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def __call__(self, method: str, url: str, headers: Mapping[str, str],
                 body: bytes | None) -> HttpReply:
        host = urlsplit(url).netloc or url
        if not url.startswith(("https://", "http://")):  # never file: or a custom scheme
            raise ServiceUnavailable(f"{url[:40]!r} is not an http(s) URL")
        request = urllib.request.Request(url, data=body, method=method,  # noqa: S310
                                         headers={"User-Agent": USER_AGENT, **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return HttpReply(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            try:
                data = exc.read()
            except (OSError, http.client.HTTPException):
                data = b""
            return HttpReply(exc.code, _lower(exc.headers), data)
        except urllib.error.URLError as exc:
            raise ServiceUnavailable(f"{host} unreachable: {exc.reason}") from None
        except TimeoutError:
            raise ServiceUnavailable(f"{host} did not answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ServiceUnavailable(f"{host} failed: {type(exc).__name__}: {exc}") from None
