"""Recording what the payment channels tell us: verify, then record exactly once, then enqueue.

The acknowledgement path makes at most two AWS calls: one conditional write (a transaction) and
one enqueue. It never renders, signs or sends texts; the issuance job does that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from chalicelib.bootstrap import Deps
from chalicelib.domain.codes import is_out_trade_no
from chalicelib.domain.payments import Payment, PaymentOutcome

log = logging.getLogger(__name__)


def record_payment(deps: Deps, payment: Payment) -> PaymentOutcome:
    """Record a verified payment; enqueue issuance when the note may now be issued."""
    if not is_out_trade_no(payment.out_trade_no) or not payment.out_trade_no[:20].isdigit():
        return PaymentOutcome.ORDER_UNKNOWN
    outcome = deps.payments.record(payment)
    if outcome in (PaymentOutcome.RECORDED, PaymentOutcome.DUPLICATE):
        # On a duplicate we enqueue again: if the first delivery's enqueue failed after the
        # write, this is how issuance still happens. Issuing is idempotent.
        deps.jobs.issue_bill(payment.payment_code)
    log.info("payment %s %s on %s: %s", payment.channel, payment.channel_txn_id,
             payment.payment_code, outcome.value)
    return outcome


def record_wechatpay(deps: Deps, raw_body: bytes, headers: Mapping[str, str]) -> PaymentOutcome:
    """Verify a WeChat Pay APIv3 notification and record its payment."""
    from chalicelib.adapters.wechatpay import verify_notification

    config = deps.wechatpay()
    txn = verify_notification(raw_body, headers, config, int(deps.clock().timestamp()))
    if txn.event_type != "TRANSACTION.SUCCESS" or txn.trade_state != "SUCCESS":
        log.info("wechatpay %s for %s ignored", txn.event_type, txn.out_trade_no)
        return PaymentOutcome.IGNORED
    return record_payment(deps, Payment(
        channel="wechatpay", channel_txn_id=txn.transaction_id, out_trade_no=txn.out_trade_no,
        amount_fen=txn.amount_fen, paid_at=txn.success_time, notification_id=txn.event_id))
