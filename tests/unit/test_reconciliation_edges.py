"""Reconciliation at its edges, against the fakes: a refund we recorded that the channel's
statement lacks (and one the channel booked across midnight), UnionPay's clearing day (23:00 to
23:00) on a pinned clock, and every statement file archived write-once with its SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

import pytest

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.statements import (
    PAYMENT,
    REFUND,
    Statement,
    StatementFile,
    StatementLine,
    clearing_day,
    settle_date_of,
)
from chalicelib.services import notes as note_service
from chalicelib.services import reconciliation, remittance
from chalicelib.services.payments import record_payment
from chalicelib.services.refunds import refund_exceptions
from tests.unit.scenario import create_note, payment

DAY = "2026-03-02"  # the fakes' clock: 2026-03-02 10:00 China
NEXT, BEFORE = "2026-03-03", "2026-03-01"
AT = "2026-03-02T10:05:00+08:00"


def statement_of(deps, channel, *lines, date=DAY, files=()) -> None:
    deps.overrides[f"{channel}_statements"].by_date[date] = Statement(
        channel, date, tuple(lines), files=tuple(files))


def lines_of(deps, channel, date=DAY):
    return {li.line_id: li for li in deps.reconciliations.lines(date, channel)}


def paid_twice(deps, channel="alipay"):
    """A note paid twice at ``channel``: the second payment an exception, refunded by the job
    now (the clock's time). The two orders."""
    note = create_note(deps)
    first, second = (note_service.open_order(deps, note.payment_code, {"channel": channel})
                     for _ in range(2))
    record_payment(deps, payment(first.out_trade_no, 8000, "TX1", channel))
    record_payment(deps, payment(second.out_trade_no, 8000, "TX2", channel))
    assert refund_exceptions(deps) == {"succeeded": 1}
    return first, second


def pay_line(order, txn, at=AT):
    return StatementLine(PAYMENT, txn, order.out_trade_no, 8000, 48, at, state="SUCCESS")


def refund_line(order, txn, refund_id="RF2", at=AT):
    return StatementLine(REFUND, txn, order.out_trade_no, 8000, -48, at, refund_id=refund_id,
                         state="REFUND")


# --- a refund we recorded that the statement does not have ---------------------------------

def test_a_refund_we_recorded_that_the_statement_lacks_is_a_refund_mismatch(deps):
    first, second = paid_twice(deps)
    refunded = deps.refunds.get("alipay#TX2")
    assert (refunded.refund_status, refunded.refunded_at) == ("succeeded",
                                                              "2026-03-02T10:00:00+08:00")
    assert [r.payment_id for r in deps.refunds.of_day("alipay", DAY)] == ["alipay#TX2"]
    statement_of(deps, "alipay", pay_line(first, "TX1"), pay_line(second, "TX2"))
    day = reconciliation.reconcile_day(deps, DAY, ("alipay",))["alipay"]
    [missing] = [li for li in lines_of(deps, "alipay").values() if li.kind == REFUND]
    assert (missing.status, missing.on_statement, missing.channel_txn_id, missing.amount_fen,
            missing.net_fen, missing.recorded_status, missing.resolution) == (
        "refund_mismatch", False, "TX2", 8000, 0, "exception", None)
    assert (day.status, day.statement_refund_fen) == ("discrepancies", 0)
    shown = reconciliation.view(deps, DAY)["channels"]["alipay"]["discrepancies"]
    assert [(d["kind"], d["line_kind"], d["on_statement"]) for d in shown] == [
        ("refund_mismatch", "refund", False)]


def test_a_missing_refund_is_resolved_by_a_person_once_and_never_counts_as_money(deps):
    first, second = paid_twice(deps)
    statement_of(deps, "alipay", pay_line(first, "TX1"), pay_line(second, "TX2"))
    reconciliation.reconcile_day(deps, DAY, ("alipay",))
    [missing] = [li for li in lines_of(deps, "alipay").values() if li.kind == REFUND]
    done = reconciliation.resolve(deps, DAY, "alipay", missing.line_id,
                                  "支付宝确认退款次日到账，已核对", "finance:key_1")
    assert deps.reconciliations.day(DAY, "alipay").status == "balanced"
    net, _ = remittance.day_money(deps, DAY)
    assert net.refunds_fen == 0  # money the statement never gave back is never taken away
    again = reconciliation.reconcile_day(deps, DAY, ("alipay",))["alipay"]
    assert lines_of(deps, "alipay")[missing.line_id] == done
    assert again.status == "balanced"


def test_a_refund_the_statement_has_is_matched_and_a_rerun_changes_nothing(deps):
    first, second = paid_twice(deps)
    statement_of(deps, "alipay", pay_line(first, "TX1"), pay_line(second, "TX2"),
                 refund_line(second, "TX2"))
    reconciliation.reconcile_day(deps, DAY, ("alipay",))
    kept = lines_of(deps, "alipay")
    assert {li.line_id: li.status for li in kept.values()} == {
        "pay-TX1": "matched", "pay-TX2": "matched", "refund-RF2": "matched"}
    reconciliation.reconcile_day(deps, DAY, ("alipay",))
    assert lines_of(deps, "alipay") == kept


def test_a_refund_we_learned_of_after_midnight_is_found_on_the_channels_day_before(deps, clock):
    note = create_note(deps)
    first, second = (note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
                     for _ in range(2))
    record_payment(deps, payment(first.out_trade_no, 8000, "TX1"))
    record_payment(deps, payment(second.out_trade_no, 8000, "TX2"))
    clock.now = datetime(2026, 3, 3, 0, 0, 10, tzinfo=CHINA_TZ)  # succeeded 00:00:10
    assert refund_exceptions(deps) == {"succeeded": 1}
    [ours] = deps.refunds.of_day("wechatpay", NEXT)
    assert ours.channel_txn_id == "TX2" and ours.refund_id
    # WeChat booked it on the 2nd (the day it accepted it); we learned of it on the 3rd.
    statement_of(deps, "wechatpay", pay_line(first, "TX1"), pay_line(second, "TX2"),
                 refund_line(second, "TX2", ours.refund_id, at="2026-03-02T23:59:58+08:00"))
    statement_of(deps, "wechatpay", date=NEXT)
    assert reconciliation.reconcile_day(deps, DAY, ("wechatpay",))["wechatpay"].status == \
        "balanced"
    nxt = reconciliation.reconcile_day(deps, NEXT, ("wechatpay",))["wechatpay"]
    assert (nxt.status, list(deps.reconciliations.lines(NEXT, "wechatpay"))) == ("balanced", [])


def test_a_missing_refund_raised_before_the_next_days_statement_books_it_is_settled(deps,
                                                                                   clock):
    first, second = paid_twice(deps, "unionpay")  # refunded 10:00 on the 2nd
    statement_of(deps, "unionpay", pay_line(first, "TX1"), pay_line(second, "TX2"))
    reconciliation.reconcile_day(deps, DAY, ("unionpay",))
    [raised] = [li for li in lines_of(deps, "unionpay").values() if li.kind == REFUND]
    assert (raised.status, raised.resolution) == ("refund_mismatch", None)
    # UnionPay's file of the 3rd carries the refund: the open line of the 2nd is settled.
    clock.advance(days=1)
    statement_of(deps, "unionpay", refund_line(second, "TX2", "UPR2",
                                               at="2026-03-03T09:00:00+08:00"), date=NEXT)
    reconciliation.reconcile_day(deps, NEXT, ("unionpay",))
    assert lines_of(deps, "unionpay", NEXT)["refund-UPR2"].status == "matched"
    settled = deps.reconciliations.get_line(DAY, "unionpay", raised.line_id)
    assert (settled.resolution, settled.resolved_by) == ("on_other_day", "reconciliation")
    assert NEXT in settled.detail
    assert deps.reconciliations.day(DAY, "unionpay").status == "balanced"


# --- UnionPay's clearing day: 23:00 to 23:00 -------------------------------------------------

def test_unionpays_clearing_day_cuts_at_23_and_every_other_channel_at_midnight():
    assert clearing_day("unionpay", "2026-03-02T22:59:59+08:00") == DAY
    assert clearing_day("unionpay", "2026-03-02T23:00:00+08:00") == NEXT
    assert clearing_day("unionpay", "2026-03-02T15:30:00+00:00") == NEXT  # 23:30 China
    assert clearing_day("wechatpay", "2026-03-02T23:30:00+08:00") == DAY
    assert clearing_day("unionpay", "2026-03-02T23:30:00+08:00", DAY) == DAY  # its own word
    assert settle_date_of("0303", "2026-03-02T23:30:00+08:00") == NEXT
    assert settle_date_of("0101", "2026-12-31T23:30:00+08:00") == "2027-01-01"
    for bad in ("0230", "13", "0305", "abcd", "0301"):
        assert settle_date_of(bad, "2026-03-02T23:30:00+08:00") == ""


@pytest.mark.parametrize("settle_date", ["", NEXT])
def test_a_unionpay_payment_at_2330_is_judged_on_the_next_clearing_day_only(deps, clock,
                                                                            settle_date):
    clock.now = datetime(2026, 3, 2, 23, 30, tzinfo=CHINA_TZ)  # pinned: 23:30 on the 2nd
    note = create_note(deps)
    order = note_service.open_order(deps, note.payment_code, {"channel": "unionpay"})
    late = payment(order.out_trade_no, 8000, "UP-LATE", "unionpay")
    record_payment(deps, replace(late, paid_at="2026-03-02T23:30:00+08:00",
                                 settle_date=settle_date))
    # UnionPay's file of the 2nd ends at 23:00; its file of the 3rd starts there.
    statement_of(deps, "unionpay")
    statement_of(deps, "unionpay", pay_line(order, "UP-LATE", "2026-03-02T23:30:00+08:00"),
                 date=NEXT)
    clock.advance(hours=11)
    before = reconciliation.reconcile_day(deps, DAY, ("unionpay",))["unionpay"]
    after = reconciliation.reconcile_day(deps, NEXT, ("unionpay",))["unionpay"]
    assert (before.status, before.recorded_count, lines_of(deps, "unionpay")) == (
        "balanced", 0, {})
    assert (after.status, after.recorded_count) == ("balanced", 1)
    assert lines_of(deps, "unionpay", NEXT)["pay-UP-LATE"].status == "matched"
    assert deps.jobs.issue == [note.payment_code]  # by its notification; nothing "found"


def test_unionpays_own_settle_date_wins_over_the_cut_off_rule(deps):
    note = create_note(deps)
    order = note_service.open_order(deps, note.payment_code, {"channel": "unionpay"})
    # Stamped 23:00:40 (the order's txnTime) but UnionPay cleared it on the 2nd (its cut-off
    # drifts by a minute: its file of 0718 ends at 23:01).
    record_payment(deps, replace(payment(order.out_trade_no, 8000, "UP-EDGE", "unionpay"),
                                 paid_at="2026-03-02T23:00:40+08:00", settle_date=DAY))
    statement_of(deps, "unionpay", pay_line(order, "UP-EDGE", "2026-03-02T23:00:40+08:00"))
    statement_of(deps, "unionpay", date=NEXT)
    assert reconciliation.reconcile_day(deps, DAY, ("unionpay",))["unionpay"].status == \
        "balanced"
    assert reconciliation.reconcile_day(deps, NEXT, ("unionpay",))["unionpay"].status == \
        "balanced"


# --- every statement file archived write-once ------------------------------------------------

def test_each_statement_file_is_archived_once_with_its_sha256_on_the_day(deps):
    note = create_note(deps)
    order = note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    record_payment(deps, payment(order.out_trade_no, 8000, "TX1"))
    body = b"\x1f\x8b the bill as WeChat Pay served it"
    digest = hashlib.sha256(body).hexdigest()
    file = StatementFile("wechatpay-2026-03-02-tradebill-ALL.csv.gz", body, "application/gzip",
                         "SHA1 abc")
    statement_of(deps, "wechatpay", pay_line(order, "TX1"), files=[file])
    day = reconciliation.reconcile_day(deps, DAY, ("wechatpay",))["wechatpay"]
    key = f"statements/wechatpay/{DAY}/{digest}/wechatpay-2026-03-02-tradebill-ALL.csv.gz"
    assert deps.archive.files[key] == (body, "application/gzip")
    [kept] = day.files
    assert (kept["key"], kept["sha256"], kept["size"], kept["run"], kept["note"]) == (
        key, digest, len(body), 1, "SHA1 abc")
    assert lines_of(deps, "wechatpay")["pay-TX1"].run == 1
    shown = reconciliation.view(deps, DAY)["channels"]["wechatpay"]["statement_files"]
    assert [f["sha256"] for f in shown] == [digest]
    # The same file again: the first copy stands, nothing is written.
    writes = len(deps.archive.writes)
    again = reconciliation.reconcile_day(deps, DAY, ("wechatpay",))["wechatpay"]
    assert (len(deps.archive.writes), again.files) == (writes, day.files)
    # The channel serves another file for the day: kept beside the first, listed with its run.
    other = StatementFile(file.name, body + b" (regenerated)", "application/gzip")
    statement_of(deps, "wechatpay", pay_line(order, "TX1"), files=[other])
    third = reconciliation.reconcile_day(deps, DAY, ("wechatpay",))["wechatpay"]
    assert [(f["run"], f["sha256"]) for f in third.files] == [
        (1, digest), (3, hashlib.sha256(other.body).hexdigest())]
    assert deps.archive.files[key] == (body, "application/gzip")


def test_a_statement_that_cannot_be_archived_is_not_reconciled(deps):
    note = create_note(deps)
    order = note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    record_payment(deps, payment(order.out_trade_no, 8000, "TX1"))
    statement_of(deps, "wechatpay", pay_line(order, "TX1"),
                 files=[StatementFile("wechatpay-x.csv.gz", b"bill")])
    deps.archive.fail_next_put("wechatpay-x.csv.gz")
    day = reconciliation.reconcile_day(deps, DAY, ("wechatpay",))["wechatpay"]
    assert (day.status, list(deps.reconciliations.lines(DAY, "wechatpay"))) == ("pending", [])
    assert reconciliation.reconcile_day(deps, DAY, ("wechatpay",))["wechatpay"].status == \
        "balanced"


def test_a_resolved_refund_the_statement_never_had_takes_no_money_from_a_remittance(deps):
    from chalicelib.domain.reconciliation import ChannelDay, ReconLine

    note = create_note(deps)
    base = dict(date=DAY, channel="wechatpay", channel_txn_id="TX1",
                out_trade_no=note.payment_code + "A", payment_code=note.payment_code,
                amount_fen=note.total_fen, recorded_status="applied")
    deps.reconciliations.put_line(ReconLine(line_id="pay-TX1", kind=PAYMENT, status="matched",
                                            **base))
    deps.reconciliations.put_line(ReconLine(
        line_id="refund-RF1", kind=REFUND, status="refund_mismatch", on_statement=False,
        resolution="核实：渠道未退款", resolved_by="finance:k", **base))
    for channel in ("wechatpay", "alipay", "unionpay", "bank"):
        deps.reconciliations.put_day(ChannelDay(date=DAY, channel=channel, status="balanced"))
    net, _ = remittance.day_money(deps, DAY)
    assert (net.payments_fen, net.refunds_fen) == (note.total_fen, 0)
