"""Recording what the payment channels tell us: verify, then record exactly once, then enqueue.

The acknowledgement path makes at most two AWS calls: one conditional write (a transaction) and
one enqueue, which also carries the notification's intake record (``services/intake.py``). It
never renders, signs or sends texts; the issuance job does that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from chalicelib.domain.codes import is_out_trade_no
from chalicelib.domain.errors import Conflict, DomainError, ServiceUnavailable
from chalicelib.domain.notes import china_time
from chalicelib.domain.payments import Payment, PaymentOutcome
from chalicelib.domain.records import PaymentRecord
from chalicelib.services.intake import REJECTED_PREFIX, Intake, keep, keep_rejected
from chalicelib.services.ports import Ports
from chalicelib.services.refunds import record_refund_notice

log = logging.getLogger(__name__)


def record_payment(deps: Ports, payment: Payment,
                   intake: Intake | None = None) -> PaymentOutcome:
    """Record a verified payment; enqueue issuance when the note may now be issued.

    A payment made to another merchant than the one its order was opened for (a unit's own
    sub-merchant, or the deployment's) is not recorded: a notification saying so is refused
    (``Conflict`` ``merchant_mismatch``, kept with the other refusals, and the channel sends
    it again until a person looks); a query's or a statement's gets the outcome back."""
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
    elif outcome is PaymentOutcome.MERCHANT_MISMATCH:
        app = f" (application {payment.merchant_app})" if payment.merchant_app else ""
        why = (f"paid to merchant {payment.merchant or 'ours (the deployment)'}{app}, not the "
               f"one order {payment.out_trade_no} was opened for")
        log.warning("payment %s %s on %s refused: %s", payment.channel, payment.channel_txn_id,
                    payment.payment_code, why)
        if intake is not None:
            keep_rejected(deps, intake, f"merchant_mismatch: {why}")
            raise Conflict("付款商户号与订单的商户号不符，未入账", code="merchant_mismatch")
        return outcome
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


def record_notification(deps: Ports, channel: str, raw_body: bytes,
                        headers: Mapping[str, str], client: str = "unknown") -> PaymentOutcome:
    """Verify a channel's notification (``deps.notices``), then record its payment, hand its
    refund notice to the refunds service, or keep it as ignored."""
    intake = Intake.receive(deps, channel, raw_body, headers, client)
    with _kept_if_refused(deps, intake):
        notice = deps.notices(channel).verify(raw_body, headers, deps.clock())
    if notice.refund is not None:
        return record_refund_notice(deps, notice.refund, intake)
    if notice.payment is None:
        return _ignored(deps, intake, notice.ignored or "nothing to record")
    return record_payment(deps, notice.payment, intake)


def record_wechatpay(deps: Ports, raw_body: bytes, headers: Mapping[str, str],
                     client: str = "unknown") -> PaymentOutcome:
    """A WeChat Pay APIv3 notification: a payment, or the outcome of one of our refunds."""
    return record_notification(deps, "wechatpay", raw_body, headers, client)


def record_alipay(deps: Ports, raw_body: bytes, content_type: str,
                  client: str = "unknown") -> PaymentOutcome:
    """An Alipay asynchronous notification (RSA2)."""
    return record_notification(deps, "alipay", raw_body, {"Content-Type": content_type}, client)


def record_unionpay(deps: Ports, raw_body: bytes, content_type: str,
                    client: str = "unknown") -> PaymentOutcome:
    """A UnionPay ACP 5.1.0 back notification (signMethod 01)."""
    return record_notification(deps, "unionpay", raw_body, {"Content-Type": content_type},
                               client)


def record_bank(deps: Ports, raw_body: bytes, headers: Mapping[str, str],
                client: str = "unknown") -> PaymentOutcome:
    """An agent bank's counter payment (HMAC, ±300 s), recorded against the note."""
    return record_notification(deps, "bank", raw_body, headers, client)


def replay(deps: Ports, key: str) -> str:
    """Run a kept notification through its channel's handler again, as of its arrival.

    ``intake/…`` keys are read from the archive, ``rejected/…`` keys from the short-lived store
    (NotFound once its lifecycle has expired them). Returns the outcome; ``rejected`` when the
    notification is refused again (why is logged).
    """
    store = deps.rejected_intake if key.startswith(f"{REJECTED_PREFIX}/") else deps.archive
    record = json.loads(store.get(key))
    intake = Intake.of_record(record)
    arrived = datetime.fromisoformat(record["received_at"])
    if record.get("body_truncated"):
        log.warning("replayed %s: only a prefix of its body was kept", key)
        return "rejected"
    try:
        outcome = record_notification(deps.at(lambda: arrived), intake.channel,
                                      intake.raw_body, intake.headers, intake.client).value
    except ServiceUnavailable:
        raise
    except DomainError as exc:
        log.warning("replayed %s: refused again (%s: %s)", key, type(exc).__name__, exc.message)
        return "rejected"
    log.info("replayed %s: %s", key, outcome)
    return outcome


def exception_view(row: PaymentRecord) -> dict:
    """A payment exception as a collecting unit sees it: money to give back."""
    return {"channel": row.channel, "channel_txn_id": row.channel_txn_id,
            "payment_code": row.payment_code, "amount_fen": row.amount_fen,
            "paid_at": row.paid_at, "reason": row.reason, "refund_status": row.refund_status,
            "refund_id": row.refund_id, "out_refund_no": row.out_refund_no,
            "refund_detail": row.refund_detail}


def note_exceptions(deps: Ports, payment_code: str) -> list[dict]:
    return [exception_view(r) for r in deps.payments.for_note(payment_code)
            if r.status == "exception"]


def unit_exceptions(deps: Ports, unit_code: str) -> list[dict]:
    return [exception_view(r) for r in deps.payments.exceptions_for_unit(unit_code)]
