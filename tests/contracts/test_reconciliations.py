"""ReconciliationStore: FakeReconciliations against DynamoReconciliations, and the payments'
day index reconciliation reads (PaymentRecorder.of_day, find)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.reconciliation import ChannelDay, ReconLine
from tests.contracts.builders import code, note, order, payment

DAY = "2026-06-15"


def line(n: int, status: str = "channel_only", **fields) -> ReconLine:
    return ReconLine(date=DAY, channel="wechatpay", line_id=f"pay-TXN{n}", kind="payment",
                     status=status, channel_txn_id=f"TXN{n}", out_trade_no=code(n) + "A",
                     payment_code=code(n), amount_fen=2000, fee_fen=12, net_fen=1988,
                     **fields)


class TestReconciliationStore:
    def test_a_day_and_its_lines_are_read_back_as_written(self, stores):
        store = stores.reconciliations
        day = ChannelDay(date=DAY, channel="wechatpay", status="discrepancies",
                         statement_count=2, statement_total_fen=4000, statement_fee_fen=24,
                         recorded_count=1, recorded_total_fen=2000, runs=1,
                         run_at="2026-06-16T10:30:00+08:00")
        store.put_day(day)
        assert store.put_line(line(2)) and store.put_line(line(1, "matched",
                                                               recorded_status="applied"))
        assert store.day(DAY, "wechatpay") == day
        assert store.day(DAY, "alipay") is None
        assert [x.line_id for x in store.lines(DAY, "wechatpay")] == ["pay-TXN1", "pay-TXN2"]
        assert store.get_line(DAY, "wechatpay", "pay-TXN2") == line(2)
        assert list(store.lines(DAY, "alipay")) == []

    def test_an_open_line_is_rewritten_and_a_settled_one_never(self, stores):
        store = stores.reconciliations
        assert store.put_line(line(1))
        assert store.put_line(line(1, detail="again"))  # open: a re-run may rewrite it
        resolved = line(1, detail="again", resolution="recorded", resolved_by="reconciliation",
                        resolved_at="2026-06-16T10:30:00+08:00")
        assert store.put_line(resolved)
        assert not store.put_line(line(1, detail="a third run"))
        assert store.get_line(DAY, "wechatpay", "pay-TXN1") == resolved
        assert store.put_line(line(2, "matched"))
        assert not store.put_line(line(2, "recorded_only"))
        assert store.get_line(DAY, "wechatpay", "pay-TXN2").status == "matched"

    def test_a_discrepancy_is_resolved_once_and_only_if_it_is_there(self, stores):
        store = stores.reconciliations
        resolved = line(1, resolution="退款已线下处理", resolved_by="finance",
                        resolved_at="2026-06-16T11:00:00+08:00")
        assert not store.resolve(resolved)  # nothing to resolve yet
        store.put_line(line(1))
        assert store.resolve(resolved)
        assert not store.resolve(replace(resolved, resolution="again"))
        assert store.get_line(DAY, "wechatpay", "pay-TXN1") == resolved


class TestPaymentsOfADay:
    def test_a_channels_payments_of_a_day_are_found_by_the_day_of_their_china_time(self, stores):
        for n in (1, 2, 3):
            stores.notes.add(note(n))
            stores.notes.add_order(order(n, channel="alipay" if n == 3 else "wechatpay"))
        stores.payments.record(payment(1, minutes=1))
        stores.payments.record(payment(2, minutes=14 * 60 - 1))  # 23:59 China, 15:59 UTC
        stores.payments.record(payment(3, channel="alipay"))
        late = payment(1, suffix="B", txn="LATE", minutes=14 * 60 + 1)  # 00:01 the next day
        stores.notes.add_order(order(1, suffix="B"))
        stores.payments.record(late)
        assert [r.channel_txn_id for r in stores.payments.of_day("wechatpay", DAY)] == \
            ["TXN1A", "TXN2A"]
        [next_day] = stores.payments.of_day("wechatpay", "2026-06-16")
        assert (next_day.channel_txn_id, next_day.status) == ("LATE", "exception")
        assert stores.payments.find("alipay#TXN3A").amount_fen == 2000
        assert stores.payments.find("alipay#nothing") is None

    def test_unionpays_settle_date_is_kept_with_its_payment(self, stores):
        stores.notes.add(note(4))
        stores.notes.add_order(order(4, channel="unionpay"))
        stores.payments.record(replace(payment(4, channel="unionpay"), settle_date="2026-06-16"))
        [kept] = stores.payments.of_day("unionpay", DAY)
        assert (kept.settle_date, stores.payments.find("wechatpay#TXN4A")) == ("2026-06-16", None)
        stores.notes.add_order(order(4, suffix="B"))
        stores.payments.record(payment(4, suffix="B"))
        assert stores.payments.find("wechatpay#TXN4B").settle_date is None
