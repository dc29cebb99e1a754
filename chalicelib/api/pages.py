"""HTML pages for payers (zh-CN, small screens): the pay page and the bill page.

What the pay page shows is ``services/note_pages.py``'s; a view here finds the note (or answers
the error page, its status from ``api/errors.py``) and renders. ``render`` and its security
headers serve every page of the product: no script at all, except on a page rendered with
``scripted=True``, whose inline scripts carry that response's random CSP nonce.

Inside WeChat the pay page first learns the payer's openid (``services/wechat_session.py``): a
302 to WeChat's silent OAuth, back to ``/pay/{code}/wechat``, then the page again, now offering
WeChat Pay by JSAPI. A desktop's WeChat payment shows its QR code at
``/pay/{code}/qr/{out_trade_no}``.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from functools import cache

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.http import client_address, cookie, header, query_param
from chalicelib.bootstrap import deps
from chalicelib.domain import bill_templates
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import check_payment_code, is_out_trade_no
from chalicelib.domain.errors import (
    DomainError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.domain.money import fen_to_yuan_grouped
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.payer_clients import Where, where
from chalicelib.services import bills as bills_service
from chalicelib.services import checkout as checkout_service
from chalicelib.services import note_pages, wechat_session
from chalicelib.services import notes as notes_service
from chalicelib.services.limits import Guesser

bp = Blueprint(__name__)

BILL_STATUS = {"normal": "正常", "reversed": "已冲红", "voided": "已作废"}


@cache
def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("chalicelib", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters["china_time"] = china_time
    env.filters["yuan"] = fen_to_yuan_grouped
    return env


_BEIJING_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00")


def china_time(iso: str) -> str:
    """An ISO 8601 time shown as Beijing time, to the second: 2026-11-23 01:56:35."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.year >= 1000 and _BEIJING_SECONDS.fullmatch(iso):
        # already Beijing time to the second (as the notes, payments and bills keep their
        # times): the same digits, without astimezone and strftime (a day page shows hundreds)
        return f"{iso[:10]} {iso[11:19]}"
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


# frame-ancestors does not fall back to default-src: without it another site could frame a
# page (a console's confirmation box) under its own and have it clicked.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self' *; base-uri 'none'; frame-ancestors 'none'")


