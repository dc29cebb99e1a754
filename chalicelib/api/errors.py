"""Errors become HTTP here, in one table, and nowhere else.

Chalice middleware does not see exceptions raised in views, so every view is wrapped in
``@handles_errors``. Anything unexpected is logged with its trace and answered 500 without one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.adapters.aws import is_unavailable
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    SignatureInvalid,
    Unauthenticated,
    ValidationFailed,
)

log = logging.getLogger(__name__)

STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (PayloadTooLarge, 413),
    (ValidationFailed, 400),
    (Unauthenticated, 401),
    (SignatureInvalid, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
    (ServiceUnavailable, 503),
    (DomainError, 400),
)


def status_of(exc: DomainError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400  # pragma: no cover - DomainError is last in the table


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
        except DomainError as exc:
            return error_response(exc)
        except Exception as exc:
            if is_unavailable(exc):  # AWS throttled, failed or timed out: worth a retry
                log.warning("AWS unavailable in %s: %s", view.__name__, exc)
                return error_response(ServiceUnavailable("服务暂时不可用，请稍后重试"))
            log.exception("unexpected error in %s", view.__name__)
            return Response(body=error_body("internal_error", "服务暂时不可用，请稍后重试"),
                            status_code=500, headers={"Content-Type": "application/json"})
    return wrapper
