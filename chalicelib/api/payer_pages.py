"""Payer pages without JavaScript: look a note up by typing, and "my bills" by mobile number.

``/lookup``: payment code + payer name → the note unmasked (a typo in the code gets the check
digit's message; a wrong name a neutral 未找到). ``/my-bills``: mobile number → texted code →
every bill issued to that number, newest first, for 15 minutes (an HttpOnly cookie). Forms
are plain POSTs; every answer is a whole page (400/404/429/503 with the reason in Chinese; the
status from ``api/errors.py``).
The my-bills forms (request a code, sign in, sign out) carry a CSRF token (``csrf``): a post
without it is a 403 page and changes nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib.api import csrf
from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.http import client_address, header, raw_body
from chalicelib.api.pages import BILL_STATUS, render
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import (
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.domain.masking import mask_phone
from chalicelib.services import my_bills as my_bills_service
from chalicelib.services import note_lookup, note_pages
from chalicelib.services.phones import cn_mobile

bp = Blueprint(__name__)

FORM = ["application/x-www-form-urlencoded"]
COOKIE = "payer_session"
COOKIE_PATH = "/my-bills"


def _form(*names: str) -> dict[str, str]:
    form = parse_qs(raw_body(bp.current_request).decode("utf-8", "replace"))
    return {name: (form.get(name) or [""])[0][:200] for name in names}


def _limited(response: Response, exc: RateLimited) -> Response:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# ---- lookup by typing ---------------------------------------------------------------------

def _lookup_page(status: int = 200, **context: Any) -> Response:
    context.setdefault("form", {"payment_code": "", "payer_name": ""})
    return render("lookup.html", status, per_day=note_lookup.LOOKUPS_PER_NOTE_PER_DAY, **context)


@bp.route("/lookup", methods=["GET"])
@handles_errors
def lookup_form() -> Response:
    return _lookup_page()


@bp.route("/lookup", methods=["POST"], content_types=FORM)
@handles_errors
def lookup_submit() -> Response:
    d = deps()
    form = _form("payment_code", "payer_name")
    try:
        note = note_lookup.lookup_note(d, form["payment_code"], form["payer_name"],
                                       client_address(bp.current_request))
    except ValidationFailed as exc:
        problems = exc.fields or {"payment_code": exc.message}
        if "payment_code" in problems:  # the check digit's own message, in Chinese
            problems["payment_code"] = exc.message
        return _lookup_page(status_of(exc), form=form, problems=problems)
    except NotFound as exc:
        return _lookup_page(status_of(exc), form=form, not_found=exc.message)
    except RateLimited as exc:
        return _limited(_lookup_page(status_of(exc), form=form, limited=exc.message), exc)
    return _lookup_page(**note_pages.lookup_page(d, note))


# ---- my bills -----------------------------------------------------------------------------

def _cookie(value: str, max_age: int) -> str:
    secure = "; Secure" if deps().settings.public_base_url.startswith("https://") else ""
    return (f"{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; "
            f"SameSite=Lax{secure}")


def _session_token() -> str | None:
    for part in (header(bp.current_request, "cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def _my_page(status: int = 200, **context: Any) -> Response:
    """A my-bills page; every form in it carries the CSRF token (its cookie set when new)."""
    d = deps()
    context.setdefault("step", "phone")
    token, fresh = csrf.token_for(d, bp.current_request)
    response = render("my_bills.html", status, status_labels=BILL_STATUS,
                      code_minutes=my_bills_service.CODE_MINUTES,
                      session_minutes=my_bills_service.SESSION_MINUTES, csrf_token=token,
                      **context)
    if fresh:
        _add_cookie(response, csrf.set_cookie(d, token, COOKIE_PATH))
    return response


def _add_cookie(response: Response, cookie: str) -> None:
    earlier = response.headers.get("Set-Cookie")
    if earlier is None:
        response.headers["Set-Cookie"] = cookie
    else:
        response.headers["Set-Cookie"] = [*(earlier if isinstance(earlier, list) else [earlier]),
                                          cookie]


def _code_step(status: int, phone: str, **context: Any) -> Response:
    return _my_page(status, step="code", phone=phone, masked=mask_phone(phone), **context)


@bp.route("/my-bills", methods=["GET"])
@handles_errors
def my_bills() -> Response:
    d = deps()
    token = _session_token()
    session = my_bills_service.read_session(d, token)
    if session is None:
        response = _my_page(expired=bool(token))
        if token:
            _add_cookie(response, _cookie("", 0))
        return response
    bills = my_bills_service.list_bills(d, session)
    return _my_page(step="list", bills=bills, masked=session.masked_phone)


@bp.route("/my-bills/code", methods=["POST"], content_types=FORM)
@handles_errors
def send_code() -> Response:
    d = deps()
    form = _form("phone", csrf.FIELD)
    if not csrf.accepted(d, bp.current_request, form[csrf.FIELD]):
        return csrf.refused()
    try:
        phone = my_bills_service.send_login_code(d, form["phone"],
                                                 client_address(bp.current_request))
    except ValidationFailed as exc:
        return _my_page(status_of(exc), form=form, problems=exc.fields)
    except RateLimited as exc:
        if exc.code == "code_sent_recently":
            return _limited(_code_step(status_of(exc), cn_mobile(form["phone"]) or "",
                                       notice=exc.message), exc)
        return _limited(_my_page(status_of(exc), form=form, limited=exc.message), exc)
    except ServiceUnavailable as exc:
        return _my_page(status_of(exc), form=form, limited="短信发送失败，请稍后再试")
    return _code_step(200, phone)


@bp.route("/my-bills/verify", methods=["POST"], content_types=FORM)
@handles_errors
def verify_code() -> Response:
    d = deps()
    form = _form("phone", "code", csrf.FIELD)
    if not csrf.accepted(d, bp.current_request, form[csrf.FIELD]):
        return csrf.refused()
    try:
        session = my_bills_service.verify_login_code(d, form["phone"], form["code"],
                                                     client_address(bp.current_request))
    except ValidationFailed as exc:
        if exc.code in ("code_missing", "code_expired"):
            return _my_page(status_of(exc), form=form, limited=exc.message)
        if "phone" in exc.fields:
            return _my_page(status_of(exc), form=form, problems=exc.fields)
        return _code_step(status_of(exc), cn_mobile(form["phone"]) or "", problems=exc.fields)
    except RateLimited as exc:
        return _limited(_my_page(status_of(exc), form=form, limited=exc.message), exc)
    token = my_bills_service.session_token(d, session)
    return Response(body="", status_code=303, headers={
        "Location": COOKIE_PATH, "Cache-Control": "no-store",
        "Set-Cookie": _cookie(token, my_bills_service.SESSION_MINUTES * 60)})


@bp.route("/my-bills/logout", methods=["POST"], content_types=FORM)
@handles_errors
def logout() -> Response:
    d = deps()
    if not csrf.accepted(d, bp.current_request, _form(csrf.FIELD)[csrf.FIELD]):
        return csrf.refused()
    return Response(body="", status_code=303, headers={
        "Location": COOKIE_PATH, "Cache-Control": "no-store", "Set-Cookie": _cookie("", 0)})
