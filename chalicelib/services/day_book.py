"""One day's business as the finance console shows it (当日缴款书、缴款与票据): the notes created,
the payments received, the bills issued and voided that day (China time), optionally of one
unit or one fee item, with totals per unit and per fee item.

It reads what ``DailyActivity`` reads for the weekly report (one query per day index, one
batched read per 100 paid notes, never a scan), so a day costs what the day recorded; the day's
notes as they were made (``notes_made``: their code and document, all the page shows of them
and all their totals need, not what became of them). Lists are cut at ``LIST_LIMIT`` rows
each; the totals always count the whole day.

The four day reads do not depend on each other and are made at once (``Ports.gather``); the
notes of the day's payments are then read only when they were not created that day (a note
paid the day it was made is already in hand), so a day whose notes were all paid the same day
costs one round of reads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.services.ports import Ports

LIST_LIMIT = 100


@dataclass
class Tally:
    count: int = 0
    fen: int = 0

    def add(self, fen: int) -> None:
        self.count += 1
        self.fen += fen


@dataclass
class Totals:
    """One row of a totals table: created, paid (applied payments), billed, voided."""

    name: str = ""
    created: Tally = field(default_factory=Tally)
    paid: Tally = field(default_factory=Tally)
    billed: Tally = field(default_factory=Tally)
    voided: Tally = field(default_factory=Tally)


def check_day(text: str) -> str:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", {"day": "YYYY-MM-DD"}) from None
    if len(text) != 10:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", {"day": "YYYY-MM-DD"})
    return text


def day_book(deps: Ports, day: str, unit_code: str = "", item_code: str = "",
             scope: str = "") -> dict[str, Any]:
    """The day's lists (each at most ``LIST_LIMIT`` rows) and totals by unit and fee item, of
    the units of the region ``scope`` only (a finance person's; ``""``: every region)."""
    check_day(day)
    names: dict[str, str] = {}
    regions: dict[str, str | None] = {}

    def unit_name(code: str) -> str:
        if code not in names:
            unit = deps.units.get(code)
            names[code] = unit.name if unit else code
            regions[code] = unit.region_code if unit else None
        return names[code]

    def in_region(code: str | None) -> bool:
        if not scope:
            return True
        if not code:
            return False  # an exception payment of no known unit: the whole system's only
        unit_name(code)
        region = regions[code]
        return region is not None and region.startswith(scope)

    def wanted(unit: str, items) -> bool:
        return ((not unit_code or unit == unit_code) and in_region(unit)
                and (not item_code or any(i.item_code == item_code for i in items)))

    by_unit: dict[str, Totals] = defaultdict(Totals)
    by_item: dict[tuple[str, str], Totals] = defaultdict(Totals)

    def tally(kind: str, unit: str, items, fen: int) -> None:
        row = by_unit[unit]
        row.name = unit_name(unit)
        getattr(row, kind).add(fen)
        for item in items:
            if item_code and item.item_code != item_code:
                continue
            cell = by_item[(unit, item.item_code)]
            cell.name = item.name
            getattr(cell, kind).add(item.amount_fen)

    created, payments, issued, voided_all = deps.gather(
        lambda: deps.activity.notes_made(day), lambda: deps.activity.payments(day),
        lambda: deps.activity.bills_issued(day), lambda: deps.activity.bills_voided(day))
    notes = [n for n in created if wanted(n.unit_code, n.items)]
    for note in notes:
        tally("created", note.unit_code, note.items, note.total_fen)
    applied = [p for p in payments if p.status == "applied"]
    # a payment's unit and items are its note's, which never change once it is created
    paid_notes = {n.payment_code: n for n in created}
    earlier = [p.payment_code for p in applied if p.payment_code not in paid_notes]
    if earlier:
        paid_notes.update((n.payment_code, n) for n in deps.activity.notes(earlier))
    paid = []
    for payment in applied:
        paid_note = paid_notes.get(payment.payment_code)
        if paid_note is None or not wanted(paid_note.unit_code, paid_note.items):
            continue
        paid.append((payment, paid_note))
        tally("paid", paid_note.unit_code, paid_note.items, payment.amount_fen)
    exceptions = [p for p in payments if p.status == "exception"
                  and (not unit_code or p.exception_unit == unit_code) and not item_code
                  and in_region(p.exception_unit)]
    bills = [b for b in issued if wanted(b.issuing_unit_code, b.items)]
    for bill in bills:
        tally("billed", bill.issuing_unit_code, bill.items, bill.total_fen)
    voided = [v for v in voided_all if wanted(v.bill.issuing_unit_code, v.bill.items)]
    for v in voided:
        tally("voided", v.bill.issuing_unit_code, v.bill.items, v.bill.total_fen)
    grand = Totals(name="合计")
    for row in by_unit.values():
        for kind in ("created", "paid", "billed", "voided"):
            getattr(grand, kind).count += getattr(row, kind).count
            getattr(grand, kind).fen += getattr(row, kind).fen
    return {
        "day": day, "unit_code": unit_code, "item_code": item_code,
        "notes": notes[-LIST_LIMIT:][::-1], "notes_count": len(notes),
        "paid": paid[-LIST_LIMIT:][::-1], "paid_count": len(paid),
        "exceptions": exceptions[-LIST_LIMIT:][::-1],
        "bills": bills[-LIST_LIMIT:][::-1], "bills_count": len(bills),
        "voided": voided[-LIST_LIMIT:][::-1],
        "by_unit": sorted(by_unit.items()), "by_item": sorted(by_item.items()),
        "total": grand, "unit_names": names,
    }
