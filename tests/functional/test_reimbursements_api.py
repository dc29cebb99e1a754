"""Reimbursement recording: once across all units, released only by its holder."""

import json

from tests.functional.test_end_to_end import create_and_open, notify


def issued_bill(world, client):
    code, order = create_and_open(world, client)
    notify(world, client, order)
    world.drain()
    return json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)["bill"]


def reimburse(world, client, bill, unit=0, voucher="记-2026-11-001"):
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    body["voucher_no"] = voucher
    return client.http.post("/v1/reimbursements", headers=world.auth(unit, kind="reimbursers"),
                            body=json.dumps(body))


def test_the_first_unit_records_and_holds_the_bill(world, client):
    bill = issued_bill(world, client)
    first = reimburse(world, client, bill)
    assert first.status_code == 201
    record = json.loads(first.body)
    assert record["unit_code"] == "340100901" and record["voucher_no"] == "记-2026-11-001"
    again = reimburse(world, client, bill)
    assert again.status_code == 200 and json.loads(again.body) == record


def test_another_unit_is_told_who_holds_the_bill(world, client):
    bill = issued_bill(world, client)
    assert reimburse(world, client, bill).status_code == 201
    other = reimburse(world, client, bill, unit=1)
    assert other.status_code == 409
    error = json.loads(other.body)["error"]
    assert error["code"] == "already_reimbursed"
    assert error["holder"]["unit_code"] == "340100901"


def test_only_the_holder_releases_and_then_another_unit_may_record(world, client):
    bill = issued_bill(world, client)
    reimburse(world, client, bill)
    path = f"/v1/reimbursements/{bill['bill_code']}/{bill['bill_number']}"
    assert client.http.delete(path, headers=world.auth(1, kind="reimbursers")).status_code == 403
    assert client.http.delete(path, headers=world.auth(0, kind="reimbursers")).status_code == 204
    assert client.http.delete(path, headers=world.auth(0, kind="reimbursers")).status_code == 404
    assert reimburse(world, client, bill, unit=1).status_code == 201


def test_verification_shows_the_reimbursement_and_everything_is_audited(world, client):
    from datetime import timedelta

    bill = issued_bill(world, client)
    reimburse(world, client, bill)
    world.clock.now += timedelta(seconds=1)
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    result = json.loads(client.http.post("/v1/verifications",
                                         headers=world.auth(1, kind="reimbursers"),
                                         body=json.dumps(body)).body)
    assert result["result"] == "authentic"
    assert result["reimbursement"]["unit_code"] == "340100901"
    events = world.deps.audit.query(bill_id=bill["bill_code"] + bill["bill_number"])
    assert [(e.action, e.outcome) for e in events] == [("verify", "authentic"),
                                                             ("reimburse", "recorded")]
    assert world.deps.audit.query(unit_code="340100902")[0].action == "verify"


def test_a_wrong_check_code_records_nothing(world, client):
    bill = issued_bill(world, client)
    wrong = dict(bill, check_code="000000" if bill["check_code"] != "000000" else "111111")
    assert reimburse(world, client, wrong).status_code == 404
    assert world.deps.reimbursements.get(bill["bill_code"] + bill["bill_number"]) is None
