"""NoteRepository: FakeNotes against DynamoNotes (notes and channel orders)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.domain.errors import Conflict, IllegalTransition, NotFound
from chalicelib.domain.notes import BillRef, NoteStatus
from tests.contracts.builders import at, code, note, order, pay

REF = BillRef(bill_code="34030126", bill_number="0000000001", check_code="12345678",
              issued_at=at(3))


class TestNoteRepository:
    def test_a_note_added_comes_back_equal_with_no_reservation_yet(self, stores):
        added = replace(note(1), remark="备注")
        stores.notes.add(added)
        assert stores.notes.get(code(1)) == replace(added, extra={"reservation": None})

    def test_an_unknown_payment_code_finds_no_note(self, stores):
        assert stores.notes.get(code(9)) is None

    def test_several_notes_are_read_at_once_the_unknown_left_out(self, stores):
        stores.notes.add(note(1))
        pay(stores, 2)
        found = stores.notes.get_many([code(1), code(9), code(2), code(1)])
        assert found == {code(1): stores.notes.get(code(1)), code(2): stores.notes.get(code(2))}
        assert stores.notes.get_many([]) == {}

    def test_a_lookup_reads_the_note_and_its_counters_together(self, stores):
        pay(stores, 1)
        stores.counters.next_value("guess#a")
        stores.counters.next_value("guess#a")
        found = stores.notes.lookup(code(1), ["guess#a", "guess#never", "guess#a"])
        assert found.note == stores.notes.get(code(1))
        assert found.counters == {"guess#a": 2}
        assert stores.notes.lookup(code(1)).counters == {}
        missing = stores.notes.lookup(code(9), ["guess#a"])
        assert missing.note is None and missing.counters == {"guess#a": 2}

    def test_a_payment_code_is_used_once(self, stores):
        stores.notes.add(note(1))
        with pytest.raises(Conflict) as refused:
            stores.notes.add(note(1, total_fen=1))
        assert refused.value.code == "duplicate_payment_code"
        assert stores.notes.get(code(1)).total_fen == 2000

    def test_an_unpaid_note_is_cancelled_and_returned_cancelled(self, stores):
        stores.notes.add(note(1))
        cancelled = stores.notes.cancel(code(1))
        assert cancelled.status is NoteStatus.CANCELLED
        assert stores.notes.get(code(1)) == cancelled

    def test_cancelling_an_unknown_note_is_not_found(self, stores):
        with pytest.raises(NotFound):
            stores.notes.cancel(code(9))
        assert stores.notes.get(code(9)) is None

    def test_a_cancelled_or_paid_note_cannot_be_cancelled(self, stores):
        stores.notes.add(note(1))
        stores.notes.cancel(code(1))
        pay(stores, 2)
        for n in (1, 2):
            with pytest.raises(IllegalTransition) as refused:
                stores.notes.cancel(code(n))
            assert refused.value.code == "note_not_cancellable"
        assert stores.notes.get(code(2)).status is NoteStatus.PAID

    def test_a_paid_note_is_marked_issued_with_its_bill_and_again_harmlessly(self, stores):
        pay(stores, 1)
        stores.notes.mark_issued(code(1), REF)
        stores.notes.mark_issued(code(1), REF)
        issued = stores.notes.get(code(1))
        assert (issued.status, issued.bill) == (NoteStatus.ISSUED, REF)

    def test_an_unpaid_or_unknown_note_cannot_be_marked_issued(self, stores):
        stores.notes.add(note(1))
        for payment_code in (code(1), code(9)):
            with pytest.raises(IllegalTransition) as refused:
                stores.notes.mark_issued(payment_code, REF)
            assert refused.value.code == "note_not_paid"
        assert stores.notes.get(code(1)).status is NoteStatus.UNPAID
        assert stores.notes.get(code(9)) is None

    def test_an_order_is_kept_once_and_read_back(self, stores):
        stores.notes.add_order(order(1))
        assert stores.notes.get_order(code(1) + "A") == order(1)
        assert stores.notes.get_order(code(1) + "B") is None
        with pytest.raises(Conflict):
            stores.notes.add_order(order(1, amount_fen=1))
        assert stores.notes.get_order(code(1) + "A") == order(1)

    def test_open_orders_are_those_opened_before_the_time_oldest_first(self, stores):
        for n, minutes in ((1, 2), (2, 0), (3, 1), (4, 5)):
            stores.notes.add_order(order(n, minutes=minutes))
        assert stores.notes.open_orders(at(5)) == [order(2, minutes=0), order(3, minutes=1),
                                                   order(1, minutes=2)]
        assert stores.notes.open_orders(at(0)) == []

    def test_a_closed_order_leaves_the_open_orders_but_is_still_an_order(self, stores):
        stores.notes.add_order(order(1))
        stores.notes.add_order(order(2, minutes=1))
        stores.notes.close_order(code(1) + "A")
        stores.notes.close_order(code(1) + "A")
        assert stores.notes.open_orders(at(10)) == [order(2, minutes=1)]
        assert stores.notes.get_order(code(1) + "A") == order(1)

    def test_closing_an_unknown_order_does_nothing(self, stores):
        stores.notes.close_order(code(9) + "A")
        assert stores.notes.get_order(code(9) + "A") is None
        assert stores.notes.open_orders(at(10)) == []

    def test_open_orders_page_after_the_last_order_of_the_page_before(self, stores):
        for n in range(1, 8):
            stores.notes.add_order(order(n, minutes=n))
        first = stores.notes.open_orders(at(60), limit=3)
        second = stores.notes.open_orders(at(60), limit=3, after=first[-1])
        third = stores.notes.open_orders(at(60), limit=3, after=second[-1])
        assert [o.payment_code for o in first + second + third] == [code(n) for n in range(1, 8)]

    def test_paging_visits_orders_of_the_same_second_each_exactly_once(self, stores):
        for n in range(1, 7):
            stores.notes.add_order(order(n))
        seen, after = [], None
        for _ in range(4):
            page = stores.notes.open_orders(at(1), limit=4, after=after)
            if not page:
                break
            seen += [o.out_trade_no for o in page]
            after = page[-1]
        assert sorted(seen) == [code(n) + "A" for n in range(1, 7)]

    def test_a_page_may_start_after_an_order_that_has_since_closed(self, stores):
        for n in range(1, 5):
            stores.notes.add_order(order(n, minutes=n))
        first = stores.notes.open_orders(at(60), limit=2)
        stores.notes.close_order(first[-1].out_trade_no)
        assert stores.notes.open_orders(at(60), limit=2, after=first[-1]) == [
            order(3, minutes=3), order(4, minutes=4)]

    def test_notes_awaiting_their_bill_are_the_paid_ones_oldest_payment_first(self, stores):
        pay(stores, 1, minutes=5)
        pay(stores, 2, minutes=0)
        pay(stores, 3, minutes=9)
        stores.notes.add(note(4))
        stores.notes.mark_issued(code(3), REF)
        before = at(30, china=False)
        assert stores.notes.awaiting_bill(before) == [code(2), code(1)]
        assert stores.notes.awaiting_bill(before, limit=1) == [code(2)]
        assert stores.notes.awaiting_bill(at(2, china=False)) == [code(2)]


def test_a_raw_item_reads_as_the_same_note_as_through_pynamodbs_model(aws):
    """``note_from_item`` (the lists' and the day's fast path) and ``note_from_model`` give the
    same note for every state a note is stored in: unpaid, paid, reserved and issued, with a
    template's extra fields, and from the old spaced, escaped document form."""
    from chalicelib.adapters.dynamo_models import NoteModel
    from chalicelib.adapters.dynamo_notes import note_from_item, note_from_model
    from tests.contracts.builders import allocate, issue, pay
    from tests.contracts.conftest import DynamoStores, _shared

    stores = _shared(DynamoStores())
    allocate(stores)
    stores.notes.add(replace(note(1), template_id="0301", template_version=2,
                             bill_extra=(("车牌号", "皖A12345"),), remark=None))
    pay(stores, 2)
    paid = pay(stores, 3)
    assert stores.bills.reserve(paid, check_code="1", issued_at=at(2)) is not None
    issue(stores, 4)
    client = NoteModel._get_connection().connection.client
    items = client.scan(TableName=NoteModel.Meta.table_name)["Items"]
    old = dict(items[0], doc={"S": json.dumps(json.loads(items[0]["doc"]["S"]))})
    assert sorted(i["status"]["S"] for i in items) == ["issued", "paid", "paid", "unpaid"]
    assert any("reservation" in i for i in items) and any("bill" in i for i in items)
    for item in [*items, old]:
        assert note_from_item(item) == note_from_model(NoteModel.from_raw_data(item))
        assert note_from_item(item).extra == note_from_model(NoteModel.from_raw_data(item)).extra
