"""The weekly report (每周一报): what one ISO week, in China time, recorded, added up.

A week is ``YYYY-Www`` (ISO 8601: Monday to Sunday, week 1 holds the year's first Thursday),
its days counted in Beijing time. The report is computed from what the stores recorded in it,
read day by day through their day indexes (``services/ports.DailyActivity``):

=================  ==========================================================================
figure             what it counts (count, and total in fen)
=================  ==========================================================================
notes_issued       payment notes created in the week (开具缴款书), whatever became of them
paid               notes paid in the week (the applied payment; by channel too)
bills              bills issued in the week (blue bills only)
reversals          red bills issued in the week (冲红); the amount reversed, as a positive sum
voids              bills voided in the week (作废), at their amount
exceptions         exception payments received in the week (money no bill covers)
refunds            those of them whose refund succeeded (as of the report's generation)
open_discrepancies reconciliation differences of the week's days still without a resolution
                   (by kind too: channel-only, recorded-only, amount, status, refund)
remitted           remittances of the week's days confirmed by the bank (划款)
=================  ==========================================================================

Every figure is given for the whole week, per unit (the note's or bill's unit; an exception
payment whose note is unknown goes to the unit ``unknown``), per unit and fee item where the
money is itemised (notes, payments, bills, remittances), and per day; the per-unit figures add
up to the totals, and so do the per-item figures and the per-day figures. Pure: the same records
give the same report, byte for byte (``report_csv``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from chalicelib.domain.bills import Bill
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.notes import Item, Note
from chalicelib.domain.payments import GIVEN_BACK
from chalicelib.domain.reconciliation import KIND_NAMES
from chalicelib.domain.records import PaymentRecord

FIGURES = ("notes_issued", "paid", "bills", "reversals", "voids", "exceptions", "refunds",
           "open_discrepancies", "remitted")
ITEM_FIGURES = ("notes_issued", "paid", "bills", "reversals", "voids", "remitted")
FIGURE_NAMES = {"notes_issued": "开具缴款书", "paid": "已缴款", "bills": "开具票据",
                "reversals": "冲红", "voids": "作废", "exceptions": "异常缴款",
                "refunds": "已退款", "open_discrepancies": "未处理对账差异", "remitted": "已划款"}
CHANNEL_NAMES = {"wechatpay": "微信支付", "alipay": "支付宝", "unionpay": "银联",
                 "bank": "银行柜台", "cash": "现金", "transfer": "转账", "pos": "POS",
                 "other": "其他"}
UNKNOWN_UNIT = "unknown"
_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week: ``year`` and ``number`` as ISO 8601 counts them."""

    year: int
    number: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def days(self) -> list[str]:
        """Its seven dates, ``YYYY-MM-DD``, Monday first."""
        return [(self.monday + timedelta(days=i)).isoformat() for i in range(7)]

    def next(self) -> Week:
        return week_of_date(self.monday + timedelta(days=7))

    def previous(self) -> Week:
        return week_of_date(self.monday - timedelta(days=7))

    def state(self, now: datetime) -> str:
        """``final`` once the week is over in China time, ``live`` while it runs, else
        ``future``."""
        today = now.astimezone(CHINA_TZ).date()
        if today > self.sunday:
            return "final"
        return "live" if today >= self.monday else "future"


def parse_week(text: object) -> Week:
    """``YYYY-Www`` (``2026-W24``) as a Week; ``ValidationFailed`` for anything else, including
    a week 53 of a year that has 52, years before 2000 and the year 9999 (whose last week ends
    past the last date Python can hold: its Sunday would overflow)."""
    match = _WEEK.fullmatch(text) if isinstance(text, str) else None
    problem = {"week": "an ISO week YYYY-Www, e.g. 2026-W24"}
    if match is None:
        raise ValidationFailed("周次格式应为 YYYY-Www，例如 2026-W24", problem)
    year, number = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValidationFailed(f"{year} 年没有第 {number} 周", problem) from None
    if year < 2000:
        raise ValidationFailed("周次过早", problem)
    if year > 9998:
        raise ValidationFailed("周次过晚", problem)
    return Week(year, number)


def week_of_date(day: date) -> Week:
    iso = day.isocalendar()
    return Week(iso.year, iso.week)


def week_of(moment: datetime) -> Week:
    """The ISO week ``moment`` falls in, in China time."""
    return week_of_date(moment.astimezone(CHINA_TZ).date())


