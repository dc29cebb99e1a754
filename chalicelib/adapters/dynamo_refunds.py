"""The refund state of exception payments, on their rows of the payments table.

Forward only, each move one conditional update (never read-then-write):

    pending ──claim──▶ requested ──finish──▶ succeeded | failed      (failed ──▶ succeeded too:
    pending ──finish──▶ manual (agent bank: no refund API)             money back is the truth)
    manual | failed ──finish──▶ offline (the unit gave the money back by hand, a person says)
    failed ──retry──▶ pending, under a new refund number (a person asks again)

``refund_due`` ("due") is set while a refund is pending or requested, so the sparse index
``refund_due-paid_at-index`` lists exactly the refunds the job still has to push. A refund that
succeeds gets ``refunded_at`` and ``refund_day`` (``{channel}#{statement day}``), so the sparse
index ``refund_day-refunded_at-index`` gives reconciliation a day's refunds in one query.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import PaymentModel, is_conditional_failure
from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.statements import clearing_day

_FROM = {"requested": ("pending", "requested"), "manual": ("pending",), "failed": ("requested",),
         "succeeded": ("requested", "failed"), "offline": ("manual", "failed")}


@aws_boundary
class DynamoRefunds:
    """RefundStore over the payments table."""

    @staticmethod
    def due(limit: int = 100) -> list[PaymentRecord]:
        """Exception payments whose refund is pending or requested, oldest first."""
        return [PaymentRecord.of_row(r.attribute_values)
                for r in PaymentModel.by_refund_due.query("due", limit=limit)]

    @staticmethod
    def of_day(channel: str, date: str) -> list[PaymentRecord]:
        """Refunds that succeeded on the statement day ``date``, oldest first (sparse index)."""
        return [PaymentRecord.of_row(r.attribute_values)
                for r in PaymentModel.by_refund_day.query(f"{channel}#{date}")]

    @staticmethod
    def get(payment_id: str) -> PaymentRecord | None:
        try:
            return PaymentRecord.of_row(
                PaymentModel.get(payment_id, consistent_read=True).attribute_values)
        except DoesNotExist:
            return None

    @staticmethod
    def _update(payment_id: str, actions: list, condition) -> bool:
        try:
            PaymentModel(payment_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def claim(self, payment_id: str, out_refund_no: str, now: str) -> bool:
        """pending → requested, with the refund's number; False if someone else moved it."""
        return self._update(payment_id, [
            PaymentModel.refund_status.set("requested"),
            PaymentModel.out_refund_no.set(out_refund_no),
            PaymentModel.refund_requested_at.set(now), PaymentModel.refund_checked_at.set(now),
        ], (PaymentModel.refund_status == "pending") & (PaymentModel.status == "exception"))

    def checked(self, payment_id: str, now: str) -> None:
        """The channel was asked again about a requested refund (the job waits before the next)."""
        self._update(payment_id, [PaymentModel.refund_checked_at.set(now)],
                     PaymentModel.refund_status == "requested")

    def finish(self, payment_id: str, status: str, *, refund_id: str | None = None,
               detail: str = "", at: str = "") -> bool:
        """Move to ``status`` if the rules allow it from the current one; False otherwise."""
        actions = [PaymentModel.refund_status.set(status),
                   PaymentModel.refund_detail.set(detail[:500] or status)]
        if refund_id:
            actions.append(PaymentModel.refund_id.set(refund_id))
        if status == "succeeded" and at:
            channel = payment_id.split("#", 1)[0]
            actions += [PaymentModel.refunded_at.set(at),
                        PaymentModel.refund_day.set(f"{channel}#{clearing_day(channel, at)}")]
        if status != "requested":
            actions.append(PaymentModel.refund_due.remove())
        return self._update(payment_id, actions,
                            PaymentModel.refund_status.is_in(*_FROM[status]))

    def retry(self, payment_id: str, failed_no: str, new_no: str) -> bool:
        return self._update(payment_id, [
            PaymentModel.refund_status.set("pending"), PaymentModel.refund_due.set("due"),
            PaymentModel.out_refund_no.set(new_no), PaymentModel.refund_id.remove(),
            PaymentModel.refund_requested_at.remove(), PaymentModel.refund_checked_at.remove(),
        ], (PaymentModel.refund_status == "failed") & (PaymentModel.out_refund_no == failed_no))
