"""BillRepository: FakeBills against DynamoBills (numbers taken in one transaction with their
note, bills written once, verification counts, a text claim of old read back)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.errors import (
    BillNotReimbursable,
    BillReimbursed,
    Conflict,
    IllegalTransition,
    NoNumberRange,
    NotFound,
)
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.records import AuditEvent, Reimbursement, Reservation
from tests.contracts.builders import (
    BILL_CODE,
    T0,
    allocate,
    at,
    bill_of,
    code,
    issue,
    note,
    order,
    pay,
    payment,
    record_of,
    red_of,
    ref_of,
)


def event(bill_id: str, when: str | None = None) -> AuditEvent:
    return AuditEvent(bill_id=bill_id, unit_code="R1", action="verify", outcome="authentic",
                      client="203.0.113.9", at=when or at(5))


def reimbursement(bill_id: str) -> Reimbursement:
    return Reimbursement(bill_id=bill_id, unit_code="R1", unit_name="报销单位",
                         voucher_no="记-1", recorded_at=at(10))


def claim_of_old(stores, bill_id: str, status: str, claimed_at: str) -> None:
    """Write a text claim onto a bill row as the code before the SMS log held them did."""
    if stores.kind == "fake":
        row = stores.tables.bills[bill_id]
        row.sms_status, row.sms_claimed_at = status, datetime.fromisoformat(claimed_at)
        return
    from chalicelib.adapters.dynamo_models import BillModel
    from tests.contracts.conftest import client

    client("dynamodb").update_item(
        TableName=BillModel.Meta.table_name, Key={"bill_id": {"S": bill_id}},
        UpdateExpression="SET sms_status = :s, sms_claimed_at = :t",
        ExpressionAttributeValues={":s": {"S": status}, ":t": {"S": claimed_at}})


def another_bills(stores):
    """A second BillRepository on the same tables, as another process would hold."""
    if stores.kind == "fake":
        from tests.fakes import FakeBills

        return FakeBills(stores.tables)
    from chalicelib.adapters.dynamo_bills import DynamoBills
    from tests.contracts.conftest import shared_connection

    bills = DynamoBills()
    bills._connection = shared_connection()
    return bills


class TestBillRepository:
    def test_numbers_are_taken_in_order_once_per_note(self, stores):
        allocate(stores)
        first, second = pay(stores, 1), pay(stores, 2)
        taken = stores.bills.reserve(first, check_code="11111111", issued_at=at(2))
        assert taken == Reservation(bill_code=BILL_CODE, bill_number="0000000001",
                                    check_code="11111111", issued_at=at(2))
        assert stores.bills.reserve(second, check_code="22222222", issued_at=at(3)) \
            .bill_number == "0000000002"
        again = stores.bills.reserve(stores.notes.get(code(1)), check_code="33333333",
                                     issued_at=at(4))
        assert again == taken
        assert stores.notes.get(code(1)).extra["reservation"] == {
            "bill_code": BILL_CODE, "bill_number": "0000000001", "check_code": "11111111",
            "issued_at": at(2)}

    def test_a_stale_copy_of_the_note_gets_the_number_already_taken_for_it(self, stores):
        allocate(stores)
        paid = pay(stores, 1)
        taken = stores.bills.reserve(paid, check_code="11111111", issued_at=at(2))
        assert stores.bills.reserve(paid, check_code="22222222", issued_at=at(3)) == taken
        assert [r.next for r in stores.ranges.for_unit(paid.unit_code, paid.bill_kind)] == [2]

    def test_an_unpaid_note_gets_no_number(self, stores):
        allocate(stores)
        stores.notes.add(note(1))
        assert stores.bills.reserve(stores.notes.get(code(1)), check_code="1",
                                    issued_at=at(2)) is None
        assert [r.next for r in stores.ranges.all()] == [1]

    def test_a_copy_of_the_note_from_before_its_payment_gets_no_number(self, stores):
        allocate(stores)
        stores.notes.add(note(1))
        unpaid_copy = stores.notes.get(code(1))
        stores.notes.add_order(order(1))
        stores.payments.record(payment(1))
        assert stores.bills.reserve(unpaid_copy, check_code="1", issued_at=at(2)) is None
        assert stores.bills.reserve(stores.notes.get(code(1)), check_code="1",
                                    issued_at=at(2)).bill_number == "0000000001"

    def test_without_an_open_range_no_number_is_taken(self, stores):
        allocate(stores, 1)
        stores.bills.reserve(pay(stores, 1), check_code="1", issued_at=at(2))
        with pytest.raises(NoNumberRange):
            stores.bills.reserve(pay(stores, 2), check_code="2", issued_at=at(2))
        assert stores.notes.get(code(2)).extra["reservation"] is None

    def test_the_oldest_open_range_is_used_up_before_the_next(self, stores):
        allocate(stores, 1, bill_code="34030125")
        allocate(stores, 5)
        numbers = [stores.bills.reserve(pay(stores, n), check_code="1", issued_at=at(2))
                   for n in (1, 2)]
        assert [(r.bill_code, r.bill_number) for r in numbers] == [
            ("34030125", "0000000001"), (BILL_CODE, "0000000001")]

    def test_two_issuers_taking_numbers_in_turn_take_each_number_once_and_skip_none(self,
                                                                                      stores):
        allocate(stores, 3)
        other = another_bills(stores)  # another process on the same tables
        taken = [issuer.reserve(pay(stores, n), check_code="1", issued_at=at(2)).bill_number
                 for n, issuer in ((1, stores.bills), (2, other), (3, stores.bills))]
        assert taken == ["0000000001", "0000000002", "0000000003"]
        with pytest.raises(NoNumberRange):  # the range is used up, whoever took its numbers
            other.reserve(pay(stores, 4), check_code="1", issued_at=at(2))

    def test_numbers_for_several_notes_are_taken_together_in_their_order(self, stores):
        allocate(stores, 3, bill_code="34030125")
        allocate(stores, 5)
        asked = [(pay(stores, n), f"{n}" * 8) for n in (1, 2, 3, 4)]
        stores.notes.add(note(5))  # unpaid: no number
        asked.insert(2, (stores.notes.get(code(5)), "5" * 8))
        taken = stores.bills.reserve_many(asked, issued_at=at(2))
        assert [(r.bill_code, r.bill_number, r.check_code) if r else None for r in taken] == [
            ("34030125", "0000000001", "11111111"), ("34030125", "0000000002", "22222222"),
            None, ("34030125", "0000000003", "33333333"), (BILL_CODE, "0000000001", "44444444")]
        for n, reservation in zip((1, 2, 3, 4), [t for t in taken if t], strict=True):
            assert stores.notes.get(code(n)).extra["reservation"] == {
                "bill_code": reservation.bill_code, "bill_number": reservation.bill_number,
                "check_code": reservation.check_code, "issued_at": at(2)}
        assert sorted(r.next for r in stores.ranges.all()) == [2, 4]
        again = stores.bills.reserve_many([(stores.notes.get(code(n)), "9") for n in (1, 4)],
                                          issued_at=at(3))
        assert again == [taken[0], taken[4]]  # each note's number, once

    def test_notes_taken_together_after_another_issuer_moved_the_range_skip_no_number(
            self, stores):
        allocate(stores, 10)
        stores.bills.reserve(pay(stores, 1), check_code="1", issued_at=at(2))  # remembers 2
        another_bills(stores).reserve(pay(stores, 2), check_code="1", issued_at=at(2))
        taken = stores.bills.reserve_many([(pay(stores, n), "1") for n in (3, 4, 5)],
                                          issued_at=at(2))
        assert [r.bill_number for r in taken] == ["0000000003", "0000000004", "0000000005"]

    def test_a_stale_copy_among_notes_taken_together_gets_its_own_number_back(self, stores):
        allocate(stores, 10)
        stale = pay(stores, 1)
        first = stores.bills.reserve(stale, check_code="1", issued_at=at(2))
        taken = stores.bills.reserve_many([(pay(stores, 2), "2"), (stale, "9"),
                                           (pay(stores, 3), "3")], issued_at=at(3))
        assert taken[1] == first
        assert sorted(r.bill_number for r in taken) == [
            "0000000001", "0000000002", "0000000003"]
        assert [r.next for r in stores.ranges.all()] == [4]

    def test_a_taken_number_has_no_bill_until_it_is_complete(self, stores):
        allocate(stores)
        taken = stores.bills.reserve(pay(stores, 1), check_code="1", issued_at=at(2))
        assert stores.bills.get(taken.bill_code, taken.bill_number) is None
        assert stores.bills.lookup(taken.bill_code, taken.bill_number).record is None
        with pytest.raises(NotFound):
            stores.bills.count_check(record_of(bill_of(stores.notes.get(code(1)), taken)),
                                     at(5), event(taken.bill_code + taken.bill_number))

    def test_completing_an_issue_saves_the_bill_and_marks_its_note_issued(self, stores):
        allocate(stores)
        stored = issue(stores, 1)
        bill = stored.bill
        assert stored == record_of(bill)
        note_now = stores.notes.get(code(1))
        assert (note_now.status, note_now.bill) == (NoteStatus.ISSUED, ref_of(bill))
        assert stores.notes.awaiting_bill(at(60, china=False)) == []

    def test_completing_the_same_issue_again_is_harmless(self, stores):
        allocate(stores)
        stored = issue(stores, 1)
        stores.bills.complete_issue(record_of(stored.bill), ref_of(stored.bill))
        assert stores.bills.get(stored.bill.bill_code, stored.bill.bill_number) == stored

    def test_bills_completed_together_are_each_saved_with_their_note_issued(self, stores):
        allocate(stores)
        asked = [(pay(stores, n), "12345678") for n in (1, 2, 3)]
        bills = [bill_of(n, r) for (n, _), r in
                 zip(asked, stores.bills.reserve_many(asked, issued_at=at(2)), strict=True)]
        stores.bills.complete_many([(record_of(b), ref_of(b), None) for b in bills])
        for n, bill in enumerate(bills, 1):
            assert stores.bills.get(bill.bill_code, bill.bill_number) == record_of(bill)
            assert stores.notes.get(code(n)).bill == ref_of(bill)
        stores.bills.complete_many([(record_of(b), ref_of(b), None) for b in bills])  # again

    def test_bills_completed_together_are_all_refused_when_one_cannot_be(self, stores):
        allocate(stores)
        asked = [(pay(stores, n), "12345678") for n in (1, 2)]
        bills = [bill_of(n, r) for (n, _), r in
                 zip(asked, stores.bills.reserve_many(asked, issued_at=at(2)), strict=True)]
        stray = replace(bills[1], bill_number="0000000009")  # no number was taken for it
        with pytest.raises(Conflict):
            stores.bills.complete_many([(record_of(bills[0]), ref_of(bills[0]), None),
                                        (record_of(stray), ref_of(stray), None)])
        assert stores.bills.get(bills[0].bill_code, bills[0].bill_number) is None
        assert [stores.notes.get(code(n)).status for n in (1, 2)] == [NoteStatus.PAID] * 2

    def test_a_bill_without_a_phone_is_stored_without_one(self, stores):
        allocate(stores)
        assert issue(stores, 1, phone=None).payer_phone is None

    def test_an_issue_of_a_note_that_is_not_paid_writes_nothing(self, stores):
        allocate(stores)
        paid = pay(stores, 1)
        taken = stores.bills.reserve(paid, check_code="1", issued_at=at(2))
        bill = bill_of(paid, taken)
        stores.notes.add(note(2))
        other = replace(bill, payment_code=code(2))
        with pytest.raises(IllegalTransition):
            stores.bills.complete_issue(record_of(other), ref_of(other))
        assert stores.bills.get(bill.bill_code, bill.bill_number) is None
        assert stores.notes.get(code(2)).status is NoteStatus.UNPAID

    def test_a_bill_no_number_was_taken_for_cannot_be_saved(self, stores):
        allocate(stores)
        paid = pay(stores, 1)
        taken = stores.bills.reserve(paid, check_code="1", issued_at=at(2))
        stray = replace(bill_of(paid, taken), bill_number="0000000009")
        with pytest.raises(Conflict):
            stores.bills.save_issued(record_of(stray))
        with pytest.raises(Conflict):
            stores.bills.complete_issue(record_of(stray), ref_of(stray))
        assert stores.bills.get(stray.bill_code, stray.bill_number) is None
        assert stores.notes.get(code(1)).status is NoteStatus.PAID

    def test_verifications_are_counted_keeping_the_first_time(self, stores):
        allocate(stores)
        stored = issue(stores, 1)
        bill = stored.bill
        once = stores.bills.count_check(stored, at(5), event(bill.bill_id, at(5)))
        counted = stores.bills.count_check(once, at(6), event(bill.bill_id, at(6)))
        assert (counted.check_count, counted.first_checked_at, counted.last_checked_at) == (
            2, at(5), at(6))
        assert stores.bills.get(bill.bill_code, bill.bill_number) == counted
        assert [e.outcome for e in stores.audit.query(bill_id=bill.bill_id)] == [
            "authentic", "authentic"]

    def test_a_lookup_reads_the_bill_its_counters_and_when_asked_its_reimbursement(self,
                                                                                   stores):
        allocate(stores)
        stored = issue(stores, 1)
        bill = stored.bill
        stores.counters.next_value("guess#a")
        stores.counters.next_value("guess#a")
        stores.reimbursements.add(reimbursement(bill.bill_id))
        found = stores.bills.lookup(bill.bill_code, bill.bill_number,
                                    ["guess#a", "guess#never"], reimbursement=True)
        assert found.record == stored
        assert found.counters.get("guess#a") == 2
        assert found.counters.get("guess#never", 0) == 0
        assert found.reimbursement == reimbursement(bill.bill_id)
        assert stores.bills.lookup(bill.bill_code, bill.bill_number).reimbursement is None
        missing = stores.bills.lookup(BILL_CODE, "0000000009", ["guess#a"])
        assert missing.record is None and missing.counters.get("guess#a") == 2

    def test_counting_a_verification_of_an_unknown_bill_is_not_found(self, stores):
        allocate(stores)
        stray = replace(issue(stores, 1).bill, bill_number="0000000009")
        with pytest.raises(NotFound):
            stores.bills.count_check(record_of(stray), at(5), event(stray.bill_id))
        assert stores.bills.get(BILL_CODE, "0000000009") is None
        assert stores.audit.query(bill_id=stray.bill_id) == []  # nothing, or both

    def test_a_status_moves_only_from_the_one_expected(self, stores):
        allocate(stores)
        bill = issue(stores, 1).bill
        assert stores.bills.set_status(bill.bill_id, BillStatus.VOIDED,
                                       expected=BillStatus.REVERSED) is False
        assert stores.bills.set_status(bill.bill_id, BillStatus.VOIDED,
                                       expected=BillStatus.NORMAL, reason="开错了") is True
        stored = stores.bills.get(bill.bill_code, bill.bill_number)
        assert (stored.status, stored.void_reason) == (BillStatus.VOIDED, "开错了")
        assert stores.bills.set_status("34030126" + "0000000009", BillStatus.VOIDED,
                                       expected=BillStatus.NORMAL) is False

    def test_links_are_set_with_a_status_and_unlinked_refuses_a_linked_bill(self, stores):
        allocate(stores)
        bill = issue(stores, 1).bill
        assert stores.bills.set_status(bill.bill_id, BillStatus.NORMAL,
                                       expected=BillStatus.NORMAL,
                                       links={"paper": "P-1"}, unlinked=True) is True
        assert stores.bills.set_status(bill.bill_id, BillStatus.NORMAL,
                                       expected=BillStatus.NORMAL,
                                       links={"paper": "P-2"}, unlinked=True) is False
        assert stores.bills.get(bill.bill_code, bill.bill_number).links == {"paper": "P-1"}

    def test_a_reimbursed_bill_refuses_a_move_that_requires_it_unreimbursed(self, stores):
        allocate(stores)
        bill = issue(stores, 1).bill
        assert stores.reimbursements.add(reimbursement(bill.bill_id)) is None
        with pytest.raises(BillReimbursed):
            stores.bills.set_status(bill.bill_id, BillStatus.VOIDED,
                                    expected=BillStatus.NORMAL, unreimbursed=True)
        assert stores.bills.get(bill.bill_code, bill.bill_number).status is BillStatus.NORMAL
        stores.reimbursements.release(bill.bill_id, "R1")
        assert stores.bills.set_status(bill.bill_id, BillStatus.VOIDED,
                                       expected=BillStatus.NORMAL, unreimbursed=True) is True
        assert stores.bills.set_status(bill.bill_id, BillStatus.VOIDED,
                                       expected=BillStatus.NORMAL, unreimbursed=True) is False

    def test_a_reversal_takes_its_red_number_once_and_only_of_a_normal_bill(self, stores):
        allocate(stores)
        original = issue(stores, 1)
        red = stores.bills.reserve_reversal(original, check_code="99999999", issued_at=at(9),
                                            reason="退费")
        assert red == Reservation(bill_code=BILL_CODE, bill_number="0000000002",
                                  check_code="99999999", issued_at=at(9))
        assert stores.bills.reserve_reversal(original, check_code="0", issued_at=at(10)) == red
        [pending] = stores.ranges.pending_bills(at(60, china=False))
        assert (pending.bill_id, pending.purpose, pending.reverses, pending.reversal_reason) == (
            BILL_CODE + "0000000002", "reversal", original.bill.bill_id, "退费")
        red_bill = red_of(original.bill, red)
        stores.bills.save_issued(record_of(red_bill, phone=None))
        assert stores.bills.get(red.bill_code, red.bill_number).bill == red_bill

    def test_a_bill_that_is_not_normal_gets_no_red_number(self, stores):
        allocate(stores)
        original = issue(stores, 1)
        stores.bills.set_status(original.bill.bill_id, BillStatus.VOIDED,
                                expected=BillStatus.NORMAL)
        assert stores.bills.reserve_reversal(original, check_code="1", issued_at=at(9)) is None

    def test_a_bill_being_reversed_cannot_be_reimbursed(self, stores):
        allocate(stores)
        original = issue(stores, 1)
        stores.bills.reserve_reversal(original, check_code="1", issued_at=at(9))
        with pytest.raises(BillNotReimbursable):
            stores.reimbursements.add(reimbursement(original.bill.bill_id))

    def test_a_units_bills_are_listed_newest_first_between_two_times_a_page_at_a_time(
            self, stores):
        allocate(stores)
        made = [issue(stores, n, minutes=10 * n) for n in range(1, 6)]  # 10:12 … 10:52
        unit = made[0].bill.issuing_unit_code
        first, last = at(0), at(45)  # leaves out the bill of 10:52
        page, after = stores.bills.of_unit(unit, first, last, 2)
        assert [r.bill.bill_id for r in page] == [made[3].bill.bill_id, made[2].bill.bill_id]
        assert page[0].status is BillStatus.NORMAL and page[0].bill == made[3].bill
        assert (page[0].xml.key, page[0].payer_phone) == ("", None)  # what the index holds
        page, after = stores.bills.of_unit(unit, first, last, 2, after)
        assert [r.bill.bill_id for r in page] == [made[1].bill.bill_id, made[0].bill.bill_id]
        page, after = stores.bills.of_unit(unit, first, last, 2, after)
        assert (page, after) == ([], None)
        assert stores.bills.of_unit("999999999", first, last, 2) == ([], None)
        everything, after = stores.bills.of_unit(unit, at(0), at(60), 10)
        assert len(everything) == 5 and after is None

    def test_a_text_claim_left_on_a_bill_row_by_older_code_reads_back(self, stores):
        """Bills' texts were once claimed on the bill row; the SMS service honours a claim
        found there, so the repository must still read it."""
        allocate(stores)
        bill = issue(stores, 1).bill
        assert stores.bills.get(bill.bill_code, bill.bill_number).sms_status is None
        claim_of_old(stores, bill.bill_id, "sending", T0.isoformat())
        held = stores.bills.get(bill.bill_code, bill.bill_number)
        assert (held.sms_status, held.sms_claimed_at) == ("sending", T0.isoformat())

    def test_a_bill_whose_document_was_stored_in_the_older_spaced_escaped_json_reads_the_same(
            self, stores):
        allocate(stores)
        stored = issue(stores, 1)
        if stores.kind == "dynamo":  # rewrite the row's JSON as pynamodb's own attribute did
            import json

            from chalicelib.adapters.dynamo_bills import bill_to_doc
            from chalicelib.adapters.dynamo_models import BillModel
            from tests.contracts.conftest import client

            client("dynamodb").update_item(
                TableName=BillModel.Meta.table_name, Key={"bill_id": {"S": stored.bill.bill_id}},
                UpdateExpression="SET doc = :d",
                ExpressionAttributeValues={":d": {"S": json.dumps(bill_to_doc(stored.bill))}})
        assert stores.bills.get(stored.bill.bill_code, stored.bill.bill_number) == stored
