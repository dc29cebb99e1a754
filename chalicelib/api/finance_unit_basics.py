"""The finance console's forms for a unit's basic information beyond fee items, ranges and
keys: the bill kinds it is allowed, and its seal (shown, previewed on a sample bill, set).
Each form is one use case of the admin API's (``services/units.set_bill_kinds``,
``services/seals``): the same checks, the same audit rows under the person.

    POST /console/finance/units/{code}/bill-kinds     the allowed kinds and the default
    GET  /console/finance/units/{code}/seal.png       the seal its bills carry from now on
    GET  /console/finance/units/{code}/seal/sample.pdf  the sample bill with that seal
    POST /console/finance/units/{code}/seal           multipart: a PNG, and ``action``
         ``preview`` (the sample bill with it, nothing kept) or ``set`` (with ``confirm``)
    POST /console/finance/units/{code}/merchants/{channel}  ``action`` ``set`` (WeChat Pay:
         ``sub_mchid``, ``sub_appid``; Alipay: ``seller_id``, ``auth_app_id``,
         ``app_auth_token``; UnionPay, multipart: ``mer_id``, the file ``sign_cert_pfx``,
         ``sign_cert_password``) or ``remove`` (back to the deployment's merchant)

The seal form and UnionPay's merchant form upload a file (``multipart/form-data``,
``api/multipart``): the CSRF token travels as a field of it, checked like any other form's. An auditor sees the seal
and its sample; only a finance admin previews an upload or sets one.
"""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint, Response

from chalicelib.api import console, multipart
from chalicelib.api.console import console_view, form_fields, form_lists
from chalicelib.api.errors import status_of
from chalicelib.api.finance_units import FINANCE, UNITS, credential, detail_page, who
from chalicelib.api.http import raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.people import Role, Session
from chalicelib.services import admin, merchants, seals, units
from chalicelib.services.people import Actor

# The fields of each channel's merchant form (``domain/merchants.FIELDS``: the API's body).
MERCHANT_FIELDS = {"wechatpay": ("sub_mchid", "sub_appid"),
                   "alipay": ("seller_id", "auth_app_id", "app_auth_token"),
                   "unionpay": ("mer_id", "sign_cert_password")}  # and the PFX, a file
SECRET_FIELDS = ("app_auth_token", "sign_cert_password", "sign_cert_pfx")  # never echoed

bp = Blueprint(__name__)


