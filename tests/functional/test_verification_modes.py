"""Verification in batches and by the bill file; a file altered after issue is tampered."""

import json

from tests.functional.test_reimbursements_api import issued_bill


def elements(bill):
    return {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}


def xml_of(client, bill):
    return client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/xml"
                           f"?check_code={bill['check_code']}").body


def test_a_batch_answers_each_bill_on_its_own(world, client):
    bill = issued_bill(world, client)
    wrong = dict(elements(bill), check_code="zzzzzz")
    items = [elements(bill), wrong, {"bill_code": "12"}, dict(elements(bill), total_fen=1)]
    r = client.http.post("/v1/verifications/batch", headers=world.auth(0, "reimbursers"),
                         body=json.dumps({"items": items}))
    assert r.status_code == 200
    out = json.loads(r.body)
    assert [x["result"] for x in out["results"]] == ["authentic", "not_found", "invalid",
                                                     "mismatch"]
    assert "bill_code" in out["results"][2]["error"]["fields"]
    assert out["results"][1]["bill"] is None
    assert out["summary"] == {"authentic": 1, "not_found": 1, "invalid": 1, "mismatch": 1}


def test_a_batch_of_more_than_500_is_refused(world, client):
    r = client.http.post("/v1/verifications/batch", headers=world.auth(0, "reimbursers"),
                         body=json.dumps({"items": [{}] * 501}))
    assert r.status_code == 400


def test_the_bill_file_itself_verifies_as_authentic(world, client):
    bill = issued_bill(world, client)
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/xml"})
    out = json.loads(client.http.post("/v1/verifications/file", headers=headers,
                                      body=xml_of(client, bill)).body)
    assert out["result"] == "authentic" and out["status"] == "normal"
    assert [c["ok"] for c in out["signatures"]] == [True, True]
    pdf = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/pdf"
                          f"?check_code={bill['check_code']}").body
    headers["Content-Type"] = "application/pdf"
    out = json.loads(client.http.post("/v1/verifications/file", headers=headers, body=pdf).body)
    assert out["result"] == "authentic"


def test_one_changed_digit_in_an_amount_is_tampered(world, client):
    bill = issued_bill(world, client)
    xml = xml_of(client, bill)
    altered = xml.replace(b"<ItemAmount>80.00</ItemAmount>", b"<ItemAmount>30.00</ItemAmount>")
    assert altered != xml
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/xml"})
    out = json.loads(client.http.post("/v1/verifications/file", headers=headers,
                                      body=altered).body)
    assert out["result"] == "tampered" and out["reason"] == "signature_invalid"
    assert [c["ok"] for c in out["signatures"]] == [False, False]
    assert out["bill"] is None and out["status"] is None


def test_a_file_that_is_not_a_bill_is_a_clear_400(world, client):
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/xml"})
    r = client.http.post("/v1/verifications/file", headers=headers, body=b"<html/>")
    assert r.status_code == 400 and json.loads(r.body)["error"]["fields"]["file"]


def post_file(world, client, body, content_type="application/xml", unit=0):
    headers = dict(world.auth(unit, "reimbursers"), **{"Content-Type": content_type})
    return client.http.post("/v1/verifications/file", headers=headers, body=body)


NOTHING = {"status": None, "bill": None, "reimbursement": None, "check_count": 0,
           "differences": []}


