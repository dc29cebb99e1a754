"""Alipay, UnionPay and agent-bank payments, end to end through their callbacks."""

import json
from datetime import timedelta

from devstack.notifications import (
    alipay_notification,
    bank_notification,
    unionpay_notification,
)
from tests.functional.test_end_to_end import NOTE, notify


def new_note(world, client):
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(NOTE))
    return json.loads(r.body)["payment_code"]


def open_order(client, code, channel):
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers={"Content-Type": "application/json"},
                         body=json.dumps({"channel": channel}))
    assert r.status_code == 201, r.body
    return json.loads(r.body)


def note_of(world, client, code):
    return json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)


def payments(world):
    table = world.deps.settings.table("PAYMENTS")
    return world.deps._client("dynamodb").scan(TableName=table)["Items"]


def post(client, channel, body, headers):
    return client.http.post(f"/callbacks/{channel}", headers=headers, body=body)


def test_an_alipay_payment_is_recorded_once_and_issued(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "alipay")
    body, headers = alipay_notification(world.stack, order["out_trade_no"], 10000,
                                        now=world.clock(), trade_no="2026112222001400000000000001")
    r = post(client, "alipay", body, headers)
    assert r.status_code == 200 and r.body == b"success"
    finished, _ = alipay_notification(world.stack, order["out_trade_no"], 10000, now=world.clock(),
                                      trade_no="2026112222001400000000000001",
                                      trade_status="TRADE_FINISHED")
    assert post(client, "alipay", finished, headers).body == b"success"
    assert len(payments(world)) == 1
    world.drain()
    note = note_of(world, client, code)
    assert note["status"] == "issued" and note["payment"]["channel"] == "alipay"


def test_a_tampered_alipay_notification_changes_nothing(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "alipay")
    body, headers = alipay_notification(world.stack, order["out_trade_no"], 10000,
                                        now=world.clock())
    tampered = body.replace(b"total_amount=100.00", b"total_amount=1.00")
    assert tampered != body
    r = post(client, "alipay", tampered, headers)
    assert r.status_code == 400 and r.body == b"fail"
    assert payments(world) == [] and note_of(world, client, code)["status"] == "unpaid"


def test_a_unionpay_payment_is_recorded_and_a_tampered_one_is_not(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "unionpay")
    body, headers = unionpay_notification(world.stack, order["out_trade_no"], 10000,
                                          now=world.clock())
    bad = body.replace(b"txnAmt=10000", b"txnAmt=100")
    assert bad != body
    assert post(client, "unionpay", bad, headers).status_code == 400
    r = post(client, "unionpay", body, headers)
    assert r.status_code == 200 and r.body == b"ok"
    world.drain()
    assert note_of(world, client, code)["status"] == "issued"


def test_an_agent_bank_counter_payment_pays_the_note_by_its_code(world, client):
    code = new_note(world, client)
    body, headers = bank_notification(world.stack, code, 10000, now=world.clock(),
                                      bank_txn_id="ABC20261122000001")
    r = post(client, "bank", body, headers)
    assert r.status_code == 200 and json.loads(r.body)["result"] == "recorded"
    again = post(client, "bank", body, headers)
    assert json.loads(again.body)["result"] == "duplicate"
    world.drain()
    note = note_of(world, client, code)
    assert note["status"] == "issued" and note["payment"]["channel"] == "bank"


def test_a_counter_payment_of_the_wrong_amount_is_an_exception_not_a_bill(world, client):
    code = new_note(world, client)
    body, headers = bank_notification(world.stack, code, 9000, now=world.clock())
    r = post(client, "bank", body, headers)
    assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "amount_mismatch"
    assert note_of(world, client, code)["status"] == "unpaid"
    [row] = payments(world)
    assert row["status"]["S"] == "exception" and row["reason"]["S"] == "amount_mismatch"


def test_a_note_paid_by_wechat_then_at_the_counter_gets_one_bill_and_one_exception(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "wechatpay")
    assert notify(world, client, order).status_code == 204
    body, headers = bank_notification(world.stack, code, 10000, now=world.clock())
    r = post(client, "bank", body, headers)
    assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "note_not_payable"
    world.drain()
    statuses = sorted(p["status"]["S"] for p in payments(world))
    assert statuses == ["applied", "exception"]
    bills = world.deps._client("dynamodb").scan(TableName=world.deps.settings.table("BILLS"))
    assert bills["Count"] == 1


def test_a_replayed_or_forged_counter_payment_is_refused(world, client):
    code = new_note(world, client)
    old, headers = bank_notification(world.stack, code, 10000,
                                     now=world.clock() - timedelta(seconds=301))
    assert post(client, "bank", old, headers).status_code == 401
    body, headers = bank_notification(world.stack, code, 10000, now=world.clock())
    forged = body.replace(b'"amount_fen":10000', b'"amount_fen":1')
    assert post(client, "bank", forged, headers).status_code == 401
    unknown, headers = bank_notification(world.stack, "34010026000000000000"[:19] + "0", 100,
                                         now=world.clock())
    assert post(client, "bank", unknown, headers).status_code in (400, 404)
    assert payments(world) == []


def test_payment_exceptions_are_shown_to_the_unit_that_must_refund_them(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "wechatpay")
    notify(world, client, order)
    body, headers = bank_notification(world.stack, code, 10000, now=world.clock(),
                                      bank_txn_id="ABC-SECOND")
    post(client, "bank", body, headers)
    note = note_of(world, client, code)
    assert [(e["channel"], e["reason"], e["refund_status"]) for e in note["exceptions"]] == [
        ("bank", "note_not_payable", "pending")]
    listed = json.loads(client.http.get("/v1/payment-exceptions", headers=world.auth()).body)
    assert [e["payment_code"] for e in listed["exceptions"]] == [code]
    other = json.loads(client.http.get("/v1/payment-exceptions", headers=world.auth(1)).body)
    assert other["exceptions"] == []


def intake_keys(world):
    s3 = world.deps._client("s3")
    listing = s3.list_objects_v2(Bucket=world.deps.settings.archive_bucket, Prefix="intake/")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_every_notification_is_kept_as_received_with_its_outcome(world, client):
    from chalicelib.services.payments import replay

    code = new_note(world, client)
    order = open_order(client, code, "alipay")
    body, headers = alipay_notification(world.stack, order["out_trade_no"], 10000,
                                        now=world.clock())
    tampered = body.replace(b"total_amount=100.00", b"total_amount=9.00")
    post(client, "alipay", tampered, headers)
    post(client, "alipay", body, headers)
    assert intake_keys(world) == []  # the accepted one rides on the issuance job
    world.drain()
    [key] = intake_keys(world)  # the archive keeps the verified notification only
    accepted = json.loads(world.deps.archive.get(key))
    assert accepted["outcome"] == "recorded"
    import base64

    assert base64.b64decode(accepted["body_b64"]) == body
    # The tampered one is kept, with why, in the short-lived store (services/intake.py).
    s3 = world.deps._client("s3")
    [refused_key] = [o["Key"] for o in s3.list_objects_v2(
        Bucket=world.deps.settings.rejected_intake_bucket, Prefix="rejected/alipay/")["Contents"]]
    refused = json.loads(world.deps.rejected_intake.get(refused_key))
    assert refused["outcome"] == "rejected" and base64.b64decode(refused["body_b64"]) == tampered
    world.clock.now += timedelta(days=3)
    assert replay(world.deps, key) == "duplicate"
    assert replay(world.deps, refused_key) == "rejected"
