"""RefundStore: FakeRefunds against DynamoRefunds (forward-only refund states of exception
payments, each move a conditional write)."""

from __future__ import annotations

from tests.contracts.builders import at, note, order, payment


def exceptions(stores, *minutes: float) -> list[str]:
    """Exception payments (a wrong amount) of one note, paid at the given minutes; their ids."""
    stores.notes.add(note(1))
    ids = []
    for i, m in enumerate(minutes):
        suffix = "ABCDEFG"[i]
        stores.notes.add_order(order(1, suffix=suffix))
        wrong = payment(1, suffix=suffix, amount_fen=1, minutes=m)
        stores.payments.record(wrong)
        ids.append(wrong.payment_id)
    return ids


class TestRefundStore:
    def test_exception_payments_are_due_oldest_first(self, stores):
        first, second, third = exceptions(stores, 5, 1, 3)
        assert [r.payment_id for r in stores.refunds.due()] == [second, third, first]
        assert [r.payment_id for r in stores.refunds.due(limit=1)] == [second]
        row = stores.refunds.get(first)
        assert (row.refund_status, row.refund_due, row.amount_fen) == ("pending", "due", 1)

    def test_an_applied_payment_is_never_due_and_cannot_be_claimed(self, stores):
        stores.notes.add(note(2))
        stores.notes.add_order(order(2))
        stores.payments.record(payment(2))
        assert stores.refunds.due() == []
        assert stores.refunds.claim("wechatpay#TXN2A", "R-1", at(10)) is False
        assert stores.refunds.get("wechatpay#TXN2A").status == "applied"
        assert stores.refunds.get("wechatpay#NOPE") is None

    def test_a_refund_is_claimed_once_with_its_number_and_stays_due(self, stores):
        [paid] = exceptions(stores, 1)
        assert stores.refunds.claim(paid, "R-1", at(10)) is True
        assert stores.refunds.claim(paid, "R-2", at(11)) is False
        row = stores.refunds.get(paid)
        assert (row.refund_status, row.out_refund_no, row.refund_requested_at,
                row.refund_checked_at, row.refund_due) == ("requested", "R-1", at(10), at(10), "due")
        stores.refunds.checked(paid, at(20))
        assert stores.refunds.get(paid).refund_checked_at == at(20)

    def test_checking_a_refund_that_is_not_requested_changes_nothing(self, stores):
        [paid] = exceptions(stores, 1)
        stores.refunds.checked(paid, at(20))
        stores.refunds.checked("wechatpay#NOPE", at(20))
        assert stores.refunds.get(paid).refund_checked_at is None
        assert stores.refunds.get("wechatpay#NOPE") is None

    def test_a_requested_refund_finishes_and_leaves_the_due_list(self, stores):
        done, failed = exceptions(stores, 1, 2)
        for paid in (done, failed):
            stores.refunds.claim(paid, f"R-{paid}", at(10))
        assert stores.refunds.finish(done, "succeeded", refund_id="CH-1") is True
        assert stores.refunds.finish(failed, "failed", detail="余额不足") is True
        assert stores.refunds.due() == []
        row = stores.refunds.get(done)
        assert (row.refund_status, row.refund_id, row.refund_detail) == (
            "succeeded", "CH-1", "succeeded")
        assert stores.refunds.get(failed).refund_detail == "余额不足"
        assert stores.refunds.get(failed).refund_due is None

    def test_states_move_forward_only(self, stores):
        paid, manual = exceptions(stores, 1, 2)
        assert stores.refunds.finish(paid, "succeeded") is False  # never requested
        assert stores.refunds.finish(paid, "failed") is False
        stores.refunds.claim(paid, "R-1", at(10))
        assert stores.refunds.finish(paid, "requested", detail="受理中") is True
        assert stores.refunds.finish(paid, "failed") is True
        assert stores.refunds.finish(paid, "succeeded") is True  # the money came back after all
        assert stores.refunds.finish(paid, "failed") is False
        assert stores.refunds.finish(manual, "manual") is True
        assert stores.refunds.finish(manual, "requested") is False
        assert stores.refunds.claim(manual, "R-2", at(10)) is False
        assert stores.refunds.finish("wechatpay#NOPE", "manual") is False
        assert stores.refunds.get("wechatpay#NOPE") is None

    def test_a_requested_state_again_stays_due(self, stores):
        [paid] = exceptions(stores, 1)
        stores.refunds.claim(paid, "R-1", at(10))
        stores.refunds.finish(paid, "requested", refund_id="CH-1")
        assert [r.payment_id for r in stores.refunds.due()] == [paid]
        assert stores.refunds.get(paid).refund_id == "CH-1"

    def test_a_failed_refund_is_asked_again_once_under_a_new_number(self, stores):
        paid, done = exceptions(stores, 1, 2)
        stores.refunds.claim(paid, "R-1", at(10))
        assert stores.refunds.retry(paid, "R-1", "R-2") is False  # not failed yet
        stores.refunds.finish(paid, "failed", refund_id="CH-1", detail="CLOSED")
        assert stores.refunds.retry(paid, "R-0", "R-2") is False  # not that number
        assert stores.refunds.retry(paid, "R-1", "R-2") is True
        assert stores.refunds.retry(paid, "R-1", "R-2") is False  # a second click
        row = stores.refunds.get(paid)
        assert (row.refund_status, row.refund_due, row.out_refund_no, row.refund_id,
                row.refund_requested_at) == ("pending", "due", "R-2", None, None)
        assert stores.refunds.claim(paid, "R-2", at(20)) is True
        stores.refunds.claim(done, "R-3", at(10))
        stores.refunds.finish(done, "succeeded")
        assert stores.refunds.retry(done, "R-3", "R-4") is False

    def test_a_refund_given_back_by_hand_is_recorded_offline_from_manual_or_failed(self, stores):
        manual, failed, pending = exceptions(stores, 1, 2, 3)
        stores.refunds.finish(manual, "manual")
        stores.refunds.claim(failed, "R-1", at(10))
        stores.refunds.finish(failed, "failed")
        assert stores.refunds.finish(pending, "offline") is False  # the job is on it
        assert stores.refunds.finish(manual, "offline", detail="柜台退现金") is True
        assert stores.refunds.finish(failed, "offline", detail="转账退回") is True
        assert stores.refunds.finish(manual, "offline") is False
        assert stores.refunds.finish(failed, "succeeded") is False
        assert stores.refunds.get(manual).refund_detail == "柜台退现金"
        assert [r.payment_id for r in stores.refunds.due()] == [pending]

