"""In-memory fakes of the channel ports: ``ChannelApi`` (a channel's server) and ``RefundStore``.

Kept next to ``tests/fakes.py`` (which wires them into ``fake_deps``) so that file stays about
the stores. ``FakeRefunds`` mirrors ``adapters/dynamo_refunds.DynamoRefunds`` over the shared
payments rows: each move is an ``if`` on the current status, as its conditional update.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.payments import (
    ChannelOrder,
    Checkout,
    Payment,
    RefundRequest,
    RefundResult,
)
from chalicelib.domain.records import PaymentRecord

_FROM = {"requested": ("pending", "requested"), "manual": ("pending",),
         "failed": ("requested",), "succeeded": ("requested", "failed")}


class FakeRefunds:
    """RefundStore; mirrors ``DynamoRefunds`` (the sparse index is ``refund_due == "due"``)."""

    def __init__(self, rows: dict[str, dict]) -> None:
        self.rows = rows  # the payments table, shared with FakePayments

    def due(self, limit: int = 100) -> list[PaymentRecord]:
        due = [r for r in self.rows.values() if r.get("refund_due") == "due"]
        return [PaymentRecord.of_row(r) for r in sorted(due, key=lambda r: r["paid_at"])[:limit]]

    def get(self, payment_id: str) -> PaymentRecord | None:
        row = self.rows.get(payment_id)
        return PaymentRecord.of_row(row) if row is not None else None

    def claim(self, payment_id: str, out_refund_no: str, now: str) -> bool:
        row = self.rows.get(payment_id)
        if row is None or row.get("refund_status") != "pending" or row["status"] != "exception":
            return False
        row.update(refund_status="requested", out_refund_no=out_refund_no,
                   refund_requested_at=now, refund_checked_at=now)
        return True

    def checked(self, payment_id: str, now: str) -> None:
        row = self.rows.get(payment_id)
        if row is not None and row.get("refund_status") == "requested":
            row["refund_checked_at"] = now

    def finish(self, payment_id: str, status: str, *, refund_id: str | None = None,
               detail: str = "") -> bool:
        row = self.rows.get(payment_id)
        if row is None or row.get("refund_status") not in _FROM[status]:
            return False
        row.update(refund_status=status, refund_detail=detail[:500] or status)
        if refund_id:
            row["refund_id"] = refund_id
        if status != "requested":
            row.pop("refund_due", None)
        return True


class FakeChannelApi:
    """ChannelApi of one channel, scripted: ``paid`` (out_trade_no → Payment) answers queries,
    ``refund_results`` the refunds in turn (default: succeeded); ``down`` makes every call
    raise ``ServiceUnavailable``. Every call is kept in ``calls``."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.paid: dict[str, Payment] = {}
        self.refund_results: list[RefundResult] = []
        self.down = False
        self.calls: list[tuple[str, Any]] = []

    def _call(self, name: str, what: Any) -> None:
        self.calls.append((name, what))
        if self.down:
            raise ServiceUnavailable(f"{self.channel} is down")

    def checkout(self, order: ChannelOrder, *, description: str, notify_url: str,
                 return_url: str, client_ip: str) -> Checkout:
        self._call("checkout", order)
        return Checkout(pay_url=f"https://{self.channel}.test/pay/{order.out_trade_no}")

    def query(self, order: ChannelOrder) -> Payment | None:
        self._call("query", order)
        return self.paid.get(order.out_trade_no)

    def refund(self, request: RefundRequest) -> RefundResult:
        self._call("refund", request)
        if self.refund_results:
            return self.refund_results.pop(0)
        return RefundResult("succeeded", f"refund-{request.out_refund_no}")
