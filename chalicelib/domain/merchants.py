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
- UnionPay ACP, the unit's own merchant (普通商户直连接入, accessType 0): its ``merId`` (15
  digits) and the signing certificate UnionPay issued to that merId (the ``acp_*_sign.pfx`` the
  finance department uploads with its password). The private key is a secret: stored only sealed
  (``sealed_token``), never shown, never logged; the certificate's serial, in decimal, is the
  ``certId`` of every request signed for the unit (``cert_id``), and when it expires
  (``cert_until``) is shown. Every request of the unit's orders carries its merId and is signed
  with its key; the notice of such an order must name that merId.

A merchant the unit no longer collects into (replaced by another merchant of the channel, or
removed) is *retired*, not forgotten: money was paid to it, and until the channels' refund
windows have closed its payments may still be refunded, its open orders queried, its statements
reconciled, each with its own credentials (``Unit.merchant_for``). It is kept, sealed secret
and all, ``RETIRED_KEEP`` after it was retired (``after_change``):

- WeChat Pay: "交易时间超过一年的订单无法提交退款（按支付成功时间+365天计算）" (申请退款,
  pay.weixin.qq.com/doc/v3/merchant/4012556457, and the partner page alike);
- Alipay: "交易超过约定时间（签约时设置的可退款时间）的订单无法进行退款", by default three months,
  at most twelve by contract (alipay.trade.refund; developer.aliyun.com/article/711070);
- UnionPay: "退货能对11个月内的消费做（包括当清算日）" (the official ACP demo's
  ``Form_6_4_Refund.php``).

The last payment to a retired merchant is made at most ``ORDER_LIFETIME`` (two hours) plus the
active query's tail after it was retired; 365 days from then, plus a week for that refund's
notice, its query and its statement day to be reconciled, is ``RETIRED_KEEP`` (372 days).

Pure: the checks of what the finance department may record, nothing more.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from chalicelib.domain.china_time import CHINA_TZ, china_iso
from chalicelib.domain.errors import ValidationFailed

# The channels a unit may have a merchant number of its own at (what is stored), those whose
# orders are opened for it (``WIRED``: the others are refused until they are), and those
# refused outright (why).
MERCHANT_CHANNELS = ("wechatpay", "alipay", "unionpay")
WIRED = ("wechatpay", "alipay", "unionpay")
NOT_SUPPORTED = {
    "bank": "代理银行柜台缴款不使用商户号",
}
_SUB_MCHID = re.compile(r"^[0-9]{8,12}$")  # WeChat: "string(12)", digits ("1900000109")
_APPID = re.compile(r"^wx[0-9a-f]{16}$")  # an official account's AppID
_SELLER_ID = re.compile(r"^2088[0-9]{12}$")  # Alipay PID
_AUTH_TOKEN = re.compile(r"^[0-9A-Za-z._-]{16,128}$")  # app_auth_token: 202307BB… (opaque)
_ALIPAY_APP_ID = re.compile(r"^[0-9]{16}$")  # an Alipay app_id (2021000000000002)
FIELDS = {"wechatpay": ("sub_mchid", "sub_appid"),
          "alipay": ("seller_id", "auth_app_id", "app_auth_token")}
_MER_ID = re.compile(r"^[0-9]{15}$")  # UnionPay merId: AN15, digits in practice (898…, 777…)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
MAX_PFX_TEXT = 16 * 1024  # a signing certificate's PFX, base64: a real one is 3-5 KB
FIELDS["unionpay"] = ("mer_id", "sign_cert_pfx", "sign_cert_password")