@dataclass
class Tally:
    """A count and a sum of fen."""

    count: int = 0
    total_fen: int = 0

    def add(self, fen: int, count: int = 1) -> None:
        self.count += count
        self.total_fen += fen

    def public(self) -> dict[str, int]:
        return {"count": self.count, "total_fen": self.total_fen}


@dataclass(frozen=True)
class VoidedBill:
    """A bill voided (作废), and when (China time)."""

    bill: Bill
    voided_at: str


@dataclass(frozen=True)
class Discrepancy:
    """A reconciliation difference still open: its day, unit (when known) and amount."""

    date: str
    unit_code: str
    amount_fen: int
    kind: str = ""


@dataclass(frozen=True)
class RemittedItem:
    item_code: str
    total_fen: int


@dataclass(frozen=True)
class Remitted:
    """One unit's confirmed remittance of one day, by fee item."""

    date: str
    unit_code: str
    total_fen: int
    items: tuple[RemittedItem, ...] = ()


@dataclass
class WeekRecords:
    """What the stores recorded in a week, day by day: the report's only input."""

    notes_created: list[Note] = field(default_factory=list)  # as made (unit, items, total)
    notes_paid: list[Note] = field(default_factory=list)
    exceptions: list[PaymentRecord] = field(default_factory=list)
    bills_issued: list[Bill] = field(default_factory=list)
    bills_voided: list[VoidedBill] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    remitted: list[Remitted] = field(default_factory=list)


class _Book:
    """Tallies by figure for the week, each unit, each (unit, item), each day and channel."""

    def __init__(self, days: Sequence[str]) -> None:
        self.totals = {f: Tally() for f in FIGURES}
        self.units: dict[str, dict[str, Tally]] = {}
        self.items: dict[tuple[str, str], dict[str, Tally]] = {}
        self.item_names: dict[tuple[str, str], str] = {}
        self.days = {d: {f: Tally() for f in FIGURES} for d in days}
        self.channels: dict[str, Tally] = {}
        self.kinds: dict[str, Tally] = {}

    def add(self, figure: str, unit_code: str, day: str, fen: int) -> None:
        self.totals[figure].add(fen)
        unit = self.units.setdefault(unit_code, {f: Tally() for f in FIGURES})
        unit[figure].add(fen)
        self.days[day][figure].add(fen)

    def add_items(self, figure: str, unit_code: str, items: Iterable[Item], sign: int = 1,
                  ) -> None:
        for item in items:
            self.add_item(figure, unit_code, item.item_code, sign * item.amount_fen, item.name)

    def add_item(self, figure: str, unit_code: str, item_code: str, fen: int,
                 name: str = "") -> None:
        key = (unit_code, item_code)
        if name and key not in self.item_names:
            self.item_names[key] = name
        tallies = self.items.setdefault(key, {f: Tally() for f in ITEM_FIGURES})
        tallies[figure].add(fen)


def _day(iso: str) -> str:
    return iso[:10]


def _kind_order(kind: str) -> tuple[int, str]:
    """The kinds of difference in their documented order; any other after them."""
    known = list(KIND_NAMES)
    return (known.index(kind), "") if kind in known else (len(known), kind)


