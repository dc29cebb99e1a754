"""ENABLED_CHANNELS covers the callbacks: a disabled channel's genuine notification is refused in
that channel's own failure form, and nothing is recorded, kept or enqueued."""

import json
from dataclasses import replace

import pytest

from devstack.notifications import (
    alipay_notification,
    bank_notification,
    unionpay_notification,
    wechatpay_notification,
)
from tests.functional.test_other_channels import new_note, note_of, open_order, payments


def only(world, *channels):
    world.deps.settings = replace(world.deps.settings, enabled_channels=channels)


def archived_keys(world):
    s3 = world.deps._client("s3")
    listed = s3.list_objects_v2(Bucket=world.deps.settings.archive_bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


def queued(world):
    sqs = world.deps._client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=world.deps.settings.issue_queue_url,
                                     AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def genuine(world, channel, code, order):
    if channel == "wechatpay":
        return wechatpay_notification(world.stack, order["out_trade_no"], 10000, now=world.clock())
    if channel == "alipay":
        return alipay_notification(world.stack, order["out_trade_no"], 10000, now=world.clock())
    if channel == "unionpay":
        return unionpay_notification(world.stack, order["out_trade_no"], 10000, now=world.clock())
    return bank_notification(world.stack, code, 10000, now=world.clock())


REFUSALS = {
    "wechatpay": lambda r: json.loads(r.body) == {"code": "FAIL", "message": "支付渠道未启用"},
    "alipay": lambda r: r.body == b"fail",
    "unionpay": lambda r: r.body == b"fail",
    "bank": lambda r: json.loads(r.body)["error"]["code"] == "channel_disabled",
}


@pytest.mark.parametrize("channel", ["wechatpay", "alipay", "unionpay", "bank"])
def test_a_disabled_channels_genuine_notification_is_refused_and_records_nothing(
        world, client, channel):
    code = new_note(world, client)
    order = open_order(client, code, channel) if channel != "bank" else None
    before = archived_keys(world)
    only(world, *(c for c in ("wechatpay", "alipay", "unionpay", "bank") if c != channel))
    body, headers = genuine(world, channel, code, order)

    r = client.http.post(f"/callbacks/{channel}", headers=headers, body=body)

    assert r.status_code == 403 and REFUSALS[channel](r), r.body
    assert payments(world) == [] and queued(world) == 0
    assert archived_keys(world) == before
    assert note_of(world, client, code)["status"] == "unpaid"


def test_the_same_notification_is_accepted_once_the_channel_is_enabled(world, client):
    code = new_note(world, client)
    order = open_order(client, code, "alipay")
    body, headers = genuine(world, "alipay", code, order)
    only(world, "wechatpay")
    assert client.http.post("/callbacks/alipay", headers=headers, body=body).status_code == 403
    only(world, "wechatpay", "alipay")
    r = client.http.post("/callbacks/alipay", headers=headers, body=body)
    assert r.status_code == 200 and r.body == b"success"
    assert len(payments(world)) == 1
