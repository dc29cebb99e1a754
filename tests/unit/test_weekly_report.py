"""The weekly report (每周一报): its week, its figures, what adds up, what is kept."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.bills import Bill
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.notes import Item, Note, NoteStatus, Payer, PaymentRef
from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.reports import (
    CSV_HEADER,
    FIGURES,
    ITEM_FIGURES,
    Discrepancy,
    VoidedBill,
    Week,
    WeekRecords,
    build_weekly_report,
    parse_week,
    report_rows,
    week_of,
)
from chalicelib.services import lifecycle
from chalicelib.services import notes as note_service
from chalicelib.services.issuance import issue_bill
from chalicelib.services.payments import record_payment
from chalicelib.services.reports import archive_key, weekly_report, weekly_report_job
from tests.unit.scenario import UNIT, create_note, paid_note, payment

# tests/fakes.DEFAULT_NOW is Monday 2026-03-02 10:00 China time: week 2026-W10.
THIS_WEEK = "2026-W10"


@pytest.mark.parametrize("text", ["2026-W1", "2026W10", "2026-w10", "2026-W00", "2026-W54",
                                  "2025-W53", "1999-W10", "9999-W52", "9999-W01", "",
                                  " 2026-W10", "２０２６-W10",
                                  None, 202610])
def test_a_malformed_week_is_refused_naming_the_week(text):
    with pytest.raises(ValidationFailed) as caught:
        parse_week(text)
    assert "week" in caught.value.fields


def test_a_week_runs_monday_to_sunday_in_china_time():
    week = parse_week("2026-W24")
    assert week.days()[0] == "2026-06-08" and week.days()[-1] == "2026-06-14"
    # Sunday 16:30 UTC is already Monday 00:30 in China: the next week
    assert week_of(datetime(2026, 6, 14, 16, 30, tzinfo=UTC)).label == "2026-W25"
    assert week_of(datetime(2026, 6, 14, 15, 59, tzinfo=UTC)).label == "2026-W24"
    assert parse_week("2020-W53").days()[-1] == "2021-01-03"


def test_a_week_is_final_once_its_sunday_is_over_in_china():
    week = Week(2026, 24)
    assert week.state(datetime(2026, 6, 14, 15, 59, tzinfo=UTC)) == "live"
    assert week.state(datetime(2026, 6, 14, 16, 0, tzinfo=UTC)) == "final"
    assert week.state(datetime(2026, 6, 7, 15, 59, tzinfo=UTC)) == "future"


def _busy_week(deps, clock):
    """Three notes created, two paid (one by bank), one billed then voided, one reversed,
    one paid twice (an exception)."""
    first = create_note(deps)
    orders = [note_service.open_order(deps, first.payment_code, {"channel": "wechatpay"})
              for _ in range(2)]
    outcomes = [record_payment(deps, payment(o.out_trade_no, o.amount_fen, f"42000000012026{i}"))
                for i, o in enumerate(orders)]
    assert [o.value for o in outcomes] == ["recorded", "note_not_payable"]
    second = paid_note(deps, txn="4200000001202603020000000002")
    create_note(deps)  # never paid
    one = issue_bill(deps, first.payment_code)
    two = issue_bill(deps, second.payment_code)
    assert one is not None and two is not None
    unit = deps.units.get(UNIT.unit_code)
    clock.advance(days=1)
    lifecycle.void_bill(deps, unit, one.bill_code, one.bill_number, {"reason": "开错"})
    lifecycle.reverse_bill(deps, unit, two.bill_code, two.bill_number, {"reason": "退费"})
    return first, second


def test_the_report_counts_what_the_week_recorded(deps, clock):
    _busy_week(deps, clock)
    report = json.loads(weekly_report(deps, THIS_WEEK)[0])
    totals = report["totals"]
    assert report["state"] == "live"
    assert totals["notes_issued"] == {"count": 3, "total_fen": 24000}
    assert totals["paid"] == {"count": 2, "total_fen": 16000}
    assert totals["bills"] == {"count": 2, "total_fen": 16000}
    assert totals["voids"] == {"count": 1, "total_fen": 8000}
    assert totals["reversals"] == {"count": 1, "total_fen": 8000}
    assert totals["exceptions"] == {"count": 1, "total_fen": 8000}
    assert report["by_channel"] == [{"channel": "wechatpay", "count": 2, "total_fen": 16000}]
    assert [u["unit_code"] for u in report["units"]] == [UNIT.unit_code]
    assert report["units"][0]["name"] == UNIT.name
    assert report["days"][1]["voids"]["count"] == 1  # voided on Tuesday


def test_a_finished_week_is_kept_and_served_as_kept(deps, clock):
    _busy_week(deps, clock)
    clock.advance(days=7)  # 2026-W11
    body, state = weekly_report(deps, THIS_WEEK)
    assert state == "final"
    kept = deps.archive.get(archive_key(parse_week(THIS_WEEK), "json"))
    assert body == kept
    paid_note(deps, txn="4200000001202603020000000009")  # next week's, and kept is kept
    assert weekly_report(deps, THIS_WEEK)[0] == kept
    assert weekly_report(deps, THIS_WEEK, "pdf")[0].startswith(b"%PDF-")


def test_the_monday_job_keeps_last_week(deps, clock):
    _busy_week(deps, clock)
    clock.advance(days=7)
    assert weekly_report_job(deps) == THIS_WEEK
    for fmt in ("json", "csv", "pdf"):
        assert deps.archive.get(archive_key(parse_week(THIS_WEEK), fmt))
    assert weekly_report_job(deps) == THIS_WEEK  # again: nothing changes


def test_a_week_not_begun_has_no_report(deps):
    with pytest.raises(NotFound):
        weekly_report(deps, "2026-W11")


def test_the_csv_holds_the_json_figures_row_for_row(deps, clock):
    _busy_week(deps, clock)
    report = json.loads(weekly_report(deps, THIS_WEEK)[0])
    text = weekly_report(deps, THIS_WEEK, "csv")[0].decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert tuple(rows[0]) == CSV_HEADER
    # the live report's generated_at is the same instant (the clock did not move)
    assert [tuple(r) for r in rows[1:]] == report_rows(report)


def _note(code: str, unit: str, day: str, items: list[tuple[str, int]], channel: str,
          paid: bool) -> Note:
    return Note(payment_code=code, unit_code=unit, region_code="340100",
                payer=Payer(name="张三", type="individual"),
                items=tuple(Item(item_code=c, name=c, quantity="1", standard_fen=f,
                                 amount_fen=f) for c, f in items),
                total_fen=sum(f for _, f in items), bill_kind="0301",
                created_at=f"{day}T09:00:00+08:00",
                status=NoteStatus.PAID if paid else NoteStatus.UNPAID,
                payment=PaymentRef(channel=channel, channel_txn_id="t" + code,
                                   amount_fen=sum(f for _, f in items),
                                   paid_at=f"{day}T10:00:00+08:00") if paid else None)


def _bill(note: Note, sign: int) -> Bill:
    return Bill(bill_code="34010126", bill_number=note.payment_code[-10:], check_code="abcdef",
                kind_code="0301", title="t", region_code="340100",
                issued_at=note.created_at, issuing_unit_code=note.unit_code,
                issuing_unit_name="", payer_name="张三", payer_type="individual",
                payer_credit_code=None,
                items=tuple(Item(i.item_code, i.name, i.quantity, i.standard_fen,
                                 sign * i.amount_fen) for i in note.items),
                total_fen=sign * note.total_fen, payment_code=note.payment_code,
                payment_channel="wechatpay", channel_txn_id="t", handling_person="",
                checker="")


WEEK = Week(2026, 24)
notes_strategy = st.lists(st.tuples(
    st.sampled_from(["U1", "U2", "U3"]), st.sampled_from(WEEK.days() + ["2026-06-15"]),
    st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 10**9)),
             min_size=1, max_size=4),
    st.sampled_from(["wechatpay", "alipay", "unionpay", "bank"]), st.booleans(),
    st.sampled_from([0, 1, -1])), max_size=40)


@settings(max_examples=150, deadline=None)
@given(notes_strategy, st.lists(st.tuples(st.sampled_from(["U1", "unknown"]),
                                          st.sampled_from(WEEK.days()),
                                          st.integers(1, 10**8), st.booleans()), max_size=5))
def test_per_unit_per_item_and_per_day_figures_add_up_to_the_totals(specs, exceptions):
    records = WeekRecords()
    for i, (unit, day, items, channel, paid, billing) in enumerate(specs):
        note = _note(f"{i:020d}", unit, day, items, channel, paid)
        records.notes_created.append(note)
        if paid:
            records.notes_paid.append(note)
        if billing:
            records.bills_issued.append(_bill(note, billing))
        if billing == 1 and i % 2:
            records.bills_voided.append(VoidedBill(bill=_bill(note, 1),
                                                   voided_at=note.created_at))
    for j, (unit, day, fen, refunded) in enumerate(exceptions):
        records.exceptions.append(PaymentRecord(
            payment_id=f"x#{j}", payment_code="0" * 20, channel="alipay", channel_txn_id=str(j),
            out_trade_no="o", amount_fen=fen, paid_at=f"{day}T11:00:00+08:00",
            status="exception", exception_unit=unit,
            refund_status="succeeded" if refunded else "pending"))
        records.discrepancies.append(Discrepancy(
            date=day, unit_code=unit, amount_fen=fen,
            kind=("refund_mismatch", "recorded_only", "channel_only")[j % 3]))
    report = build_weekly_report(WEEK, records, state="final", generated_at="x")
    open_ = report["totals"]["open_discrepancies"]
    by_kind = report["discrepancies_by_kind"]
    assert (sum(k["count"] for k in by_kind), sum(k["total_fen"] for k in by_kind)) == (
        open_["count"], open_["total_fen"])
    assert [k["kind"] for k in by_kind] == [k for k in ("channel_only", "recorded_only",
                                                        "refund_mismatch")
                                            if k in {k["kind"] for k in by_kind}]
    for figure in FIGURES:
        total = report["totals"][figure]
        for part in ("units", "days"):
            assert sum(u[figure]["total_fen"] for u in report[part]) == total["total_fen"]
            assert sum(u[figure]["count"] for u in report[part]) == total["count"]
    for figure in ITEM_FIGURES:
        assert sum(i[figure]["total_fen"] for i in report["items"]) \
            == report["totals"][figure]["total_fen"]
        for unit in report["units"]:
            assert sum(i[figure]["total_fen"] for i in report["items"]
                       if i["unit_code"] == unit["unit_code"]) == unit[figure]["total_fen"]
    paid = report["totals"]["paid"]
    assert sum(c["total_fen"] for c in report["by_channel"]) == paid["total_fen"]
    assert sum(c["count"] for c in report["by_channel"]) == paid["count"]
    inside = [s for s in specs if s[1] != "2026-06-15"]
    assert report["totals"]["notes_issued"]["count"] == len(inside)


def test_confirmed_remittances_and_open_differences_are_in_the_week(deps):
    from chalicelib.domain.reconciliation import ReconLine
    from chalicelib.services import remittance
    from tests.unit.test_remittance_service import ALL, DATE, reconciled, three_paid

    reconciled(deps, three_paid(deps))
    remittance.instruct(deps, ALL, DATE)
    report = json.loads(weekly_report(deps, THIS_WEEK)[0])
    assert report["totals"]["remitted"] == {"count": 0, "total_fen": 0}  # instructed only
    remittance.confirm(deps, ALL, DATE, {"unit_code": UNIT.unit_code, "account": "treasury",
                                         "bank_reference": "B1"})
    deps.reconciliations.put_line(ReconLine(
        date="2026-03-03", channel="alipay", line_id="pay-9", kind="payment",
        status="channel_only", channel_txn_id="9", amount_fen=555))
    report = json.loads(weekly_report(deps, THIS_WEEK)[0])
    assert report["totals"]["remitted"] == {"count": 1, "total_fen": 24000}
    assert sum(i["remitted"]["total_fen"] for i in report["items"]) == 24000
    assert report["totals"]["open_discrepancies"] == {"count": 1, "total_fen": 555}
    assert report["discrepancies_by_kind"] == [
        {"kind": "channel_only", "name": "渠道有、本系统无", "count": 1, "total_fen": 555}]
    assert report["days"][1]["open_discrepancies"]["count"] == 1
    assert [u["unit_code"] for u in report["units"]] == [UNIT.unit_code, "unknown"]


def test_money_given_back_by_hand_counts_as_refunded_and_money_still_owed_does_not():
    records = WeekRecords()
    for j, status in enumerate(("succeeded", "offline", "manual", "failed", "pending")):
        records.exceptions.append(PaymentRecord(
            payment_id=f"x#{j}", payment_code="0" * 20, channel="bank", channel_txn_id=str(j),
            out_trade_no="o", amount_fen=100 * (j + 1), paid_at=f"{WEEK.days()[0]}T11:00:00+08:00",
            status="exception", exception_unit="U1", refund_status=status))
    totals = build_weekly_report(WEEK, records, state="final", generated_at="x")["totals"]
    assert totals["exceptions"] == {"count": 5, "total_fen": 1500}
    assert totals["refunds"] == {"count": 2, "total_fen": 300}
