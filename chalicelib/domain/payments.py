"""Channel orders and payments, and what a channel's word about money means for a note."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

CHANNELS = ("wechatpay", "alipay", "unionpay", "bank")
ORDER_CHANNELS = ("wechatpay", "alipay", "unionpay")
# How an order is paid, by channel (the first is the default, a phone's browser):
#   h5      WeChat H5 (``/v3/pay/transactions/h5``), Alipay wap pay, UnionPay channelType 08
#   jsapi   WeChat inside WeChat: ``/v3/pay/transactions/jsapi`` for the payer's openid, then
#           WeixinJSBridge ``getBrandWCPayRequest`` on the page
#   native  WeChat from a desktop: ``/v3/pay/transactions/native``'s ``code_url`` as a QR code
#   page    a desktop browser: Alipay ``alipay.trade.page.pay``, UnionPay channelType 07
ORDER_MODES: dict[str, tuple[str, ...]] = {"wechatpay": ("h5", "jsapi", "native"),
                                           "alipay": ("h5", "page"), "unionpay": ("h5", "page")}


@dataclass(frozen=True)
class ChannelOrder:
    """An order opened with a channel for one note; the channel's notification names it."""

    out_trade_no: str
    payment_code: str
    channel: str
    amount_fen: int
    created_at: str
    expires_at: str
    mode: str = "h5"  # one of ORDER_MODES[channel]; orders kept before modes existed are h5
    # The unit's own merchant the order was opened for (``domain/merchants``): WeChat Pay's
    # sub_mchid (service-provider mode) and sub_appid, Alipay's seller_id and auth_app_id
    # (third-party application authorisation); "" for the deployment's merchant. The order's
    # query and refund use it, and its payment must name it.
    merchant: str = ""
    merchant_app: str = ""
    # The secret a call for that merchant carries (Alipay's app_auth_token), opened by the
    # service just before the call (``services/merchants.authorised``): never stored with the
    # order, never shown.
    merchant_token: str = field(default="", repr=False, compare=False)


class PaymentOutcome(StrEnum):
    RECORDED = "recorded"  # first word of this payment; the note is now paid
    DUPLICATE = "duplicate"  # we had recorded this channel transaction already
    AMOUNT_MISMATCH = "amount_mismatch"  # recorded as an exception; the note stays as it was
    NOTE_NOT_PAYABLE = "note_not_payable"  # paid twice, or cancelled: recorded as an exception
    ORDER_UNKNOWN = "order_unknown"  # not an order of ours: nothing recorded
    IGNORED = "ignored"  # a genuine notification that records no payment (e.g. not a success)
    # paid to another merchant than the one the order was opened for: nothing recorded, refused
    MERCHANT_MISMATCH = "merchant_mismatch"


@dataclass(frozen=True)
class Payment:
    """Money a channel says it received: keyed by (channel, channel transaction id)."""

    channel: str
    channel_txn_id: str
    out_trade_no: str
    amount_fen: int
    paid_at: str
    notification_id: str = ""
    settle_date: str = ""  # UnionPay's 清算日期 (settleDate), YYYY-MM-DD, when it said one
    # The merchant the channel says it was paid to when it is a unit's own (WeChat Pay's
    # sub_mchid in service-provider mode, Alipay's seller_id); "" for the deployment's. It must
    # be the order's.
    merchant: str = ""
    # The unit's own application the channel names with it, where it names one (Alipay's
    # auth_app_id); when said, it must be the order's too.
    merchant_app: str = ""

    @property
    def payment_id(self) -> str:
        return f"{self.channel}#{self.channel_txn_id}"

    @property
    def payment_code(self) -> str:
        # Our out_trade_no starts with the note's payment code (codes.new_out_trade_no); an
        # agent bank's counter payment has no channel order and carries the payment code itself.
        return self.out_trade_no[:20]


@dataclass(frozen=True)
class Checkout:
    """Where the payer's browser goes to pay an order; UnionPay's is a form that posts itself.

    A WeChat Native order also has its ``code_url`` (``weixin://wxpay/bizpayurl?pr=…``, shown as
    a QR code to scan with the phone); a JSAPI order has ``jsapi``, the signed parameters of
    ``WeixinJSBridge.invoke('getBrandWCPayRequest', …)`` (appId, timeStamp, nonceStr, package,
    signType, paySign), and no page to go to (``pay_url`` is the note's own pay page)."""

    pay_url: str
    form_html: str | None = None
    code_url: str | None = None
    jsapi: Mapping[str, str] | None = None


REFUND_STATUSES = ("pending", "requested", "succeeded", "failed", "manual", "offline")
# money given back: by the channel, or by the unit by hand and recorded by a person (offline)
GIVEN_BACK = ("succeeded", "offline")


@dataclass(frozen=True)
class RefundRequest:
    """Money to give back for an exception payment, asked of the channel that took it."""

    payment_id: str
    channel: str
    channel_txn_id: str
    out_trade_no: str
    amount_fen: int
    out_refund_no: str
    requested_at: datetime  # first asked; UnionPay's txnTime of the refund order
    notify_url: str
    merchant: str = ""  # the order's (WeChat Pay: its sub_mchid); "" for the deployment's
    merchant_token: str = field(default="", repr=False, compare=False)  # as ChannelOrder's


@dataclass(frozen=True)
class RefundResult:
    """What the channel said: ``succeeded``, ``requested`` (still under way) or ``failed``."""

    status: str
    refund_id: str | None = None
    detail: str = ""


def out_refund_no(payment_id: str) -> str:
    """The refund's number at the channel, derived from the payment: a retry is the same refund.

    32 letters and digits, which every channel accepts (UnionPay's orderId: 8–40, no ``-``/``_``).
    """
    return "R" + hashlib.sha256(payment_id.encode("utf-8")).hexdigest()[:31]


def next_out_refund_no(payment_id: str, previous: str) -> str:
    """The number of a refund asked again after ``previous`` failed at the channel: a new
    refund for the channel (a closed refund is never reopened under its number), derived from
    the one it follows, so asking for the same retry twice names the same refund."""
    return "R" + hashlib.sha256(f"{payment_id}#{previous}".encode()).hexdigest()[:31]


@dataclass(frozen=True)
class RefundNotice:
    """A channel's verified word on a refund of ours (WeChat Pay's REFUND.* notification)."""

    channel: str
    event_type: str
    channel_txn_id: str  # the payment the refund gives back
    out_refund_no: str
    refund_id: str
    refund_status: str  # the channel's: SUCCESS | CLOSED | ABNORMAL
    refund_fen: int
    merchant: str = ""  # the sub-merchant that refunded (WeChat sub_mchid); "" for ours


@dataclass(frozen=True)
class ChannelNotice:
    """What one verified channel notification says: exactly one of a payment to record, a
    refund notice to close a refund with, or (``ignored``) why it records nothing."""

    payment: Payment | None = None
    refund: RefundNotice | None = None
    ignored: str | None = None