def build_weekly_report(week: Week, records: WeekRecords, *, state: str, generated_at: str,
                        unit_names: dict[str, str] | None = None, scope: str = "") -> dict:
    """The report of ``week`` from ``records`` (each already limited to the week's days).

    Items count once per note, payment or bill: each item's ``amount_fen`` goes to its (unit,
    item), and a note's items add up to its total (``validate_new_note`` refuses any other),
    so the per-item figures add up to the unit's and the week's.
    """
    days = week.days()
    inside = set(days)
    book = _Book(days)
    for note in records.notes_created:
        if _day(note.created_at) in inside:
            book.add("notes_issued", note.unit_code, _day(note.created_at), note.total_fen)
            book.add_items("notes_issued", note.unit_code, note.items)
    for note in records.notes_paid:
        payment = note.payment
        if payment is None or _day(payment.paid_at) not in inside:
            continue
        book.add("paid", note.unit_code, _day(payment.paid_at), payment.amount_fen)
        book.add_items("paid", note.unit_code, note.items)
        book.channels.setdefault(payment.channel, Tally()).add(payment.amount_fen)
    for bill in records.bills_issued:
        if _day(bill.issued_at) not in inside:
            continue
        if bill.is_red:  # a reversal: the amount it takes back, as a positive sum
            book.add("reversals", bill.issuing_unit_code, _day(bill.issued_at), -bill.total_fen)
            book.add_items("reversals", bill.issuing_unit_code, bill.items, sign=-1)
        else:
            book.add("bills", bill.issuing_unit_code, _day(bill.issued_at), bill.total_fen)
            book.add_items("bills", bill.issuing_unit_code, bill.items)
    for voided in records.bills_voided:
        if _day(voided.voided_at) in inside:
            bill = voided.bill
            book.add("voids", bill.issuing_unit_code, _day(voided.voided_at), bill.total_fen)
            book.add_items("voids", bill.issuing_unit_code, bill.items)
    for exc in records.exceptions:
        if exc.status != "exception" or _day(exc.paid_at) not in inside:
            continue
        unit = exc.exception_unit or UNKNOWN_UNIT
        book.add("exceptions", unit, _day(exc.paid_at), exc.amount_fen)
        if exc.refund_status in GIVEN_BACK:
            book.add("refunds", unit, _day(exc.paid_at), exc.amount_fen)
    for diff in records.discrepancies:
        if diff.date in inside:
            book.add("open_discrepancies", diff.unit_code or UNKNOWN_UNIT, diff.date,
                     diff.amount_fen)
            book.kinds.setdefault(diff.kind or "other", Tally()).add(diff.amount_fen)
    for remitted in records.remitted:
        if remitted.date in inside:
            book.add("remitted", remitted.unit_code, remitted.date, remitted.total_fen)
            for item in remitted.items:
                book.add_item("remitted", remitted.unit_code, item.item_code, item.total_fen)
    names = unit_names or {}
    return {
        "week": week.label, "from": days[0], "to": days[-1], "timezone": "+08:00",
        "state": state, "generated_at": generated_at, "scope": scope,
        "totals": {f: t.public() for f, t in book.totals.items()},
        "by_channel": [{"channel": c, **book.channels[c].public()}
                       for c in sorted(book.channels)],
        "discrepancies_by_kind": [
            {"kind": k, "name": KIND_NAMES.get(k, k), **book.kinds[k].public()}
            for k in sorted(book.kinds, key=_kind_order)],
        "units": [{"unit_code": code, "name": names.get(code, ""),
                   **{f: t.public() for f, t in book.units[code].items()}}
                  for code in sorted(book.units)],
        "items": [{"unit_code": key[0], "item_code": key[1],
                   "name": book.item_names.get(key, ""),
                   **{f: t.public() for f, t in book.items[key].items()}}
                  for key in sorted(book.items)],
        "days": [{"date": d, **{f: t.public() for f, t in book.days[d].items()}} for d in days],
    }


CSV_HEADER = ("section", "unit_code", "item_code", "key", "name", "figure", "figure_name",
              "count", "total_fen")


def report_rows(report: dict) -> list[tuple[str, ...]]:
    """Every figure of ``report`` as one row of ``CSV_HEADER``: the CSV's body, and what the
    tests compare with the JSON (the same figures, in the same order)."""
    rows: list[tuple[str, ...]] = []

    def row(section: str, unit: str, item: str, key: str, name: str, figure: str,
            tally: dict) -> None:
        rows.append((section, unit, item, key, name, figure, FIGURE_NAMES.get(figure, figure),
                     str(tally["count"]), str(tally["total_fen"])))

    for figure in FIGURES:
        row("total", "", "", "", "合计", figure, report["totals"][figure])
    for channel in report["by_channel"]:
        row("channel", "", "", channel["channel"],
            CHANNEL_NAMES.get(channel["channel"], channel["channel"]), "paid", channel)
    for kind in report.get("discrepancies_by_kind", []):  # absent from reports kept before
        row("discrepancy_kind", "", "", kind["kind"], kind["name"], "open_discrepancies", kind)
    for unit in report["units"]:
        for figure in FIGURES:
            row("unit", unit["unit_code"], "", "", unit["name"], figure, unit[figure])
    for item in report["items"]:
        for figure in ITEM_FIGURES:
            row("item", item["unit_code"], item["item_code"], "", item["name"], figure,
                item[figure])
    for day in report["days"]:
        for figure in FIGURES:
            row("day", "", "", day["date"], "", figure, day[figure])
    return rows


def report_csv(report: dict) -> str:
    """The report as CSV (UTF-8 with a BOM, so that Excel opens the Chinese right; CRLF lines):
    a comment-free header line, then ``report_rows``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(report_rows(report))
    return "\ufeff" + out.getvalue()