def render(name: str, status: int = 200, *, scripted: bool = False, **context) -> Response:
    """A page with the product's security headers. ``scripted``: the page's inline scripts
    may run, those carrying this response's nonce only, and may fetch from our own origin."""
    d = deps()
    nonce = secrets.token_urlsafe(18) if scripted else None
    html = _env().get_template(name).render(supervisor_name=d.settings.supervisor_name,
                                            script_nonce=nonce, **context)
    policy = CSP if nonce is None else f"{CSP}; script-src 'nonce-{nonce}'; connect-src 'self'"
    return Response(body=html.encode("utf-8"), status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def error_page(exc: DomainError) -> Response:
    """The payer's page for ``exc``: its status from the one table, a heading for its kind."""
    if isinstance(exc, RateLimited):
        minutes = max(1, exc.retry_after // 60)
        page = render("message.html", status_of(exc), heading="查询过于频繁",
                      message=f"{exc.message}（约 {minutes} 分钟后可再试）。")
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    heading = ("未找到" if isinstance(exc, NotFound) else
               "暂时无法办理" if isinstance(exc, ServiceUnavailable) else "信息有误")
    return render("message.html", status_of(exc), heading=heading, message=exc.message)


WECHAT_FAILURES = frozenset(f.value for f in wechat_session.Failure)
_OAUTH_CODE = re.compile(r"[A-Za-z0-9_-]{1,128}")


@bp.route("/pay/{payment_code}", methods=["GET"])
@handles_errors
def pay_page(payment_code: str) -> Response:
    d = deps()
    request = bp.current_request
    try:
        check_payment_code(payment_code)
        note = notes_service.get_public_note(d, payment_code, client_address(request))
    except DomainError as exc:
        return error_page(exc)
    place = where(header(request, "user-agent"))
    failure = None
    if place is Where.WECHAT and "wechatpay" in d.settings.enabled_channels \
            and note.status_at(d.clock()) is NoteStatus.UNPAID \
            and wechat_session.openid(d, cookie(request, wechat_session.COOKIE)) is None:
        failure = query_param(request, "wechat")
        if failure not in WECHAT_FAILURES:  # not back from a failed OAuth: go and ask WeChat
            try:
                link, session = wechat_session.begin(d, payment_code)
            except ServiceUnavailable:
                failure = wechat_session.Failure.UNAVAILABLE.value
            else:
                return Response(body="", status_code=302, headers={
                    "Location": link, "Cache-Control": "no-store",
                    "Set-Cookie": wechat_session.cookie_header(
                        d, session, wechat_session.PENDING_SECONDS)})
    return render("pay.html", scripted=place is Where.WECHAT,
                  **note_pages.pay_page(d, note, place, wechat_failure=failure))


@bp.route("/pay/{payment_code}/wechat", methods=["GET"])
@handles_errors
def wechat_returns(payment_code: str) -> Response:
    """WeChat's OAuth sends the payer back (``redirect_uri?code=CODE&state=STATE``, without a
    code when refused): keep the openid in the session, then the pay page again (with
    ``?wechat=<why>`` when it failed, which the page words and does not retry on its own)."""
    d = deps()
    request = bp.current_request
    try:
        check_payment_code(payment_code)
        code = query_param(request, "code")
        state = query_param(request, "state") or ""
        if code is not None and not _OAUTH_CODE.fullmatch(code):
            raise ValidationFailed("授权参数格式不正确", {"code": "1-128 letters, digits, - or _"})
        if not re.fullmatch(r"[A-Za-z0-9]{1,128}", state):
            raise ValidationFailed("授权参数格式不正确", {"state": "1-128 letters or digits"})
        outcome = wechat_session.finish(d, cookie(request, wechat_session.COOKIE),
                                        payment_code, code, state, client_address(request))
    except DomainError as exc:
        return error_page(exc)
    page = f"{d.settings.public_base_url}/pay/{payment_code}"
    if isinstance(outcome, wechat_session.Failure):
        return Response(body="", status_code=303, headers={
            "Location": f"{page}?wechat={outcome.value}", "Cache-Control": "no-store",
            "Set-Cookie": wechat_session.cookie_header(d, "", 0)})
    return Response(body="", status_code=303, headers={
        "Location": page, "Cache-Control": "no-store",
        "Set-Cookie": wechat_session.cookie_header(d, outcome, wechat_session.SESSION_SECONDS)})


@bp.route("/pay/{payment_code}/qr/{out_trade_no}", methods=["GET"])
@handles_errors
def native_qr_page(payment_code: str, out_trade_no: str) -> Response:
    """A desktop payer's WeChat payment: the order's code_url as a QR code to scan with the
    phone; the page follows the note and goes back to the pay page once it is paid."""
    d = deps()
    try:
        check_payment_code(payment_code)
        if not is_out_trade_no(out_trade_no):
            raise ValidationFailed("订单号格式不正确", {"out_trade_no": "8-32 letters or digits"})
        order, code_url = checkout_service.native_qr(d, payment_code, out_trade_no,
                                                     client_address(bp.current_request))
    except DomainError as exc:
        return error_page(exc)
    from chalicelib.adapters.qr_svg import qr_svg

    note = d.notes.get(payment_code)
    unit = d.units.get(note.unit_code) if note is not None else None
    return render("native_qr.html", scripted=code_url is not None, order=order,
                  qr_svg=qr_svg(code_url) if code_url else None,
                  total_yuan=fen_to_yuan_grouped(order.amount_fen),
                  unit_name=unit.name if unit else "",
                  grouped_code=note_pages.grouped_code(payment_code))


@bp.route("/bills/{bill_code}/{bill_number}", methods=["GET"])
@handles_errors
def bill_page(bill_code: str, bill_number: str) -> Response:
    d = deps()
    request = bp.current_request
    check_code = query_param(request, "check_code") or ""
    try:
        record = bills_service.find_bill(d, bill_code, bill_number, check_code,
                                         Guesser.client(client_address(request)))
    except DomainError as exc:
        return error_page(exc)
    view = bills_service.bill_view(d, record)
    tpl = record.bill.template
    return render("bill.html", bill=view, items=note_pages.items_in_yuan(view["items"]),
                  status_label=BILL_STATUS[view["status"]], payer_label=tpl.payer_label,
                  extra_title=tpl.block_title or "附加信息",
                  extra=bill_templates.labelled(tpl, record.bill.extra),
                  fixed_remarks=tpl.remarks)
