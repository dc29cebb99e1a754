"""The finance console's day (当日业务): its reads, and the notes of its payments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from chalicelib.domain.notes import Note
from chalicelib.services import notes as note_service
from chalicelib.services.day_book import day_book
from chalicelib.services.payments import record_payment
from tests.fakes import FakeActivity
from tests.unit.scenario import create_note, payment


class RecordingActivity(FakeActivity):
    def __init__(self, tables) -> None:
        super().__init__(tables)
        self.asked: list[list[str]] = []

    def notes(self, payment_codes: Sequence[str]) -> list[Note]:
        self.asked.append(list(payment_codes))
        return super().notes(payment_codes)


def _pay(deps, note: Note, txn: str, paid_at: str) -> None:
    order = note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    record_payment(deps, replace(payment(order.out_trade_no, order.amount_fen, txn),
                                 paid_at=paid_at))


def test_the_notes_of_a_days_payments_are_read_only_when_made_on_another_day(deps, clock):
    earlier = create_note(deps)  # 2026-03-02
    clock.advance(days=1)
    same_day = create_note(deps)
    _pay(deps, earlier, "4200000001202603030000000001", "2026-03-03T10:05:00+08:00")
    _pay(deps, same_day, "4200000001202603030000000002", "2026-03-03T10:06:00+08:00")
    activity = RecordingActivity(deps.activity.tables)
    deps.overrides["activity"] = activity
    book = day_book(deps, "2026-03-03")
    assert activity.asked == [[earlier.payment_code]]
    assert [p.payment_code for p, _ in book["paid"]] == [same_day.payment_code,
                                                         earlier.payment_code]
    assert (book["total"].paid.count, book["total"].created.count) == (2, 1)
    assert book["total"].paid.fen == earlier.total_fen + same_day.total_fen


def test_a_day_whose_payments_are_all_of_its_own_notes_reads_no_note_again(deps, clock):
    note = create_note(deps)
    _pay(deps, note, "4200000001202603020000000001", "2026-03-02T10:05:00+08:00")
    activity = RecordingActivity(deps.activity.tables)
    deps.overrides["activity"] = activity
    book = day_book(deps, "2026-03-02")
    assert activity.asked == []
    assert [p.payment_code for p, _ in book["paid"]] == [note.payment_code]
