"""Small helpers every view uses: the JSON body, the caller (a unit, or the finance department),
the client's address."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint
from chalice.app import Request

from chalicelib.bootstrap import Deps, deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Forbidden, Unauthenticated, ValidationFailed
from chalicelib.domain.json_text import parse_json
from chalicelib.domain.units import Unit, UnitKind, hash_api_key

# Content types a JSON route accepts, so that a wrong one is answered by our own 400 (in the
# contract's error shape) rather than by the framework's 415.
ANY_BODY = ["application/json", "text/plain", "application/x-www-form-urlencoded",
            "multipart/form-data", "application/octet-stream", "text/json"]


def raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def query_param(request: Request, name: str) -> str | None:
    params: Any = request.query_params or {}
    value = params.get(name)
    return str(value) if value else None


def json_body(request: Request) -> Any:
    raw = raw_body(request)
    if not raw.strip():
        raise ValidationFailed("请求体不能为空", {"body": "a JSON body is required"})
    try:
        return parse_json(raw, "body")
    except ValidationFailed as exc:  # too long a number, too deep, not UTF-8, not JSON
        raise ValidationFailed("请求体不是有效的 JSON", exc.fields) from None


def header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)  # Chalice headers are case-insensitive
    return value if value else None


def cookie(request: Request, name: str) -> str | None:
    """The value of cookie ``name`` in the request, if sent."""
    for part in (header(request, "cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def bearer_key(request: Request) -> str:
    """The API key of ``Authorization: Bearer <key>``; ``Unauthenticated`` when there is none."""
    auth = header(request, "authorization") or ""
    scheme, _, key = auth.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("缺少 API 密钥（Authorization: Bearer <api_key>）",
                              code="missing_credential")
    return key.strip()


def caller(request: Request, deps: Deps, kind: UnitKind) -> Unit:
    """The unit whose API key authorises this request; it must be of ``kind``."""
    key_hash = hash_api_key(bearer_key(request))
    unit = deps.units.by_api_key_hash(key_hash)
    if unit is None:
        if _finance_key(deps, key_hash) is not None:  # read only when no unit holds the key
            raise Forbidden("财政部门密钥不能代替单位调用此接口", code="wrong_kind_of_unit")
        raise Unauthenticated("API 密钥无效", code="unknown_credential")
    if unit.kind is not kind:
        raise Forbidden("该 API 密钥不能用于此接口", code="wrong_kind_of_unit")
    return unit


def finance_caller(request: Request, deps: Deps) -> FinanceKey:
    """The finance key that authorises this request (CONTRACT v2: ``/v1/admin``).

    No key, or one nobody holds (or a revoked one): ``Unauthenticated``. A collecting or
    reimbursing unit's key: ``Forbidden``, whatever the route.
    """
    key_hash = hash_api_key(bearer_key(request))
    finance = _finance_key(deps, key_hash)
    if finance is not None:
        return finance
    if deps.units.by_api_key_hash(key_hash) is not None:
        raise Forbidden("单位的 API 密钥不能调用财政部门接口", code="not_a_finance_key")
    raise Unauthenticated("API 密钥无效", code="unknown_credential")


def _finance_key(deps: Deps, key_hash: str) -> FinanceKey | None:
    """The active finance key with this hash (a revoked key is as good as unknown)."""
    key = deps.finance_keys.get(key_hash)
    return key if key is not None and key.active else None


View = Callable[..., Any]


def authenticated(bp: Blueprint, kind: UnitKind) -> Callable[[View], View]:
    """Route decorator: the view is called with the calling unit (of ``kind``) first.

    The credential is checked before anything else the view does (before its body is read),
    and a refusal is raised as ``Unauthenticated`` or ``Forbidden``, so it goes inside
    ``@handles_errors``::

        @bp.route("/v1/notes/{payment_code}", methods=["GET"])
        @handles_errors
        @authenticated(bp, UnitKind.COLLECTING)
        def get_note(unit: Unit, payment_code: str) -> dict: ...
    """
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(caller(bp.current_request, deps(), kind), *args, **kwargs)
        wrapper.caller_kind = kind  # type: ignore[attr-defined]  # tests find unit routes by it
        return wrapper
    return decorate


FINANCE = "finance"  # the ``caller_kind`` of finance routes


def finance_only(bp: Blueprint) -> Callable[[View], View]:
    """Route decorator: the view is called with the calling ``FinanceKey`` first.

    As ``authenticated``: the credential is checked before anything else the view does, and
    the decorator goes inside ``@handles_errors``::

        @bp.route("/v1/admin/units/{unit_code}", methods=["GET"])
        @handles_errors
        @finance_only(bp)
        def get_unit(finance: FinanceKey, unit_code: str) -> dict: ...

    The view still decides what of the key's region it may touch (``FinanceKey.covers``).
    """
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(finance_caller(bp.current_request, deps()), *args, **kwargs)
        wrapper.caller_kind = FINANCE  # type: ignore[attr-defined]
        return wrapper
    return decorate


COLLECTING_OR_FINANCE = "collecting|finance"  # the ``caller_kind`` of routes open to both


def collecting_or_finance(bp: Blueprint) -> Callable[[View], View]:
    """Route decorator for what a collecting unit sees of its own and the finance department
    sees of every unit (``GET /v1/notes``): the view is called with the ``Unit`` or the
    ``FinanceKey`` first. A reimbursing unit's key is refused 403; none or an unknown one 401.
    """
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            d = deps()
            key_hash = hash_api_key(bearer_key(bp.current_request))
            who: Unit | FinanceKey | None = d.units.by_api_key_hash(key_hash)
            if who is None:
                who = _finance_key(d, key_hash)
            if who is None:
                raise Unauthenticated("API 密钥无效", code="unknown_credential")
            if isinstance(who, Unit) and who.kind is not UnitKind.COLLECTING:
                raise Forbidden("该 API 密钥不能用于此接口", code="wrong_kind_of_unit")
            return view(who, *args, **kwargs)
        wrapper.caller_kind = COLLECTING_OR_FINANCE  # type: ignore[attr-defined]
        return wrapper
    return decorate


def client_address(request: Request) -> str:
    """The caller's address for rate limits: API Gateway's ``sourceIp`` (the peer it saw).

    ``X-Forwarded-For`` is used only as a fallback, and then its LAST entry (the one our own
    proxy appended): the first entries are whatever the client chose to send.
    """
    identity = (request.context or {}).get("identity") or {}
    source = str(identity.get("sourceIp") or "")
    if source and source not in _LOOPBACK:
        return source
    # Locally (Chalice's gateway reports every caller as 127.0.0.1), trust the proxy's entry.
    forwarded = header(request, "x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return source or "unknown"


_LOOPBACK = ("127.0.0.1", "::1")
