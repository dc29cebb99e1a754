"""Recording what a channel says it received, exactly once, against the fakes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.notes import NoteStatus, PaymentRef
from chalicelib.domain.payments import PaymentOutcome
from chalicelib.services import notes as note_service
from chalicelib.services.payments import record_payment
from tests.unit.scenario import UNIT, create_note, payment

TXN = "4200000001202603020000000001"


def order_of(deps, note, channel="wechatpay"):
    return note_service.open_order(deps, note.payment_code, {"channel": channel})


def test_a_first_payment_marks_the_note_paid_and_enqueues_its_bill(deps):
    note = create_note(deps)
    order = order_of(deps, note)
    assert record_payment(deps, payment(order.out_trade_no, 8000, TXN)) is PaymentOutcome.RECORDED
    paid = deps.notes.get(note.payment_code)
    assert paid.status is NoteStatus.PAID
    assert paid.payment == PaymentRef(channel="wechatpay", channel_txn_id=TXN, amount_fen=8000,
                                      paid_at="2026-03-02T10:05:00+08:00",
                                      out_trade_no=order.out_trade_no)
    assert deps.jobs.issue == [note.payment_code]
    assert deps.payments.get(f"wechatpay#{TXN}")["status"] == "applied"


def test_a_repeated_notification_is_a_duplicate_and_enqueues_issuance_again(deps):
    note = create_note(deps)
    order = order_of(deps, note)
    record_payment(deps, payment(order.out_trade_no, 8000, TXN))
    assert record_payment(deps, payment(order.out_trade_no, 8000, TXN)) is \
        PaymentOutcome.DUPLICATE
    assert deps.jobs.issue == [note.payment_code, note.payment_code]
    assert len(deps.payments.rows) == 1
    assert deps.notes.get(note.payment_code).payment.channel_txn_id == TXN


def test_a_wrong_amount_is_kept_as_an_exception_and_leaves_the_note_unpaid(deps):
    note = create_note(deps)
    order = order_of(deps, note)
    outcome = record_payment(deps, payment(order.out_trade_no, 7999, TXN))
    assert outcome is PaymentOutcome.AMOUNT_MISMATCH
    assert deps.payments.get(f"wechatpay#{TXN}")["status"] == "exception"
    assert deps.payments.get(f"wechatpay#{TXN}")["reason"] == "amount_mismatch"
    unchanged = deps.notes.get(note.payment_code)
    assert unchanged.status is NoteStatus.UNPAID and unchanged.payment is None
    assert deps.jobs.issue == []


def test_a_wrong_amount_notified_again_is_a_duplicate_of_the_exception(deps):
    order = order_of(deps, create_note(deps))
    record_payment(deps, payment(order.out_trade_no, 7999, TXN))
    assert record_payment(deps, payment(order.out_trade_no, 7999, TXN)) is \
        PaymentOutcome.DUPLICATE
    assert deps.payments.get(f"wechatpay#{TXN}")["status"] == "exception"


def test_a_second_payment_of_a_paid_note_through_another_order_is_kept_as_an_exception(deps):
    note = create_note(deps)
    first, second = order_of(deps, note), order_of(deps, note)
    record_payment(deps, payment(first.out_trade_no, 8000, TXN))
    other_txn = "4200000001202603020000000002"
    outcome = record_payment(deps, payment(second.out_trade_no, 8000, other_txn))
    assert outcome is PaymentOutcome.NOTE_NOT_PAYABLE
    assert deps.payments.get(f"wechatpay#{other_txn}")["reason"] == "note_not_payable"
    assert deps.notes.get(note.payment_code).payment.channel_txn_id == TXN
    assert deps.jobs.issue == [note.payment_code]


def test_a_payment_of_a_cancelled_note_is_kept_as_an_exception(deps):
    note = create_note(deps)
    order = order_of(deps, note)
    note_service.cancel_note(deps, UNIT, note.payment_code)
    assert record_payment(deps, payment(order.out_trade_no, 8000, TXN)) is \
        PaymentOutcome.NOTE_NOT_PAYABLE
    assert deps.notes.get(note.payment_code).status is NoteStatus.CANCELLED


def test_an_order_opened_before_expiry_may_still_complete_after_it(deps, clock):
    note = create_note(deps, due_date="2026-03-02")
    order = order_of(deps, note)
    clock.advance(days=1)
    assert record_payment(deps, payment(order.out_trade_no, 8000, TXN)) is \
        PaymentOutcome.RECORDED


def test_an_order_we_never_opened_is_unknown_and_nothing_is_recorded(deps):
    note = create_note(deps)
    outcome = record_payment(deps, payment(note.payment_code + "ZZZZZZ", 8000, TXN))
    assert outcome is PaymentOutcome.ORDER_UNKNOWN
    assert deps.payments.rows == {} and deps.jobs.issue == []
    assert deps.notes.get(note.payment_code).status is NoteStatus.UNPAID


def test_an_order_notified_by_another_channel_is_unknown(deps):
    order = order_of(deps, create_note(deps))
    outcome = record_payment(deps, payment(order.out_trade_no, 8000, TXN, channel="alipay"))
    assert outcome is PaymentOutcome.ORDER_UNKNOWN
    assert deps.payments.rows == {}


@pytest.mark.parametrize("out_trade_no", ["", "short", "x" * 33, "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                          "3401002600000000000!abcdef"])
def test_an_out_trade_no_that_is_not_ours_in_shape_is_unknown(deps, out_trade_no):
    assert record_payment(deps, payment(out_trade_no, 8000, TXN)) is \
        PaymentOutcome.ORDER_UNKNOWN
    assert deps.payments.rows == {}


def test_payments_of_two_notes_are_recorded_independently(deps):
    notes = [create_note(deps), create_note(deps)]
    for i, note in enumerate(notes):
        order = order_of(deps, note)
        assert record_payment(deps, payment(order.out_trade_no, 8000, f"{TXN[:-1]}{i}")) is \
            PaymentOutcome.RECORDED
    assert deps.jobs.issue == [n.payment_code for n in notes]
    assert all(deps.notes.get(n.payment_code).status is NoteStatus.PAID for n in notes)


def bank_payment(note, amount_fen: int, txn: str = "ICBC-20260302-0001"):
    return payment(note.payment_code, amount_fen, txn, channel="bank")


def test_an_agent_bank_pays_a_note_by_its_payment_code_without_an_order(deps):
    note = create_note(deps)
    assert record_payment(deps, bank_payment(note, 8000)) is PaymentOutcome.RECORDED
    assert deps.notes.get(note.payment_code).payment.channel == "bank"
    assert deps.jobs.issue == [note.payment_code]


def test_an_agent_bank_payment_of_another_amount_is_kept_as_an_exception(deps):
    note = create_note(deps)
    assert record_payment(deps, bank_payment(note, 8001)) is PaymentOutcome.AMOUNT_MISMATCH
    assert deps.notes.get(note.payment_code).status is NoteStatus.UNPAID
    [row] = deps.payments.exceptions_for_unit(UNIT.unit_code)
    assert (row.reason, row.refund_status) == ("amount_mismatch", "pending")


def test_an_agent_bank_payment_of_an_unknown_note_records_nothing(deps):
    ghost = replace(create_note(deps), payment_code="34010026999999999999")
    assert record_payment(deps, bank_payment(ghost, 8000)) is PaymentOutcome.ORDER_UNKNOWN
    assert deps.payments.rows == {}


def test_every_payment_of_a_note_is_listed_oldest_first(deps):
    note = create_note(deps)
    first, second = order_of(deps, note), order_of(deps, note)
    record_payment(deps, payment(first.out_trade_no, 8000, TXN))
    record_payment(deps, replace(payment(second.out_trade_no, 8000, TXN[:-1] + "2"),
                                 paid_at="2026-03-02T10:06:00+08:00"))
    rows = deps.payments.for_note(note.payment_code)
    assert [(r.status, r.reason) for r in rows] == [("applied", None),
                                                           ("exception", "note_not_payable")]
