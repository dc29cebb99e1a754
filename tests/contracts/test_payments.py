"""PaymentRecorder: FakePayments against DynamoPaymentRecorder (one transaction per payment)."""

from __future__ import annotations

from dataclasses import asdict, replace

from chalicelib.domain.notes import NoteStatus, PaymentRef
from chalicelib.domain.payments import PaymentOutcome
from chalicelib.domain.records import PaymentRecord
from tests.contracts.builders import UNIT, at, code, note, order, payment
from tests.contracts.conftest import DynamoStores, _shared
from tests.functional.support import botocore_hooks


def held(record: PaymentRecord) -> set[str]:
    """The fields a payment record has a value for."""
    return {k for k, v in asdict(record).items() if v is not None}


# What services and operators read of a stored payment (refunds, the unit's exception list).
SEEN = ("payment_id", "payment_code", "channel", "channel_txn_id", "out_trade_no", "amount_fen",
        "paid_at", "notification_id", "status")


def seen(row: PaymentRecord) -> dict:
    return {k: getattr(row, k) for k in (*SEEN, "reason", "exception_unit", "refund_status",
                                         "refund_due")}


def opened(stores, n: int = 1, **order_fields) -> None:
    stores.notes.add(note(n))
    stores.notes.add_order(order(n, **order_fields))


