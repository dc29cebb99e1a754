"""Templates per kind (``services/bill_templates``): the finance department's choice, and the
notes and bills that follow it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain import bill_xml
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.services import bill_templates as service
from chalicelib.services.bills import bill_view
from chalicelib.services.direct_bills import issue_direct_bill
from chalicelib.services.issuance import issue_bill
from devstack.seed import KIND_UNITS
from devstack.template_samples import SAMPLES
from tests.unit.scenario import UNIT, paid_note

HOSPITAL = KIND_UNITS[0][0]
CHARITY = KIND_UNITS[1][0]
JUNE = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def june(clock):
    clock.now = JUNE
    return clock


def direct_body(template_id: str, **changes) -> dict:
    return {"payer": {"name": "张三", "type": "individual"}, "paid_by": "pos",
            **SAMPLES[template_id], **changes}


PROVINCE = FinanceKey("key_0123456789ab", "34", "安徽省财政厅", "2026-01-01T00:00:00+08:00")


def choose(deps, kind: str, template_id: str, finance: FinanceKey = PROVINCE) -> dict:
    return service.choose_template(deps, finance, kind, {"template_id": template_id})


def test_the_seed_chose_the_template_of_each_kind_with_extra_fields(deps):
    chosen = {k["kind_code"]: k["template"]["template_id"]
              for k in service.bill_kinds_view(deps)["bill_kinds"]}
    assert chosen["0601"] == "medical-outpatient" and chosen["0602"] == "medical-inpatient"
    assert chosen["0501"] == "donation-receipt" and chosen["0401"] == "settlement-receipt"
    assert chosen["0101"] == chosen["0301"] == "nontax-general"
    titles = {k["kind_code"]: k["title"] for k in service.bill_kinds_view(deps)["bill_kinds"]}
    assert titles["0602"] == "安徽省医疗住院收费票据（电子）"
    assert titles["0501"] == "公益事业捐赠统一票据（电子）"


def test_a_choice_is_stored_and_audit_logged_with_the_one_it_replaces(deps):
    view = choose(deps, "0601", "nontax-general")
    assert view["template"]["template_id"] == "nontax-general"
    assert deps.template_choices.get("0601").template_id == "nontax-general"
    [event] = deps.audit.query(bill_id="admin#bill_kind#0601")
    assert (event.action, event.client) == ("choose_template", "finance:key_0123456789ab")
    assert event.detail == {"kind_code": "0601", "template": "nontax-general@1",
                            "previous": "medical-outpatient@1"}
    assert deps.template_choices.get("0601").chosen_by == "finance:key_0123456789ab"


def test_choosing_the_template_in_force_again_logs_nothing(deps):
    choose(deps, "0601", "medical-outpatient")
    assert deps.audit.query(bill_id="admin#bill_kind#0601") == []


@pytest.mark.parametrize(("kind", "body", "field", "why"), [
    ("0601", {}, "template_id", "required"),
    ("0601", {"template_id": "x" * 41}, "template_id", "required"),
    ("0601", {"template_id": "hospital-fancy"}, "template_id", "one of nontax-general"),
    ("0601", {"template_id": "donation-receipt"}, "template_id",
     "not for kind 0601: one of nontax-general, medical-outpatient"),
])
def test_a_wrong_choice_is_refused_and_changes_nothing(deps, kind, body, field, why):
    before = deps.template_choices.all()
    with pytest.raises(ValidationFailed) as caught:
        service.choose_template(deps, PROVINCE, kind, body)
    assert why in caught.value.fields[field]
    assert deps.template_choices.all() == before
    assert deps.audit.query(bill_id=f"admin#bill_kind#{kind}") == []


def test_an_unknown_kind_is_not_found(deps):
    with pytest.raises(NotFound):
        choose(deps, "0999", "nontax-general")


@pytest.mark.parametrize("scope", ["3401", "340102"])
def test_a_city_or_county_key_may_not_choose_for_the_whole_province(deps, scope):
    with pytest.raises(Forbidden) as caught:
        choose(deps, "0601", "nontax-general", FinanceKey("key_x", scope, "合肥市财政局", "t"))
    assert caught.value.code == "not_a_provincial_key"
    assert deps.template_choices.get("0601").template_id == "medical-outpatient"


@pytest.mark.parametrize("template_id", ["medical-outpatient", "medical-inpatient",
                                         "donation-receipt", "settlement-receipt"])
def test_a_direct_bill_of_each_kind_carries_its_templates_fields_signed(deps, june, template_id):
    unit = HOSPITAL if template_id.startswith("medical") else CHARITY
    note, _ = issue_direct_bill(deps, unit, direct_body(template_id))
    assert note.template_id == template_id and note.template_version == 1
    issue_bill(deps, note.payment_code)
    ref = deps.notes.get(note.payment_code).bill
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert record.bill.template_id == template_id
    assert record.bill.extra == note.bill_extra and record.bill.extra
    parsed = bill_xml.parse_document(deps.archive.get(record.xml.key)).bill
    assert parsed == record.bill
    view = bill_view(deps, record)
    assert view["extra"] == {k: v for k, v in SAMPLES[template_id]["extra"].items()}
    assert view["template"] == {"template_id": template_id, "version": 1,
                                "name": record.bill.template.name}


def test_the_medical_bills_print_their_own_title(deps, june):
    note, _ = issue_direct_bill(deps, HOSPITAL, direct_body("medical-inpatient"))
    issue_bill(deps, note.payment_code)
    ref = deps.notes.get(note.payment_code).bill
    assert deps.bills.get(ref.bill_code, ref.bill_number).bill.title == "安徽省医疗住院收费票据（电子）"


def test_a_bill_of_a_kind_with_fields_without_them_names_each_missing_field(deps, june):
    body = direct_body("medical-outpatient", extra={"visit_date": "2026-06-15"})
    with pytest.raises(ValidationFailed) as caught:
        issue_direct_bill(deps, HOSPITAL, body)
    assert {"extra.outpatient_number", "extra.insurance_type", "extra.fund_paid_fen"} <= set(
        caught.value.fields)
    assert deps.notes.rows == {}


def test_a_note_keeps_the_template_it_was_made_with_when_the_choice_changes(deps, june):
    note, _ = issue_direct_bill(deps, HOSPITAL, direct_body("medical-outpatient"))
    choose(deps, "0601", "nontax-general")
    issue_bill(deps, note.payment_code)
    ref = deps.notes.get(note.payment_code).bill
    assert deps.bills.get(ref.bill_code, ref.bill_number).bill.template_id == "medical-outpatient"
    later = direct_body("medical-outpatient")
    with pytest.raises(ValidationFailed) as caught:
        issue_direct_bill(deps, HOSPITAL, later)
    assert caught.value.fields == {"extra": "template nontax-general@1 has no extra fields"}
    later.pop("extra")
    plain, _ = issue_direct_bill(deps, HOSPITAL, later)
    assert plain.template_id == "nontax-general" and plain.bill_extra == ()


def test_a_note_made_before_templates_issues_a_bill_without_one(deps):
    from dataclasses import replace

    note = paid_note(deps)
    deps.notes.rows[note.payment_code] = replace(note, template_id="", template_version=0)
    issue_bill(deps, note.payment_code)
    ref = deps.notes.get(note.payment_code).bill
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert (record.bill.template_id, record.bill.extra) == ("", ())
    assert b"<TemplateId>" not in deps.archive.get(record.xml.key)


def test_an_ordinary_note_records_the_general_template(deps):
    note = paid_note(deps)
    assert (note.template_id, note.template_version, note.bill_extra) == ("nontax-general", 1, ())
    assert UNIT.bill_kind == "0101"

