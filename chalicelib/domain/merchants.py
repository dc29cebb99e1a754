"""A collecting unit's own merchant number at a payment channel (单位自有商户号).

By default every order is opened with the deployment's merchant (one configuration per channel,
from its secret). A unit that collects into a merchant number of its own has a ``UnitMerchant``
for that channel, and its orders are opened for it:

- WeChat Pay, service-provider mode (服务商模式): the deployment's merchant is the service
  provider (``sp_mchid``, ``sp_appid``); the unit is its sub-merchant (特约商户), ``sub_mchid``
  (digits) and optionally ``sub_appid`` (the unit's own official account). Orders go to the
  ``/v3/pay/partner/…`` endpoints; the order records the sub_mchid it was opened for, and a
  payment notification for that order must name the same one.
- Alipay, third-party application authorisation (第三方应用授权, ISV mode): the deployment's
  application is the third party the unit's Alipay account authorised; the unit is known by its
  ``seller_id`` (its PID, 2088 and 12 digits), its ``auth_app_id`` (the authorising party's
  app_id, which Alipay puts in ``auth_app_id`` of every notification "在服务商调用的场景下") and
  the ``app_auth_token`` it granted our application, which every call for it carries as a
  common request parameter. The token is a secret: stored only sealed (``sealed_token``),
  never shown, never logged. The three come together from the authorisation
  (``alipay.open.auth.token.app`` answers ``app_auth_token``, ``user_id``, ``auth_app_id``).
- UnionPay would need the unit's own merId AND its signing certificate: not supported.

Pure: the checks of what the finance department may record, nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.domain.errors import ValidationFailed

# The channels a unit may have a merchant number of its own at (what is stored), those whose
# orders are opened for it (``WIRED``: the others are refused until they are), and those
# refused outright (why).
MERCHANT_CHANNELS = ("wechatpay", "alipay")
WIRED = ("wechatpay", "alipay")
NOT_SUPPORTED = {
    "unionpay": "银联商户号需要单位自己的签名证书，本系统尚不支持单位自有的银联商户号",
    "bank": "代理银行柜台缴款不使用商户号",
}
_SUB_MCHID = re.compile(r"^[0-9]{8,12}$")  # WeChat: "string(12)", digits ("1900000109")
_APPID = re.compile(r"^wx[0-9a-f]{16}$")  # an official account's AppID
_SELLER_ID = re.compile(r"^2088[0-9]{12}$")  # Alipay PID
_AUTH_TOKEN = re.compile(r"^[0-9A-Za-z._-]{16,128}$")  # app_auth_token: 202307BB… (opaque)
_ALIPAY_APP_ID = re.compile(r"^[0-9]{16}$")  # an Alipay app_id (2021000000000002)
FIELDS = {"wechatpay": ("sub_mchid", "sub_appid"),
          "alipay": ("seller_id", "auth_app_id", "app_auth_token")}


@dataclass(frozen=True)
class UnitMerchant:
    """A unit's merchant number at ``channel``: ``merchant_id`` (WeChat sub_mchid, Alipay
    seller_id), ``app_id`` (WeChat sub_appid, optional; Alipay auth_app_id) and, for Alipay,
    the sealed app_auth_token (never in ``repr``)."""

    channel: str
    merchant_id: str
    app_id: str = ""
    sealed_token: str = field(default="", repr=False)
    since: str = ""  # when the finance department set it (China time)

    def public(self) -> dict:
        """As the API and the console show it: whether a token is set, never the token."""
        view: dict = {"channel": self.channel, "since": self.since or None}
        if self.channel == "wechatpay":
            view.update(sub_mchid=self.merchant_id, sub_appid=self.app_id or None)
        else:
            view.update(seller_id=self.merchant_id, auth_app_id=self.app_id or None,
                        app_auth_token_set=bool(self.sealed_token))
        return view


def check_channel(channel: str, wired: tuple[str, ...] = WIRED) -> None:
    """``ValidationFailed`` unless a unit may have a merchant number of its own at ``channel``
    (one of ``wired``)."""
    if channel in MERCHANT_CHANNELS and channel in wired:
        return
    if channel in NOT_SUPPORTED:
        raise ValidationFailed(NOT_SUPPORTED[channel], {
            "channel": f"{channel}: a unit's own merchant number is not supported"},
            code="channel_not_supported")
    if channel not in MERCHANT_CHANNELS:
        raise ValidationFailed("未知的支付渠道", {
            "channel": f"one of {', '.join(MERCHANT_CHANNELS)}"})


def read_merchant(channel: str, body: object,
                  wired: tuple[str, ...] = WIRED) -> tuple[UnitMerchant, str]:
    """The merchant a ``PUT …/merchants/{channel}`` body describes, and the secret token that
    goes with it ("" for WeChat Pay), still to be sealed. One ``ValidationFailed`` naming every
    wrong field; a token's value is never repeated in it."""
    check_channel(channel, wired)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    names = FIELDS[channel]
    fields = {name: f"unknown field; the fields are {', '.join(names)}"
              for name in body if name not in names}
    values = {name: body.get(name) for name in names}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            fields[name] = "must be a string"
            values[name] = None
    if channel == "wechatpay":
        sub_mchid, sub_appid = values["sub_mchid"], values["sub_appid"] or ""
        if not sub_mchid or not _SUB_MCHID.match(sub_mchid):
            fields.setdefault("sub_mchid", "required, the sub-merchant's number: 8-12 digits")
        if sub_appid and not _APPID.match(sub_appid):
            fields.setdefault("sub_appid", "an AppID: wx and 16 lower-case hex digits")
        if fields:
            raise ValidationFailed("商户号信息有误", fields)
        return UnitMerchant("wechatpay", str(sub_mchid), str(sub_appid)), ""
    seller_id, token = values["seller_id"], values["app_auth_token"]
    auth_app_id = values["auth_app_id"]
    if not seller_id or not _SELLER_ID.match(seller_id):
        fields.setdefault("seller_id", "required, the unit's Alipay PID: 2088 and 12 digits")
    if not auth_app_id or not _ALIPAY_APP_ID.match(auth_app_id):
        fields.setdefault("auth_app_id", "required, the authorising party's app_id: 16 digits")
    if not token or not _AUTH_TOKEN.match(token):
        fields.setdefault("app_auth_token", "required, 16-128 letters, digits, '.', '_', '-'")
    if fields:
        raise ValidationFailed("商户号信息有误", fields)
    return UnitMerchant("alipay", str(seller_id), str(auth_app_id)), str(token)
