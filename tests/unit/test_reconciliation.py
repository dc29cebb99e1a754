"""Reconciliation (清算对账) against the fakes: each kind of difference, a lost payment found and
billed exactly once, re-runs that change nothing settled, resolutions, the schedule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.payments import PaymentOutcome
from chalicelib.domain.reconciliation import ReconLine
from chalicelib.domain.statements import PAYMENT, REFUND, Statement, StatementInvalid, StatementLine
from chalicelib.services import notes as note_service
from chalicelib.services import reconciliation
from chalicelib.services.payments import record_payment
from chalicelib.services.refunds import refund_exceptions
from tests.unit.scenario import create_note, payment

DAY = "2026-03-02"  # the fakes' clock: 2026-03-02 10:00 China
AT = "2026-03-02T10:05:00+08:00"


def opened(deps, channel="wechatpay"):
    note = create_note(deps)
    return note, note_service.open_order(deps, note.payment_code, {"channel": channel})


def line(order, txn, amount=8000, fee=48, **fields) -> StatementLine:
    return StatementLine(fields.pop("kind", PAYMENT), txn, order.out_trade_no, amount, fee, AT,
                         **fields)


def statement_of(deps, channel, *lines) -> None:
    deps.overrides[f"{channel}_statements"].by_date[DAY] = Statement(channel, DAY, tuple(lines))


def lines_of(deps, channel="wechatpay") -> dict[str, ReconLine]:
    return {li.line_id: li for li in deps.reconciliations.lines(DAY, channel)}


def test_a_statement_that_agrees_with_our_payments_balances_the_day(deps):
    _, order = opened(deps)
    record_payment(deps, payment(order.out_trade_no, 8000, "TX1"))
    statement_of(deps, "wechatpay", line(order, "TX1"))
    day = reconciliation.reconcile_day(deps, DAY)["wechatpay"]
    assert (day.status, day.statement_count, day.statement_total_fen, day.statement_fee_fen,
            day.statement_net_fen, day.recorded_count, day.recorded_total_fen) == (
        "balanced", 1, 8000, 48, 7952, 1, 8000)
    [only] = lines_of(deps).values()
    assert (only.status, only.recorded_status, only.net_fen, only.in_remittance) == (
        "matched", "applied", 7952, True)
    view = reconciliation.view(deps, DAY)
    assert view["channels"]["wechatpay"]["discrepancies"] == []
    assert view["channels"]["alipay"]["status"] == "balanced"  # an empty day at the channel


def test_a_lost_payment_is_confirmed_by_query_then_recorded_once_and_its_note_billed(deps):
    note, order = opened(deps)
    lost = payment(order.out_trade_no, 8000, "TX-LOST")
    deps.overrides["wechatpay_api"].paid[order.out_trade_no] = lost
    statement_of(deps, "wechatpay", line(order, "TX-LOST"))
    day = reconciliation.reconcile_day(deps, DAY)["wechatpay"]
    assert deps.notes.get(note.payment_code).status is NoteStatus.PAID
    assert deps.jobs.issue == [note.payment_code]  # billed: issuance enqueued once
    found = lines_of(deps)["pay-TX-LOST"]
    assert (found.status, found.resolution, found.resolved_by, found.recorded_status,
            found.in_remittance) == ("channel_only", "recorded", "reconciliation", "applied",
                                     True)
    assert (day.status, day.recorded_count) == ("balanced", 1)
    # Again: the line is settled, nothing is asked, recorded or enqueued a second time.
    calls = len(deps.overrides["wechatpay_api"].calls)
    again = reconciliation.reconcile_day(deps, DAY)["wechatpay"]
    assert lines_of(deps)["pay-TX-LOST"] == found
    assert len(deps.overrides["wechatpay_api"].calls) == calls
    assert deps.jobs.issue == [note.payment_code]
    assert (again.status, again.runs) == ("balanced", 2)


def test_a_notification_arriving_while_the_run_asks_the_channel_is_recorded_once(deps):
    note, order = opened(deps)
    lost = payment(order.out_trade_no, 8000, "TX-RACE")
    api = deps.overrides["wechatpay_api"]

    def query_while_the_notification_lands(asked):
        assert record_payment(deps, lost) is PaymentOutcome.RECORDED  # the late notification
        return lost

    api.query = query_while_the_notification_lands
    statement_of(deps, "wechatpay", line(order, "TX-RACE"))
    reconciliation.reconcile_day(deps, DAY)
    assert [r.channel_txn_id for r in deps.payments.for_note(note.payment_code)] == ["TX-RACE"]
    assert lines_of(deps)["pay-TX-RACE"].resolution == "already_recorded"


def test_what_we_recorded_and_the_channel_does_not_have_is_recorded_only(deps):
    _, order = opened(deps)
    record_payment(deps, payment(order.out_trade_no, 8000, "TX-OURS"))
    day = reconciliation.reconcile_day(deps, DAY)["wechatpay"]
    ours = lines_of(deps)["pay-TX-OURS"]
    assert (ours.status, ours.amount_fen, ours.in_remittance) == ("recorded_only", 8000, False)
    assert (day.status, day.statement_count, day.recorded_count) == ("discrepancies", 0, 1)


def test_another_amount_is_an_amount_mismatch(deps):
    _, order = opened(deps)
    record_payment(deps, payment(order.out_trade_no, 8000, "TX1"))
    statement_of(deps, "wechatpay", line(order, "TX1", amount=8001))
    reconciliation.reconcile_day(deps, DAY)
    found = lines_of(deps)["pay-TX1"]
    assert (found.status, found.amount_fen, found.recorded_fen) == ("amount_mismatch", 8001, 8000)


def test_a_line_the_channels_own_query_calls_unpaid_is_a_status_mismatch_left_open(deps):
    note, order = opened(deps)
    statement_of(deps, "wechatpay", line(order, "TX-GHOST"))
    reconciliation.reconcile_day(deps, DAY)
    found = lines_of(deps)["pay-TX-GHOST"]
    assert (found.status, found.resolution) == ("status_mismatch", None)
    assert deps.notes.get(note.payment_code).status is NoteStatus.UNPAID


def test_a_line_of_no_order_of_ours_waits_for_a_person(deps):
    _, order = opened(deps)
    stray = replace(line(order, "TX-STRAY"), out_trade_no="99999999999999999999Xy")
    statement_of(deps, "wechatpay", stray)
    reconciliation.reconcile_day(deps, DAY)
    found = lines_of(deps)["pay-TX-STRAY"]
    assert (found.status, found.resolution) == ("channel_only", None)
    assert "不是本系统的订单" in found.detail


def test_a_refund_of_a_note_paid_twice_matches_and_one_we_never_asked_for_does_not(deps):
    note = create_note(deps)
    first, second = (note_service.open_order(deps, note.payment_code, {"channel": "alipay"})
                     for _ in range(2))
    record_payment(deps, payment(first.out_trade_no, 8000, "TX1", "alipay"))
    record_payment(deps, payment(second.out_trade_no, 8000, "TX2", "alipay"))  # paid twice
    assert refund_exceptions(deps) == {"succeeded": 1}
    statement_of(deps, "alipay", line(first, "TX1"), line(second, "TX2"),
                 line(second, "TX2", fee=-48, kind=REFUND, refund_id="RF2"),
                 line(first, "TX1", fee=-48, kind=REFUND, refund_id="RF1"))
    day = reconciliation.reconcile_day(deps, DAY)["alipay"]
    found = lines_of(deps, "alipay")
    assert (found["pay-TX1"].status, found["pay-TX1"].in_remittance) == ("matched", True)
    assert (found["pay-TX2"].status, found["pay-TX2"].recorded_status,
            found["pay-TX2"].in_remittance) == ("matched", "exception", False)
    assert (found["refund-RF2"].status, found["refund-RF2"].recorded_status) == (
        "matched", "exception")
    assert found["refund-RF1"].status == "refund_mismatch"
    assert (day.status, day.statement_refund_fen, day.statement_net_fen) == (
        "discrepancies", 16000, 16000 - 96 - 16000 + 96)


def test_a_statement_not_ready_leaves_the_day_pending_until_a_later_run(deps):
    _, order = opened(deps)
    record_payment(deps, payment(order.out_trade_no, 8000, "TX1"))
    source = deps.overrides["wechatpay_statements"]
    source.failing = ServiceUnavailable("STATEMENT_CREATING 账单生成中")
    day = reconciliation.reconcile_day(deps, DAY)["wechatpay"]
    assert (day.status, day.detail) == ("pending", "STATEMENT_CREATING 账单生成中")
    assert list(deps.reconciliations.lines(DAY, "wechatpay")) == []
    source.failing = None
    statement_of(deps, "wechatpay", line(order, "TX1"))
    assert reconciliation.reconcile_day(deps, DAY)["wechatpay"].status == "balanced"
    source.failing = StatementInvalid("SHA1 mismatch")  # a later bad download keeps the figures
    kept = reconciliation.reconcile_day(deps, DAY)["wechatpay"]
    assert (kept.status, kept.statement_total_fen, kept.runs) == ("balanced", 8000, 3)
    assert "SHA1 mismatch" in kept.detail


def test_a_discrepancy_is_resolved_once_with_who_and_when_and_the_day_then_balances(deps, clock):
    _, order = opened(deps)
    record_payment(deps, payment(order.out_trade_no, 8000, "TX-OURS"))
    reconciliation.reconcile_day(deps, DAY)
    clock.advance(hours=1)
    done = reconciliation.resolve(deps, DAY, "wechatpay", "pay-TX-OURS", "次日对账单已到账",
                                  "finance:key_abc")
    assert (done.resolution, done.resolved_by, done.resolved_at) == (
        "次日对账单已到账", "finance:key_abc", "2026-03-02T11:00:00+08:00")
    assert deps.reconciliations.day(DAY, "wechatpay").status == "balanced"
    with pytest.raises(Conflict):
        reconciliation.resolve(deps, DAY, "wechatpay", "pay-TX-OURS", "again", "finance:x")
    with pytest.raises(NotFound):
        reconciliation.resolve(deps, DAY, "wechatpay", "pay-NOPE", "x", "finance:x")
    with pytest.raises(ValidationFailed):
        reconciliation.resolve(deps, DAY, "wechatpay", "pay-TX-OURS", " ", "finance:x")
    reconciliation.reconcile_day(deps, DAY)  # a re-run keeps the resolution
    assert lines_of(deps)["pay-TX-OURS"] == done


def test_an_agent_banks_payment_only_in_its_signed_statement_is_recorded_from_it(deps):
    note = create_note(deps)
    statement_of(deps, "bank", StatementLine(PAYMENT, "ABC-T1", note.payment_code, 8000, 0, AT))
    reconciliation.reconcile_day(deps, DAY, ("bank",))
    found = lines_of(deps, "bank")["pay-ABC-T1"]
    assert (found.resolution, found.recorded_status) == ("recorded", "applied")
    assert deps.notes.get(note.payment_code).status is NoteStatus.PAID
    assert deps.jobs.issue == [note.payment_code]


def test_a_run_asks_the_channel_at_most_so_many_times_and_the_rest_waits(deps):
    statement = []
    for n in range(3):
        _, order = opened(deps)
        deps.overrides["wechatpay_api"].paid[order.out_trade_no] = payment(
            order.out_trade_no, 8000, f"TX{n}")
        statement.append(line(order, f"TX{n}"))
    statement_of(deps, "wechatpay", *statement)
    reconciliation.reconcile_day(deps, DAY, ("wechatpay",), max_queries=2)
    assert sorted(li.resolution or "open" for li in lines_of(deps).values()) == [
        "open", "recorded", "recorded"]
    reconciliation.reconcile_day(deps, DAY, ("wechatpay",), max_queries=2)
    assert {li.resolution for li in lines_of(deps).values()} == {"recorded"}


def test_the_schedule_reconciles_yesterday_once_and_pending_days_again(deps, clock):
    clock.advance(days=1, minutes=30)  # 2026-03-03 10:30 China
    source = deps.overrides["alipay_statements"]
    source.failing = ServiceUnavailable("not yet")
    first = reconciliation.reconcile_due(deps)
    assert first[DAY] == {"wechatpay": "balanced", "alipay": "pending", "unionpay": "balanced",
                          "bank": "balanced"}
    source.failing = None
    assert reconciliation.reconcile_due(deps) == {DAY: {"alipay": "balanced"}}
    assert reconciliation.reconcile_due(deps) == {}
    clock.advance(days=1)  # the day after: yesterday is new, the day before is done
    assert set(reconciliation.reconcile_due(deps)) == {"2026-03-03"}


def test_a_date_that_is_not_a_day_is_refused():
    for bad in ("2026-3-2", "2026-02-30", "today", "2026-03-02T00:00"):
        with pytest.raises(ValidationFailed):
            reconciliation.check_date(bad)


def test_a_units_own_alipay_merchant_is_reconciled_against_its_own_bill_asked_with_its_token(
        deps):
    """第三方应用授权: each authorised merchant's trade bill is its own; the day is the
    deployment's bill and theirs, each line naming its merchant, matched to the payments."""
    from chalicelib.domain.merchants import Authorisation
    from chalicelib.services.merchants import set_merchant

    deps.overrides["alipay_api"].authorisations["202606BBtokenofunit0101"] = Authorisation(
        "2088000000000101", "2021000000000101", valid=True)
    note = create_note(deps)
    unit = deps.units.get(note.unit_code)
    set_merchant(deps, unit, "alipay", {"seller_id": "2088000000000101",
                                        "auth_app_id": "2021000000000101",
                                        "app_auth_token": "202606BBtokenofunit0101"}, "test")
    order = note_service.open_order(deps, note.payment_code, {"channel": "alipay"})
    assert (order.merchant, order.merchant_app) == ("2088000000000101", "2021000000000101")
    # The order opened carries the token to its checkout; the order kept never does.
    assert order.merchant_token == "202606BBtokenofunit0101"
    assert deps.notes.get_order(order.out_trade_no).merchant_token == ""
    paid = replace(payment(order.out_trade_no, 8000, "2026030222001", "alipay"),
                   merchant="2088000000000101")
    assert record_payment(deps, paid) is PaymentOutcome.RECORDED
    source = deps.overrides["alipay_statements"]
    source.by_merchant[(DAY, "2088000000000101")] = Statement("alipay", DAY, (line(
        order, "2026030222001", merchant="2088000000000101"),), "2088000000000101_业务明细.csv")
    day = reconciliation.reconcile_day(deps, DAY, ("alipay",))["alipay"]
    assert source.asked == [DAY, f"{DAY}#2088000000000101"]
    assert source.tokens == {"2088000000000101": "202606BBtokenofunit0101"}
    assert (day.status, day.statement_count, day.recorded_count) == ("balanced", 1, 1)
    # A merchant's bill that cannot be had leaves the day pending, naming the unit.

    def refused(date: str, merchant: str, token: str) -> Statement:
        raise ServiceUnavailable("20001 aop.invalid-app-auth-token")

    source.merchant_statement = refused
    pending = reconciliation.reconcile_day(deps, "2026-03-01", ("alipay",))["alipay"]
    assert pending.status == "pending"
    assert pending.detail.startswith(f"单位 {note.unit_code} 的自有商户 2088000000000101 对账单")


def test_a_payment_to_a_units_merchant_on_the_deployments_bill_is_a_mismatch(deps):
    note = create_note(deps)
    order = note_service.open_order(deps, note.payment_code, {"channel": "alipay"})
    paid = payment(order.out_trade_no, 8000, "2026030222002", "alipay")
    assert record_payment(deps, paid) is PaymentOutcome.RECORDED
    statement_of(deps, "alipay", line(order, "2026030222002", merchant="2088000000000101"))
    reconciliation.reconcile_day(deps, DAY, ("alipay",))
    [judged] = lines_of(deps, "alipay").values()
    assert judged.status == "status_mismatch" and "2088000000000101" in judged.detail
