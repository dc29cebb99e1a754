"""Reimbursement records (报销入账), one per bill across all units, and the audit log."""

from __future__ import annotations

import secrets
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    AuditModel,
    BillModel,
    ReimbursementModel,
    is_conditional_failure,
)
from chalicelib.domain.errors import BillNotReimbursable, ServiceUnavailable
from chalicelib.domain.records import AuditEvent, Reimbursement


def _failed(reasons: list, index: int) -> bool:
    return (index < len(reasons) and reasons[index] is not None
            and reasons[index].code == "ConditionalCheckFailed")


def reimbursement_record(row: ReimbursementModel) -> Reimbursement:
    return Reimbursement(bill_id=row.bill_id, unit_code=row.unit_code, unit_name=row.unit_name,
                         voucher_no=row.voucher_no, recorded_at=row.recorded_at)


def audit_row(event: AuditEvent) -> AuditModel:
    """The audit table's row of ``event`` (also written inside ``DynamoBills.count_check``)."""
    return AuditModel(event.bill_id, f"{event.at}#{secrets.token_hex(4)}",
                      unit_code=event.unit_code, day=event.at[:10], action=event.action,
                      outcome=event.outcome, client=event.client, detail=event.detail)


@aws_boundary
class DynamoReimbursements:
    """ReimbursementRepository: one transaction makes the first unit the only holder, and only
    of a bill that is normal, not exchanged to paper and not being reversed at that instant.

    The request carries the bill's condition check first, then the put, so the cancellation
    reasons come in that order. Void and exchange to paper condition on this record's absence
    (``DynamoBills.set_status(..., unreimbursed=True)``): whichever commits first wins.
    """

    def __init__(self) -> None:
        self._connection: Connection | None = None

    def _conn(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=getattr(ReimbursementModel.Meta, "region", None),
                                          host=getattr(ReimbursementModel.Meta, "host", None))
        return self._connection

    def add(self, record: Reimbursement) -> Reimbursement | None:
        """Record it; None if it was new, else the record that already holds the bill."""
        reimbursable = ((BillModel.status == "normal") & BillModel.links["paper"].does_not_exist()
                        & BillModel.reversal.does_not_exist())
        for _ in range(3):
            row = ReimbursementModel(record.bill_id, unit_code=record.unit_code,
                                     unit_name=record.unit_name, voucher_no=record.voucher_no,
                                     recorded_at=record.recorded_at)
            try:
                with TransactWrite(connection=self._conn()) as tx:
                    tx.condition_check(BillModel, record.bill_id, condition=reimbursable)
                    tx.save(row, condition=ReimbursementModel.bill_id.does_not_exist())
                return None
            except TransactWriteError as exc:
                reasons = list(exc.cancellation_reasons or [])
                if not reasons:
                    raise
                if _failed(reasons, 1):  # held already: the holder answers, whatever the bill
                    holder = self.get(record.bill_id)
                    if holder is not None:
                        return holder
                    continue  # released in between: try again
                if _failed(reasons, 0):
                    raise BillNotReimbursable("该票据当前不能报销入账") from exc
                raise
        raise ServiceUnavailable("could not record the reimbursement: too much contention")

    def get(self, bill_id: str) -> Reimbursement | None:
        try:
            return reimbursement_record(ReimbursementModel.get(bill_id, consistent_read=True))
        except DoesNotExist:
            return None

    def release(self, bill_id: str, unit_code: str) -> bool:
        """Delete the record if ``unit_code`` holds it; False if it does not."""
        try:
            ReimbursementModel(bill_id).delete(
                condition=ReimbursementModel.unit_code == unit_code)
            return True
        except DeleteError as exc:
            if is_conditional_failure(exc):
                return False
            raise


@aws_boundary
class DynamoAudit:
    """AuditLog: append-only rows, queryable by bill, by unit and by day."""

    def append(self, event: AuditEvent) -> None:
        audit_row(event).save()

    def query(self, *, bill_id: str | None = None, unit_code: str | None = None,
              day: str | None = None, limit: int = 200) -> list[AuditEvent]:
        """Newest first, by bill, by unit (optionally one day) or by day."""
        if bill_id:
            rows = AuditModel.query(bill_id, scan_index_forward=False, limit=limit)
        elif unit_code:
            condition = AuditModel.event_id.startswith(day) if day else None
            rows = AuditModel.by_unit.query(unit_code, condition, scan_index_forward=False,
                                            limit=limit)
        elif day:
            rows = AuditModel.by_day.query(day, scan_index_forward=False, limit=limit)
        else:
            raise ValueError("query the audit log by bill, unit or day")
        return [_event(r) for r in rows]

    def page(self, *, bill_id: str | None = None, unit_code: str | None = None,
             day: str | None = None, limit: int = 100, after: dict[str, str] | None = None
             ) -> tuple[list[tuple[AuditEvent, dict[str, str]]], dict[str, str] | None]:
        """One Query (``Limit`` = ``limit``) of the table or index ``query`` reads, from the
        position ``after`` (DynamoDB's key of a row: the index's keys and the table's)."""
        start = {name: {"S": value} for name, value in after.items()} if after else None
        since = AuditModel.event_id.startswith(day) if day else None
        if bill_id:
            rows = AuditModel.query(bill_id, since, scan_index_forward=False, limit=limit,
                                    page_size=limit, last_evaluated_key=start)
            keys: tuple[str, ...] = ("bill_id", "event_id")
        elif unit_code:
            rows = AuditModel.by_unit.query(unit_code, since, scan_index_forward=False,
                                            limit=limit, page_size=limit,
                                            last_evaluated_key=start)
            keys = ("unit_code", "event_id", "bill_id")
        elif day:
            rows = AuditModel.by_day.query(day, scan_index_forward=False, limit=limit,
                                           page_size=limit, last_evaluated_key=start)
            keys = ("day", "event_id", "bill_id")
        else:
            raise ValueError("query the audit log by bill, unit or day")
        page: dict[str, Any] = next(iter(rows.page_iter), {})
        found = []
        for item in page.get("Items", []):
            row = AuditModel.from_raw_data(item)
            found.append((_event(row), {key: item[key]["S"] for key in keys}))
        last = page.get("LastEvaluatedKey")
        return found, ({name: value["S"] for name, value in last.items()} if last else None)


def _event(r: AuditModel) -> AuditEvent:
    return AuditEvent(bill_id=r.bill_id, unit_code=r.unit_code, action=r.action,
                      outcome=r.outcome, client=r.client, at=r.event_id.split("#")[0],
                      detail=r.detail, event_id=r.event_id)
