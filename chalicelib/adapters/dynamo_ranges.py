"""Number ranges in DynamoDB: allocation by the finance department, reports, void numbers.

A unit's ranges of every kind are one query of the unit index (``of_unit``). An index is
eventually consistent: so that the page shown right after an allocation lists it, the ranges
this process allocated in the last ``RECENT_SECONDS`` are added when the index does not show
them yet.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

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
RECENT_SECONDS = 60


def range_from_model(row: NumberRangeModel) -> NumberRange:
    return NumberRange(unit_code=row.unit_code, kind_code=row.kind_code,
                       bill_code=row.bill_code, start=int(row.start), end=int(row.end),
                       next=int(row.next), allocated_at=row.allocated_at,
                       voided=int(row.voided or 0))


@aws_boundary
class DynamoRanges:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._connection: Connection | None = None
        self._now = now
        self._recent: list[tuple[float, NumberRange]] = []  # allocated here, newest last

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
                allocated = range_from_model(row)
                moment = self._now()
                self._recent = [(at, r) for at, r in self._recent
                                if moment - at < RECENT_SECONDS] + [(moment, allocated)]
                return allocated
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

    def of_unit(self, unit_code: str) -> list[NumberRange]:
        """One query of the unit index, with what this process allocated that it lacks."""
        found = [range_from_model(r) for r in NumberRangeModel.by_unit.query(unit_code)]
        seen = {(r.bill_code, r.start) for r in found}
        now = self._now()
        found += [r for at, r in self._recent if r.unit_code == unit_code
                  and now - at < RECENT_SECONDS and (r.bill_code, r.start) not in seen]
        return sorted(found, key=lambda r: (r.kind_code, r.bill_code, r.start))

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
