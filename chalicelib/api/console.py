"""The consoles' door: sign-in (``GET /console``, ``POST /console/sign-in``), sign-out, each
role's landing page, and what every console page shares (``console_view``, ``page``).

People sign in with username, password and a TOTP code on one form (CONTRACT v2 "People and
consoles"); what is checked, and how failures lock, is ``services/people.py``'s. The session is
the ``console_session`` cookie: a random token (the store keeps only its hash), ``HttpOnly;
SameSite=Strict; Path=/console``, ``Secure`` whenever the public address is HTTPS (as the
payers' cookies: locally the stack serves plain HTTP, where a Secure cookie would never come
back). Every form carries the CSRF token of ``api/csrf.py`` (its cookie scoped to /console), bound to
the session (its id); a post without it, or with a token of another session, is a 403 page
that changes nothing.

Pages are desktop, zh-CN, server-rendered, without scripts; a refused action (a role that may
not, another unit's thing) is a 403 page in Chinese, an expired session a 303 back to the form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib.api import console_claims, csrf, multipart
from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.http import client_address, cookie, query_param, raw_body
from chalicelib.api.pages import render
from chalicelib.bootstrap import deps
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import DomainError, Forbidden, RateLimited, Unauthenticated
from chalicelib.domain.people import ABSOLUTE_SECONDS, Role, Session
from chalicelib.services import people
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

COOKIE = "console_session"
PATH = "/console"
FORM = ["application/x-www-form-urlencoded"]
FINANCE_HOME = "/console/finance"
UNIT_HOME = "/console/unit"
FIELD_LIMIT = 1000  # characters of one form field

FINANCE_NAV = [(FINANCE_HOME, "概览"), ("/console/finance/units", "单位"),
               ("/console/finance/day", "当日业务"),
               ("/console/finance/reports/weekly", "每周一报"),
               ("/console/finance/bill-kinds", "票据模板"),
               ("/console/finance/people", "人员"),
               ("/console/finance/audit", "审计日志"), ("/console/me", "我的账号")]
UNIT_NAV = [(UNIT_HOME, "概览"), ("/console/unit/notes/new", "开具缴款书"),
            ("/console/unit/bills/new", "直接开票"),
            ("/console/unit/notes", "缴款书"), ("/console/unit/bills", "票据"),
            ("/console/unit/exceptions", "异常缴款"),
            ("/console/unit/people", "本单位人员"), ("/console/unit/audit", "审计日志"),
            ("/console/me", "我的账号")]
UNIT_ADMIN_ONLY = {"/console/unit/people", "/console/unit/audit"}


def home_of(role: Role) -> str:
    return FINANCE_HOME if role.is_finance else UNIT_HOME


def session_cookie(value: str, max_age: int) -> str:
    secure = "; Secure" if deps().settings.public_base_url.startswith("https://") else ""
    return f"{COOKIE}={value}; Path={PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"


def claims_cookie(value: str, max_age: int) -> str:
    """``console_claims`` (``api/console_claims``), as the session's cookie is set."""
    secure = "; Secure" if deps().settings.public_base_url.startswith("https://") else ""
    return (f"{console_claims.COOKIE}={value}; Path={PATH}; Max-Age={max_age}; HttpOnly; "
            f"SameSite=Strict{secure}")


def add_cookie(response: Response, value: str) -> Response:
    earlier = response.headers.get("Set-Cookie")
    if earlier is None:
        response.headers["Set-Cookie"] = value
    else:
        response.headers["Set-Cookie"] = [*(earlier if isinstance(earlier, list) else [earlier]),
                                          value]
    return response


def redirect(location: str, *cookies: str) -> Response:
    response = Response(body="", status_code=303,
                        headers={"Location": location, "Cache-Control": "no-store"})
    for value in cookies:
        add_cookie(response, value)
    return response


def form_fields(blueprint: Blueprint, *names: str) -> dict[str, str]:
    """The posted form's fields (each bounded), ``""`` for a missing one; a form that uploads
    a file (``multipart/form-data``) too, its text fields (``api/multipart``)."""
    request = blueprint.current_request
    content_type = request.headers.get("content-type")
    if multipart.is_multipart(content_type):
        fields = multipart.parse(content_type, raw_body(request)).fields
        return {name: fields.get(name, "")[:FIELD_LIMIT] for name in names}
    parsed = parse_qs(raw_body(request).decode("utf-8", "replace"),
                      max_num_fields=200)
    return {name: (parsed.get(name) or [""])[0][:FIELD_LIMIT] for name in names}