class TestRefundsOfADay:
    def test_a_succeeded_refund_is_found_by_its_statement_day_and_no_other(self, stores):
        done, failed, other = exceptions(stores, 1, 2, 3)
        for paid in (done, failed, other):
            stores.refunds.claim(paid, f"R-{paid[-3:]}", at(10))
        assert stores.refunds.of_day("wechatpay", "2026-06-15") == []
        assert stores.refunds.finish(done, "succeeded", refund_id="CH-1",
                                     at="2026-06-15T10:20:00+08:00")
        assert stores.refunds.finish(other, "succeeded", refund_id="CH-3",
                                     at="2026-06-16T00:30:00+08:00")
        assert stores.refunds.finish(failed, "failed", at="2026-06-15T10:21:00+08:00")
        [found] = stores.refunds.of_day("wechatpay", "2026-06-15")
        assert (found.payment_id, found.refund_id, found.refunded_at, found.refund_status) == (
            done, "CH-1", "2026-06-15T10:20:00+08:00", "succeeded")
        assert [r.payment_id for r in stores.refunds.of_day("wechatpay", "2026-06-16")] == [
            other]
        assert stores.refunds.of_day("alipay", "2026-06-15") == []
        assert stores.refunds.get(failed).refunded_at is None

    def test_a_unionpay_refund_after_23_belongs_to_the_next_clearing_day(self, stores):
        stores.notes.add(note(3))
        ids = []
        for suffix in "AB":
            stores.notes.add_order(order(3, suffix=suffix, channel="unionpay"))
            wrong = payment(3, suffix=suffix, channel="unionpay", amount_fen=1)
            stores.payments.record(wrong)
            stores.refunds.claim(wrong.payment_id, f"R-{suffix}", at(10))
            ids.append(wrong.payment_id)
        stores.refunds.finish(ids[0], "succeeded", at="2026-06-15T22:59:59+08:00")
        stores.refunds.finish(ids[1], "succeeded", at="2026-06-15T23:00:00+08:00")
        assert [r.payment_id for r in stores.refunds.of_day("unionpay", "2026-06-15")] == [ids[0]]
        assert [r.payment_id for r in stores.refunds.of_day("unionpay", "2026-06-16")] == [ids[1]]
