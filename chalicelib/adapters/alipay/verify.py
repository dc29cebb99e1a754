"""Alipay asynchronous notifications (异步通知, RSA2): verify them.

The seam: ``verify_notification(raw_body, content_type, config, now)`` is a pure function. It
reads the form once, strictly, in the notice's own ``charset`` (``domain.forms.read_form``: one
value per key), and checks the RSA2 ``sign`` over the V1 signing string (payment-channels.md §2.3: drop ``sign``
and ``sign_type``, skip empty values, sort by key, ``k=v&…``, encode in ``charset``). Only then
does it look at the fields: ``app_id`` must be ours, ``total_amount`` (yuan) is converted to fen
exactly, ``trade_status`` must be a known one. ``seller_id`` is ours (then ``auth_app_id``,
"开发者的 app_id，在服务商调用的场景下为授权方的 app_id", is ours or absent), or another Alipay
PID: a payment to a unit's own merchant under our third-party authorisation (``merchant``, with
its ``auth_app_id`` as ``merchant_app``), which the service checks against the order's. Every authenticity failure raises
``SignatureInvalid`` with a message naming the check; a correctly signed but malformed notice
raises ``ValidationFailed``. Matching the order and its amount is the service's job.

Alipay's notices carry no signed timestamp, so ``now`` is unused: replays are absorbed by the
idempotent write keyed on ``trade_no``/``notify_id``. Building a notice as Alipay posts it is the
local stack's business (``devstack.builders.alipay``), never production's.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.forms import read_form
from chalicelib.domain.money import yuan_to_fen

SIGN_TYPE = "RSA2"
SUCCESS_BODY = b"success"
# The declared charset → the codec that reads it; GB2312 text is a subset of GBK.
CHARSETS = {"utf-8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}
TRADE_STATUSES = ("WAIT_BUYER_PAY", "TRADE_CLOSED", "TRADE_SUCCESS", "TRADE_FINISHED")
PAID_STATUSES = ("TRADE_SUCCESS", "TRADE_FINISHED")
_UNSIGNED = ("sign", "sign_type")
# The two rules of the string Alipay signs (its Java SDK's AlipaySignature.verifyV1 / verifyV2):
# V1 leaves out sign and sign_type (payment notices), V2 only sign (application-gateway
# messages, reference/payment-channels.md §2.1).
V1, V2 = "v1", "v2"
_ALIPAY_TIME = "%Y-%m-%d %H:%M:%S"
_PID = re.compile(r"^2088[0-9]{12}$")  # a seller's Alipay user id
_APP_ID = re.compile(r"^[0-9]{16}$")


@dataclass(frozen=True)
class AlipayTrade:
    """A verified notification; amounts in int fen, times as Alipay's Beijing-time strings."""

    notify_id: str
    app_id: str
    seller_id: str
    out_trade_no: str
    trade_no: str
    trade_status: str
    total_amount_fen: int
    gmt_payment: str | None
    refund_fee_fen: int | None
    out_biz_no: str | None
    raw: dict[str, str] = field(repr=False, compare=False)
    # A unit's own merchant paid under our authorisation (第三方应用授权): its seller_id and
    # the authorising app_id (auth_app_id); "" when the deployment's merchant was paid.
    merchant: str = ""
    merchant_app: str = ""

    @property
    def paid(self) -> bool:
        """True for TRADE_SUCCESS and TRADE_FINISHED, the two statuses that mean money arrived."""
        return self.trade_status in PAID_STATUSES

    @property
    def paid_at(self) -> str | None:
        """``gmt_payment`` as ISO 8601 with the +08:00 offset, or None."""
        if self.gmt_payment is None:
            return None
        moment = datetime.strptime(self.gmt_payment, _ALIPAY_TIME).replace(tzinfo=CHINA_TZ)
        return moment.isoformat(timespec="seconds")


def verify_notification(raw_body: bytes, content_type: str, config: AlipayConfig,
                        now: datetime | None = None) -> AlipayTrade:
    """Verify the RSA2 ``sign`` over the received fields, then check and return the trade."""
    del now  # see the module docstring: nothing in the notice is signed time
    fields = verified_fields(raw_body, content_type, config)
    merchant, merchant_app = _merchant(fields, config)
    return _trade(fields, merchant, merchant_app)


