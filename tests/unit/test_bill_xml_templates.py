"""The signed XML of bills drawn from a template, and of bills issued before templates.

The files under ``tests/unit/data`` were signed by the code as it stood before templates
(``bill_before_templates_*.xml``, with the public keys that verify them): every bill issued
then must still verify, read back as the same bill, and be rebuilt byte for byte."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.bill_files import BillFiles
from chalicelib.adapters.signers import LocalSigner
from chalicelib.domain import bill_templates, bill_xml
from chalicelib.domain.bill_files import check_bill_file
from chalicelib.domain.bills import Bill, red_bill_of
from chalicelib.domain.notes import Item
from devstack.template_samples import SAMPLES
from tests.unit.test_bill_xml import BILL, SIGN_TIME

DATA = Path(__file__).parent / "data"
OLD = ("normal", "red", "medical")


def old_xml(name: str) -> bytes:
    return (DATA / f"bill_before_templates_{name}.xml").read_bytes()


def old_keys() -> dict[str, dict]:
    keys = json.loads((DATA / "bill_before_templates_keys.json").read_text())["keys"]
    return {k["kid"]: k for k in keys}


@pytest.mark.parametrize("name", OLD)
def test_a_bill_signed_before_templates_still_verifies(name):
    report = check_bill_file(old_xml(name), old_keys(), BillFiles())
    assert report.ok, report.failed()


@pytest.mark.parametrize("name", OLD)
def test_a_bill_signed_before_templates_reads_back_without_a_template_and_rebuilds_byte_for_byte(
        name):
    data = old_xml(name)
    bill = bill_xml.parse_document(data).bill
    assert (bill.template_id, bill.template_version, bill.extra) == ("", 0, ())
    assert bill.template is bill_templates.DEFAULT
    unsigned = ET.fromstring(data)
    signatures = unsigned.find("EInvoiceSignature")
    assert signatures is not None
    for sig in list(signatures):
        signatures.remove(sig)
    assert bill_xml.serialize(bill_xml.build_document(bill)) == bill_xml.serialize(unsigned)


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> LocalSigner:
    signer = LocalSigner(tmp_path_factory.mktemp("keys"))
    for ref in ("unit.pem", "finance.pem"):
        signer.create_key(ref)
    return signer


def signed(bill: Bill, signer: LocalSigner) -> bytes:
    root = bill_xml.build_document(bill)
    for role, ref in (("unit", "unit.pem"), ("supervisor", "finance.pem")):
        message = bill_xml.signing_input(root, role, ref, "ES256", SIGN_TIME)
        value = base64.b64encode(signer.sign(ref, message)).decode()
        bill_xml.append_signature(root, bill_xml.SignatureInfo(role, ref, "ES256", SIGN_TIME,
                                                               value))
    return bill_xml.serialize(root)


def sample_bill(template_id: str) -> Bill:
    sample = SAMPLES[template_id]
    tpl = bill_templates.latest(template_id)
    assert tpl is not None
    extra = bill_templates.read_extra(tpl, sample["extra"], total_fen=sample["total_fen"],
                                      today=date(2026, 6, 15))
    items = tuple(Item(i["item_code"], i["name"], i["quantity"], i["standard_fen"],
                       i["amount_fen"], i["unit"]) for i in sample["items"])
    return replace(BILL, kind_code=sample["bill_kind"], items=items,
                   total_fen=sample["total_fen"], template_id=tpl.template_id,
                   template_version=tpl.version, extra=extra)


@pytest.mark.parametrize("template_id", sorted(SAMPLES))
def test_a_bill_of_each_template_reads_back_as_the_same_bill(template_id, signer):
    bill = sample_bill(template_id)
    assert bill_xml.parse_document(signed(bill, signer)).bill == bill


@pytest.mark.parametrize("template_id", sorted(SAMPLES))
def test_its_red_bill_reads_back_with_the_amounts_negated(template_id, signer):
    from datetime import datetime

    original = sample_bill(template_id)
    red = red_bill_of(original, bill_code=original.bill_code, bill_number="0000000002",
                      check_code="Zx81Qm", issued_at=datetime.fromisoformat(SIGN_TIME),
                      reason="退费")
    assert red.template_id == original.template_id
    assert bill_xml.parse_document(signed(red, signer)).bill == red


def test_the_extra_fields_are_signed_under_main_ext_in_the_templates_order_amounts_in_yuan(
        signer):
    data = signed(sample_bill("medical-outpatient"), signer).decode()
    start = data.index("<TemplateId>")
    assert data[start:data.index("</MainExt>")] == (
        "<TemplateId>medical-outpatient</TemplateId><TemplateVersion>1</TemplateVersion>"
        "<OutpatientNumber>MZ20260615001</OutpatientNumber><VisitDate>2026-06-15</VisitDate>"
        "<MedicalInsuranceType>职工基本医疗保险</MedicalInsuranceType>"
        "<MedicalInsuranceID>34010019800101</MedicalInsuranceID>"
        "<MedicalInstitutionType>综合医院</MedicalInstitutionType>"
        "<FundPayAmount>120.30</FundPayAmount><SelfPayAmount>80.20</SelfPayAmount>")


def test_a_changed_extra_field_breaks_the_signatures(signer):
    keys = {ref: {"kid": ref, "alg": "ES256", "use": "unit" if ref == "unit.pem" else "finance",
                  "owner": BILL.issuing_unit_code, "public_key_pem": signer.public_key_pem(ref),
                  "not_before": "2026-01-01T00:00:00+08:00"}
            for ref in ("unit.pem", "finance.pem")}
    data = signed(sample_bill("medical-outpatient"), signer)
    assert check_bill_file(data, keys, BillFiles()).ok
    forged = data.replace(b"<FundPayAmount>120.30", b"<FundPayAmount>160.30")
    assert not check_bill_file(forged, keys, BillFiles()).ok


def test_a_bad_template_version_is_refused_as_bad_input(signer):
    data = signed(sample_bill("donation-receipt"), signer).replace(
        b"<TemplateVersion>1<", b"<TemplateVersion>x<")
    with pytest.raises(bill_xml.ValidationFailed) as caught:
        bill_xml.parse_document(data)
    assert caught.value.fields == {"file": "bad TemplateVersion"}


def test_a_bill_without_a_template_is_stored_as_before_and_one_with_a_template_whole():
    from chalicelib.adapters.dynamo_bills import bill_from_doc, bill_to_doc

    doc = bill_to_doc(BILL)
    assert not {"template_id", "template_version", "extra"} & set(doc)
    assert bill_from_doc(doc) == BILL
    bill = sample_bill("medical-inpatient")
    assert bill_from_doc(json.loads(json.dumps(bill_to_doc(bill)))) == bill



_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn", "Zl", "Zp", "Cf")),
                min_size=1, max_size=19).map(lambda t: "x" + t.strip())
_code = st.from_regex(r"[0-9A-Za-z-]{1,32}", fullmatch=True)
_day = st.dates(date(2020, 1, 1), date(2026, 6, 15)).map(date.isoformat)


@st.composite
def valid_extra(draw, tpl: bill_templates.BillTemplate) -> tuple[dict, int]:
    """Fields a template accepts (every optional one present or not), and a total that keeps
    its rules: amounts that must equal a field are computed, the total last."""
    raw: dict = {}
    for f in tpl.fields:
        if not f.required and f.key != "insurance_number" and draw(st.booleans()):
            continue
        raw[f.key] = draw({"text": _text, "code": _code, "date": _day,
                           "fen": st.integers(0, 10**9),
                           "choice": st.sampled_from(f.choices or ("",))}[f.type])
    total = None
    for rule in tpl.rules:
        if isinstance(rule, bill_templates.DatesInOrder):
            raw[rule.first], raw[rule.then] = sorted((raw[rule.first], raw[rule.then]))
        elif isinstance(rule, bill_templates.AmountsAddUp):
            if rule.equals != "total_fen":
                pos = sum(raw.get(k, 0) for sign, k in rule.terms if sign > 0)
                if any(sign < 0 for sign, _ in rule.terms):
                    for sign, k in rule.terms:
                        if sign < 0 and k in raw:
                            raw[k] = min(raw[k], pos)
                raw[rule.equals] = sum(sign * raw.get(k, 0) for sign, k in rule.terms)
    for rule in tpl.rules:
        if isinstance(rule, bill_templates.AmountsAddUp) and rule.equals == "total_fen":
            total = sum(sign * raw.get(k, 0) for sign, k in rule.terms)
    return raw, total if total is not None else draw(st.integers(0, 10**9))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_extra_a_template_accepts_reads_back_from_the_signed_xml_unchanged(data, signer):
    tpl = data.draw(st.sampled_from([t for t in bill_templates.BUILT_IN if t.fields]))
    raw, total = data.draw(valid_extra(tpl))
    extra = bill_templates.read_extra(tpl, raw, total_fen=total, today=date(2026, 6, 15))
    assert dict(extra).keys() == raw.keys()
    bill = replace(BILL, template_id=tpl.template_id, template_version=tpl.version, extra=extra)
    assert bill_xml.parse_document(signed(bill, signer)).bill == bill
