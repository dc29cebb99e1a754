"""Giving back exception payments (money no bill covers): the refund job and refund notices.

The job (``refund_exceptions``, scheduled) takes each exception whose refund is pending or
requested (``deps.refunds.due``). An agent bank's counter payment has no refund API: it becomes
``manual``, for the collecting unit to refund by hand. Any other is first claimed (pending →
requested, a conditional write, with ``out_refund_no`` derived from the payment id) and only
then asked of its channel, so a crash or a timeout leaves a refund that the next run asks for
again under the same number: the channels treat it as the same refund. A requested refund is
asked about again after ``RECHECK_AFTER`` until the channel gives a final answer (WeChat also
notifies: ``record_refund_notice``; Alipay answers at once; UnionPay is asked by query).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import DomainError
from chalicelib.domain.payments import (
    PaymentOutcome,
    RefundNotice,
    RefundRequest,
    out_refund_no,
)
from chalicelib.domain.records import PaymentRecord
from chalicelib.services.intake import Intake, keep
from chalicelib.services.links import callback_url
from chalicelib.services.merchants import authorised_refund
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)
RECHECK_AFTER = timedelta(minutes=10)
BATCH = 50
MANUAL_DETAIL = "代理银行柜台缴款没有退款接口，请执收单位线下退款"
WECHAT_REFUND_STATUSES = {"SUCCESS": "succeeded", "CLOSED": "failed", "ABNORMAL": "failed"}


def refund_exceptions(deps: Ports, limit: int = BATCH) -> dict[str, int]:
    """Push every due refund one step; how many ended in each state (for the log)."""
    now = deps.clock()
    counts: Counter[str] = Counter()
    for row in deps.refunds.due(limit):
        counts[_push(deps, row, now)] += 1
    if counts:
        log.info("refunds: %s", dict(counts))
    return dict(counts)


def _push(deps: Ports, row: PaymentRecord, now: datetime) -> str:
    payment_id, channel = row.payment_id, row.channel
    if channel == "bank":
        deps.refunds.finish(payment_id, "manual", detail=MANUAL_DETAIL)
        return "manual"
    stamp = now.isoformat(timespec="seconds")
    if row.refund_status == "pending":  # a retried refund has its new number already
        number = row.out_refund_no or out_refund_no(payment_id)
        if not deps.refunds.claim(payment_id, number, stamp):
            return "skipped"  # another run took it
        requested_at = now
    else:
        last = row.refund_checked_at or row.refund_requested_at
        if last and datetime.fromisoformat(last) > now - RECHECK_AFTER:
            return "waiting"
        deps.refunds.checked(payment_id, stamp)
        number = row.out_refund_no or out_refund_no(payment_id)
        requested_at = datetime.fromisoformat(row.refund_requested_at or stamp)
    request = RefundRequest(
        payment_id=payment_id, channel=channel, channel_txn_id=row.channel_txn_id,
        out_trade_no=row.out_trade_no, amount_fen=row.amount_fen,
        out_refund_no=number, requested_at=requested_at,
        notify_url=callback_url(deps, channel), merchant=row.merchant or "")
    try:
        result = deps.channel_api(channel).refund(authorised_refund(deps, request))
    except DomainError as exc:  # ServiceUnavailable mostly: the channel is asked again
        log.warning("refund %s of %s not answered, asked again later: %s", number, payment_id,
                    exc.message)
        return "unavailable"
    deps.refunds.finish(payment_id, result.status, refund_id=result.refund_id,
                        detail=result.detail, at=china_iso(deps.clock()))
    log.info("refund %s of %s (%s fen): %s %s", number, payment_id, request.amount_fen,
             result.status, result.detail)
    return result.status


def record_refund_notice(deps: Ports, refund: RefundNotice, intake: Intake) -> PaymentOutcome:
    """A verified refund notice (WeChat's REFUND.*) closes the refund it names, once; from
    the merchant the payment was made to (a unit's sub-merchant, or ours), or it is ignored."""
    payment_id = f"{refund.channel}#{refund.channel_txn_id}"
    row = deps.refunds.get(payment_id)
    detail = f"{refund.event_type} {refund.refund_status} {refund.out_refund_no}"
    if row is None or row.out_refund_no != refund.out_refund_no \
            or refund.refund_fen != row.amount_fen or (row.merchant or "") != refund.merchant:
        log.warning("%s refund notice for no refund of ours: %s", refund.channel, detail)
        keep(deps, intake.record(PaymentOutcome.IGNORED.value, detail))
        return PaymentOutcome.IGNORED
    status = WECHAT_REFUND_STATUSES.get(refund.refund_status)
    changed = status is not None and deps.refunds.finish(
        payment_id, status, refund_id=refund.refund_id, detail=detail,
        at=china_iso(deps.clock()))
    outcome = PaymentOutcome.RECORDED if changed else PaymentOutcome.DUPLICATE
    keep(deps, intake.record(outcome.value, detail, payment_code=row.payment_code))
    log.info("%s refund %s of %s: %s", refund.channel, refund.out_refund_no, payment_id,
             outcome.value)
    return outcome