def form_lists(blueprint: Blueprint, *names: str) -> dict[str, list[str]]:
    """Repeated form fields (rows of a table), each value bounded."""
    parsed = parse_qs(raw_body(blueprint.current_request).decode("utf-8", "replace"),
                      keep_blank_values=True, max_num_fields=200)
    return {name: [v[:FIELD_LIMIT] for v in parsed.get(name, [])][:50] for name in names}


def nav_for(me: Session) -> list[tuple[str, str]]:
    if me.role.is_finance:
        return FINANCE_NAV
    return [(href, label) for href, label in UNIT_NAV
            if me.role is Role.UNIT_ADMIN or href not in UNIT_ADMIN_ONLY]


def page(blueprint: Blueprint, name: str, status: int = 200, *, me: Session | None = None,
         here: str | None = None, **context: Any) -> Response:
    """A console page; its forms carry the CSRF token (the cookie set when new)."""
    d = deps()
    token, fresh = csrf.token_for(d, blueprint.current_request, me.token_hash if me else "")
    response = render(name, status, me=me, nav=nav_for(me) if me else [], here=here,
                      csrf_token=token, **context)
    if fresh:
        add_cookie(response, csrf.set_cookie(d, token, PATH))
    return response


def totp_secret_page(blueprint: Blueprint, me: Session, people_page: str, username: str,
                     secret: str | None, done: str) -> Response:
    """The page that shows a new TOTP secret once, as text and as a QR code to scan."""
    from chalicelib.adapters.qr_svg import qr_svg

    uri = people.provisioning_uri(secret, username) if secret else None
    return page(blueprint, "console/totp_secret.html", me=me, here=people_page,
                heading="账号已更新", done=done, username=username, secret=secret, uri=uri,
                qr=qr_svg(uri, 200) if uri else None, back=people_page)


def refusal(blueprint: Blueprint, exc: DomainError, me: Session | None) -> Response:
    """The page for an error a console view met: 403 words the refusal, others the reason."""
    heading = {403: "无权操作", 404: "未找到", 409: "无法办理", 429: "操作过于频繁",
               503: "暂时无法办理"}.get(status_of(exc), "信息有误")
    message = exc.message
    if isinstance(exc, RateLimited):
        message = people.limited_message(exc)
    return page(blueprint, "console/message.html", status_of(exc), me=me, heading=heading,
                message=message, back=home_of(me.role) if me else PATH)


View = Callable[..., Response]


def console_view(blueprint: Blueprint, *roles: Role, post: bool = False,
                 early: bool = False) -> Callable[[View], View]:
    """Route decorator of every console page: the view gets ``(me, actor, *args)``.

    No live session: 303 to the sign-in form. A role not in ``roles``: the 403 page. A post
    without the CSRF token: the 403 page, nothing changed. A ``DomainError`` the view lets out
    becomes a page with its status (``api/errors.STATUS``).

    ``early`` (a page that only reads): with a ``console_claims`` cookie sealed to this
    session, the view runs on the claimed session while the session is read, and its page is
    sent only if the stored session is live and the one claimed (``api/console_claims``)."""

    def decorate(view: View) -> View:
        def answer(d: Any, request: Any, me: Session, args: Any, kwargs: Any) -> Response:
            try:
                if post and not csrf.accepted(d, request, form_fields(
                        blueprint, csrf.FIELD)[csrf.FIELD], me.token_hash):
                    raise Forbidden("为保护您的安全，请返回并刷新页面后重新提交。",
                                    code="csrf_token_invalid")
                if roles and me.role not in roles:
                    raise Forbidden("您的角色无权执行此操作"
                                    + ("（审计员只读）" if me.role is Role.FINANCE_AUDITOR else ""),
                                    code="role_not_allowed")
                return view(me, Actor.of(me, client_address(request)), *args, **kwargs)
            except DomainError as exc:
                return refusal(blueprint, exc, me)

        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            d = deps()
            request = blueprint.current_request
            token = cookie(request, COOKIE)
            claim = (console_claims.claimed(d, cookie(request, console_claims.COOKIE),
                                            people.token_hash(token))
                     if early and not post and token and len(token) <= 100 else None)
            if claim is None:
                me = people.current_session(d, token)
                early_answer: Response | Exception | None = None
            else:
                early_answer, me = d.gather(lambda: _attempt(answer, d, request, claim, args,
                                                             kwargs),
                                            lambda: people.current_session(d, token))
            if me is None:
                return redirect(f"{PATH}?expired=1" if token else PATH, session_cookie("", 0),
                                claims_cookie("", 0))
            if claim is not None and early_answer is not None and console_claims.same(claim, me):
                return _outcome(early_answer)
            return answer(d, request, me, args, kwargs)

        wrapped.console_roles = roles  # type: ignore[attr-defined]  # tests/functional: every
        return handles_errors(wrapped)  # console route has a role list

    return decorate


