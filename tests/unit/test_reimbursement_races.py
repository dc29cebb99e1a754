"""Recording a reimbursement and voiding (or exchanging to paper) the same bill, interleaved.

Each use case reads before it writes; the interleavings below put the other use case's whole
write between one side's read and its write. The write's own condition must refuse, so a bill
never ends voided (or exchanged) and reimbursed.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.bootstrap import Deps
from chalicelib.domain.errors import Conflict
from chalicelib.domain.records import BillRecord
from chalicelib.domain.units import Unit
from chalicelib.services.issuance import issue_bill
from chalicelib.services.lifecycle import exchange_to_paper, void_bill
from chalicelib.services.reimbursements import record_reimbursement
from devstack.seed import REIMBURSING
from tests.unit.scenario import UNIT, create_note, payment

PAPER = {"paper_bill_code": "34012126", "paper_bill_number": "0000000007"}


class Interleaved:
    """Delegates to ``inner``; runs ``before`` once, just before the first call of ``method``."""

    def __init__(self, inner: Any, method: str, before: Any) -> None:
        self._inner, self._method, self._before = inner, method, before

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name != self._method or self._before is None:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            before, self._before = self._before, None
            before()
            return target(*args, **kwargs)

        return call


def paid(deps: Deps, txn: str = "4200000001202603020000000001") -> str:
    """A note paid through a WeChat order (the order written directly, as opening one would)."""
    from chalicelib.domain.codes import new_out_trade_no
    from chalicelib.domain.payments import ChannelOrder

    note = create_note(deps)
    order = ChannelOrder(out_trade_no=new_out_trade_no(note.payment_code),
                         payment_code=note.payment_code,
                         channel="wechatpay", amount_fen=note.total_fen,
                         created_at="2026-03-02T10:01:00+08:00",
                         expires_at="2026-03-02T12:00:00+08:00")
    deps.notes.add_order(order)
    assert deps.payments.record(payment(order.out_trade_no, note.total_fen, txn)).value \
        == "recorded"
    return note.payment_code


def issued(deps: Deps) -> BillRecord:
    ref = issue_bill(deps, paid(deps))
    assert ref is not None
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert record is not None
    return record


def record_body(record: BillRecord) -> dict:
    return {"bill_code": record.bill.bill_code, "bill_number": record.bill.bill_number,
            "check_code": record.bill.check_code, "voucher_no": "记-001"}


def reimburser() -> Unit:
    return REIMBURSING[0]


def test_a_void_between_the_check_and_the_record_makes_the_record_refused(deps):
    record = issued(deps)
    bill = record.bill
    deps.overrides["reimbursements"] = Interleaved(
        deps.reimbursements, "add",
        lambda: void_bill(deps, UNIT, bill.bill_code, bill.bill_number, {"reason": "开错"}))

    with pytest.raises(Conflict) as refused:
        record_reimbursement(deps, reimburser(), record_body(record), "203.0.113.1")

    assert refused.value.code == "bill_not_normal"
    assert deps.bills.get(bill.bill_code, bill.bill_number).status.value == "voided"
    assert deps.reimbursements.get(bill.bill_id) is None


def test_a_record_between_the_check_and_the_void_makes_the_void_refused(deps):
    record = issued(deps)
    bill = record.bill
    deps.overrides["bills"] = Interleaved(
        deps.bills, "set_status",
        lambda: record_reimbursement(deps, reimburser(), record_body(record), "203.0.113.1"))

    with pytest.raises(Conflict) as refused:
        void_bill(deps, UNIT, bill.bill_code, bill.bill_number, {"reason": "开错"})

    assert refused.value.code == "already_reimbursed"
    assert refused.value.details["holder"]["unit_code"] == reimburser().unit_code
    assert deps.bills.get(bill.bill_code, bill.bill_number).status.value == "normal"
    assert deps.reimbursements.get(bill.bill_id) is not None


def test_a_record_between_the_check_and_the_paper_exchange_makes_the_exchange_refused(deps):
    record = issued(deps)
    bill = record.bill
    deps.overrides["bills"] = Interleaved(
        deps.bills, "set_status",
        lambda: record_reimbursement(deps, reimburser(), record_body(record), "203.0.113.1"))

    with pytest.raises(Conflict) as refused:
        exchange_to_paper(deps, UNIT, bill.bill_code, bill.bill_number, PAPER)

    assert refused.value.code == "already_reimbursed"
    assert deps.bills.get(bill.bill_code, bill.bill_number).links == {}


def test_a_paper_exchange_between_the_check_and_the_record_makes_the_record_refused(deps):
    record = issued(deps)
    bill = record.bill
    deps.overrides["reimbursements"] = Interleaved(
        deps.reimbursements, "add",
        lambda: exchange_to_paper(deps, UNIT, bill.bill_code, bill.bill_number, PAPER))

    with pytest.raises(Conflict) as refused:
        record_reimbursement(deps, reimburser(), record_body(record), "203.0.113.1")

    assert refused.value.code == "bill_not_normal"
    assert deps.reimbursements.get(bill.bill_id) is None


def test_a_bill_whose_reversal_has_begun_is_not_recorded(deps):
    record = issued(deps)
    deps.bills.reserve_reversal(record, check_code="AbC123",
                                issued_at=record.bill.issued_at)  # reversal under way

    with pytest.raises(Conflict) as refused:
        record_reimbursement(deps, reimburser(), record_body(record), "203.0.113.1")

    assert refused.value.code == "bill_not_normal"
    assert deps.reimbursements.get(record.bill.bill_id) is None