class TestPaymentRecorder:
    def test_a_payment_of_an_open_order_pays_its_note(self, stores):
        opened(stores)
        paid = payment(1)
        assert stores.payments.record(paid) is PaymentOutcome.RECORDED
        stored = stores.notes.get(code(1))
        assert stored.status is NoteStatus.PAID
        assert stored.payment == PaymentRef(channel="wechatpay", channel_txn_id="TXN1A",
                                            amount_fen=2000, paid_at=at(1),
                                            out_trade_no=code(1) + "A")
        [row] = stores.payments.for_note(code(1))
        assert seen(row) == {
            "payment_id": "wechatpay#TXN1A", "payment_code": code(1), "channel": "wechatpay",
            "channel_txn_id": "TXN1A", "out_trade_no": code(1) + "A", "amount_fen": 2000,
            "paid_at": at(1), "notification_id": "N1A", "status": "applied", "reason": None,
            "exception_unit": None, "refund_status": None, "refund_due": None}

    def test_a_payment_to_the_orders_sub_merchant_pays_its_note_and_keeps_the_merchant(
            self, stores):
        stores.notes.add(note(1))
        stores.notes.add_order(replace(order(1), merchant="1900000109",
                                       merchant_app="wx0123456789abcdef"))
        assert stores.notes.get_order(code(1) + "A").merchant_app == "wx0123456789abcdef"
        assert stores.payments.record(replace(payment(1), merchant="1900000109")) \
            is PaymentOutcome.RECORDED
        [row] = stores.payments.for_note(code(1))
        assert (row.status, row.merchant) == ("applied", "1900000109")

    def test_a_payment_to_another_merchant_than_the_orders_is_refused_and_leaves_no_trace(
            self, stores):
        stores.notes.add(note(1))
        stores.notes.add_order(replace(order(1), merchant="1900000109"))
        opened(stores, 2)  # the deployment's merchant
        for stray in (replace(payment(1), merchant="1900000110"), payment(1),
                      replace(payment(2), merchant="1900000109")):
            assert stores.payments.record(stray) is PaymentOutcome.MERCHANT_MISMATCH
        assert stores.payments.for_note(code(1)) == stores.payments.for_note(code(2)) == []
        assert stores.notes.get(code(1)).status is NoteStatus.UNPAID

    def test_a_payment_naming_the_units_application_must_name_the_orders(self, stores):
        """Alipay's auth_app_id: when the channel names the unit's application, it is checked
        with the seller in the same condition; a payment naming none is judged by the seller."""
        stores.notes.add(note(1))
        stores.notes.add_order(replace(order(1), channel="alipay", merchant="2088000000000101",
                                       merchant_app="2021000000000101"))
        alipay = replace(payment(1), channel="alipay", merchant="2088000000000101")
        assert stores.payments.record(replace(alipay, merchant_app="2021000000000102")) \
            is PaymentOutcome.MERCHANT_MISMATCH
        assert stores.payments.for_note(code(1)) == []
        assert stores.payments.record(replace(alipay, merchant_app="2021000000000101")) \
            is PaymentOutcome.RECORDED
        [row] = stores.payments.for_note(code(1))
        assert (row.status, row.merchant) == ("applied", "2088000000000101")
        stores.notes.add(note(2))
        stores.notes.add_order(replace(order(2), channel="alipay", merchant="2088000000000101",
                                       merchant_app="2021000000000101"))
        assert stores.payments.record(replace(payment(2), channel="alipay",
                                              merchant="2088000000000101")) \
            is PaymentOutcome.RECORDED

    def test_the_same_payment_again_is_a_duplicate_and_changes_nothing(self, stores):
        opened(stores)
        stores.payments.record(payment(1))
        assert stores.payments.record(payment(1)) is PaymentOutcome.DUPLICATE
        assert len(stores.payments.for_note(code(1))) == 1

    def test_a_payment_of_no_order_of_ours_is_unknown_and_leaves_no_trace(self, stores):
        opened(stores)
        for stray in (payment(1, suffix="B"), payment(2), payment(1, channel="alipay")):
            assert stores.payments.record(stray) is PaymentOutcome.ORDER_UNKNOWN
        assert stores.payments.for_note(code(1)) == []
        assert stores.notes.get(code(1)).status is NoteStatus.UNPAID

    def test_a_wrong_amount_is_kept_as_an_exception_of_the_notes_unit_for_a_refund(self, stores):
        opened(stores)
        assert stores.payments.record(payment(1, amount_fen=1999)) \
            is PaymentOutcome.AMOUNT_MISMATCH
        assert stores.notes.get(code(1)).status is NoteStatus.UNPAID
        [row] = stores.payments.exceptions_for_unit(UNIT)
        assert seen(row) == {**seen(row), "status": "exception", "reason": "amount_mismatch",
                             "exception_unit": UNIT, "refund_status": "pending",
                             "refund_due": "due", "amount_fen": 1999}

    def test_a_second_payment_of_a_paid_note_is_an_exception_not_a_second_payment(self, stores):
        opened(stores)
        stores.notes.add_order(order(1, suffix="B"))
        stores.payments.record(payment(1))
        assert stores.payments.record(payment(1, suffix="B")) is PaymentOutcome.NOTE_NOT_PAYABLE
        assert stores.notes.get(code(1)).payment.channel_txn_id == "TXN1A"
        assert [(r.status, r.reason) for r in stores.payments.for_note(code(1))] == [
            ("applied", None), ("exception", "note_not_payable")]

    def test_a_payment_of_a_cancelled_note_is_an_exception(self, stores):
        opened(stores)
        stores.notes.cancel(code(1))
        assert stores.payments.record(payment(1)) is PaymentOutcome.NOTE_NOT_PAYABLE
        assert stores.notes.get(code(1)).status is NoteStatus.CANCELLED

    def test_an_exception_recorded_twice_is_a_duplicate(self, stores):
        opened(stores)
        stores.payments.record(payment(1, amount_fen=1))
        assert stores.payments.record(payment(1, amount_fen=1)) is PaymentOutcome.DUPLICATE
        assert len(stores.payments.exceptions_for_unit(UNIT)) == 1

    def test_an_agent_banks_payment_names_the_note_and_must_equal_its_total(self, stores):
        stores.notes.add(note(1))
        stores.notes.add(note(2))
        assert stores.payments.record(payment(1, channel="bank")) is PaymentOutcome.RECORDED
        assert stores.notes.get(code(1)).payment.out_trade_no == code(1)
        assert stores.payments.record(payment(2, channel="bank", amount_fen=5)) \
            is PaymentOutcome.AMOUNT_MISMATCH
        assert stores.payments.record(payment(1, channel="bank", txn="T2")) \
            is PaymentOutcome.NOTE_NOT_PAYABLE
        assert stores.payments.record(payment(3, channel="bank")) is PaymentOutcome.ORDER_UNKNOWN
        assert stores.payments.for_note(code(3)) == []

    def test_a_units_own_receipt_has_no_order_and_must_equal_the_notes_total(self, stores):
        """The payment behind a directly issued bill (POST /v1/bills): channel ``paid_by``."""
        stores.notes.add(note(1))
        stores.notes.add(note(2))
        assert stores.payments.record(payment(1, channel="cash")) is PaymentOutcome.RECORDED
        assert stores.notes.get(code(1)).payment.channel == "cash"
        assert stores.payments.record(payment(1, channel="cash")) is PaymentOutcome.DUPLICATE
        assert stores.payments.record(payment(2, channel="pos", amount_fen=5)) \
            is PaymentOutcome.AMOUNT_MISMATCH

    def test_payments_of_a_note_come_oldest_first_and_exceptions_newest_first(self, stores):
        opened(stores)
        for suffix in "BC":
            stores.notes.add_order(order(1, suffix=suffix))
        stores.payments.record(payment(1, suffix="B", minutes=3))
        stores.payments.record(payment(1, suffix="A", minutes=5))
        stores.payments.record(payment(1, suffix="C", minutes=4))
        assert [r.channel_txn_id for r in stores.payments.for_note(code(1))] == [
            "TXN1B", "TXN1C", "TXN1A"]
        assert [r.channel_txn_id for r in stores.payments.exceptions_for_unit(UNIT)] == [
            "TXN1A", "TXN1C"]
        assert [r.channel_txn_id for r in stores.payments.exceptions_for_unit(UNIT, 1)] == [
            "TXN1A"]
        assert stores.payments.exceptions_for_unit("999999999") == []

    def test_a_units_exceptions_page_by_paid_time_and_refund_state_from_any_position(
            self, stores):
        opened(stores)
        for suffix in "BCDEF":
            stores.notes.add_order(order(1, suffix=suffix))
        stores.payments.record(payment(1, suffix="A", minutes=1))  # applied: not an exception
        for n, suffix in enumerate("BCDEF"):
            stores.payments.record(payment(1, suffix=suffix, minutes=60 * 24 * n + 2))
        everything = (at(0)[:10] + "T00:00:00", at(60 * 24 * 9)[:10] + "T23:59:59+08:00")

        def txns(since, until, status, limit, after):
            rows, position = stores.payments.exceptions_page(UNIT, since, until, status, limit,
                                                             after)
            return [r.channel_txn_id for r in rows], position

        first, position = txns(*everything, None, 2, None)
        assert first == ["TXN1F", "TXN1E"] and position is not None
        second, position = txns(*everything, None, 2, position)
        assert second == ["TXN1D", "TXN1C"]
        rest, position = txns(*everything, None, 2, position)
        assert rest == ["TXN1B"] and position is None
        one_day = (at(60 * 24 * 2)[:10] + "T00:00:00", at(60 * 24 * 2)[:10] + "T23:59:59+08:00")
        assert txns(*one_day, None, 20, None) == (["TXN1D"], None)
        assert txns(*everything, "failed", 20, None) == ([], None)
        assert txns(*everything, "pending", 20, None)[0] == ["TXN1F", "TXN1E", "TXN1D",
                                                              "TXN1C", "TXN1B"]
        assert stores.payments.exceptions_page("999999999", *everything, None, 20, None) == (
            [], None)

    def test_a_stored_payment_holds_exactly_the_fields_of_its_state(self, stores):
        opened(stores)
        stores.notes.add_order(order(1, suffix="B"))
        stores.payments.record(payment(1))
        stores.payments.record(payment(1, suffix="B"))
        applied, exception = stores.payments.for_note(code(1))
        assert held(applied) == set(SEEN)
        assert held(exception) == {*SEEN, "reason", "exception_unit", "refund_status",
                                   "refund_due"}


