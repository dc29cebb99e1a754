"""Bill templates through the API: a direct bill or a note of a kind whose template has extra
fields sends them as ``extra`` (checked against the template, 400 naming the field), and the
bill carries them signed, in its JSON, on its page and in its PDF."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.domain import bill_templates
from devstack.template_samples import SAMPLES
from tests.functional.support import assert_error, body_of
from tests.ofd_raster import OfdPages

HOSPITAL, CHARITY = 2, 3  # the seed's units after the two of COLLECTING (devstack.seed)
PAYER = {"name": "张三", "type": "individual", "phone": "13812345678"}
UNIT_OF = {"medical-outpatient": HOSPITAL, "medical-inpatient": HOSPITAL,
           "donation-receipt": CHARITY, "settlement-receipt": CHARITY,
           "nontax-general": 1}  # the traffic police: 一般缴款书 (0301)
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "templates"


def body(template_id: str, **changes) -> dict:
    return {"payer": PAYER, "paid_by": "pos", **SAMPLES[template_id], **changes}


def issue(world, client, template_id: str, key: str | None = None, **changes) -> dict:
    unit = UNIT_OF[template_id]
    headers = dict(world.auth(unit), **{"Idempotency-Key": key or f"tpl-{template_id}"})
    payload = json.dumps(body(template_id, **changes))
    first = client.http.post("/v1/bills", headers=headers, body=payload)
    assert first.status_code == 202, first.body
    world.drain()
    again = client.http.post("/v1/bills", headers=headers, body=payload)
    assert again.status_code == 201, again.body
    return body_of(again)


def public(client, bill: dict, suffix: str = ""):
    return client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}{suffix}"
                           f"?check_code={bill['check_code']}")


@pytest.mark.parametrize("template_id", sorted(UNIT_OF))
def test_a_direct_bill_of_each_kind_carries_its_extra_fields_in_json_xml_and_pdf(
        world, client, template_id):
    """The PDF of each is drawn from its template (title, fields, columns) and written as a
    PNG to tests/output/templates/ for a person to look at (the README's screenshots)."""
    bill = issue(world, client, template_id)
    view = body_of(public(client, bill))
    assert view["kind_code"] == SAMPLES[template_id]["bill_kind"]
    assert view["template"]["template_id"] == template_id
    assert view["extra"] == SAMPLES[template_id]["extra"]
    xml = public(client, bill, "/xml").body
    assert b"<TemplateId>" + template_id.encode() + b"</TemplateId>" in xml
    pdf_bytes = public(client, bill, "/pdf").body
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)
    tpl = bill_templates.latest(template_id)
    assert tpl is not None
    assert bill["bill_number"] in text and view["title"] in text
    for column in tpl.columns:
        assert column.label in text
    for f in tpl.fields:
        if f.key in SAMPLES[template_id]["extra"]:
            assert f.label in text, f.label
    for line in tpl.remarks:
        assert line in text
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{template_id}.pdf").write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile",
                    str(OUTPUT / f"{template_id}.pdf"), str(OUTPUT / template_id)], check=True)
    # The OFD of the same bill, drawn from the same layout, rasterised independently
    ofd = public(client, bill, "/ofd")
    assert ofd.status_code == 200 and ofd.body[:2] == b"PK"
    OfdPages(ofd.body).render(0, dpi=60).save(OUTPUT / f"{template_id}-ofd.png")


def test_the_bill_page_shows_the_extra_fields_under_their_labels(world, client):
    bill = issue(world, client, "medical-outpatient")
    page = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                           f"?check_code={bill['check_code']}").body.decode()
    assert "就诊信息" in page and "<dt>门诊号</dt><dd>MZ20260615001</dd>" in page
    assert "<dt>医保统筹支付</dt><dd>120.30元</dd>" in page
    assert "安徽省医疗门诊收费票据（电子）" in page


def test_the_donation_page_calls_the_payer_the_donor_and_thanks_them(world, client):
    bill = issue(world, client, "donation-receipt")
    page = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                           f"?check_code={bill['check_code']}").body.decode()
    assert "<dt>捐赠人</dt><dd>张三</dd>" in page and "感谢您对公益事业的支持！" in page


def test_a_missing_or_wrong_extra_field_is_400_naming_it_and_writes_nothing(world, client):
    before = client.http.get("/v1/notes", headers=world.auth(HOSPITAL)).body
    extra = {**SAMPLES["medical-outpatient"]["extra"], "insurance_type": "商业保险"}
    extra.pop("outpatient_number")
    r = client.http.post("/v1/bills", headers=world.auth(HOSPITAL),
                         body=json.dumps(body("medical-outpatient", extra=extra)))
    assert_error(r, 400)
    fields = body_of(r)["error"]["fields"]
    assert set(fields) == {"extra.outpatient_number", "extra.insurance_type"}
    assert client.http.get("/v1/notes", headers=world.auth(HOSPITAL)).body == before


