"""RangeRepository: FakeRanges against DynamoRanges (allocation by a high-water mark per bill
code, the pending numbers the repair job finishes, void numbers)."""

from __future__ import annotations

import pytest

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.ranges import NumberRange
from chalicelib.domain.records import PendingNumber
from tests.contracts.builders import BILL_CODE, KIND, UNIT, allocate, at, code, issue, pay


class TestRangeRepository:
    def test_ranges_of_one_bill_code_follow_each_other_without_overlap(self, stores):
        first = stores.ranges.allocate(UNIT, KIND, BILL_CODE, 100, at())
        second = stores.ranges.allocate("110101002", KIND, BILL_CODE, 50, at(1))
        other = stores.ranges.allocate(UNIT, KIND, "34030127", 10, at(2))
        assert first == NumberRange(unit_code=UNIT, kind_code=KIND, bill_code=BILL_CODE,
                                    start=1, end=100, next=1, allocated_at=at())
        assert (second.start, second.end, second.next) == (101, 150, 101)
        assert (other.start, other.end) == (1, 10)

    @pytest.mark.parametrize("count", [0, -5, 1_000_001])
    def test_an_allocation_of_no_numbers_or_too_many_is_refused(self, stores, count):
        with pytest.raises(ValueError):
            stores.ranges.allocate(UNIT, KIND, BILL_CODE, count, at())
        assert stores.ranges.all() == []
        assert stores.ranges.allocate(UNIT, KIND, BILL_CODE, 1, at()).start == 1

    def test_a_units_ranges_of_a_kind_come_oldest_code_first_and_all_by_code(self, stores):
        stores.ranges.allocate(UNIT, KIND, "34030127", 10, at())
        stores.ranges.allocate(UNIT, KIND, BILL_CODE, 10, at())
        stores.ranges.allocate(UNIT, KIND, BILL_CODE, 10, at())
        stores.ranges.allocate(UNIT, "0302", "34030226", 10, at())
        stores.ranges.allocate("110101002", KIND, BILL_CODE, 10, at())
        mine = stores.ranges.for_unit(UNIT, KIND)
        assert [(r.bill_code, r.start) for r in mine] == [
            (BILL_CODE, 1), (BILL_CODE, 11), ("34030127", 1)]
        assert [(r.bill_code, r.start, r.unit_code) for r in stores.ranges.all()] == [
            (BILL_CODE, 1, UNIT), (BILL_CODE, 11, UNIT), (BILL_CODE, 21, "110101002"),
            ("34030127", 1, UNIT), ("34030226", 1, UNIT)]
        assert stores.ranges.for_unit("999999999", KIND) == []

    def test_a_units_ranges_of_every_kind_come_in_one_read_by_kind_then_oldest_code(self,
                                                                                   stores):
        stores.ranges.allocate(UNIT, "0302", "34030226", 10, at())
        stores.ranges.allocate(UNIT, KIND, "34030127", 10, at())
        stores.ranges.allocate(UNIT, KIND, BILL_CODE, 10, at())
        stores.ranges.allocate("110101002", KIND, BILL_CODE, 10, at())
        stores.ranges.allocate(UNIT, KIND, BILL_CODE, 10, at())
        assert [(r.kind_code, r.bill_code, r.start) for r in stores.ranges.of_unit(UNIT)] == [
            (KIND, BILL_CODE, 1), (KIND, BILL_CODE, 21), (KIND, "34030127", 1),
            ("0302", "34030226", 1)]
        assert stores.ranges.of_unit("999999999") == []

    def test_numbers_taken_but_not_finished_are_pending_oldest_first(self, stores):
        allocate(stores)
        issue(stores, 1)
        late = stores.bills.reserve(pay(stores, 2), check_code="2", issued_at=at(7))
        early = stores.bills.reserve(pay(stores, 3), check_code="3", issued_at=at(5))
        pending = stores.ranges.pending_bills(at(60, china=False))
        assert pending == [
            PendingNumber(bill_id=BILL_CODE + early.bill_number, payment_code=code(3),
                          reserved_at=at(5, china=False), purpose="note"),
            PendingNumber(bill_id=BILL_CODE + late.bill_number, payment_code=code(2),
                          reserved_at=at(7, china=False), purpose="note"),
        ]
        assert [p.bill_id for p in stores.ranges.pending_bills(at(6, china=False))] == [
            BILL_CODE + early.bill_number]

    def test_a_pending_number_is_voided_once_and_counted_on_its_range(self, stores):
        allocate(stores)
        taken = stores.bills.reserve(pay(stores, 1), check_code="1", issued_at=at(2))
        bill_id = taken.bill_code + taken.bill_number
        assert stores.ranges.void_number(bill_id, "签名失败") is True
        assert stores.ranges.void_number(bill_id, "签名失败") is False
        assert stores.ranges.pending_bills(at(60, china=False)) == []
        [voided] = stores.ranges.all()
        assert (voided.next, voided.voided) == (2, 1)
        assert stores.bills.get(taken.bill_code, taken.bill_number) is None

    def test_an_issued_or_unknown_number_cannot_be_voided(self, stores):
        allocate(stores)
        bill = issue(stores, 1).bill
        assert stores.ranges.void_number(bill.bill_id, "x") is False
        assert stores.ranges.void_number(BILL_CODE + "0000000099", "x") is False
        assert stores.bills.get(bill.bill_code, bill.bill_number).status is BillStatus.NORMAL
        assert stores.ranges.all()[0].voided == 0


def test_a_range_allocated_here_is_listed_while_the_unit_index_lags_and_a_minute_at_most(aws):
    from chalicelib.adapters.dynamo_models import NumberRangeModel
    from chalicelib.adapters.dynamo_ranges import RECENT_SECONDS, DynamoRanges
    from tests.contracts.conftest import DynamoStores

    DynamoStores().ranges  # noqa: B018 - creates the table
    now = [1000.0]
    ranges = DynamoRanges(now=lambda: now[0])
    allocated = ranges.allocate(UNIT, KIND, BILL_CODE, 10, at())
    # the index has not seen the row yet: as if it lagged, it lacks the index's key
    NumberRangeModel(f"{UNIT}#{KIND}", f"{BILL_CODE}#{1:010d}").update(
        actions=[NumberRangeModel.unit_code.remove()])
    assert ranges.for_unit(UNIT, KIND)[0].start == 1
    assert ranges.of_unit(UNIT) == [allocated]
    assert ranges.of_unit("110101002") == []
    assert DynamoRanges().of_unit(UNIT) == []  # another process has only the index
    now[0] += RECENT_SECONDS
    assert ranges.of_unit(UNIT) == []
