"""事中/事后 checks for the finance department: the anomalies of a period (``domain/anomalies``).

The period's days are read through the day indexes, as the weekly report reads a week
(``services/reports.week_records``): at most ``MAX_DAYS`` days a request, so one request costs
at most that many days' reads. A finance key sees the anomalies of its region's units only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalicelib.domain import anomalies
from chalicelib.domain.bills import Bill
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.notes import Note
from chalicelib.domain.remittance import parse_day
from chalicelib.domain.reports import WeekRecords
from chalicelib.services.links import bill_url, pay_url
from chalicelib.services.ports import Ports
from chalicelib.services.reports import in_scope

MAX_DAYS = 31


def _period(start: str | None, end: str | None) -> list[str]:
    if not start or not end:
        raise ValidationFailed("请给出 from 与 to 日期", {
            **({} if start else {"from": "required, YYYY-MM-DD"}),
            **({} if end else {"to": "required, YYYY-MM-DD"})})
    first = date.fromisoformat(_field(start, "from"))
    last = date.fromisoformat(_field(end, "to"))
    days = (last - first).days + 1
    if days < 1:
        raise ValidationFailed("to 不能早于 from", {"to": "on or after from"})
    if days > MAX_DAYS:
        raise ValidationFailed(f"一次最多查询 {MAX_DAYS} 天", {"to": f"at most {MAX_DAYS} days"})
    return [(first + timedelta(days=i)).isoformat() for i in range(days)]


def _field(text: str, name: str) -> str:
    try:
        return parse_day(text)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {name: "a date YYYY-MM-DD"}) from None


def find(deps: Ports, finance: Any, start: str | None, end: str | None) -> dict[str, Any]:
    """``GET /v1/admin/anomalies?from=&to=``: every anomaly of the period, by kind."""
    days = _period(start, end)
    records = WeekRecords()
    for day in days:
        records.notes_created += deps.activity.notes_made(day)
        applied = [p.payment_code for p in deps.activity.payments(day) if p.status == "applied"]
        if applied:
            records.notes_paid += [n for n in deps.activity.notes(applied)
                                   if n.payment is not None and n.payment.paid_at[:10] == day]
        records.bills_issued += deps.activity.bills_issued(day)
        records.bills_voided += deps.activity.bills_voided(day)
    records = in_scope(deps, records, finance.scope)

    def note_link(note: Note) -> dict:
        return {"type": "note", "payment_code": note.payment_code,
                "url": pay_url(deps, note.payment_code)}

    def bill_link(bill: Bill) -> dict:
        return {"type": "bill", "bill_code": bill.bill_code, "bill_number": bill.bill_number,
                "payment_code": bill.payment_code,
                "url": bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code)}

    units = {n.unit_code for n in records.notes_created}
    fee_items = {u: deps.units.fee_items(u) for u in sorted(units)}
    found = (anomalies.above_standard(records.notes_created, fee_items, note_link)
             + anomalies.frequent_reversals(records.bills_issued, records.bills_voided,
                                            bill_link)
             + anomalies.unbilled_payments(records.notes_paid, deps.clock(), note_link)
             + anomalies.bulk_voids(records.bills_voided, bill_link))
    return {"from": days[0], "to": days[-1], "scope": finance.scope,
            "anomalies": [a.view() for a in found]}
