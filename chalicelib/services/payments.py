"""Recording what the payment channels tell us: verify, then record exactly once, then enqueue.

The acknowledgement path makes at most two AWS calls: one conditional write (a transaction) and
one enqueue, which also carries the notification's intake record (``services/intake.py``). It
never renders, signs or sends texts; the issuance job does that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import replace

from chalicelib.domain.codes import is_out_trade_no
from chalicelib.domain.errors import DomainError
from chalicelib.domain.notes import china_time
from chalicelib.domain.payments import Payment, PaymentOutcome
from chalicelib.services.intake import Intake, keep, keep_rejected
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


def record_payment(deps: Ports, payment: Payment,
                   intake: Intake | None = None) -> PaymentOutcome:
    """Record a verified payment; enqueue issuance when the note may now be issued."""
    payment = replace(payment, paid_at=china_time(payment.paid_at))
    if not is_out_trade_no(payment.out_trade_no) or not payment.out_trade_no[:20].isdigit():
        outcome = PaymentOutcome.ORDER_UNKNOWN
    else:
        outcome = deps.payments.record(payment)
    if outcome in (PaymentOutcome.RECORDED, PaymentOutcome.DUPLICATE):
        # On a duplicate we enqueue again: if the first delivery's enqueue failed after the
        # write, this is how issuance still happens. Issuing is idempotent. The intake record
        # rides along, so the acknowledgement stays at two AWS calls.
        deps.jobs.issue_bill(payment.payment_code, intake=intake.record(
            outcome.value, payment_code=payment.payment_code) if intake else None)
    elif intake is not None:
        keep(deps, intake.record(outcome.value, payment_code=payment.payment_code))
    log.info("payment %s %s on %s: %s", payment.channel, payment.channel_txn_id,
             payment.payment_code, outcome.value)
    return outcome


@contextmanager
def _kept_if_refused(deps: Ports, intake: Intake):
    """Refuse a body over its channel's cap before any verification work; a notification that
    is refused is kept, with why, in the short-lived store (never the write-once archive)."""
    try:
        intake.check_size()
        yield
    except DomainError as exc:
        keep_rejected(deps, intake, f"{type(exc).__name__}: {exc.message}")
        raise


def _ignored(deps: Ports, intake: Intake, detail: str) -> PaymentOutcome:
    log.info("%s notification ignored: %s", intake.channel, detail)
    keep(deps, intake.record(PaymentOutcome.IGNORED.value, detail))
    return PaymentOutcome.IGNORED


def record_wechatpay(deps: Ports, raw_body: bytes, headers: Mapping[str, str],
                     client: str = "unknown") -> PaymentOutcome:
    """Verify a WeChat Pay APIv3 notification; record its payment, or close its refund."""
    from chalicelib.adapters.wechatpay import WechatRefund, verify_event

    intake = Intake.receive(deps, "wechatpay", raw_body, headers, client)
    with _kept_if_refused(deps, intake):
        config = deps.channel("wechatpay")
        txn = verify_event(raw_body, headers, config, int(deps.clock().timestamp()))
    if isinstance(txn, WechatRefund):
        from chalicelib.services.refunds import record_wechatpay_refund

        return record_wechatpay_refund(deps, txn, intake)
    if txn.event_type != "TRANSACTION.SUCCESS" or txn.trade_state != "SUCCESS":
        return _ignored(deps, intake, f"{txn.event_type}/{txn.trade_state} {txn.out_trade_no}")
    return record_payment(deps, Payment(
        channel="wechatpay", channel_txn_id=txn.transaction_id, out_trade_no=txn.out_trade_no,
        amount_fen=txn.amount_fen, paid_at=txn.success_time, notification_id=txn.event_id),
        intake)


def record_alipay(deps: Ports, raw_body: bytes, content_type: str,
                  client: str = "unknown") -> PaymentOutcome:
    """Verify an Alipay asynchronous notification (RSA2) and record its payment.

    ``TRADE_SUCCESS`` and ``TRADE_FINISHED`` are payments; the second of the two for one
    ``trade_no`` is the same payment (a duplicate). Other statuses record nothing.
    """
    from chalicelib.adapters.alipay import verify_notification

    intake = Intake.receive(deps, "alipay", raw_body, {"Content-Type": content_type}, client)
    with _kept_if_refused(deps, intake):
        trade = verify_notification(raw_body, content_type, deps.channel("alipay"), None)
    if not trade.paid:
        return _ignored(deps, intake, f"{trade.trade_status} {trade.out_trade_no}")
    return record_payment(deps, Payment(
        channel="alipay", channel_txn_id=trade.trade_no, out_trade_no=trade.out_trade_no,
        amount_fen=trade.total_amount_fen, paid_at=trade.paid_at or "",
        notification_id=trade.notify_id), intake)


def record_unionpay(deps: Ports, raw_body: bytes, content_type: str,
                    client: str = "unknown") -> PaymentOutcome:
    """Verify a UnionPay ACP 5.1.0 back notification (signMethod 01) and record its payment."""
    from chalicelib.adapters.unionpay import verify_notification

    intake = Intake.receive(deps, "unionpay", raw_body, {"Content-Type": content_type},
                            client)
    with _kept_if_refused(deps, intake):
        txn = verify_notification(raw_body, content_type, deps.channel("unionpay"),
                                  deps.clock())
    if not txn.succeeded or txn.txn_type != "01":
        return _ignored(deps, intake, f"{txn.txn_type}/{txn.resp_code} {txn.order_id}")
    return record_payment(deps, Payment(
        channel="unionpay", channel_txn_id=txn.query_id, out_trade_no=txn.order_id,
        amount_fen=txn.txn_amt_fen, paid_at=txn.paid_at, notification_id=txn.query_id), intake)


def record_bank(deps: Ports, raw_body: bytes, headers: Mapping[str, str],
                client: str = "unknown") -> PaymentOutcome:
    """Verify an agent bank's counter payment (HMAC, ±300 s) and record it against the note."""
    from chalicelib.adapters.bank import verify_notification

    intake = Intake.receive(deps, "bank", raw_body, headers, client)
    with _kept_if_refused(deps, intake):
        paid = verify_notification(raw_body, headers, deps.channel("bank"),
                                   int(deps.clock().timestamp()))
    return record_payment(deps, Payment(
        channel="bank", channel_txn_id=f"{paid.bank_code}-{paid.bank_txn_id}",
        out_trade_no=paid.payment_code, amount_fen=paid.amount_fen, paid_at=paid.paid_at,
        notification_id=paid.bank_txn_id), intake)


def exception_view(row: dict) -> dict:
    """A payment exception as a collecting unit sees it: money to give back."""
    return {"channel": row["channel"], "channel_txn_id": row["channel_txn_id"],
            "payment_code": row["payment_code"], "amount_fen": int(row["amount_fen"]),
            "paid_at": row["paid_at"], "reason": row.get("reason"),
            "refund_status": row.get("refund_status"), "refund_id": row.get("refund_id"),
            "out_refund_no": row.get("out_refund_no"), "refund_detail": row.get("refund_detail")}


def note_exceptions(deps: Ports, payment_code: str) -> list[dict]:
    return [exception_view(r) for r in deps.payments.for_note(payment_code)
            if r.get("status") == "exception"]


def unit_exceptions(deps: Ports, unit_code: str) -> list[dict]:
    return [exception_view(r) for r in deps.payments.exceptions_for_unit(unit_code)]
