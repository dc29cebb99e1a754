"""ReimbursementRepository and AuditLog: FakeReimbursements and FakeAudit against
DynamoReimbursements and DynamoAudit."""

from __future__ import annotations

import pytest

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.errors import BillNotReimbursable
from chalicelib.domain.records import AuditEvent, Reimbursement
from tests.contracts.builders import BILL_CODE, allocate, at, issue, pay


def held_by(bill_id: str, unit: str = "R1") -> Reimbursement:
    return Reimbursement(bill_id=bill_id, unit_code=unit, unit_name=f"{unit}单位",
                         voucher_no=None if unit == "R2" else "记-1", recorded_at=at(10))


class TestReimbursementRepository:
    def test_the_first_unit_holds_a_bill_and_later_ones_are_told_who(self, stores):
        allocate(stores)
        bill_id = issue(stores, 1).bill.bill_id
        assert stores.reimbursements.add(held_by(bill_id)) is None
        assert stores.reimbursements.add(held_by(bill_id, "R2")) == held_by(bill_id)
        assert stores.reimbursements.add(held_by(bill_id)) == held_by(bill_id)
        assert stores.reimbursements.get(bill_id) == held_by(bill_id)

    def test_a_record_without_a_voucher_comes_back_without_one(self, stores):
        allocate(stores)
        bill_id = issue(stores, 1).bill.bill_id
        stores.reimbursements.add(held_by(bill_id, "R2"))
        assert stores.reimbursements.get(bill_id).voucher_no is None

    def test_an_unknown_or_unfinished_bill_cannot_be_reimbursed(self, stores):
        allocate(stores)
        taken = stores.bills.reserve(pay(stores, 1), check_code="1", issued_at=at(2))
        for bill_id in (BILL_CODE + "0000000099", taken.bill_code + taken.bill_number):
            with pytest.raises(BillNotReimbursable):
                stores.reimbursements.add(held_by(bill_id))
            assert stores.reimbursements.get(bill_id) is None

    def test_a_bill_that_is_not_normal_or_went_to_paper_cannot_be_reimbursed(self, stores):
        allocate(stores)
        voided, paper = issue(stores, 1).bill, issue(stores, 2).bill
        stores.bills.set_status(voided.bill_id, BillStatus.VOIDED, expected=BillStatus.NORMAL)
        stores.bills.set_status(paper.bill_id, BillStatus.NORMAL, expected=BillStatus.NORMAL,
                                links={"paper": "P-1"})
        for bill_id in (voided.bill_id, paper.bill_id):
            with pytest.raises(BillNotReimbursable):
                stores.reimbursements.add(held_by(bill_id))

    def test_a_holder_answers_before_the_bills_state(self, stores):
        allocate(stores)
        bill_id = issue(stores, 1).bill.bill_id
        stores.reimbursements.add(held_by(bill_id))
        stores.bills.set_status(bill_id, BillStatus.NORMAL, expected=BillStatus.NORMAL,
                                links={"paper": "P-1"})
        assert stores.reimbursements.add(held_by(bill_id, "R2")) == held_by(bill_id)

    def test_only_the_holder_releases_and_then_another_unit_may_record(self, stores):
        allocate(stores)
        bill_id = issue(stores, 1).bill.bill_id
        stores.reimbursements.add(held_by(bill_id))
        assert stores.reimbursements.release(bill_id, "R2") is False
        assert stores.reimbursements.release(bill_id, "R1") is True
        assert stores.reimbursements.release(bill_id, "R1") is False
        assert stores.reimbursements.get(bill_id) is None
        assert stores.reimbursements.add(held_by(bill_id, "R2")) is None


def event(bill: str, unit: str, minutes: float, action: str = "verify",
          detail: dict | None = None) -> AuditEvent:
    return AuditEvent(bill_id=bill, unit_code=unit, action=action, outcome="ok",
                      client="203.0.113.9", at=at(minutes), detail=detail)


