"""The unit console's forms ask for the extra fields of the bill kind's template: a hospital's
operator makes an outpatient note and issues an inpatient bill directly (直接开票, ``POST
/v1/bills``'s use case), then opens its PDF, OFD and 告知单; a wrong extra field or a missing
``paid_by`` is shown next to its input and nothing is written; a form posted twice makes one
bill; a post without the CSRF token changes nothing."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tests.functional.test_console_sign_in import IP, post, sign_in, sign_in_as
from tests.functional.test_unit_console import get

HOSPITAL = "340100003"
PASSWORD = "Maple-Tree-2026"
OUTPATIENT = [("0801", "1", "25.00"), ("0804", "2", "60.00"), ("0901", "3", "18.50")]
OUTPATIENT_EXTRA = {"extra_outpatient_number": "MZ20260615001", "extra_visit_date": "2026-06-15",
                    "extra_insurance_type": "职工基本医疗保险",
                    "extra_insurance_number": "34010019800101",
                    "extra_institution_type": "综合医院", "extra_fund_paid_fen": "120.30",
                    "extra_self_paid_fen": "80.20"}
INPATIENT = [("0701", "9", "60.00"), ("0805", "1", "3800.00"), ("0806", "1", "860.00")]
INPATIENT_EXTRA = {"extra_inpatient_number": "ZY2026000123", "extra_department": "普通外科",
                   "extra_admitted_on": "2026-06-01", "extra_discharged_on": "2026-06-10",
                   "extra_insurance_type": "自费", "extra_institution_type": "综合医院",
                   "extra_fund_paid_fen": "0", "extra_self_paid_fen": "5200.00",
                   "extra_prepaid_fen": "5000.00", "extra_supplement_fen": "200.00"}


def hospital_operator(client, world, username: str = "wang.yi") -> tuple[list[str], str]:
    """A unit operator of the seed's hospital, made by the finance admin, signed in."""
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people", {
        "username": username, "display_name": "王医", "role": "unit_operator",
        "unit_code": HOSPITAL, "password": PASSWORD, "totp": ""}, cookies, token)
    assert r.status_code == 200, r.body.decode()
    return sign_in_as(client, world, {"username": username, "password": PASSWORD})


def pairs(kind: str, items, extra: dict, form_id: str, **fields) -> list[tuple[str, str]]:
    out = list({"payer_name": "张三", "payer_type": "individual", "payer_phone": "",
                "payer_credit_code": "", "due_date": "", "remark": "", "form_id": form_id,
                "bill_kind": kind, **extra, **fields}.items())
    for code, qty, std in items:
        out += [("item_code", code), ("quantity", qty), ("standard", std)]
    return out


def send(client, path, form, cookies, token):
    body = form + ([("csrf_token", token)] if token else [])
    return client.http.post(path, body=urlencode(body), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": IP,
        "Cookie": "; ".join(cookies)})


def code_of(response) -> str:
    assert response.status_code == 303, response.body.decode()
    return re.search(r"/console/unit/notes/([0-9]{20})", response.headers["Location"]).group(1)


def test_the_note_form_asks_for_the_kinds_extra_fields_and_the_note_keeps_them(client, world):
    cookies, token = hospital_operator(client, world)
    html = get(client, "/console/unit/notes/new", cookies).body.decode()
    assert "就诊信息" in html and 'name="extra_outpatient_number"' in html
    assert '<select id="extra_insurance_type" name="extra_insurance_type" required>' in html
    assert 'id="extra_visit_date" name="extra_visit_date" type="date" max="2026-06-15"' in html
    assert '<option value="0602">0602' in html and "0801 诊察费" in html
    assert "0701 床位费" not in html  # an inpatient item: offered under 0602
    inpatient = get(client, "/console/unit/notes/new?kind=0602", cookies).body.decode()
    assert "住院信息" in inpatient and "0701 床位费" in inpatient
    code = code_of(send(client, "/console/unit/notes",
                        pairs("0601", OUTPATIENT, OUTPATIENT_EXTRA, "n1"), cookies, token))
    note = world.deps.notes.get(code)
    assert (note.template_id, note.bill_kind) == ("medical-outpatient", "0601")
    assert dict(note.bill_extra)["fund_paid_fen"] == "12030"
    page = get(client, f"/console/unit/notes/{code}", cookies).body.decode()
    assert "<dt>医保统筹支付</dt><dd>120.30元</dd>" in page


