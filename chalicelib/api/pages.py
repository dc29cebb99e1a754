"""HTML pages for payers (zh-CN, small screens): the pay page and the bill page.

What the pay page shows is ``services/note_pages.py``'s; a view here finds the note (or answers
the error page, its status from ``api/errors.py``) and renders. ``render`` and its security
headers serve every page of the product.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.http import client_address, query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import check_payment_code
from chalicelib.domain.errors import (
    DomainError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from chalicelib.services import bills as bills_service
from chalicelib.services import note_pages
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


@bp.route("/pay/{payment_code}", methods=["GET"])
@handles_errors
def pay_page(payment_code: str) -> Response:
    d = deps()
    try:
        check_payment_code(payment_code)
        note = notes_service.get_public_note(d, payment_code, client_address(bp.current_request))
    except DomainError as exc:
        return error_page(exc)
    return render("pay.html", **note_pages.pay_page(d, note))


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
    return render("bill.html", bill=view, items=note_pages.items_in_yuan(view["items"]),
                  status_label=BILL_STATUS[view["status"]])
