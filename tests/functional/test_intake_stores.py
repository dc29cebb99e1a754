"""Where channel notifications are kept, end to end on moto: verified ones in the write-once
archive (Object Lock) under intake/, refused ones in the short-lived bucket, capped."""

import base64
import json
from datetime import timedelta

import pytest

from chalicelib.services.intake import (
    MAX_BODY_BYTES,
    REJECTED_BODY_PREFIX,
    REJECTED_PER_CLIENT_PER_HOUR,
    REJECTED_RETENTION_DAYS,
)
from chalicelib.services.payments import replay
from devstack.notifications import bank_notification, wechatpay_notification
from tests.functional.test_end_to_end import create_and_open, notify
from tests.world import TEMPLATE

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def keys(world, bucket, prefix=""):
    listing = world.deps._client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def archived_intake(world):
    return keys(world, world.deps.settings.archive_bucket, "intake/")


def rejected(world):
    return keys(world, world.deps.settings.rejected_intake_bucket)


def payments(world):
    table = world.deps.settings.table("PAYMENTS")
    return world.deps._client("dynamodb").scan(TableName=table)["Items"]


def forged_bank(world, n=0, client="203.0.113.9"):
    body, headers = bank_notification(world.stack, "34010026000000000017", 100,
                                      now=world.clock(), bank_txn_id=f"FORGED-{n}")
    return body.replace(b'"amount_fen":100', b'"amount_fen":1'), {
        **headers, "X-Forwarded-For": client}


def test_a_forged_notification_leaves_nothing_in_the_archive_and_one_short_lived_record(
        world, client):
    _, order = create_and_open(world, client)
    body, headers = wechatpay_notification(world.stack, order["out_trade_no"],
                                           order["amount_fen"], now=world.clock())
    forged = body.replace(b'"ciphertext":"', b'"ciphertext":"A')
    r = client.http.post("/callbacks/wechatpay", body=forged,
                         headers={**headers, "X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401 and json.loads(r.body)["code"] == "FAIL"
    world.drain()
    assert archived_intake(world) == []
    [key] = rejected(world)
    assert key.startswith("rejected/wechatpay/2026-06-15/")
    record = json.loads(world.deps.rejected_intake.get(key))
    assert record["outcome"] == "rejected" and record["client"] == "203.0.113.9"
    assert base64.b64decode(record["body_b64"]) == forged
    assert payments(world) == []


def test_the_21st_refusal_from_one_client_within_the_hour_is_not_stored(world, client):
    for n in range(REJECTED_PER_CLIENT_PER_HOUR + 1):
        body, headers = forged_bank(world, n)
        r = client.http.post("/callbacks/bank", body=body, headers=headers)
        assert r.status_code == 401
        assert json.loads(r.body)["error"]["code"] == "signature_invalid"
    assert len(rejected(world)) == REJECTED_PER_CLIENT_PER_HOUR == 20
    body, headers = forged_bank(world, 99, client="198.51.100.4")  # another client
    assert client.http.post("/callbacks/bank", body=body, headers=headers).status_code == 401
    assert len(rejected(world)) == 21
    assert archived_intake(world) == []
    world.clock.now += timedelta(hours=1)  # a new hour: the first client may be kept again
    body, headers = forged_bank(world, 100)
    client.http.post("/callbacks/bank", body=body, headers=headers)
    assert len(rejected(world)) == 22


@pytest.mark.parametrize("channel, content_type, answer", [
    ("wechatpay", "application/json", lambda r: json.loads(r.body)["code"] == "FAIL"),
    ("alipay", FORM, lambda r: r.body == b"fail"),
    ("unionpay", FORM, lambda r: r.body == b"fail"),
    ("bank", "application/json",
     lambda r: json.loads(r.body)["error"]["code"] == "payload_too_large"),
])
def test_an_oversize_body_is_refused_with_413_in_the_channels_shape_and_archives_nothing(
        world, client, channel, content_type, answer):
    body = b"{" + b" " * MAX_BODY_BYTES[channel] + b"}"
    r = client.http.post(f"/callbacks/{channel}", body=body,
                         headers={"Content-Type": content_type, "X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 413 and answer(r)
    world.drain()
    assert archived_intake(world) == [] and payments(world) == []
    [key] = rejected(world)
    record = json.loads(world.deps.rejected_intake.get(key))
    assert record["detail"].startswith("PayloadTooLarge")
    assert record["body_size"] == len(body) and record["body_truncated"] is True
    assert len(base64.b64decode(record["body_b64"])) == REJECTED_BODY_PREFIX


def test_an_accepted_notification_is_still_archived_write_once_under_intake(world, client):
    _, order = create_and_open(world, client)
    assert notify(world, client, order).status_code == 204
    assert archived_intake(world) == []  # it rides on the issuance job
    world.drain()
    [key] = archived_intake(world)
    s3 = world.deps._client("s3")
    head = s3.head_object(Bucket=world.deps.settings.archive_bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"].year >= world.clock().year + 29
    assert json.loads(world.deps.archive.get(key))["outcome"] == "recorded"
    assert rejected(world) == []
    assert replay(world.deps, key) == "duplicate"


def test_the_short_lived_bucket_has_the_templates_lifecycle_and_no_object_lock(world):
    s3 = world.deps._client("s3")
    bucket = world.deps.settings.rejected_intake_bucket
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Expiration"]["Days"] == REJECTED_RETENTION_DAYS == 7
    template = json.loads(TEMPLATE.read_text())["Resources"]["RejectedIntakeBucket"]
    assert rule["ID"] == template["Properties"]["LifecycleConfiguration"]["Rules"][0]["Id"]
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") is None
    with pytest.raises(Exception, match="ObjectLockConfigurationNotFound"):
        s3.get_object_lock_configuration(Bucket=bucket)