@dataclass(frozen=True)
class UnitMerchant:
    """A unit's merchant number at ``channel``: ``merchant_id`` (WeChat sub_mchid, Alipay
    seller_id, UnionPay merId), ``app_id`` (WeChat sub_appid, optional; Alipay auth_app_id)
    and, for Alipay, the sealed app_auth_token (with when Alipay said it ends, ``token_until``,
    and when Alipay was found no longer to hold it, ``token_invalid``), for UnionPay the sealed
    signing key (never in ``repr``) with its certificate's serial (``cert_id``) and expiry (``cert_until``, China
    time)."""

    channel: str
    merchant_id: str
    app_id: str = ""
    sealed_token: str = field(default="", repr=False)
    since: str = ""  # when the finance department set it (China time)
    cert_id: str = ""  # UnionPay: the signing certificate's serial in decimal (certId)
    cert_until: str = ""  # UnionPay: when that certificate expires (China time)
    token_until: str = ""  # Alipay: when the authorisation ends, as Alipay said (China time)
    # Alipay: when the daily check (services/merchant_checks) found that Alipay no longer holds
    # the authorisation (cancelled or replaced by the merchant; China time); "" while it holds.
    token_invalid: str = ""
    retired: str = ""  # when the unit stopped collecting into it (China time); "" while current
    keep_until: str = ""  # a retired one: kept, secret and all, until then (``RETIRED_KEEP``)

    @property
    def key(self) -> tuple[str, str]:
        """What a retired merchant is looked up by: (channel, merchant_id)."""
        return self.channel, self.merchant_id

    def public(self) -> dict:
        """As the API and the console show it: whether a token is set, never the token; a
        retired one also says when it was retired and until when it is kept."""
        view: dict = {"channel": self.channel, "since": self.since or None}
        if self.retired:
            view.update(retired_at=self.retired, keep_until=self.keep_until or None)
        if self.channel == "wechatpay":
            view.update(sub_mchid=self.merchant_id, sub_appid=self.app_id or None)
        elif self.channel == "unionpay":
            view.update(mer_id=self.merchant_id, cert_id=self.cert_id or None,
                        cert_until=self.cert_until or None,
                        sign_cert_set=bool(self.sealed_token))
        else:
            view.update(seller_id=self.merchant_id, auth_app_id=self.app_id or None,
                        app_auth_token_set=bool(self.sealed_token),
                        token_until=self.token_until or None,
                        token_invalid=self.token_invalid or None)
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
    if channel == "unionpay":
        return _unionpay(values, fields)
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


def _unionpay(values: dict, fields: dict[str, str]) -> tuple[UnitMerchant, str]:
    """UnionPay: the merId, and the PFX (base64) still to be opened with its password, as
    ``pfx_text`` (``services/merchants`` opens it; neither is ever repeated in an error)."""
    mer_id, pfx, password = (values["mer_id"], values["sign_cert_pfx"],
                             values["sign_cert_password"])
    if not mer_id or not _MER_ID.match(mer_id):
        fields.setdefault("mer_id", "required, the unit's UnionPay merId: 15 digits")
    pfx = "".join(pfx.split()) if pfx else ""
    if not pfx or len(pfx) > MAX_PFX_TEXT or len(pfx) % 4 or not _BASE64.match(pfx):
        fields.setdefault("sign_cert_pfx", "required, the signing certificate (acp_*_sign.pfx) "
                          f"in base64, at most {MAX_PFX_TEXT} characters")
    if password is None or len(password) > 64:
        fields.setdefault("sign_cert_password", "required, the PFX's password (at most 64 "
                          "characters)")
    if fields:
        raise ValidationFailed("商户号信息有误", fields)
    return UnitMerchant("unionpay", str(mer_id)), pfx_text(pfx, str(password))


def pfx_text(pfx_base64: str, password: str) -> str:
    """The PFX and its password as one string for the service to open (never stored)."""
    return f"{password}\n{pfx_base64}"


def pfx_parts(text: str) -> tuple[str, str]:
    """``(pfx_base64, password)`` from ``pfx_text``."""
    password, _, pfx = text.rpartition("\n")
    return pfx, password


@dataclass(frozen=True)
class Authorisation:
    """What the channel says of an authorisation token (Alipay's
    ``alipay.open.auth.token.app.query``): who granted it (``merchant_id``: user_id, the PID;
    ``app_id``: auth_app_id), whether it is ``valid``, and until when (``ends``)."""

    merchant_id: str
    app_id: str
    valid: bool
    ends: str = ""


