"""The weekly report (每周一报): computed from what was recorded, kept once the week is over.

A finished week's report is generated once (by the Monday job, or by the first request for it)
and archived in the write-once archive as JSON, CSV and PDF under ``reports/weekly/<week>.*``:
from then on every request serves those kept bytes, whatever is recorded later (a late refund
belongs to the week it happens in). The week still running is computed on each request and
says so (``state: live``); a week that has not begun is ``NotFound``.

Cost: ``week_records`` reads each of the week's seven days through the day indexes
(``DailyActivity``: one query a day per index, the payments of every channel being one,
plus one batched read per 100 paid notes), so it grows
with what the week recorded, never with the tables' size.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from chalicelib.domain.china_time import CHINA_TZ, china_iso
from chalicelib.domain.errors import NotFound
from chalicelib.domain.payments import CHANNELS
from chalicelib.domain.regions import covers
from chalicelib.domain.reports import (
    UNKNOWN_UNIT,
    Discrepancy,
    Remitted,
    Week,
    WeekRecords,
    build_weekly_report,
    parse_week,
    report_csv,
    week_of,
)
from chalicelib.domain.reports import RemittedItem as ReportItem
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8",
           "pdf": "application/pdf"}

def archive_key(week: Week, fmt: str, scope: str = "") -> str:
    """Where a kept report is: ``reports/weekly/all/2026-W24.pdf`` for the whole system (the
    Monday job's), ``reports/weekly/3401/2026-W24.pdf`` for a finance key's region."""
    return f"reports/weekly/{scope or 'all'}/{week.label}.{fmt}"


def in_scope(deps: Ports, records: WeekRecords, scope: str) -> WeekRecords:
    """Only what belongs to units of the region ``scope`` (a finance key's: ``""`` is all).
    An exception payment of no known note belongs to no region: the whole system's only."""
    if not scope:
        return records
    regions: dict[str, str | None] = {}

    def mine(unit_code: str | None) -> bool:
        key = unit_code or ""
        if key not in regions:
            unit = deps.units.get(key) if key else None
            regions[key] = unit.region_code if unit is not None else None
        region = regions[key]
        return region is not None and covers(scope, region)

    return WeekRecords(
        notes_created=[n for n in records.notes_created if mine(n.unit_code)],
        notes_paid=[n for n in records.notes_paid if mine(n.unit_code)],
        exceptions=[p for p in records.exceptions if mine(p.exception_unit)],
        bills_issued=[b for b in records.bills_issued if mine(b.issuing_unit_code)],
        bills_voided=[v for v in records.bills_voided if mine(v.bill.issuing_unit_code)],
        discrepancies=[d for d in records.discrepancies if mine(d.unit_code)],
        remitted=[r for r in records.remitted if mine(r.unit_code)])


def week_records(deps: Ports, week: Week) -> WeekRecords:
    """Everything the week's seven days recorded, read day by day through the day indexes."""
    records = WeekRecords()
    for day in week.days():
        records.notes_created += deps.activity.notes_made(day)
        payments = deps.activity.payments(day)
        applied = [p.payment_code for p in payments if p.status == "applied"]
        if applied:
            records.notes_paid += [n for n in deps.activity.notes(applied)
                                   if n.payment is not None and n.payment.paid_at[:10] == day]
        records.exceptions += [p for p in payments if p.status == "exception"]
        records.bills_issued += deps.activity.bills_issued(day)
        records.bills_voided += deps.activity.bills_voided(day)
        records.remitted += remitted_on(deps, day)
        records.discrepancies += open_discrepancies(deps, day)
    return records


def remitted_on(deps: Ports, day: str) -> list[Remitted]:
    """The day's remittances the bank confirmed (``services/remittance``)."""
    kept = deps.remittances.get_day(day)
    if kept is None:
        return []
    return [Remitted(date=day, unit_code=r.unit_code, total_fen=r.total_fen,
                     items=tuple(ReportItem(i.item_code, i.total_fen) for i in r.items))
            for r in kept.remittances if r.status == "confirmed"]


def open_discrepancies(deps: Ports, day: str) -> list[Discrepancy]:
    """The day's reconciliation differences still without a resolution, by the unit of the
    note they name (``unknown`` when they name none we have)."""
    lines = [line for channel in CHANNELS for line in deps.reconciliations.lines(day, channel)
             if not line.is_settled]
    codes = [line.payment_code for line in lines if line.payment_code]
    units = {n.payment_code: n.unit_code for n in deps.activity.notes(codes)} if codes else {}
    return [Discrepancy(date=day, unit_code=units.get(line.payment_code, UNKNOWN_UNIT),
                        amount_fen=line.amount_fen, kind=line.status) for line in lines]


def compute_report(deps: Ports, week: Week, state: str, scope: str = "") -> dict:
    """The report of ``week`` for the region ``scope``, as recorded now (not kept)."""
    records = in_scope(deps, week_records(deps, week), scope)
    report = build_weekly_report(week, records, state=state, generated_at=china_iso(deps.clock()),
                                 scope=scope)
    names = {}
    for unit in report["units"]:
        found = deps.units.get(unit["unit_code"])
        names[unit["unit_code"]] = found.name if found is not None else ""
        unit["name"] = names[unit["unit_code"]]
    return report


def render(deps: Ports, report: dict, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if fmt == "csv":
        return report_csv(report).encode("utf-8")
    return deps.report_renderer.render_weekly(report)


def keep_week(deps: Ports, week: Week, scope: str = "") -> dict:
    """Generate and archive a finished week's report in every format, once; the kept JSON.

    The JSON is written last: its presence means the three are kept. Two runs at once each
    write only what is missing (``put_once``); the first JSON written is the report."""
    try:
        return json.loads(deps.archive.get(archive_key(week, "json", scope)))
    except NotFound:
        pass
    report = compute_report(deps, week, "final", scope)
    for fmt in ("csv", "pdf", "json"):
        deps.archive.put_once(archive_key(week, fmt, scope), render(deps, report, fmt),
                              FORMATS[fmt])
    log.info("weekly report %s of %s kept", week.label, scope or "all regions")
    return json.loads(deps.archive.get(archive_key(week, "json", scope)))


def weekly_report(deps: Ports, week_text: str, fmt: str = "json",
                  scope: str = "") -> tuple[bytes, str]:
    """The report of ``YYYY-Www`` for the region ``scope`` in ``fmt`` (json | csv | pdf), and
    its state (final | live).

    ``ValidationFailed`` for a malformed week, ``NotFound`` for a week that has not begun."""
    week = parse_week(week_text)
    state = week.state(deps.clock())
    if state == "future":
        raise NotFound(f"{week.label} 尚未开始，没有周报", code="report_not_available")
    if state == "final":
        keep_week(deps, week, scope)
        return deps.archive.get(archive_key(week, fmt, scope)), state
    return render(deps, compute_report(deps, week, state, scope), fmt), state


def weekly_report_job(deps: Ports) -> str:
    """The Monday job: keep last week's report (China time). Idempotent."""
    now = deps.clock().astimezone(CHINA_TZ)
    week = week_of(now - timedelta(days=7))
    keep_week(deps, week)
    return week.label
