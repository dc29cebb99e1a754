"""HTML pages for payers (zh-CN, small screens): the pay page and the bill page."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.http import client_address, query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.codes import check_payment_code
from chalicelib.domain.errors import (
    DomainError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from chalicelib.domain.money import fen_to_capitals, fen_to_yuan_grouped
from chalicelib.domain.notes import CHINA_TZ
from chalicelib.services import bills as bills_service
from chalicelib.services import notes as notes_service
from chalicelib.services.limits import Guesser

bp = Blueprint(__name__)

NOTE_STATUS = {"unpaid": "待缴款", "paid": "已缴款 · 票据开具中", "issued": "已开票",
               "cancelled": "已撤销", "expired": "已过期", "refunded": "已退款"}
BILL_STATUS = {"normal": "正常", "reversed": "已冲红", "voided": "已作废"}
_MARK = ('<svg width="32" height="32" viewBox="0 0 32 32" aria-hidden="true">'
         '<rect width="32" height="32" rx="8" fill="{bg}"/>'
         '<text x="16" y="22" font-size="15" text-anchor="middle" fill="#fff">{t}</text></svg>')
CHANNELS = (("wechatpay", "微信支付", "#07a35a", "微"), ("alipay", "支付宝", "#1677ff", "支"),
            ("unionpay", "云闪付", "#d81e06", "银"))


@cache
def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("chalicelib", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters["china_time"] = china_time
    return env


def china_time(iso: str) -> str:
    """An ISO 8601 time shown as Beijing time, to the second: 2026-11-23 01:56:35."""
    try:
        return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def render(name: str, status: int = 200, **context) -> Response:
    d = deps()
    html = _env().get_template(name).render(supervisor_name=d.settings.supervisor_name, **context)
    return Response(body=html.encode("utf-8"), status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src 'self' data:; form-action 'self' *; base-uri 'none'",
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


def _items(items: list[dict]) -> list[dict]:
    return [{**i, "amount_yuan": fen_to_yuan_grouped(i["amount_fen"])} for i in items]


@bp.route("/pay/{payment_code}", methods=["GET"])
@handles_errors
def pay_page(payment_code: str) -> Response:
    d = deps()
    try:
        check_payment_code(payment_code)
        note = notes_service.get_public_note(d, payment_code, client_address(bp.current_request))
    except DomainError as exc:
        return error_page(exc)
    view = notes_service.note_view(d, note, public=True)
    unit = d.units.get(note.unit_code)
    code = note.payment_code
    channels = [{"code": c, "name": n, "enabled": c in d.settings.enabled_channels,
                 "svg": _MARK.format(bg=bg, t=t)} for c, n, bg, t in CHANNELS]
    return render("pay.html", note=view, unit_name=unit.name if unit else note.unit_code,
                  status_label=NOTE_STATUS[view["status"]], channels=channels,
                  total_yuan=fen_to_yuan_grouped(note.total_fen),
                  total_capitals=fen_to_capitals(note.total_fen), items=_items(view["items"]),
                  grouped_code=f"{code[:6]} {code[6:8]} {code[8:14]} {code[14:]}",
                  refresh=3 if view["status"] == "paid" else None)


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
    return render("bill.html", bill=view, items=_items(view["items"]),
                  status_label=BILL_STATUS[view["status"]])
