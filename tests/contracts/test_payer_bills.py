"""PayerBillIndex: FakePayerBills against DynamoPayerBills (the bills table's payer index)."""

from __future__ import annotations

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.records import PayerBill
from tests.contracts.builders import allocate, at, bill_of, issue, pay, record_of, ref_of


def sort_key(record, minutes: float) -> str:
    return f"{at(minutes, china=False)}#{record.bill.bill_id}"


class TestPayerBillIndex:
    def test_a_payers_bills_come_newest_first_with_status_and_links(self, stores):
        allocate(stores)
        old, new, other = issue(stores, 1), issue(stores, 2), issue(stores, 3)
        stores.payer_bills.index(old.bill.bill_id, "phone-1", sort_key(old, 1))
        stores.payer_bills.index(new.bill.bill_id, "phone-1", sort_key(new, 2))
        stores.payer_bills.index(other.bill.bill_id, "phone-2", sort_key(other, 3))
        stores.bills.set_status(old.bill.bill_id, BillStatus.REVERSED,
                                expected=BillStatus.NORMAL, links={"reversed_by": "X"})
        assert stores.payer_bills.bills_of("phone-1") == [
            PayerBill(bill=new.bill, status=BillStatus.NORMAL),
            PayerBill(bill=old.bill, status=BillStatus.REVERSED, links={"reversed_by": "X"})]
        assert stores.payer_bills.bills_of("phone-1", limit=1) == [
            PayerBill(bill=new.bill, status=BillStatus.NORMAL)]
        assert stores.payer_bills.bills_of("phone-9") == []

    def test_indexing_again_is_harmless(self, stores):
        allocate(stores)
        issued = issue(stores, 1)
        for _ in range(2):
            stores.payer_bills.index(issued.bill.bill_id, "phone-1", sort_key(issued, 1))
        assert len(stores.payer_bills.bills_of("phone-1")) == 1

    def test_a_number_without_its_bill_yet_is_not_indexed(self, stores):
        allocate(stores)
        taken = stores.bills.reserve(pay(stores, 1), check_code="1", issued_at=at(2))
        bill_id = taken.bill_code + taken.bill_number
        stores.payer_bills.index(bill_id, "phone-1", f"{at(2, china=False)}#{bill_id}")
        stores.payer_bills.index("340301260000000099", "phone-1", "x")
        assert stores.payer_bills.bills_of("phone-1") == []
        assert stores.bills.get(taken.bill_code, "0000000099") is None

    def test_a_bill_completed_with_its_payers_keys_is_listed_without_an_index_write(self, stores):
        allocate(stores)
        paid = pay(stores, 1)
        reservation = stores.bills.reserve(paid, check_code="1", issued_at=at(2))
        bill = bill_of(paid, reservation)
        stores.bills.complete_issue(record_of(bill), ref_of(bill),
                                    payer_index=("phone-1", f"{at(2, china=False)}#{bill.bill_id}"))
        assert stores.payer_bills.bills_of("phone-1") == [
            PayerBill(bill=bill, status=BillStatus.NORMAL)]