def test_a_forged_file_naming_a_real_bill_learns_nothing_of_it(world, client):
    """Issue 9.2: the forger knows a real bill's code and number, not its check code."""
    bill = issued_bill(world, client)
    real = xml_of(client, bill)
    forged = real.replace(f"<RandomNumber>{bill['check_code']}<".encode(), b"<RandomNumber>ZZZ999<")
    r = post_file(world, client, forged)
    assert r.status_code == 200
    out = json.loads(r.body)
    assert out["result"] == "tampered" and out["reason"] == "signature_invalid"
    assert {k: out[k] for k in NOTHING} == NOTHING
    assert [c["ok"] for c in out["signatures"]] == [False, False]
    text = r.body.decode()
    assert bill["check_code"] not in text and "张三" not in text and "normal" not in text
    # No oracle either: a forged file naming a bill that does not exist gets the same answer.
    ghost = forged.replace(f"<EInvoiceNumber>{bill['bill_number']}<".encode(),
                           b"<EInvoiceNumber>0999999999<")
    assert json.loads(post_file(world, client, ghost).body) == out
    # Nor did the forgery count as a check of the real bill.
    r = client.http.post("/v1/verifications", headers=world.auth(0, "reimbursers"),
                         body=json.dumps(elements(bill)))
    assert json.loads(r.body)["check_count"] == 1


def test_a_file_signed_with_our_keys_but_another_check_code_reveals_nothing(world, client):
    """Both signatures hold (as with a leaked key) but the check code is not the stored one."""
    from dataclasses import replace

    from chalicelib.services.issuance import sign_document

    bill = issued_bill(world, client)
    record = world.deps.bills.get(bill["bill_code"], bill["bill_number"])
    keys = world.deps.keys.all()
    unit_key = next(k for k in keys if k.use == "unit" and k.owner == record.bill.issuing_unit_code)
    finance_key = next(k for k in keys if k.use == "finance")
    other = replace(record.bill, check_code="ZZZ999", payer_name="李四")
    r = post_file(world, client, sign_document(world.deps, other, unit_key, finance_key))
    out = json.loads(r.body)
    assert out["result"] == "tampered" and out["reason"] == "check_code_mismatch"
    assert [c["ok"] for c in out["signatures"]] == [True, True]
    assert {k: out[k] for k in NOTHING} == NOTHING
    assert bill["check_code"] not in r.body.decode() and "张三" not in r.body.decode()


def _signature_bomb(xml: bytes, extra: int) -> bytes:
    signature = xml[xml.index(b'<Signature Role="supervisor"'):xml.index(b"</EInvoiceSignature>")]
    return xml.replace(b"</EInvoiceSignature>", signature * extra + b"</EInvoiceSignature>")


def test_hostile_uploads_are_each_a_400_in_the_error_shape(world, client):
    from chalicelib.adapters.bill_files import MAX_FILE_BYTES
    from chalicelib.domain.bill_xml import MAX_XML_BYTES
    from tests.hostile import attachment_pdf, hostile_pdfs

    bill = issued_bill(world, client)
    xml = xml_of(client, bill)
    cases = {
        "400 extra signatures": (_signature_bomb(xml, 400), "unexpected_signatures"),
        "an unknown encoding": (xml.replace(b'encoding="UTF-8"', b'encoding="x-nope"'),
                                "unsupported_encoding"),
        "10,000 nested elements": (xml.replace(b"<Remark>", b"<Remark>" + b"<a>" * 10_000
                                               + b"</a>" * 10_000), "bill_file_too_complex"),
        "an XML over the limit": (xml + b" " * MAX_XML_BYTES, "file_too_large"),
        "a PDF over the limit": (b"%PDF-1.7\n" + b"%" * MAX_FILE_BYTES, "file_too_large"),
        "a signature bomb inside a PDF": (attachment_pdf(b"<< /Type /EmbeddedFile >>",
                                                         _signature_bomb(xml, 400)),
                                          "unexpected_signatures"),
    }
    cases.update({f"a PDF with {name}": (pdf, None) for name, pdf in hostile_pdfs().items()})
    for name, (body, code) in cases.items():
        content_type = "application/pdf" if body.startswith(b"%PDF-") else "application/xml"
        r = post_file(world, client, body, content_type)
        assert r.status_code == 400, (name, r.status_code, r.body[:200])
        error = json.loads(r.body)["error"]
        assert set(error) >= {"code", "message", "fields"} and error["fields"]["file"], name
        assert code is None or error["code"] == code, (name, error)