def test_a_payment_is_one_transaction_of_check_put_and_update_asking_no_consumed_capacity(
        aws, monkeypatch):
    """The acknowledgement's write, as DynamoDB receives it: one ``TransactWriteItems`` of the
    order's check, the payment and the note, in that order (the cancellation reasons are read
    by position), asking for no consumed capacity: nothing reads it, and DynamoDB Local answered
    the transaction ~0.45 ms later when it was asked (pynamodb asks every request for TOTAL)."""
    stores = _shared(DynamoStores())
    opened(stores)
    stores.notes.add(note(2))
    sent: list[dict] = []

    def keep(params: dict, **_: object) -> None:
        sent.append(params)

    with botocore_hooks(monkeypatch,
                        {"before-parameter-build.dynamodb.TransactWriteItems": keep}):
        assert stores.payments.record(payment(1)) is PaymentOutcome.RECORDED
        assert stores.payments.record(payment(2, channel="bank")) is PaymentOutcome.RECORDED
    order_paid, counter_paid = sent
    assert [next(iter(item)) for item in order_paid["TransactItems"]] == [
        "ConditionCheck", "Put", "Update"]
    assert [next(iter(item)) for item in counter_paid["TransactItems"]] == ["Put", "Update"]
    assert order_paid.get("ReturnConsumedCapacity", "NONE") == "NONE"
    assert counter_paid.get("ReturnConsumedCapacity", "NONE") == "NONE"