@bp.route(UNITS + "/{unit_code}/bill-kinds", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def bill_kinds_put(me: Session, actor: Actor, unit_code: str) -> Response:
    d = deps()
    unit = admin.unit_in_scope(d, credential(actor), unit_code[:20])
    body = {"bill_kinds": form_lists(bp, "bill_kinds")["bill_kinds"],
            "bill_kind": form_fields(bp, "bill_kind")["bill_kind"]}
    try:
        changed = units.set_bill_kinds(d, unit, body, who(actor))
    except (ValidationFailed, Conflict) as exc:
        return detail_page(me, unit.unit_code, status_of(exc), kinds_error=exc.message)
    return detail_page(me, unit.unit_code, done="已保存允许的票据种类："
                       + "、".join(changed.bill_kinds or ()) + f"（默认 {changed.bill_kind}）。")


def _pdf(pdf: bytes, unit_code: str) -> Response:
    return Response(body=pdf, status_code=200, headers={
        "Content-Type": "application/pdf", "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="seal-sample-{unit_code}.pdf"',
        "X-Content-Type-Options": "nosniff"})


@bp.route(UNITS + "/{unit_code}/seal.png", methods=["GET"])
@console_view(bp, *FINANCE)
def seal_image(me: Session, actor: Actor, unit_code: str) -> Response:
    d = deps()
    unit = admin.unit_in_scope(d, credential(me), unit_code[:20])
    if not unit.seal_key:
        raise NotFound("该单位尚未上传印章", code="seal_not_found")
    return Response(body=d.archive.get(unit.seal_key), status_code=200, headers={
        "Content-Type": "image/png", "Cache-Control": "private, max-age=60",
        "X-Content-Type-Options": "nosniff"})


@bp.route(UNITS + "/{unit_code}/seal/sample.pdf", methods=["GET"])
@console_view(bp, *FINANCE)
def seal_sample(me: Session, actor: Actor, unit_code: str) -> Response:
    d = deps()
    unit = admin.unit_in_scope(d, credential(me), unit_code[:20])
    png = d.archive.get(unit.seal_key) if unit.seal_key else None
    return _pdf(seals.sample_pdf(d, unit, png), unit.unit_code)


# A form without its file (posted urlencoded) reaches the view, behind the same door as every
# console post (a session, the role, the CSRF token), and is told to choose a file.
SEAL_FORM = [*console.FORM, "multipart/form-data"]


@bp.route(UNITS + "/{unit_code}/seal", methods=["POST"], content_types=SEAL_FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def seal_upload(me: Session, actor: Actor, unit_code: str) -> Response:
    d = deps()
    unit = admin.unit_in_scope(d, credential(actor), unit_code[:20])
    request = bp.current_request
    content_type = request.headers.get("content-type")
    form = multipart.parse(content_type, raw_body(request)) \
        if multipart.is_multipart(content_type) else multipart.Form({}, {})
    png = form.files.get("file", (b"", ""))[0]
    action = form.fields.get("action", "")
    try:
        if not png:
            raise ValidationFailed("请选择印章图片（PNG）", {"file": "required"})
        if action == "preview":
            return _pdf(seals.checked_sample(d, unit, png)[1], unit.unit_code)
        if action != "set":
            raise ValidationFailed("请选择预览或启用", {"action": "preview | set"})
        if form.fields.get("confirm") != "yes":
            raise ValidationFailed("请勾选确认后再启用新印章", {"confirm": "required"})
        seal = seals.set_seal(d, unit, png, who(actor))
    except ValidationFailed as exc:
        return detail_page(me, unit.unit_code, status_of(exc), seal_error=exc.message,
                           seal_problems=exc.fields)
    since = datetime.fromisoformat(seal.since).astimezone(CHINA_TZ)
    return detail_page(me, unit.unit_code, done=f"已启用新印章：{since:%Y-%m-%d %H:%M:%S} 起开具"
                       "的票据加盖此印章，此前开具的票据保持原样。")


@bp.route(UNITS + "/{unit_code}/merchants/{channel}", methods=["POST"],
          content_types=SEAL_FORM)  # UnionPay's form uploads the signing certificate
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def merchant_post(me: Session, actor: Actor, unit_code: str, channel: str) -> Response:
    d = deps()
    unit = admin.unit_in_scope(d, credential(actor), unit_code[:20])
    names = MERCHANT_FIELDS.get(channel, MERCHANT_FIELDS["wechatpay"])
    form = form_fields(bp, "action", *names)
    body = {name: value for name in names if (value := form[name].strip())}
    if channel == "unionpay":
        body.update(_signing_certificate(bp.current_request))
    shown = {k: v for k, v in body.items() if k not in SECRET_FIELDS}
    try:
        if form["action"] == "remove":
            merchants.remove_merchant(d, unit, channel[:20], who(actor))
            return detail_page(me, unit.unit_code, done="已改回本部署的商户号：此后新开的支付"
                               "订单款项进入本部署的商户号。")
        if form["action"] != "set":
            raise ValidationFailed("请选择保存或移除", {"action": "set | remove"})
        changed = merchants.set_merchant(d, unit, channel[:20], body, who(actor))
    except (ValidationFailed, Conflict, NotFound) as exc:
        return detail_page(me, unit.unit_code, status_of(exc), merchant_error=exc.message,
                           merchant_problems=exc.fields if isinstance(exc, ValidationFailed)
                           else None, merchant_form=shown, merchant_channel=channel[:20])
    mine = changed.merchant(channel[:20])
    assert mine is not None
    if mine.channel == "unionpay":
        return detail_page(me, unit.unit_code, done=f"已保存银联商户号 {mine.merchant_id}（签名证书 "
                           f"{mine.cert_id}）：此后新开的银联订单以该商户号开立并以其证书签名，款项进入"
                           "该单位的商户号。")
    if mine.channel == "alipay":
        return detail_page(me, unit.unit_code, done=f"已保存支付宝商户 {mine.merchant_id}（第三方"
                           "应用授权）：此后新开的支付宝订单代该商户开立，款项进入该单位的支付宝账户。")
    return detail_page(me, unit.unit_code, done=f"已保存微信支付子商户号 {mine.merchant_id}：此后"
                       "新开的支付订单以服务商模式开立，款项进入该单位的商户号。")


def _signing_certificate(request) -> dict[str, str]:
    """UnionPay's form: the uploaded PFX (``sign_cert_pfx``) as the API takes it, base64."""
    import base64

    content_type = request.headers.get("content-type")
    if not multipart.is_multipart(content_type):
        return {}
    data = multipart.parse(content_type, raw_body(request)).files.get("sign_cert_pfx")
    return {"sign_cert_pfx": base64.b64encode(data[0]).decode("ascii")} if data and data[0] \
        else {}
