"""Public routes (no credential): the note and bill as JSON, bill files, keys, channel orders."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import client_address, cookie, json_body, query_param, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.codes import check_payment_code, is_out_trade_no
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import bills as bills_service
from chalicelib.services import checkout as checkout_service
from chalicelib.services import limits, wechat_session
from chalicelib.services import notes as notes_service
from chalicelib.services.limits import Guesser

bp = Blueprint(__name__)

FILE_TYPES = {"pdf": "application/pdf", "xml": "application/xml", "ofd": "application/ofd"}


@bp.route("/v1/public/notes/{payment_code}", methods=["GET"], cors=True)
@handles_errors
def public_note(payment_code: str) -> dict:
    d = deps()
    check_payment_code(payment_code)
    note = notes_service.get_public_note(d, payment_code, client_address(bp.current_request))
    return notes_service.note_view(d, note, public=True)


@bp.route("/v1/public/notes/{payment_code}/pay", methods=["POST"], content_types=[
    "application/json", "application/x-www-form-urlencoded"])
@handles_errors
def open_order(payment_code: str) -> Response:
    d = deps()
    request = bp.current_request
    check_payment_code(payment_code)
    if (request.headers.get("content-type") or "").startswith("application/x-www-form"):
        from urllib.parse import parse_qs

        form = parse_qs(raw_body(request).decode("utf-8", "replace"))
        body: object = {"channel": (form.get("channel") or [""])[0] or None,
                        "mode": (form.get("mode") or [""])[0] or None}
    else:
        body = json_body(request)
    # A JSAPI order is for the payer WeChat identified to this browser (its session cookie,
    # SameSite=Lax: never sent with another site's POST), never for an openid in the body.
    payer = wechat_session.openid(d, cookie(request, wechat_session.COOKIE))
    order, opened = checkout_service.pay(d, payment_code, body, client_address(request), payer)
    view = {"channel": order.channel, "mode": order.mode, "out_trade_no": order.out_trade_no,
            "amount_fen": order.amount_fen, "expires_at": order.expires_at,
            "pay_url": opened.pay_url}
    if opened.form_html is not None:
        view["form_html"] = opened.form_html
    if opened.code_url is not None:
        view["code_url"] = opened.code_url
    if opened.jsapi is not None:
        view["jsapi"] = dict(opened.jsapi)
    if (request.headers.get("accept") or "").startswith("text/html"):
        return Response(body="", status_code=303, headers={"Location": opened.pay_url})
    return Response(body=view, status_code=201)


@bp.route("/v1/public/orders/{out_trade_no}/form", methods=["GET"])
@handles_errors
def order_form(out_trade_no: str) -> Response:
    """UnionPay's front consumption: a page whose form posts itself to UnionPay's gateway."""
    if not is_out_trade_no(out_trade_no):
        raise ValidationFailed("订单号格式不正确", {"out_trade_no": "8-32 letters or digits"})
    page = checkout_service.unionpay_form(deps(), out_trade_no,
                                          client_address(bp.current_request))
    return Response(body=page.encode("utf-8"), status_code=200, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


@bp.route("/pay/{payment_code}", methods=["POST"], content_types=[
    "application/x-www-form-urlencoded"])
@handles_errors
def back_from_channel(payment_code: str) -> Response:
    """A channel sending the payer back by a form post (UnionPay's frontUrl): to the pay page.

    What the form says is not trusted: the page shows the note as our records have it. Nothing
    is looked up, so the answer tells nothing of the code; a client whose guessing budget is
    used up is still refused, as on every route that takes a code."""
    d = deps()
    check_payment_code(payment_code)
    limits.guard(d, Guesser.client(client_address(bp.current_request)))
    page = f"{d.settings.public_base_url}/pay/{payment_code}"
    return Response(body="", status_code=303, headers={"Location": page})


def _check_code() -> str:
    code = query_param(bp.current_request, "check_code")
    if not code:
        raise ValidationFailed("缺少校验码", {"check_code": "is required"})
    return code


@bp.route("/v1/public/bills/{bill_code}/{bill_number}", methods=["GET"], cors=True)
@handles_errors
def public_bill(bill_code: str, bill_number: str) -> dict:
    d = deps()
    record = bills_service.find_bill(d, bill_code, bill_number, _check_code(),
                                     Guesser.client(client_address(bp.current_request)))
    return bills_service.bill_view(d, record)


@bp.route("/v1/public/bills/{bill_code}/{bill_number}/{kind}", methods=["GET"])
@handles_errors
def bill_file(bill_code: str, bill_number: str, kind: str) -> Response:
    d = deps()
    if kind not in FILE_TYPES:
        raise ValidationFailed("文件类型只能是 pdf、xml 或 ofd", {"kind": "pdf, xml or ofd"})
    record = bills_service.find_bill(d, bill_code, bill_number, _check_code(),
                                     Guesser.client(client_address(bp.current_request)))
    if kind == "ofd":
        body = bills_service.bill_ofd(d, record)
    else:
        body = bills_service.bill_file(d, record, kind)
    name = f"{bill_code}-{bill_number}.{kind}"
    return Response(body=body, status_code=200, headers={
        "Content-Type": FILE_TYPES[kind], "Content-Disposition": f'inline; filename="{name}"',
        "Cache-Control": "private, max-age=3600"})


@bp.route("/v1/public/keys", methods=["GET"], cors=True)
@handles_errors
def keys() -> Response:
    return Response(body=bills_service.public_keys(deps()), status_code=200,
                    headers={"Cache-Control": "public, max-age=300"})