def authorisation_end(found: Authorisation | None) -> str:
    """When an authorisation ends, as ISO China time: Alipay's ``auth_end`` is
    ``yyyy-MM-dd HH:mm:ss`` in Beijing time; "" when Alipay gave none or one that is not such a
    time (nothing is then warned about)."""
    try:
        ends = datetime.strptime((found.ends if found else "").strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ""
    return ends.replace(tzinfo=CHINA_TZ).isoformat()


def check_authorisation(merchant: UnitMerchant, found: Authorisation | None) -> None:
    """``ValidationFailed`` unless the channel knows the token as a valid authorisation
    granted by ``merchant`` (its seller_id and auth_app_id): a typo would otherwise open
    orders whose payments are all refused as another merchant's."""
    if found is None:
        raise ValidationFailed("支付宝不认可该应用授权令牌：请核对令牌，或请单位重新授权", {
            "app_auth_token": "Alipay knows no authorisation of our application by this token"})
    fields: dict[str, str] = {}
    if not found.valid:
        fields.setdefault("app_auth_token", "Alipay says this authorisation is no longer valid")
    if found.merchant_id != merchant.merchant_id:
        fields["seller_id"] = f"the token was granted by {found.merchant_id}, not this PID"
    if found.app_id != merchant.app_id:
        fields["auth_app_id"] = f"the token was granted by app {found.app_id}, not this one"
    if fields:
        raise ValidationFailed("应用授权令牌与所填商户不一致或已失效", fields)


@dataclass(frozen=True)
class AuthorisationCancelled:
    """A verified message from the channel that a merchant cancelled its authorisation of our
    application (Alipay: ``alipay.open.auth.appauth.cancelled``): its ``notify_id`` (the same
    message delivered again has the same one) and what it names that might say whose it was.
    Those are hints only: the message's content is not documented where we can read it, so
    nothing is decided on them (``services/merchant_rechecks``): ``merchant_ids`` the PIDs it
    names, ``app_ids`` the app_ids, ``token_digests`` the SHA-256 (hex) of tokens it names."""

    notify_id: str
    merchant_ids: tuple[str, ...] = ()
    app_ids: tuple[str, ...] = ()
    token_digests: tuple[str, ...] = ()

    @property
    def hints(self) -> bool:
        return bool(self.merchant_ids or self.app_ids or self.token_digests)


@dataclass(frozen=True)
class ChannelMessage:
    """A verified message of the channel's open platform (Alipay's 消息服务): its method
    (``msg_method``), its ``notify_id``, and, when it is one, the cancellation it reports."""

    method: str
    notify_id: str
    cancelled: AuthorisationCancelled | None = None


def token_digest(token: str) -> str:
    """What a token a message names is compared by (SHA-256, hex), so it is never kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def names_merchant(cancelled: AuthorisationCancelled, merchant: UnitMerchant,
                   token_digest: str) -> bool:
    """Whether the message names this (Alipay) merchant: its PID, its auth_app_id, or the
    digest of its token (``token_digest``, "" when not known)."""
    return (merchant.merchant_id in cancelled.merchant_ids
            or (bool(merchant.app_id) and merchant.app_id in cancelled.app_ids)
            or (bool(token_digest) and token_digest in cancelled.token_digests))


EXPIRY_WARN_DAYS = 30  # a certificate or an authorisation this close to its end is warned about
# What ends, by channel: (the field, what the page calls it, what to do).
_ENDS = {"unionpay": ("cert_until", "cert", "银联商户号 {id} 的签名证书", "上传新证书"),
         "alipay": ("token_until", "token", "支付宝商户 {id} 的应用授权", "请单位重新授权后保存新令牌")}


def checked_authorisation(merchant: UnitMerchant, found: Authorisation | None,
                          now: datetime) -> UnitMerchant:
    """``merchant`` (Alipay) as Alipay's answer about its token says it is now: when Alipay
    knows no such authorisation, calls it invalid, or names another granter, the authorisation
    no longer holds (``token_invalid``: since the first check that found it so, China time);
    else it holds and ends when Alipay now says (``token_until``, "" for no end)."""
    if found is None or not found.valid or (found.merchant_id, found.app_id) != (
            merchant.merchant_id, merchant.app_id):
        return replace(merchant, token_invalid=merchant.token_invalid or china_iso(now))
    return replace(merchant, token_until=authorisation_end(found), token_invalid="")


def expiry_warnings(merchants: Iterable[UnitMerchant], now: datetime) -> list[dict]:
    """The unit page's warnings (``admin.unit_detail``) for what a unit's own merchant signs or
    calls with and that ends: a UnionPay merId's signing certificate (``merchant_cert_…``;
    UnionPay refuses what an expired one signs) and an Alipay authorisation (``merchant_token_…``;
    Alipay refuses its token, error 20001): ``…_expired`` once ended (the unit's orders there
    cannot be opened, queried or refunded), ``…_expiring`` within ``EXPIRY_WARN_DAYS`` with the
    whole days left; ``merchant_token_invalid`` instead, whatever the date, for an Alipay
    authorisation the daily check found Alipay no longer holds (the merchant cancelled it or
    authorised us again); nothing for WeChat Pay (a sub-merchant does not end)."""
    warnings: list[dict] = []
    for m in merchants:
        if m.channel == "alipay" and m.token_invalid:
            warnings.append({"code": "merchant_token_invalid", "channel": m.channel,
                             "merchant_id": m.merchant_id, "token_invalid": m.token_invalid,
                             "message": f"支付宝商户 {m.merchant_id} 的应用授权已失效（"
                                        f"{m.token_invalid[:10]} 核验时支付宝告知授权已取消或已被"
                                        f"重新授权替代）：该单位在此渠道的订单无法开立、查询或退款，"
                                        f"请单位重新授权后保存新令牌"})
            continue
        if m.channel not in _ENDS or not getattr(m, _ENDS[m.channel][0]):
            continue
        field_name, kind, what, todo = _ENDS[m.channel]
        ends = str(getattr(m, field_name))
        until = datetime.fromisoformat(ends)
        days = (until - now).days
        named = what.format(id=m.merchant_id)
        base = {"channel": m.channel, "merchant_id": m.merchant_id, field_name: ends}
        if until <= now:
            warnings.append({"code": f"merchant_{kind}_expired", **base,
                             "message": f"{named}已于 {ends[:10]} 到期：该单位在此渠道的订单无法"
                                        f"开立、查询或退款，请{todo.removeprefix('请')}"})
        elif days < EXPIRY_WARN_DAYS:
            warnings.append({"code": f"merchant_{kind}_expiring", **base, "days_left": days,
                             "message": f"{named}将于 {ends[:10]} 到期（剩余 {days} 天），"
                                        f"请在到期前{todo.removeprefix('请')}"})
    return warnings


# How long a retired merchant is kept (module docstring: the channels' refund windows), and
# for how many days after its retirement its statements may still hold its payments (an order
# opened just before lives two hours, is queried a little after, and UnionPay's day ends at
# 23:00, so the day after may hold it; one more day of margin).
RETIRED_KEEP = timedelta(days=372)
RETIRED_PAYMENT_DAYS = 2


def retire(merchant: UnitMerchant, at: datetime) -> UnitMerchant:
    """``merchant`` retired at ``at`` (aware), kept until ``RETIRED_KEEP`` after."""
    at = at.astimezone(CHINA_TZ)
    return replace(merchant, retired=at.isoformat(timespec="seconds"),
                   keep_until=(at + RETIRED_KEEP).isoformat(timespec="seconds"))


def after_change(retired: Iterable[UnitMerchant], previous: UnitMerchant | None,
                 new: UnitMerchant | None, at: datetime) -> tuple[UnitMerchant, ...]:
    """The unit's retired merchants once ``previous`` (its merchant at a channel, if any) gives
    way to ``new`` (None: removed) at ``at``: ``previous`` retired unless ``new`` is the same
    merchant (a renewed token or certificate: the new one serves its older orders); one entry
    per (channel, merchant_id), the latest; none that is current again; none kept past its
    ``keep_until``. Oldest retirement first."""
    kept = {m.key: m for m in still_kept(retired, at)}
    if previous is not None and (new is None or new.merchant_id != previous.merchant_id):
        kept.pop(previous.key, None)
        kept[previous.key] = retire(previous, at)
    if new is not None:
        kept.pop(new.key, None)
    return tuple(kept.values())


def still_kept(retired: Iterable[UnitMerchant], at: datetime) -> tuple[UnitMerchant, ...]:
    """The retired merchants whose keep has not ended at ``at`` (aware), in their order: a
    change drops the others (``after_change``), and so does the daily check
    (``services/merchant_checks``) on a unit no change came to."""
    return tuple(m for m in retired
                 if not m.keep_until or datetime.fromisoformat(m.keep_until) > at)


def may_hold_payments(merchant: UnitMerchant, day: str) -> bool:
    """Whether the statement of ``day`` (YYYY-MM-DD) may list payments to ``merchant``: any
    day while it is current, up to ``RETIRED_PAYMENT_DAYS`` after its retirement once retired
    (later days list only refunds of its payments: ``statement_merchants`` asks for those)."""
    if not merchant.retired:
        return True
    last = datetime.fromisoformat(merchant.retired).astimezone(CHINA_TZ).date()
    return date.fromisoformat(day) <= last + timedelta(days=RETIRED_PAYMENT_DAYS)


def kept_on(merchant: UnitMerchant, day: str) -> bool:
    """Whether a retired ``merchant`` is still kept on ``day`` (its refund window open)."""
    return not merchant.keep_until or date.fromisoformat(day) <= \
        datetime.fromisoformat(merchant.keep_until).astimezone(CHINA_TZ).date()
