"""事中/事后 checks: what the finance department should look at in what was recorded.

Pure functions over records of a period (the service reads them through the day indexes):

==================  ========================================================================
kind                found when
==================  ========================================================================
above_standard      a note's item is above its fee item's standard: the standard it names (or
                    its amount over its quantity) exceeds the fixed standard, or the range's
                    max (a standard changed since, or a note made outside 事前审核)
frequent_reversals  a unit voided or reversed ``FREQUENT_MIN`` bills or more in the period,
                    and at least ``FREQUENT_SHARE`` of the bills it issued there
unbilled_payment    a note paid more than ``UNBILLED_AFTER`` ago still has no bill
bulk_voids          a unit voided ``BULK_MIN`` bills or more within ``BULK_WINDOW``
==================  ========================================================================

Each anomaly names its unit, says what was found in Chinese, and lists its records (notes by
payment code, bills by code and number) so that each can be opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from chalicelib.domain.bills import Bill
from chalicelib.domain.fee_items import FeeItem
from chalicelib.domain.money import fen_to_yuan
from chalicelib.domain.notes import Note, NoteStatus
from chalicelib.domain.reports import VoidedBill

FREQUENT_MIN, FREQUENT_SHARE = 5, Decimal("0.10")
UNBILLED_AFTER = timedelta(hours=1)
BULK_MIN, BULK_WINDOW = 5, timedelta(hours=1)
KINDS = ("above_standard", "frequent_reversals", "unbilled_payment", "bulk_voids")


@dataclass(frozen=True)
class Anomaly:
    kind: str
    unit_code: str
    message: str
    records: tuple[dict, ...] = field(default_factory=tuple)
    amount_fen: int = 0

    def view(self) -> dict:
        return {"kind": self.kind, "unit_code": self.unit_code, "message": self.message,
                "amount_fen": self.amount_fen, "records": list(self.records)}


NoteLink = Callable[[Note], dict]
BillLink = Callable[[Bill], dict]


def _limit(item: FeeItem) -> int | None:
    return item.standard_fen if item.standard_fen is not None else item.max_fen


def above_standard(notes: Iterable[Note], fee_items: Mapping[str, Mapping[str, FeeItem]],
                   link: NoteLink) -> list[Anomaly]:
    found = []
    for note in notes:
        items = fee_items.get(note.unit_code, {})
        for item in note.items:
            known = items.get(item.item_code)
            limit = _limit(known) if known is not None else None
            if limit is None:
                continue
            try:
                quantity = Decimal(item.quantity)
                per_unit = Decimal(item.amount_fen) / quantity if quantity > 0 else None
            except (InvalidOperation, ZeroDivisionError):
                per_unit = None
            charged = max(item.standard_fen, per_unit or 0)
            if charged > limit:
                found.append(Anomaly(
                    "above_standard", note.unit_code,
                    f"缴款书 {note.payment_code} 的收费项目 {item.item_code}（{item.name}）"
                    f"按 {fen_to_yuan(int(charged))} 元收取，超过标准 {fen_to_yuan(limit)} 元",
                    (link(note),), item.amount_fen))
    return found


def frequent_reversals(issued: Iterable[Bill], voided: Iterable[VoidedBill],
                       link: BillLink) -> list[Anomaly]:
    blue: dict[str, int] = {}
    undone: dict[str, list[Bill]] = {}
    for bill in issued:
        if bill.is_red:
            undone.setdefault(bill.issuing_unit_code, []).append(bill)
        else:
            blue[bill.issuing_unit_code] = blue.get(bill.issuing_unit_code, 0) + 1
    for v in voided:
        undone.setdefault(v.bill.issuing_unit_code, []).append(v.bill)
    found = []
    for unit, bills in sorted(undone.items()):
        issued_count = blue.get(unit, 0)
        if len(bills) >= FREQUENT_MIN and len(bills) >= FREQUENT_SHARE * max(issued_count, 1):
            found.append(Anomaly(
                "frequent_reversals", unit,
                f"期间作废或冲红票据 {len(bills)} 张，同期开具 {issued_count} 张",
                tuple(link(b) for b in bills), sum(abs(b.total_fen) for b in bills)))
    return found


def unbilled_payments(paid: Iterable[Note], now: datetime, link: NoteLink) -> list[Anomaly]:
    found = []
    for note in paid:
        if note.status is not NoteStatus.PAID or note.payment is None:
            continue
        if now - datetime.fromisoformat(note.payment.paid_at) > UNBILLED_AFTER:
            found.append(Anomaly(
                "unbilled_payment", note.unit_code,
                f"缴款书 {note.payment_code} 已于 {note.payment.paid_at} 缴款，尚未开具票据",
                (link(note),), note.payment.amount_fen))
    return found


def bulk_voids(voided: Iterable[VoidedBill], link: BillLink) -> list[Anomaly]:
    by_unit: dict[str, list[VoidedBill]] = {}
    for v in voided:
        by_unit.setdefault(v.bill.issuing_unit_code, []).append(v)
    found = []
    for unit, voids in sorted(by_unit.items()):
        voids.sort(key=lambda v: v.voided_at)
        start, best = 0, (0, 0)
        for end in range(len(voids)):
            while datetime.fromisoformat(voids[end].voided_at) \
                    - datetime.fromisoformat(voids[start].voided_at) > BULK_WINDOW:
                start += 1
            if end - start + 1 > best[1] - best[0]:
                best = (start, end + 1)
        burst = voids[best[0]:best[1]]
        if len(burst) >= BULK_MIN:
            found.append(Anomaly(
                "bulk_voids", unit,
                f"{burst[0].voided_at} 起一小时内作废票据 {len(burst)} 张",
                tuple(link(v.bill) for v in burst), sum(v.bill.total_fen for v in burst)))
    return found