def test_amounts_that_do_not_add_up_to_the_total_are_400(world, client):
    extra = {**SAMPLES["medical-outpatient"]["extra"], "self_paid_fen": 1}
    r = client.http.post("/v1/bills", headers=world.auth(HOSPITAL),
                         body=json.dumps(body("medical-outpatient", extra=extra)))
    assert_error(r, 400)
    assert "must equal total_fen" in body_of(r)["error"]["fields"]["extra.fund_paid_fen"]


def test_extra_fields_for_a_kind_without_them_are_400(world, client):
    from tests.functional.support import NOTE

    r = client.http.post("/v1/notes", headers=world.auth(),
                         body=json.dumps({**NOTE, "extra": {"outpatient_number": "1"}}))
    assert_error(r, 400)
    assert body_of(r)["error"]["fields"] == {
        "extra": "template nontax-general@1 has no extra fields"}


def test_a_note_carries_its_extra_fields_to_its_unit_but_not_to_the_public(world, client):
    sample = SAMPLES["donation-receipt"]
    note_body = {"payer": PAYER, "items": sample["items"], "total_fen": sample["total_fen"],
                 "extra": sample["extra"]}
    r = client.http.post("/v1/notes", headers=world.auth(CHARITY), body=json.dumps(note_body))
    assert r.status_code == 201, r.body
    code = body_of(r)["payment_code"]
    mine = body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth(CHARITY)))
    assert mine["bill_kind"] == "0501" and mine["extra"] == sample["extra"]
    assert mine["template"] == {"template_id": "donation-receipt", "version": 1}
    theirs = body_of(client.http.get(f"/v1/public/notes/{code}"))
    assert "extra" not in theirs



def test_the_finance_department_sees_each_kinds_template_and_the_ones_it_may_have(world, client):
    r = client.http.get("/v1/admin/bill-kinds", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    kinds = {k["kind_code"]: k for k in body_of(r)["bill_kinds"]}
    outpatient = kinds["0601"]
    assert outpatient["template"]["template_id"] == "medical-outpatient"
    assert [a["template_id"] for a in outpatient["available"]] == [
        "nontax-general", "medical-outpatient"]
    labels = {f["key"]: f["label"] for f in outpatient["template"]["fields"]}
    assert labels["insurance_type"] == "医保类型" and labels["self_paid_fen"] == "个人自付"
    assert kinds["0301"]["template"]["template_id"] == "nontax-general"
    assert kinds["0301"]["chosen_at"] is None


def test_a_choice_of_template_governs_the_next_bills_of_its_kind_and_is_audited(world, client):
    url = "/v1/admin/bill-kinds/0601/template"
    r = client.http.put(url, headers=world.finance_auth(),
                        body=json.dumps({"template_id": "nontax-general"}))
    assert r.status_code == 200, r.body
    assert body_of(r)["template"]["template_id"] == "nontax-general"
    plain = {k: v for k, v in body("medical-outpatient").items() if k != "extra"}
    r = client.http.post("/v1/bills", headers=world.auth(HOSPITAL), body=json.dumps(plain))
    assert r.status_code == 202, r.body
    [event] = world.deps.audit.query(bill_id="admin#bill_kind#0601")
    assert event.action == "choose_template" and event.client.startswith("finance:key_")
    assert event.detail["previous"] == "medical-outpatient@1"


@pytest.mark.parametrize(("url", "payload", "status", "field"), [
    ("/v1/admin/bill-kinds/0601/template", {"template_id": "donation-receipt"}, 400,
     "template_id"),
    ("/v1/admin/bill-kinds/0601/template", {"template_id": 7}, 400, "template_id"),
    ("/v1/admin/bill-kinds/0601/template", ["medical-outpatient"], 400, "template_id"),
    ("/v1/admin/bill-kinds/9999/template", {"template_id": "nontax-general"}, 404, None),
])
def test_a_wrong_choice_is_refused_and_nothing_changes(world, client, url, payload, status,
                                                        field):
    r = client.http.put(url, headers=world.finance_auth(), body=json.dumps(payload))
    error = assert_error(r, status)
    if field:
        assert field in error["fields"]
    assert world.deps.template_choices.get("0601").template_id == "medical-outpatient"


def test_units_may_not_choose_templates(world, client):
    r = client.http.put("/v1/admin/bill-kinds/0601/template", headers=world.auth(HOSPITAL),
                        body=json.dumps({"template_id": "nontax-general"}))
    assert assert_error(r, 403)["code"] == "not_a_finance_key"