def _attempt(answer: Callable[..., Response], *args: Any) -> Response | Exception:
    """The page, or what it raised, kept until the session says whether it may be sent."""
    try:
        return answer(*args)
    except Exception as exc:  # noqa: BLE001 - raised by _outcome, once the session holds
        return exc


def _outcome(attempt: Response | Exception) -> Response:
    if isinstance(attempt, Exception):
        raise attempt
    return attempt


def china_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


# ---- sign-in --------------------------------------------------------------------------------

@bp.route("/console", methods=["GET"])
@handles_errors
def sign_in_form() -> Response:
    request = bp.current_request
    me = people.current_session(deps(), cookie(request, COOKIE))
    if me is not None:
        return redirect(home_of(me.role))
    response = page(bp, "console/sign_in.html", expired=query_param(request, "expired") == "1")
    if cookie(request, COOKIE):
        add_cookie(response, session_cookie("", 0))
        add_cookie(response, claims_cookie("", 0))
    return response


@bp.route("/console/sign-in", methods=["POST"], content_types=FORM)
@handles_errors
def sign_in() -> Response:
    d = deps()
    request = bp.current_request
    form = form_fields(bp, "username", "password", "otp", csrf.FIELD)
    if not csrf.accepted(d, request, form[csrf.FIELD]):
        return refusal(bp, Forbidden("为保护您的安全，请返回并刷新页面后重新提交。",
                                     code="csrf_token_invalid"), None)
    try:
        token, session = people.sign_in(d, form["username"], form["password"], form["otp"],
                                        client_address(request))
    except (Unauthenticated, RateLimited) as exc:
        message = people.limited_message(exc) if isinstance(exc, RateLimited) else exc.message
        response = page(bp, "console/sign_in.html", status_of(exc), error=message,
                        username=form["username"][:32])
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return redirect(home_of(session.role), session_cookie(token, ABSOLUTE_SECONDS),
                    claims_cookie(console_claims.sealed(d, session), ABSOLUTE_SECONDS))


@bp.route("/console/sign-out", methods=["POST"], content_types=FORM)
@handles_errors
def sign_out() -> Response:
    d = deps()
    request = bp.current_request
    me = people.current_session(d, cookie(request, COOKIE))
    if not csrf.accepted(d, request, form_fields(bp, csrf.FIELD)[csrf.FIELD],
                         me.token_hash if me else ""):
        return refusal(bp, Forbidden("为保护您的安全，请返回并刷新页面后重新提交。",
                                     code="csrf_token_invalid"), me)
    people.sign_out(d, cookie(request, COOKIE), client_address(request))
    return redirect(PATH, session_cookie("", 0), claims_cookie("", 0))


# ---- landing pages --------------------------------------------------------------------------

@bp.route(FINANCE_HOME, methods=["GET"])
@console_view(bp, Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
def finance_home(me: Session, actor: Actor) -> Response:
    return page(bp, "console/home.html", me=me, here=FINANCE_HOME, heading="财政端概览",
                signed_in_at=china_time(me.created_epoch))


@bp.route(UNIT_HOME, methods=["GET"])
@console_view(bp, Role.UNIT_ADMIN, Role.UNIT_OPERATOR)
def unit_home(me: Session, actor: Actor) -> Response:
    unit = deps().units.get(str(me.unit_code))
    return page(bp, "console/home.html", me=me, here=UNIT_HOME, heading="执收单位概览",
                unit=unit, signed_in_at=china_time(me.created_epoch))
