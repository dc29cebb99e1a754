"""``POST /v1/bills`` (直接开票): a collecting unit bills money it received itself; the bill is
numbered, signed, archived, verifiable and reimbursable like any other."""

from __future__ import annotations

import json

from tests.functional.support import JSON, NOTE, assert_error, body_of

DIRECT = {**NOTE, "paid_by": "cash", "paid_at": "2026-06-15T09:30:00+08:00"}


def post_bill(world, client, body: dict, key: str | None = None, unit: int = 0):
    headers = dict(world.auth(unit), **({"Idempotency-Key": key} if key else {}))
    return client.http.post("/v1/bills", headers=headers, body=json.dumps(body))


def issued_direct_bill(world, client, body: dict | None = None, key: str = "direct-1") -> dict:
    first = post_bill(world, client, body or DIRECT, key)
    assert first.status_code == 202, first.body
    world.drain()
    again = post_bill(world, client, body or DIRECT, key)
    assert again.status_code == 201, again.body
    assert again.headers["Idempotent-Replayed"] == "true"
    return body_of(again)


def test_a_direct_bill_is_queued_then_issued_and_the_same_key_gives_the_bill(world, client):
    r = post_bill(world, client, DIRECT, "direct-1")
    assert r.status_code == 202, r.body
    queued = body_of(r)
    assert queued["status"] == "paid" and queued["status_url"].endswith(
        f"/v1/notes/{queued['payment_code']}")
    world.drain()
    note = body_of(client.http.get(f"/v1/notes/{queued['payment_code']}", headers=world.auth()))
    assert note["status"] == "issued"
    assert note["payment"]["channel"] == "cash" and note["payment"]["amount_fen"] == 10000
    again = post_bill(world, client, DIRECT, "direct-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    bill = body_of(again)
    assert bill["payment_code"] == queued["payment_code"]
    assert bill["url"].startswith(f"http://testserver/bills/{bill['bill_code']}/")
    assert (bill["bill_code"], bill["bill_number"], bill["check_code"]) == (
        note["bill"]["bill_code"], note["bill"]["bill_number"], note["bill"]["check_code"])


def test_a_direct_bill_verifies_and_records_how_the_money_came(world, client):
    bill = issued_direct_bill(world, client, {**DIRECT, "paid_by": "pos"})
    xml = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/xml"
                          f"?check_code={bill['check_code']}").body
    assert b"<PayMode>pos</PayMode>" in xml
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/xml"})
    out = body_of(client.http.post("/v1/verifications/file", headers=headers, body=xml))
    assert out["result"] == "authentic"


def test_a_direct_bill_is_reimbursable_like_any_other(world, client):
    bill = issued_direct_bill(world, client)
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    r = client.http.post("/v1/reimbursements", headers=world.auth(0, "reimbursers"),
                         body=json.dumps({**body, "voucher_no": "记-1"}))
    assert r.status_code == 201, r.body


def test_the_same_key_with_another_body_is_409(world, client):
    assert post_bill(world, client, DIRECT, "direct-2").status_code == 202
    r = post_bill(world, client, {**DIRECT, "paid_by": "transfer"}, "direct-2")
    assert_error(r, 409)


def test_a_bad_direct_bill_names_every_wrong_field(world, client):
    body = {**DIRECT, "paid_by": "card", "paid_at": "2026-06-16T09:00:00+08:00",
            "due_date": "2026-07-01", "total_fen": 1}
    r = post_bill(world, client, body)
    assert_error(r, 400)
    fields = body_of(r)["error"]["fields"]
    assert {"paid_by", "paid_at", "due_date", "total_fen"} <= set(fields)
    assert "future" in fields["paid_at"]


def test_paid_by_is_required_and_nothing_is_written_without_it(world, client):
    before = client.http.get("/v1/notes", headers=world.auth())
    r = post_bill(world, client, NOTE)
    assert_error(r, 400)
    assert "paid_by" in body_of(r)["error"]["fields"]
    assert client.http.get("/v1/notes", headers=world.auth()).body == before.body


def test_a_reimbursing_units_key_may_not_issue_bills(world, client):
    r = client.http.post("/v1/bills", headers=world.auth(0, "reimbursers"),
                         body=json.dumps(DIRECT))
    assert_error(r, 403)


def test_no_key_is_401(world, client):
    assert_error(client.http.post("/v1/bills", headers=JSON, body=json.dumps(DIRECT)), 401)