def verified_fields(raw_body: bytes, content_type: str, config: AlipayConfig, *,
                    rules: tuple[str, ...] = (V1,)) -> dict[str, str]:
    """The fields of a form Alipay posted and signed (RSA2) under one of ``rules``, addressed
    to our ``app_id``: a payment notice's (``verify_notification``, V1 only) or an
    open-platform message's (``messages.verify_message``, V2 or V1). Anything else raises
    ``SignatureInvalid``."""
    fields, codec = read_form(raw_body, content_type, charset_field="charset", codecs=CHARSETS)
    sign_type = fields.get("sign_type")
    if sign_type != SIGN_TYPE:
        raise SignatureInvalid("sign_type is missing" if sign_type is None
                               else f"sign_type {sign_type!r} is not {SIGN_TYPE}")
    sign = fields.get("sign")
    if not sign:
        raise SignatureInvalid("sign is missing")
    if " " in sign:
        raise SignatureInvalid("sign contains a space: a '+' was sent without percent-encoding")
    try:
        signature = base64.b64decode(sign, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("sign is not valid base64") from None
    if not any(_signed(config, signature, signing_string(fields, rule=rule).encode(codec))
               for rule in rules):
        raise SignatureInvalid("sign does not match the fields for Alipay's public key")
    # Authentic from here on: Alipay said it, but was it said to us?
    if fields.get("app_id") != config.app_id:
        raise SignatureInvalid(f"app_id {fields.get('app_id')!r} is not ours")
    return fields


def _trade(fields: dict[str, str], merchant: str, merchant_app: str) -> AlipayTrade:
    """The trade of a verified notice (is it well formed?)."""
    trade_status = _required(fields, "trade_status")
    if trade_status not in TRADE_STATUSES:
        raise ValidationFailed(f"unknown trade_status {trade_status!r}",
                               {"trade_status": "not a known status"})
    refund_fee = fields.get("refund_fee")
    gmt_payment = _time(fields, "gmt_payment")
    if gmt_payment is None and trade_status in PAID_STATUSES:
        # A payment is recorded with its time (an index key: it cannot be empty).
        raise ValidationFailed("gmt_payment is missing from a paid trade",
                               {"gmt_payment": "required when the trade is paid"})
    return AlipayTrade(
        notify_id=_required(fields, "notify_id"), app_id=fields["app_id"],
        seller_id=fields["seller_id"], out_trade_no=_required(fields, "out_trade_no"),
        trade_no=_required(fields, "trade_no"), trade_status=trade_status,
        total_amount_fen=_fen(fields, "total_amount"), gmt_payment=gmt_payment,
        refund_fee_fen=_fen(fields, "refund_fee") if refund_fee else None,
        out_biz_no=fields.get("out_biz_no") or None, raw=fields, merchant=merchant,
        merchant_app=merchant_app)


def _merchant(fields: Mapping[str, str], config: AlipayConfig) -> tuple[str, str]:
    """Whose trade it is: ("", "") ours; (seller_id, auth_app_id) a unit's own merchant."""
    seller, auth_app = fields.get("seller_id"), fields.get("auth_app_id") or ""
    if seller == config.seller_id:
        if auth_app not in ("", config.app_id):
            raise SignatureInvalid(f"auth_app_id {auth_app[:40]!r} is not ours for our seller")
        return "", ""
    if not seller or not _PID.match(seller):
        raise SignatureInvalid(f"seller_id {(seller or '')[:40]!r} is not ours nor a merchant's")
    if auth_app == config.app_id:
        raise SignatureInvalid("a merchant's trade naming our own application as authorising")
    if auth_app and not _APP_ID.match(auth_app):
        raise ValidationFailed(f"auth_app_id {auth_app[:40]!r} is not an app_id",
                               {"auth_app_id": "16 digits"})
    return seller, auth_app


def signing_string(fields: Mapping[str, str], *, rule: str = V1) -> str:
    """The string Alipay signs: without empty values and ``sign`` (and, under rule V1, without
    ``sign_type``), sorted by key, ``k=v&…``."""
    unsigned = _UNSIGNED if rule == V1 else ("sign",)
    return "&".join(f"{key}={value}" for key, value in sorted(fields.items())
                    if key not in unsigned and value != "")


def _signed(config: AlipayConfig, signature: bytes, content: bytes) -> bool:
    try:
        config.alipay_public_key.verify(signature, content, PKCS1v15(), SHA256())
    except InvalidSignature:
        return False
    return True


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise ValidationFailed(f"{name} is missing", {name: "missing"})
    return value


def _fen(fields: Mapping[str, str], name: str) -> int:
    text = _required(fields, name)
    try:
        return yuan_to_fen(text)
    except ValidationFailed:
        raise ValidationFailed(f"{name} {text!r} is not a yuan amount",
                               {name: "not a yuan amount"}) from None


def _time(fields: Mapping[str, str], name: str) -> str | None:
    text = fields.get(name) or None
    if text is not None:
        try:
            datetime.strptime(text, _ALIPAY_TIME)
        except ValueError:
            raise ValidationFailed(f"{name} {text!r} is not yyyy-MM-dd HH:mm:ss",
                                   {name: "not yyyy-MM-dd HH:mm:ss"}) from None
    return text

