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
    assert out["result"] == "tampered"
    assert [c["ok"] for c in out["signatures"]] == [False, False]


def test_a_file_that_is_not_a_bill_is_a_clear_400(world, client):
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/xml"})
    r = client.http.post("/v1/verifications/file", headers=headers, body=b"<html/>")
    assert r.status_code == 400 and json.loads(r.body)["error"]["fields"]["file"]