def test_a_wrong_extra_field_is_shown_next_to_its_input_and_nothing_is_written(client, world):
    cookies, token = hospital_operator(client, world)
    before = len(world.deps.audit.query(bill_id="person#wang.yi"))
    extra = {**OUTPATIENT_EXTRA, "extra_outpatient_number": "", "extra_self_paid_fen": "1.00"}
    r = send(client, "/console/unit/notes", pairs("0601", OUTPATIENT, extra, "n2"), cookies,
             token)
    html = r.body.decode()
    assert r.status_code == 400
    assert 'id="e-extra_outpatient_number"' in html and "门诊号" in html
    assert 'aria-describedby="e-extra_fund_paid_fen"' in html  # the sum does not add up
    assert '<option selected>职工基本医疗保险</option>' in html  # the values are kept
    assert len(world.deps.audit.query(bill_id="person#wang.yi")) == before


def test_a_direct_bill_from_the_form_is_issued_with_its_pdf_ofd_and_notice(client, world):
    cookies, token = hospital_operator(client, world)
    html = get(client, "/console/unit/bills/new?kind=0602", cookies).body.decode()
    assert 'action="/console/unit/bills"' in html and 'name="paid_by"' in html
    assert 'name="due_date"' not in html and "住院信息" in html
    form = pairs("0602", INPATIENT, INPATIENT_EXTRA, "d1", paid_by="pos")
    code = code_of(send(client, "/console/unit/bills", form, cookies, token))
    assert code_of(send(client, "/console/unit/bills", form, cookies, token)) == code  # once
    pending = get(client, f"/console/unit/notes/{code}?direct=1", cookies).body.decode()
    assert "票据开具中" in pending
    world.drain()
    page = get(client, f"/console/unit/notes/{code}?direct=1", cookies).body.decode()
    assert "票据已开具" in page and "POS 刷卡" in page and "直接开具的票据" in page
    assert "打印缴款通知书" not in page and f"/console/unit/notes/{code}/bill-notice.pdf" in page
    pdf_link = re.search(r'href="http://testserver(/v1/public/bills/[^"]+/pdf\?[^"]+)"', page)
    ofd_link = re.search(r'href="http://testserver(/v1/public/bills/[^"]+/ofd\?[^"]+)"', page)
    pdf = client.http.get(pdf_link.group(1).replace("&amp;", "&"))
    ofd = client.http.get(ofd_link.group(1).replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.body[:5] == b"%PDF-"
    assert ofd.status_code == 200 and ofd.body[:2] == b"PK"
    notice = get(client, f"/console/unit/notes/{code}/bill-notice.pdf", cookies)
    assert notice.status_code == 200 and notice.body[:5] == b"%PDF-"
    note = world.deps.notes.get(code)
    assert note.payment.channel == "pos" and note.template_id == "medical-inpatient"
    record = world.deps.bills.get(note.bill.bill_code, note.bill.bill_number)
    assert dict(record.bill.extra)["inpatient_number"] == "ZY2026000123"
    events = [e for e in world.deps.audit.query(bill_id="person#wang.yi")
              if e.action == "direct_bill_create"]
    assert len(events) == 1


def test_a_direct_bill_without_paid_by_is_400_and_without_the_csrf_token_403(client, world):
    cookies, token = hospital_operator(client, world)
    form = pairs("0602", INPATIENT, INPATIENT_EXTRA, "d2")
    r = send(client, "/console/unit/bills", form, cookies, token)
    assert r.status_code == 400 and 'id="e-paid_by"' in r.body.decode()
    r = send(client, "/console/unit/bills", [*form, ("paid_by", "cash")], cookies, None)
    assert r.status_code == 403
    assert not [e for e in world.deps.audit.query(bill_id="person#wang.yi")
                if e.action == "direct_bill_create"]


def test_a_unit_of_one_kind_without_extra_fields_sees_the_plain_form(client, world):
    cookies, token = sign_in(client, world, "unit_operator")
    html = get(client, "/console/unit/bills/new", cookies).body.decode()
    assert 'name="kind"' not in html and 'name="extra_' not in html
    form = pairs("0301", [("103040100101", "1", "80.00")], {}, "d3", paid_by="cash")
    code = code_of(send(client, "/console/unit/bills", form, cookies, token))
    world.drain()
    assert world.deps.notes.get(code).bill is not None
