"""Reversal (冲红) and void (作废) by the issuing unit."""

import json

from chalicelib.adapters.bill_files import verify_bill_file
from tests.functional.test_reimbursements_api import issued_bill, reimburse


def path(bill, action):
    return f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/{action}"


def verify(world, client, bill):
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    return json.loads(client.http.post("/v1/verifications", headers=world.auth(0, "reimbursers"),
                                       body=json.dumps(body)).body)


def test_reversal_issues_a_signed_red_bill_linked_both_ways(world, client):
    bill = issued_bill(world, client)
    r = client.http.post(path(bill, "reversal"), headers=world.auth(),
                         body=json.dumps({"reason": "缴款人申请退费"}))
    assert r.status_code == 201, r.body
    red = json.loads(r.body)
    assert red["bill_code"] == bill["bill_code"] and red["bill_number"] == "0000000002"
    again = client.http.post(path(bill, "reversal"), headers=world.auth(),
                             body=json.dumps({"reason": "缴款人申请退费"}))
    assert again.status_code == 200 and json.loads(again.body)["bill_number"] == "0000000002"

    original = verify(world, client, bill)
    assert original["result"] == "authentic" and original["status"] == "reversed"
    assert original["bill"]["reversed_by"]["bill_number"] == red["bill_number"]
    red_view = verify(world, client, red)
    assert red_view["status"] == "normal" and red_view["bill"]["total_fen"] == -10000
    assert red_view["bill"]["total_capitals"] == "负壹佰元整"
    assert red_view["bill"]["reverses"]["bill_number"] == bill["bill_number"]

    xml = client.http.get(f"/v1/public/bills/{red['bill_code']}/{red['bill_number']}/xml"
                          f"?check_code={red['check_code']}").body
    keys = {k["kid"]: k for k in json.loads(client.http.get("/v1/public/keys").body)["keys"]}
    report = verify_bill_file(xml, keys)
    assert report.ok and report.bill.bill.related_bill == bill["bill_code"] + bill["bill_number"]

    world.drain()
    from moto.sns.models import sns_backends

    texts = [m[1] for m in sns_backends["123456789012"]["cn-north-1"].sms_messages.values()]
    assert any("已冲红" in t and red["check_code"] in t for t in texts)
    page = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                           f"?check_code={bill['check_code']}")
    assert "已冲红".encode() in page.body


def test_a_reversed_bill_cannot_be_reimbursed_but_a_reimbursed_one_can_be_reversed(world, client):
    bill = issued_bill(world, client)
    assert reimburse(world, client, bill).status_code == 201
    r = client.http.post(path(bill, "reversal"), headers=world.auth(),
                         body=json.dumps({"reason": "退费"}))
    assert r.status_code == 201
    result = verify(world, client, bill)
    assert result["status"] == "reversed" and result["reimbursement"] is not None
    other = issued_bill(world, client)
    client.http.post(path(other, "reversal"), headers=world.auth(),
                     body=json.dumps({"reason": "退费"}))
    assert reimburse(world, client, other).status_code == 409


def test_only_the_issuing_unit_may_reverse_or_void(world, client):
    bill = issued_bill(world, client)
    for action in ("reversal", "void"):
        r = client.http.post(path(bill, action), headers=world.auth(1),
                             body=json.dumps({"reason": "x"}))
        assert r.status_code == 404
    r = client.http.post(path(bill, "reversal"), headers=world.auth(),
                         body=json.dumps({}))
    assert r.status_code == 400 and "reason" in json.loads(r.body)["error"]["fields"]


def test_void_marks_the_bill_and_is_refused_once_reimbursed(world, client):
    bill = issued_bill(world, client)
    r = client.http.post(path(bill, "void"), headers=world.auth(),
                         body=json.dumps({"reason": "开票信息填写错误"}))
    assert r.status_code == 200 and json.loads(r.body)["status"] == "voided"
    assert verify(world, client, bill)["status"] == "voided"
    assert reimburse(world, client, bill).status_code == 409
    assert client.http.post(path(bill, "reversal"), headers=world.auth(),
                            body=json.dumps({"reason": "x"})).status_code == 409
    held = issued_bill(world, client)
    reimburse(world, client, held)
    r = client.http.post(path(held, "void"), headers=world.auth(),
                         body=json.dumps({"reason": "错误"}))
    assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "already_reimbursed"


def test_a_bill_exchanged_to_paper_is_marked_and_no_longer_reimbursed(world, client):
    bill = issued_bill(world, client)
    paper = {"paper_bill_code": "34012126", "paper_bill_number": "0000000007"}
    r = client.http.post(path(bill, "paper"), headers=world.auth(), body=json.dumps(paper))
    assert r.status_code == 200 and json.loads(r.body)["paper"]["bill_number"] == "0000000007"
    again = client.http.post(path(bill, "paper"), headers=world.auth(), body=json.dumps(paper))
    assert again.status_code == 200
    result = verify(world, client, bill)
    assert result["status"] == "normal" and result["bill"]["paper"]["bill_code"] == "34012126"
    r = reimburse(world, client, bill)
    assert r.status_code == 409
    assert json.loads(r.body)["error"]["code"] == "bill_exchanged_to_paper"
    bad = client.http.post(path(bill, "paper"), headers=world.auth(),
                           body=json.dumps({"paper_bill_code": "1"}))
    assert bad.status_code == 400
    held = issued_bill(world, client)
    reimburse(world, client, held)
    assert client.http.post(path(held, "paper"), headers=world.auth(),
                            body=json.dumps(paper)).status_code == 409


def test_a_red_bill_is_neither_reversed_nor_voided(world, client):
    bill = issued_bill(world, client)
    red = json.loads(client.http.post(path(bill, "reversal"), headers=world.auth(),
                                      body=json.dumps({"reason": "退费"})).body)
    for action in ("reversal", "void"):
        r = client.http.post(path(red, action), headers=world.auth(),
                             body=json.dumps({"reason": "再冲一次"}))
        assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "bill_is_red"
    assert verify(world, client, red)["status"] == "normal"
    assert verify(world, client, bill)["status"] == "reversed"
