"""The channels' notifications as the services read them: the ``NotificationVerifier`` port.

Each channel's module verifies its own notification (raw bytes first, then parsing: STYLE.md
rule 7) and returns its own type; this module turns that into the domain's ``ChannelNotice``: a
``Payment`` to record, a ``RefundNotice`` to close a refund with, or why the notification
records nothing. A channel's configuration is read at ``verify``, not before, so a missing or
broken secret is refused like a bad signature (the refusal is kept, with why).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.adapters import alipay, bank, unionpay, wechatpay
from chalicelib.domain.merchants import ChannelMessage
from chalicelib.domain.payments import ChannelNotice, Payment, RefundNotice
from chalicelib.domain.statements import settle_date_of


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


class WechatPayNotices:
    """WeChat Pay APIv3: payments (TRANSACTION.SUCCESS) and refund notices (REFUND.*), to us
    or, in service-provider mode, to a unit's sub-merchant (the payment's ``merchant``)."""

    def __init__(self, config: Callable[[], Any]) -> None:
        self._config = config

    def verify(self, raw_body: bytes, headers: Mapping[str, str],
               now: datetime) -> ChannelNotice:
        txn = wechatpay.verify_event(raw_body, headers, self._config(), int(now.timestamp()))
        if isinstance(txn, wechatpay.WechatRefund):
            return ChannelNotice(refund=RefundNotice(
                channel="wechatpay", event_type=txn.event_type,
                channel_txn_id=txn.transaction_id, out_refund_no=txn.out_refund_no,
                refund_id=txn.refund_id, refund_status=txn.refund_status,
                refund_fen=txn.refund_fen, merchant=txn.sub_mchid))
        if txn.event_type != "TRANSACTION.SUCCESS" or txn.trade_state != "SUCCESS":
            return ChannelNotice(ignored=f"{txn.event_type}/{txn.trade_state} {txn.out_trade_no}")
        return ChannelNotice(payment=Payment(
            channel="wechatpay", channel_txn_id=txn.transaction_id,
            out_trade_no=txn.out_trade_no, amount_fen=txn.amount_fen, paid_at=txn.success_time,
            notification_id=txn.event_id, merchant=txn.sub_mchid))


class AlipayNotices:
    """Alipay asynchronous notifications (RSA2). ``TRADE_SUCCESS`` and ``TRADE_FINISHED`` are
    payments (the second of the two for one ``trade_no`` is a duplicate); others record
    nothing. A payment to a unit's own merchant (third-party authorisation) names its
    seller_id and auth_app_id (the payment's ``merchant``, ``merchant_app``)."""

    def __init__(self, config: Callable[[], Any]) -> None:
        self._config = config

    def verify(self, raw_body: bytes, headers: Mapping[str, str],
               now: datetime) -> ChannelNotice:
        trade = alipay.verify_notification(raw_body, _header(headers, "content-type"),
                                           self._config(), None)
        if not trade.paid:
            return ChannelNotice(ignored=f"{trade.trade_status} {trade.out_trade_no}")
        return ChannelNotice(payment=Payment(
            channel="alipay", channel_txn_id=trade.trade_no, out_trade_no=trade.out_trade_no,
            amount_fen=trade.total_amount_fen, paid_at=trade.paid_at or "",
            notification_id=trade.notify_id, merchant=trade.merchant,
            merchant_app=trade.merchant_app))

    def message(self, raw_body: bytes, headers: Mapping[str, str],
                now: datetime) -> ChannelMessage:
        """An open-platform message to our application gateway (消息服务), verified by the
        same check as the notifications (``alipay.messages``)."""
        del now  # nothing in the message is signed time; a repeat is found by its notify_id
        return alipay.verify_message(raw_body, _header(headers, "content-type"), self._config())


class UnionPayNotices:
    """UnionPay ACP 5.1.0 back notifications (signMethod 01); a payment is txnType 01, success.
    A payment to a unit's own merId carries it (``merchant``; "" for the deployment's)."""

    def __init__(self, config: Callable[[], Any]) -> None:
        self._config = config

    def verify(self, raw_body: bytes, headers: Mapping[str, str],
               now: datetime) -> ChannelNotice:
        config = self._config()
        txn = unionpay.verify_notification(raw_body, _header(headers, "content-type"),
                                           config, now)
        if not txn.succeeded or txn.txn_type != "01":
            return ChannelNotice(ignored=f"{txn.txn_type}/{txn.resp_code} {txn.order_id}")
        return ChannelNotice(payment=Payment(
            channel="unionpay", channel_txn_id=txn.query_id, out_trade_no=txn.order_id,
            amount_fen=txn.txn_amt_fen, paid_at=txn.paid_at, notification_id=txn.query_id,
            settle_date=settle_date_of(txn.raw.get("settleDate", ""), txn.paid_at),
            merchant="" if txn.mer_id == config.mer_id else txn.mer_id))


class BankNotices:
    """An agent bank's counter payments (HMAC, ±300 s), against the note's payment code."""

    def __init__(self, config: Callable[[], Any]) -> None:
        self._config = config

    def verify(self, raw_body: bytes, headers: Mapping[str, str],
               now: datetime) -> ChannelNotice:
        paid = bank.verify_notification(raw_body, headers, self._config(),
                                        int(now.timestamp()))
        return ChannelNotice(payment=Payment(
            channel="bank", channel_txn_id=f"{paid.bank_code}-{paid.bank_txn_id}",
            out_trade_no=paid.payment_code, amount_fen=paid.amount_fen, paid_at=paid.paid_at,
            notification_id=paid.bank_txn_id))


NOTICES: dict[str, Callable[[Callable[[], Any]], Any]] = {
    "wechatpay": WechatPayNotices, "alipay": AlipayNotices, "unionpay": UnionPayNotices,
    "bank": BankNotices}
