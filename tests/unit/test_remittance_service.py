"""Remittance (划款) of a day, on fakes: from the day's reconciliation to the bank's file."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.reconciliation import ChannelDay, ReconLine
from chalicelib.services import remittance
from tests.unit.scenario import ITEM_CODE, UNIT, paid_note

DATE = "2026-03-02"  # tests/fakes.DEFAULT_NOW's day, when scenario payments are made
ALL = FinanceKey(key_id="key_all", scope="", label="省财政厅", created_at="2026-01-01")
CITY = FinanceKey(key_id="key_city", scope="3401", label="合肥市财政局", created_at="2026-01-01")
OTHER_CITY = FinanceKey(key_id="key_wh", scope="3402", label="芜湖市财政局",
                        created_at="2026-01-01")


def reconciled(deps, notes, *, refund_of=None, open_line=False, skip=()):
    """The day reconciled: every note's payment matched on WeChat Pay, other channels empty."""
    for channel in ("wechatpay", "alipay", "unionpay", "bank"):
        if channel not in skip:
            deps.reconciliations.put_day(ChannelDay(date=DATE, channel=channel,
                                                    status="balanced"))
    for i, note in enumerate(notes):
        deps.reconciliations.put_line(ReconLine(
            date=DATE, channel="wechatpay", line_id=f"pay-{i}", kind="payment",
            status="matched", channel_txn_id=str(i), payment_code=note.payment_code,
            amount_fen=note.total_fen, recorded_fen=note.total_fen, fee_fen=note.total_fen // 100,
            recorded_status="applied"))
    if refund_of is not None:
        deps.reconciliations.put_line(ReconLine(
            date=DATE, channel="wechatpay", line_id="refund-1", kind="refund", status="matched",
            channel_txn_id="0", payment_code=refund_of.payment_code,
            amount_fen=refund_of.total_fen, recorded_status="applied"))
    if open_line:
        deps.reconciliations.put_line(ReconLine(
            date=DATE, channel="wechatpay", line_id="pay-x", kind="payment",
            status="amount_mismatch", channel_txn_id="x", amount_fen=1))


def three_paid(deps):
    return [paid_note(deps, txn=f"42000000012026030200000000{i:02d}") for i in range(3)]


def test_a_reconciled_day_owes_its_units_treasury_every_fen_paid(deps):
    notes = three_paid(deps)
    reconciled(deps, notes)
    view = remittance.remittances_view(deps, ALL, DATE)
    assert view["state"] == "pending"
    assert view["remittances"] == [{"unit_code": UNIT.unit_code, "account": "treasury",
                                    "total_fen": 24000, "status": "pending",
                                    "items": [{"item_code": ITEM_CODE, "total_fen": 24000}]}]
    assert view["reconciled_net_fen"] == 24000 and view["fees_fen"] == 240  # fees not netted


def test_a_refund_of_a_paid_note_is_taken_off_and_a_set_account_is_used(deps):
    notes = three_paid(deps)
    reconciled(deps, notes, refund_of=notes[0])
    remittance.set_account(deps, ALL, UNIT.unit_code, {"account": "special"})
    view = remittance.remittances_view(deps, ALL, DATE)
    assert [(r["account"], r["total_fen"]) for r in view["remittances"]] == [("special", 16000)]
    assert view["reconciled_net_fen"] == 16000


def test_instructing_keeps_the_bank_file_whose_control_line_adds_up(deps):
    reconciled(deps, three_paid(deps))
    day, made = remittance.instruct(deps, ALL, DATE)
    assert made and day.status == "instructed" and day.net_fen == 24000
    body = remittance.instruction_file(deps, ALL, DATE)
    lines = body.decode("gb18030").split("\r\n")
    assert lines[0].startswith("seq,batch_id,value_date,payer_account")
    assert lines[1].split(",")[9] == "240.00" and lines[1].endswith(UNIT.name)
    count, yuan, fen, digest = lines[2].split(",")[1:]
    assert (lines[2].split(",")[0], count, yuan, fen) == ("TOTAL", "1", "240.00", "24000")
    head = body[:body.index(b"TOTAL,")]
    assert digest == "SHA256:" + hashlib.sha256(head).hexdigest()
    again, made = remittance.instruct(deps, ALL, DATE)
    assert not made and again == day
    assert remittance.remittances_view(deps, ALL, DATE)["state"] == "instructed"
    [event] = deps.audit.query(bill_id=f"admin#remittance#{DATE}")
    assert (event.action, event.client) == ("instruct_remittance", "finance:key_all")
    assert event.detail["total_fen"] == 24000


@pytest.mark.parametrize("how", ["channel_pending", "open_line"])
def test_a_day_not_reconciled_is_not_instructed(deps, how):
    notes = three_paid(deps)
    reconciled(deps, notes, open_line=how == "open_line",
               skip=("alipay",) if how == "channel_pending" else ())
    with pytest.raises(Conflict) as caught:
        remittance.instruct(deps, ALL, DATE)
    assert caught.value.code == "day_not_reconciled"
    assert deps.remittances.get_day(DATE) is None


def test_a_day_without_money_instructs_nothing(deps):
    reconciled(deps, [])
    with pytest.raises(Conflict) as caught:
        remittance.instruct(deps, ALL, DATE)
    assert caught.value.code == "nothing_to_remit"


def test_only_a_key_covering_every_unit_of_the_day_instructs_or_confirms(deps):
    reconciled(deps, three_paid(deps))
    with pytest.raises(Forbidden):
        remittance.instruct(deps, OTHER_CITY, DATE)
    remittance.instruct(deps, CITY, DATE)  # the day's one unit is the city's
    with pytest.raises(Forbidden):
        remittance.confirm(deps, OTHER_CITY, DATE, {"unit_code": UNIT.unit_code,
                                                    "account": "treasury",
                                                    "bank_reference": "B1"})


def test_confirming_each_remittance_closes_the_day_once(deps):
    reconciled(deps, three_paid(deps))
    remittance.instruct(deps, ALL, DATE)
    body = {"unit_code": UNIT.unit_code, "account": "treasury", "bank_reference": "B20260303"}
    day = remittance.confirm(deps, ALL, DATE, body)
    assert day.status == "confirmed" and day.remittances[0].bank_reference == "B20260303"
    assert remittance.confirm(deps, ALL, DATE, body) == day
    with pytest.raises(Conflict):
        remittance.confirm(deps, ALL, DATE, {**body, "bank_reference": "OTHER"})
    with pytest.raises(NotFound):
        remittance.confirm(deps, ALL, DATE, {**body, "account": "special"})
    with pytest.raises(ValidationFailed):
        remittance.confirm(deps, ALL, DATE, {**body, "bank_reference": ""})


def test_a_regional_key_sees_only_its_regions_remittances(deps):
    reconciled(deps, three_paid(deps))
    assert len(remittance.remittances_view(deps, CITY, DATE)["remittances"]) == 1
    assert remittance.remittances_view(deps, OTHER_CITY, DATE)["remittances"] == []


def test_a_malformed_date_names_the_date(deps):
    for bad in ("2026-3-2", "2026-02-30", "1999-01-01", "today"):
        with pytest.raises(ValidationFailed) as caught:
            remittance.remittances_view(deps, ALL, bad)
        assert "date" in caught.value.fields
