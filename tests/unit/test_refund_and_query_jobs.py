"""The refund job, the active-query job and checkout, against the fakes (no channel, no AWS)."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.payments import PaymentOutcome, RefundResult, out_refund_no
from chalicelib.services import notes as note_service
from chalicelib.services.checkout import pay, unionpay_form
from chalicelib.services.order_query import query_open_orders
from chalicelib.services.payments import record_payment
from chalicelib.services.refunds import refund_exceptions
from tests.unit.scenario import create_note, payment

SECOND = "4200000001202603020000000002"


def exception_of(deps, channel="wechatpay", txn=SECOND) -> dict:
    """A second payment of a paid note: an exception waiting for its refund."""
    note = create_note(deps)
    first, second = (note_service.open_order(deps, note.payment_code, {"channel": channel})
                     for _ in range(2))
    record_payment(deps, payment(first.out_trade_no, 8000, "4200000001", channel))
    outcome = record_payment(deps, payment(second.out_trade_no, 8000, txn, channel))
    assert outcome is PaymentOutcome.NOTE_NOT_PAYABLE
    return deps.payments.get(f"{channel}#{txn}")


def test_out_refund_no_is_the_same_for_the_same_payment_and_fits_every_channel():
    number = out_refund_no("wechatpay#4200000001")
    assert number == out_refund_no("wechatpay#4200000001") != out_refund_no("alipay#4200000001")
    assert len(number) == 32 and number.isalnum()


def test_an_exception_is_claimed_before_its_channel_is_asked(deps):
    row = exception_of(deps)
    api = deps.overrides["wechatpay_api"]
    assert refund_exceptions(deps) == {"succeeded": 1}
    [(name, request)] = api.calls
    assert (name, request.out_refund_no, request.amount_fen) == (
        "refund", out_refund_no(row["payment_id"]), 8000)
    assert request.notify_url == "http://testserver/callbacks/wechatpay"
    assert (row["refund_status"], row["refund_id"]) == (
        "succeeded", f"refund-{request.out_refund_no}")
    assert deps.refunds.due() == []


def test_a_channel_that_does_not_answer_is_asked_again_later_for_the_same_refund(deps, clock):
    row = exception_of(deps)
    api = deps.overrides["wechatpay_api"]
    api.down = True
    assert refund_exceptions(deps) == {"unavailable": 1}
    assert row["refund_status"] == "requested"
    api.down = False
    assert refund_exceptions(deps) == {"waiting": 1}
    clock.advance(minutes=11)
    api.refund_results = [RefundResult("requested", "5030", "PROCESSING")]
    assert refund_exceptions(deps) == {"requested": 1}
    numbers = {request.out_refund_no for _, request in api.calls}
    assert numbers == {out_refund_no(row["payment_id"])}
    assert (row["refund_status"], row["refund_id"]) == ("requested", "5030")


def test_a_refused_refund_is_failed_and_leaves_the_queue(deps):
    row = exception_of(deps, "alipay")
    deps.overrides["alipay_api"].refund_results = [RefundResult("failed", None, "40004")]
    assert refund_exceptions(deps) == {"failed": 1}
    assert (row["refund_status"], row["refund_detail"]) == ("failed", "40004")
    assert deps.refunds.due() == []


def test_a_finished_refund_does_not_go_back(deps):
    row = exception_of(deps)
    refund_exceptions(deps)
    assert not deps.refunds.finish(row["payment_id"], "failed", detail="late")
    assert row["refund_status"] == "succeeded"


def test_the_query_job_records_a_payment_the_channel_reports_and_closes_the_order(deps, clock):
    note = create_note(deps)
    order = note_service.open_order(deps, note.payment_code, {"channel": "unionpay"})
    api = deps.overrides["unionpay_api"]
    api.paid[order.out_trade_no] = payment(order.out_trade_no, 8000, "95001", "unionpay")
    assert query_open_orders(deps) == {}  # younger than three minutes
    clock.advance(minutes=4)
    assert query_open_orders(deps) == {"recorded": 1}
    assert deps.notes.get(note.payment_code).status is NoteStatus.PAID
    assert deps.jobs.issue == [note.payment_code] and deps.notes.open == set()


def test_the_query_job_survives_a_channel_that_is_down(deps, clock):
    order = note_service.open_order(deps, create_note(deps).payment_code, {"channel": "alipay"})
    deps.overrides["alipay_api"].down = True
    clock.advance(minutes=4)
    assert query_open_orders(deps) == {"unavailable": 1}
    assert order.out_trade_no in deps.notes.open


def test_checkout_opens_the_order_then_asks_its_channel(deps):
    note = create_note(deps)
    order, opened = pay(deps, note.payment_code, {"channel": "wechatpay"}, "203.0.113.9")
    assert opened.pay_url == f"https://wechatpay.test/pay/{order.out_trade_no}"
    assert deps.notes.get_order(order.out_trade_no) == order
    deps.overrides["wechatpay_api"].down = True
    with pytest.raises(ServiceUnavailable):
        pay(deps, note.payment_code, {"channel": "wechatpay"}, "203.0.113.9")


def test_the_form_page_is_for_unionpay_orders_only(deps):
    from chalicelib.domain.errors import NotFound

    note = create_note(deps)
    order, _ = pay(deps, note.payment_code, {"channel": "alipay"}, "")
    with pytest.raises(NotFound):
        unionpay_form(deps, order.out_trade_no, "203.0.113.9")
