"""DailyActivity: FakeActivity against DynamoActivity (what each China day recorded, read
through the day indexes the writes keep)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.notes import NoteStatus
from tests.contracts.builders import (
    allocate,
    at,
    code,
    issue,
    note,
    order,
    payment,
    record_of,
    red_of,
)

DAY = at()[:10]  # 2026-06-15
NEXT_DAY = at(24 * 60)[:10]


class TestDailyActivity:
    def test_notes_are_found_by_the_china_day_they_were_created(self, stores):
        stores.notes.add(note(1))
        stores.notes.add(note(2, minutes=24 * 60))
        stores.notes.add(note(3, minutes=-10 * 60))  # 00:00 China time: still the 15th
        assert [n.payment_code for n in stores.activity.notes_made(DAY)] == [code(3), code(1)]
        assert [n.payment_code for n in stores.activity.notes_made(NEXT_DAY)] == [code(2)]
        assert stores.activity.notes_made("2026-06-13") == []

    def test_payments_applied_and_exceptions_are_found_by_the_day_received(self, stores):
        stores.notes.add(note(1))
        stores.notes.add_order(order(1))
        stores.notes.add_order(order(1, suffix="B"))
        stores.payments.record(payment(1))
        stores.payments.record(payment(1, suffix="B", minutes=24 * 60))  # paid twice
        today = stores.activity.payments(DAY)
        assert [(p.payment_id, p.status) for p in today] == [("wechatpay#TXN1A", "applied")]
        later = stores.activity.payments(NEXT_DAY)
        assert [(p.status, p.exception_unit) for p in later] == [("exception", "110101001")]

    def test_notes_are_read_back_by_their_codes_in_batches(self, stores):
        for n in range(1, 4):
            stores.notes.add(note(n))
        found = stores.activity.notes([code(3), code(1), code(9), code(1)])
        assert sorted(n.payment_code for n in found) == [code(1), code(3)]

    def test_bills_blue_and_red_are_found_by_their_issue_day(self, stores):
        allocate(stores)
        blue = issue(stores, 1)
        reservation = stores.bills.reserve_reversal(blue, check_code="87654321",
                                                    issued_at=at(24 * 60))
        red = red_of(blue.bill, reservation)
        stores.bills.save_issued(record_of(red))
        assert [b.bill_id for b in stores.activity.bills_issued(DAY)] == [blue.bill.bill_id]
        assert [b.total_fen for b in stores.activity.bills_issued(NEXT_DAY)] == [-2000]

    def test_a_void_is_found_by_the_day_it_was_made_and_only_a_void(self, stores):
        allocate(stores)
        voided, other = issue(stores, 1), issue(stores, 2)
        assert stores.bills.set_status(voided.bill.bill_id, BillStatus.VOIDED,
                                       expected=BillStatus.NORMAL, reason="开错",
                                       at=at(24 * 60))
        assert stores.bills.set_status(other.bill.bill_id, BillStatus.REVERSED,
                                       expected=BillStatus.NORMAL, at=at(24 * 60))
        found = stores.activity.bills_voided(NEXT_DAY)
        assert [(v.bill.bill_id, v.voided_at) for v in found] == [
            (voided.bill.bill_id, at(24 * 60))]
        assert stores.activity.bills_voided(DAY) == []

    def test_a_refused_move_dates_no_void(self, stores):
        allocate(stores)
        bill = issue(stores, 1)
        assert not stores.bills.set_status(bill.bill.bill_id, BillStatus.VOIDED,
                                           expected=BillStatus.REVERSED, at=at(60))
        assert stores.activity.bills_voided(DAY) == []

    def test_a_days_payments_and_bills_are_whole_as_their_own_stores_read_them(self, stores):
        # The day's lists are decoded from the day indexes' raw items: every field of a payment
        # (an exception's unit and reason too) and of a bill is what the stores themselves give.
        allocate(stores)
        stored = issue(stores, 1)
        stores.notes.add_order(order(1, suffix="B"))
        stores.payments.record(payment(1, suffix="B", minutes=5))  # paid twice: an exception
        day = stores.activity.payments(DAY)
        assert len(day) == 2 and {p.status for p in day} == {"applied", "exception"}
        assert day == [stores.payments.find(p.payment_id) for p in day]
        exception = next(p for p in day if p.status == "exception")
        assert exception.exception_unit and exception.reason
        [bill] = stores.activity.bills_issued(DAY)
        assert bill == stores.bills.get(stored.bill.bill_code, stored.bill.bill_number).bill

    def test_a_days_notes_as_made_are_its_notes_as_created_whatever_became_of_them(self, stores):
        # The day page reads a note's code and document only: every field it lists or totals
        # (unit, payer, items, total, time) is the note's own (fails with one of them dropped).
        allocate(stores)
        issue(stores, 1)  # made, paid and billed since
        stores.notes.add(note(2, total_fen=3500, minutes=-60, phone=None))  # still unpaid
        made = stores.activity.notes_made(DAY)
        now = {c: stores.notes.get(c) for c in (code(1), code(2))}
        assert [n.payment_code for n in made] == [code(2), code(1)]
        assert now[code(1)].status is NoteStatus.ISSUED and now[code(1)].bill is not None
        for n in made:
            assert (n.status, n.payment, n.bill, n.extra) == (NoteStatus.UNPAID, None, None,
                                                               {"reservation": None})
            assert n == replace(now[n.payment_code], status=NoteStatus.UNPAID, payment=None,
                                bill=None, extra={"reservation": None})
        assert made == [replace(note(2, total_fen=3500, minutes=-60, phone=None),
                                extra={"reservation": None}),
                        replace(note(1), extra={"reservation": None})]
        assert stores.activity.notes_made(NEXT_DAY) == []


def test_the_day_index_holds_each_note_as_made_and_a_status_change_does_not_write_it(aws):
    """The notes' day index projects the keys and ``doc`` only (what its creation writes and
    nothing changes): a paid and issued note's row there is what its creation wrote, so the
    payment and the issuance do not write the index (each rewrote a row of every attribute)."""
    from chalicelib.adapters.dynamo_models import NoteModel
    from tests.contracts.conftest import DynamoStores, _shared

    stores = _shared(DynamoStores())
    allocate(stores)
    issue(stores, 1)  # made, paid and billed
    client = NoteModel._get_connection().connection.client
    [row] = client.query(TableName=NoteModel.Meta.table_name,
                         IndexName=NoteModel.by_day.Meta.index_name,
                         KeyConditionExpression="created_day = :d",
                         ExpressionAttributeValues={":d": {"S": DAY}},
                         Select="ALL_PROJECTED_ATTRIBUTES")["Items"]
    assert sorted(row) == ["created_at", "created_day", "doc", "payment_code"]
    whole = client.get_item(TableName=NoteModel.Meta.table_name,
                            Key={"payment_code": {"S": code(1)}})["Item"]
    assert whole["status"]["S"] == NoteStatus.ISSUED.value and "bill" in whole
    assert row == {name: whole[name] for name in row}
