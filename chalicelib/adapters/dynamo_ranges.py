"""Number ranges in DynamoDB: allocation by the finance department, reports, void numbers."""

from __future__ import annotations

import random
import time

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    BillModel,
    CounterModel,
    NumberRangeModel,
)
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.ranges import NumberRange, check_allocation
from chalicelib.domain.records import PendingNumber

ALLOCATE_ATTEMPTS = 20


def range_from_model(row: NumberRangeModel) -> NumberRange:
    return NumberRange(unit_code=row.unit_code, kind_code=row.kind_code,
                       bill_code=row.bill_code, start=int(row.start), end=int(row.end),
                       next=int(row.next), allocated_at=row.allocated_at,
                       voided=int(row.voided or 0))


@aws_boundary
class DynamoRanges:
    def __init__(self) -> None:
        self._connection: Connection | None = None

    def _conn(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=getattr(BillModel.Meta, "region", None),
                                          host=getattr(BillModel.Meta, "host", None))
        return self._connection

    def allocate(self, unit_code: str, kind_code: str, bill_code: str, count: int,
                 now: str) -> NumberRange:
        """Give a unit the next ``count`` numbers of ``bill_code`` (never overlapping)."""
        check_allocation(count)
        mark_id = f"range-alloc#{bill_code}"
        for attempt in range(ALLOCATE_ATTEMPTS):
            try:
                high = int(CounterModel.get(mark_id, consistent_read=True).value)
            except DoesNotExist:
                high = 0
            if high + count >= 10**10:
                raise ValueError(f"bill code {bill_code} has no {count} numbers left")
            guard = (CounterModel.value == high) if high else CounterModel.value.does_not_exist()
            row = NumberRangeModel(f"{unit_code}#{kind_code}", f"{bill_code}#{high + 1:010d}",
                                   unit_code=unit_code, kind_code=kind_code, bill_code=bill_code,
                                   start=high + 1, end=high + count, next=high + 1,
                                   allocated_at=now)
            try:
                with TransactWrite(connection=self._conn()) as tx:
                    tx.update(CounterModel(mark_id),
                              actions=[CounterModel.value.set(high + count)], condition=guard)
                    tx.save(row, condition=NumberRangeModel.range_start.does_not_exist())
                return range_from_model(row)
            except TransactWriteError as exc:
                if not exc.cancellation_reasons:
                    raise
            # Another allocation of this bill code won the mark: read it again, after a pause
            # that grows and is random, so that a crowd of requests does not retry in step.
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter
        raise ServiceUnavailable("号段分配繁忙，请稍后重试", code="range_contention")

    def for_unit(self, unit_code: str, kind_code: str) -> list[NumberRange]:
        return [range_from_model(r) for r in
                NumberRangeModel.query(f"{unit_code}#{kind_code}", consistent_read=True)]

    def all(self) -> list[NumberRange]:
        return sorted((range_from_model(r) for r in NumberRangeModel.scan()),
                      key=lambda r: (r.bill_code, r.start))

    def pending_bills(self, reserved_before: str) -> list[PendingNumber]:
        return [PendingNumber(bill_id=r.bill_id, payment_code=r.payment_code or "",
                              reserved_at=r.reserved_at or "", purpose=r.purpose or "note",
                              reverses=r.reverses, reversal_reason=r.reversal_reason)
                for r in BillModel.by_pending.query("pending",
                                                    BillModel.reserved_at < reserved_before)]

    def void_number(self, bill_id: str, reason: str) -> bool:
        """Record a taken number as void (its issuance cannot complete); False if not pending."""
        try:
            row = BillModel.get(bill_id, consistent_read=True)
        except DoesNotExist:
            return False
        if row.status != "pending" or not row.range_pk:
            return False
        try:
            with TransactWrite(connection=self._conn()) as tx:
                tx.update(BillModel(bill_id), actions=[
                    BillModel.status.set("voided"), BillModel.void_reason.set(reason),
                    BillModel.pending.remove()], condition=BillModel.status == "pending")
                tx.update(NumberRangeModel(row.range_pk, row.range_sk),
                          actions=[NumberRangeModel.voided.add(1)])
            return True
        except TransactWriteError as exc:
            if exc.cancellation_reasons:
                return False
            raise