# What the audit log shows of each event (``issue audit-log`` prints the rows).
SHOWN = ("bill_id", "unit_code", "action", "outcome", "client", "day", "detail")


def shown(rows: list[AuditEvent]) -> list[tuple]:
    return [tuple(r.row().get(k) for k in SHOWN) for r in rows]


class TestAuditLog:
    def test_events_of_a_bill_come_newest_first(self, stores):
        stores.audit.append(event("B1", "R1", 0))
        stores.audit.append(event("B1", "R2", 5, "reimburse", {"voucher_no": "记-1"}))
        stores.audit.append(event("B2", "R1", 3))
        rows = stores.audit.query(bill_id="B1")
        assert shown(rows) == [
            ("B1", "R2", "reimburse", "ok", "203.0.113.9", "2026-06-15", {"voucher_no": "记-1"}),
            ("B1", "R1", "verify", "ok", "203.0.113.9", "2026-06-15", None)]
        assert all(r.event_id.startswith(at(m)) for r, m in zip(rows, (5, 0), strict=True))

    def test_events_of_a_unit_come_newest_first_optionally_of_one_day(self, stores):
        stores.audit.append(event("B1", "R1", 0))
        stores.audit.append(event("B2", "R1", 24 * 60))
        stores.audit.append(event("B3", "R2", 1))
        assert [r.bill_id for r in stores.audit.query(unit_code="R1")] == ["B2", "B1"]
        assert [r.bill_id for r in stores.audit.query(unit_code="R1",
                                                         day="2026-06-15")] == ["B1"]
        assert stores.audit.query(unit_code="R1", day="2026-06-17") == []

    def test_events_of_a_day_come_newest_first_and_limit_keeps_the_newest(self, stores):
        for n in range(4):
            stores.audit.append(event(f"B{n}", "R1", n))
        stores.audit.append(event("B9", "R1", 24 * 60))
        assert [r.bill_id for r in stores.audit.query(day="2026-06-15")] == [
            "B3", "B2", "B1", "B0"]
        assert [r.bill_id for r in stores.audit.query(day="2026-06-15", limit=2)] == [
            "B3", "B2"]

    def test_pages_of_a_day_a_unit_or_a_bill_go_on_from_any_rows_position(self, stores):
        for n in range(5):
            stores.audit.append(event(f"B{n}", "R1" if n % 2 else "R2", n))
        stores.audit.append(event("B0", "R1", 24 * 60))  # another day
        for ask, expected in (({"day": "2026-06-15"}, ["B4", "B3", "B2", "B1", "B0"]),
                              ({"unit_code": "R1", "day": "2026-06-15"}, ["B3", "B1"]),
                              ({"unit_code": "R2"}, ["B4", "B2", "B0"]),
                              ({"bill_id": "B0", "day": "2026-06-16"}, ["B0"])):
            rows, after, seen = [], None, []
            while True:
                rows, after = stores.audit.page(**ask, limit=2, after=after)
                seen += [e.bill_id for e, _ in rows]
                if after is None:
                    break
            assert seen == expected, ask
            first, _ = stores.audit.page(**ask, limit=3)
            from_second, _ = stores.audit.page(**ask, limit=3, after=first[0][1])
            assert [e.bill_id for e, _ in from_second] == expected[1:4], ask

    def test_an_event_reads_back_as_the_table_holds_it(self, stores):
        stores.audit.append(event("B1", "R1", 0))
        stores.audit.append(event("B1", "R1", 1, "reimburse", {"voucher_no": "记-1"}))
        with_detail, without = stores.audit.query(bill_id="B1")
        assert set(without.row()) == {"bill_id", "event_id", "unit_code", "day", "action",
                                      "outcome", "client"}
        assert set(with_detail.row()) == {*without.row(), "detail"}
        assert (with_detail.at, with_detail.detail, without.at, without.detail) == (
            at(1), {"voucher_no": "记-1"}, at(0), None)

    def test_a_query_must_name_a_bill_a_unit_or_a_day(self, stores):
        with pytest.raises(ValueError):
            stores.audit.query()
