"""Errors become HTTP statuses here, in one table, and nowhere else.

``STATUS`` names every error the application raises on purpose (``chalicelib.domain.errors``,
and ``SmsRejected`` in ``domain/sms.py``) with its status; a test fails when a class is
missing. Anything else a view lets escape is a bug: 500, logged with its trace, answered
without one. AWS failing (throttling, timeouts, 5xx) reaches this module already turned into
``ServiceUnavailable`` by the adapters' boundary (``adapters/aws.py``), so it is a 503.

Who chooses what:

- JSON views are wrapped in ``@handles_errors``, which answers the contract's error object
  (``error_response``). Chalice middleware does not see exceptions raised in views.
- Pages (``pages.py``, ``payer_pages.py``, ``verify_pages.py``) and the channels' callbacks
  (``callbacks.py``) choose only the body (a page, ``fail``, ``{"code": "FAIL"}``); its
  status is ``status_of(exc)``, for a channel ``status_of(exc, channel)``.
- ``CHANNEL_STATUS`` holds the one place a channel's convention differs: Alipay and UnionPay
  are answered 400 ``fail`` for a notification that fails verification (neither reads the
  status, only the body; their samples show 400).

Statuses of success (201 for a new note, 204 for WeChat's acknowledgement…) are each route's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.domain.errors import (
    BillNotReimbursable,
    BillNotVerified,
    BillReimbursed,
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    NoNumberRange,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    SignatureInvalid,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.domain.sms import SmsRejected
from chalicelib.domain.statements import StatementInvalid

log = logging.getLogger(__name__)

STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    ValidationFailed: 400,
    PayloadTooLarge: 413,
    Unauthenticated: 401,
    SignatureInvalid: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    IllegalTransition: 409,
    BillNotReimbursable: 409,
    BillReimbursed: 409,
    RateLimited: 429,
    ServiceUnavailable: 503,  # AWS or a channel failed us: the same request may succeed later
    NoNumberRange: 503,
    BillNotVerified: 503,
    SmsRejected: 503,
    StatementInvalid: 503,  # a channel's statement not as documented: fetched again later
}
UNEXPECTED = 500  # anything that is not a DomainError: a bug

CHANNEL_STATUS: dict[str, dict[type[DomainError], int]] = {
    "alipay": {SignatureInvalid: 400},
    "unionpay": {SignatureInvalid: 400},
}


def status_of(exc: BaseException, channel: str | None = None) -> int:
    """The HTTP status of ``exc``: its class's row (for ``channel``, that channel's row first),
    else its nearest mapped base class; 500 for anything that is not a ``DomainError``."""
    if not isinstance(exc, DomainError):
        return UNEXPECTED
    rows = CHANNEL_STATUS.get(channel or "", {})
    for kind in type(exc).__mro__:
        if kind in rows:
            return rows[kind]
        if kind in STATUS:
            return STATUS[kind]  # type: ignore[index]
    return STATUS[DomainError]  # pragma: no cover - DomainError is in every exception's MRO


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(exc: DomainError) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    body = error_body(exc.code, exc.message, getattr(exc, "fields", None))
    body["error"].update(exc.details)
    return Response(body=body, status_code=status_of(exc), headers=headers)


def handles_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ServiceUnavailable as exc:
            log.warning("unavailable in %s: %s (%r)", view.__name__, exc.message, exc.__cause__)
            return error_response(exc)
        except DomainError as exc:
            return error_response(exc)
        except Exception:
            log.exception("unexpected error in %s", view.__name__)
            return Response(body=error_body("internal_error", "服务暂时不可用，请稍后重试"),
                            status_code=UNEXPECTED, headers={"Content-Type": "application/json"})
    return wrapper
