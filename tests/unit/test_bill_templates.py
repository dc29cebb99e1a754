"""Bill templates (``domain/bill_templates``): every built-in template is well formed, and a
request's ``extra`` is checked against its template field by field and rule by rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import bill_templates as bt
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import MAX_FEN

TODAY = date(2026, 6, 15)
OUTPATIENT = {"outpatient_number": "MZ20260615001", "visit_date": "2026-06-15",
              "insurance_type": "职工基本医疗保险", "insurance_number": "110101198001011234",
              "institution_type": "综合医院", "fund_paid_fen": 7000, "self_paid_fen": 3000}
INPATIENT = {"inpatient_number": "ZY2026000123", "department": "心内科",
             "admitted_on": "2026-06-01", "discharged_on": "2026-06-10",
             "insurance_type": "城乡居民基本医疗保险", "insurance_number": "R1234567",
             "institution_type": "综合医院", "fund_paid_fen": 600000, "self_paid_fen": 400000,
             "prepaid_fen": 500000, "refund_fen": 100000}


def fields_of(tpl: bt.BillTemplate, raw: object, total: int | None = 10000) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        bt.read_extra(tpl, raw, total_fen=total, today=TODAY)
    return caught.value.fields


@pytest.mark.parametrize("tpl", bt.BUILT_IN, ids=lambda t: t.ref)
def test_every_built_in_template_is_well_formed(tpl):
    assert bt.check_template(tpl) == []
    assert all(kind in BILL_KINDS for kind in tpl.kinds)


def test_a_template_with_a_rule_on_a_missing_field_or_narrow_columns_is_refused():
    broken = replace(bt.MEDICAL_OUTPATIENT, fields=bt.MEDICAL_OUTPATIENT.fields[:2],
                     columns=bt.MEDICAL_OUTPATIENT.columns[:1] + bt.MEDICAL_OUTPATIENT.columns[-1:])
    problems = bt.check_template(broken)
    assert any(p.startswith("rules[0]: names a field the template lacks") for p in problems)
    assert any(p.startswith("columns: widths must add up to 190 mm") for p in problems)


def test_the_default_template_is_the_page_of_bills_before_templates():
    assert bt.template("", 0) is bt.DEFAULT is bt.NONTAX_GENERAL
    assert [c.label for c in bt.DEFAULT.columns] == [
        "项目编码", "项目名称", "单位", "数量", "标准（元）", "金额（元）"]
    assert bt.DEFAULT.fields == () and bt.DEFAULT.title is None and bt.DEFAULT.remarks == ()


def test_each_kind_may_have_the_general_template_and_those_made_for_it():
    assert [t.template_id for t in bt.templates_for("0601")] == [
        "nontax-general", "medical-outpatient"]
    assert [t.template_id for t in bt.templates_for("0301")] == ["nontax-general"]
    assert [t.template_id for t in bt.templates_for("0501")] == [
        "nontax-general", "donation-receipt"]


def test_an_outpatient_bills_fields_come_back_in_the_templates_order_amounts_as_digits():
    got = bt.read_extra(bt.MEDICAL_OUTPATIENT, OUTPATIENT, total_fen=10000, today=TODAY)
    assert [k for k, _ in got] == [f.key for f in bt.MEDICAL_OUTPATIENT.fields]
    assert dict(got)["fund_paid_fen"] == "7000"
    assert bt.extra_view(bt.MEDICAL_OUTPATIENT, got)["fund_paid_fen"] == 7000
    assert ("医保统筹支付", "70.00元") in bt.labelled(bt.MEDICAL_OUTPATIENT, got)


def test_a_missing_required_field_is_named_with_its_label():
    raw = {k: v for k, v in OUTPATIENT.items() if k != "outpatient_number"}
    assert fields_of(bt.MEDICAL_OUTPATIENT, raw) == {
        "extra.outpatient_number": "is required (门诊号)"}


def test_the_insurance_number_is_required_unless_the_patient_pays_alone():
    raw = {k: v for k, v in OUTPATIENT.items() if k != "insurance_number"}
    assert "extra.insurance_number" in fields_of(bt.MEDICAL_OUTPATIENT, raw)
    alone = {**raw, "insurance_type": "自费", "fund_paid_fen": 0, "self_paid_fen": 10000}
    assert bt.read_extra(bt.MEDICAL_OUTPATIENT, alone, total_fen=10000, today=TODAY)


@pytest.mark.parametrize(("key", "value", "why"), [
    ("insurance_type", "商业保险", "must be one of"),
    ("visit_date", "2026-06-16", "future"),
    ("visit_date", "2026/06/15", "YYYY-MM-DD"),
    ("visit_date", "2026-02-30", "YYYY-MM-DD"),
    ("outpatient_number", "MZ 001", "letters, digits"),
    ("fund_paid_fen", 70.5, "whole number of fen"),
    ("fund_paid_fen", "7000", "whole number of fen"),
    ("fund_paid_fen", True, "whole number of fen"),
    ("fund_paid_fen", -1, "whole number of fen"),
    ("fund_paid_fen", MAX_FEN + 1, "whole number of fen"),
    ("insurance_number", ["x"], "must be a string"),
])
def test_a_wrong_value_is_named(key, value, why):
    got = fields_of(bt.MEDICAL_OUTPATIENT, {**OUTPATIENT, key: value})
    assert why in got[f"extra.{key}"]


def test_text_is_held_to_the_rules_of_every_text_field():
    raw = {"settlement_nature": "押金", "settlement_purpose": "会议押金\u202e"}
    assert "control characters" in fields_of(bt.SETTLEMENT_RECEIPT, raw)[
        "extra.settlement_purpose"]
    too_long = {**raw, "settlement_purpose": "押" * 61}
    assert "at most 60" in fields_of(bt.SETTLEMENT_RECEIPT, too_long)["extra.settlement_purpose"]


def test_the_payments_must_add_up_to_the_total():
    got = fields_of(bt.MEDICAL_OUTPATIENT, {**OUTPATIENT, "self_paid_fen": 2999})
    assert "must equal total_fen (9999 ≠ 10000)" in got["extra.fund_paid_fen"]


def test_an_inpatient_stay_ends_after_it_begins_and_the_deposits_settle_the_own_share():
    assert bt.read_extra(bt.MEDICAL_INPATIENT, INPATIENT, total_fen=1000000, today=TODAY)
    backwards = {**INPATIENT, "discharged_on": "2026-05-31"}
    assert "must not be before 入院日期" in fields_of(
        bt.MEDICAL_INPATIENT, backwards, 1000000)["extra.discharged_on"]
    unsettled = {**INPATIENT, "refund_fen": 99999}
    assert "预缴金额 + 补缴金额 − 退费金额 must equal self_paid_fen" in fields_of(
        bt.MEDICAL_INPATIENT, unsettled, 1000000)["extra.prepaid_fen"]


def test_a_field_the_template_does_not_have_is_refused():
    assert "not a field of template medical-outpatient@1: ward" in fields_of(
        bt.MEDICAL_OUTPATIENT, {**OUTPATIENT, "ward": "3"})["extra"]
    assert fields_of(bt.NONTAX_GENERAL, {"ward": "3"}) == {
        "extra": "template nontax-general@1 has no extra fields"}
    assert fields_of(bt.NONTAX_GENERAL, ["ward"]) == {"extra": "must be an object"}


def test_no_extra_is_nothing_for_a_template_without_fields():
    assert bt.read_extra(bt.NONTAX_GENERAL, None, total_fen=1, today=TODAY) == ()
    assert bt.read_extra(bt.NONTAX_GENERAL, {}, total_fen=1, today=TODAY) == ()


def test_a_red_bill_negates_the_amounts_only():
    got = bt.read_extra(bt.MEDICAL_OUTPATIENT, OUTPATIENT, total_fen=10000, today=TODAY)
    red = dict(bt.negated(bt.MEDICAL_OUTPATIENT, got))
    assert red["fund_paid_fen"] == "-7000" and red["outpatient_number"] == "MZ20260615001"
    assert bt.extra_view(bt.MEDICAL_OUTPATIENT, tuple(red.items()))["self_paid_fen"] == -3000


@given(st.dictionaries(st.sampled_from([f.key for f in bt.MEDICAL_INPATIENT.fields] + ["x"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-10, 10**15),
                                 st.text(max_size=70), st.lists(st.integers(), max_size=2),
                                 st.sampled_from(bt.INSURANCE_TYPES + ("2026-06-01",)))),
       st.integers(0, 10**7))
def test_any_extra_is_accepted_whole_or_refused_naming_only_extra_fields(raw, total):
    try:
        got = bt.read_extra(bt.MEDICAL_INPATIENT, raw, total_fen=total, today=TODAY)
    except ValidationFailed as exc:
        assert exc.fields and all(k == "extra" or k.startswith("extra.") for k in exc.fields)
    else:
        assert {k for k, _ in got} <= set(raw)
        assert bt.read_extra(bt.MEDICAL_INPATIENT, bt.extra_view(bt.MEDICAL_INPATIENT, got),
                             total_fen=total, today=TODAY) == got


def test_a_due_date_may_lie_ahead_where_a_visit_may_not():
    raw = {"settlement_nature": "押金", "settlement_purpose": "会议押金",
           "refund_due_date": "2026-12-31"}
    assert dict(bt.read_extra(bt.SETTLEMENT_RECEIPT, raw, total_fen=1, today=TODAY))[
        "refund_due_date"] == "2026-12-31"
    ahead = {**OUTPATIENT, "visit_date": "2026-12-31"}
    assert "future" in fields_of(bt.MEDICAL_OUTPATIENT, ahead)["extra.visit_date"]
