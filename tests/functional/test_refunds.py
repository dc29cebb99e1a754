"""Exception payments are refunded through their channel by the refund job, idempotently.

A note paid twice (two orders, both paid at the cashier) keeps one payment and records the
other as an exception; the job gives that one back and the unit sees the refund's status.
"""

from __future__ import annotations

import json

from chalicelib.domain.payments import out_refund_no
from devstack.notifications import bank_notification, wechatpay_notification
from tests.functional.channel_support import (
    later,
    opened,
    paid_twice,
    run_job,
)
from tests.functional.support import get_note, payments, post_notification


def exceptions_of(world, client, code: str) -> list[dict]:
    return get_note(world, client, code)["exceptions"]


def refund_calls(world, channel: str) -> list[dict]:
    apis = {"wechatpay": "/v3/refund/domestic/refunds", "alipay": "alipay.trade.refund",
            "unionpay": "/gateway/api/backTransReq.do"}
    return [sent for c, api, sent in world.channels.calls if c == channel and api == apis[channel]]


def test_a_wechat_refund_is_requested_then_closed_by_the_refund_notification(world, client):
    code, row = paid_twice(world, client, "wechatpay")
    run_job("refund_exceptions")
    number = out_refund_no(row["payment_id"])
    [sent] = refund_calls(world, "wechatpay")
    assert (sent["out_refund_no"], sent["transaction_id"]) == (number, row["channel_txn_id"])
    assert sent["notify_url"] == "http://testserver/callbacks/wechatpay"
    [shown] = exceptions_of(world, client, code)
    assert (shown["refund_status"], shown["out_refund_no"]) == ("requested", number)
    status = world.channels.servers["wechatpay"].complete_refund(number)  # REFUND.SUCCESS
    assert status == 204
    [shown] = exceptions_of(world, client, code)
    refund_id = world.channels.refunds[("wechatpay", number)].refund_id
    assert (shown["refund_status"], shown["refund_id"]) == ("succeeded", refund_id)
    listed = json.loads(client.http.get("/v1/payment-exceptions", headers=world.auth()).body)
    assert [e["refund_status"] for e in listed["exceptions"]] == ["succeeded"]
    assert world.channels.servers["wechatpay"].complete_refund(number) == 204  # a repeat
    later(world, 30)
    run_job("refund_exceptions")  # nothing is due any more
    assert len(refund_calls(world, "wechatpay")) == 1
    assert get_note(world, client, code)["status"] in ("paid", "issued")  # the bill stands


def test_a_refund_request_that_failed_is_retried_under_the_same_out_refund_no(world, client):
    code, row = paid_twice(world, client, "wechatpay")
    world.channels.failing["wechatpay"] = 503
    run_job("refund_exceptions")
    assert exceptions_of(world, client, code)[0]["refund_status"] == "requested"
    del world.channels.failing["wechatpay"]
    run_job("refund_exceptions")  # too soon: asked again only after a pause
    later(world, 11)
    run_job("refund_exceptions")
    numbers = [sent["out_refund_no"] for sent in refund_calls(world, "wechatpay")]
    assert numbers == [out_refund_no(row["payment_id"])] * 2
    assert len(world.channels.refunds) == 1  # the channel made one refund
    later(world, 11)
    run_job("refund_exceptions")  # still PROCESSING: the same refund is asked about again
    assert len(world.channels.refunds) == 1 and len(refund_calls(world, "wechatpay")) == 3


def test_an_alipay_refund_succeeds_synchronously(world, client):
    code, row = paid_twice(world, client, "alipay")
    run_job("refund_exceptions")
    [sent] = refund_calls(world, "alipay")
    assert (sent["trade_no"], sent["refund_amount"]) == (row["channel_txn_id"], "100.00")
    [shown] = exceptions_of(world, client, code)
    assert (shown["refund_status"], shown["refund_id"]) == (
        "succeeded", out_refund_no(row["payment_id"]))


def test_a_unionpay_refund_is_requested_then_confirmed_by_query(world, client):
    code, row = paid_twice(world, client, "unionpay")
    run_job("refund_exceptions")
    [sent] = refund_calls(world, "unionpay")
    assert (sent["txnType"], sent["origQryId"]) == ("04", row["channel_txn_id"])
    assert exceptions_of(world, client, code)[0]["refund_status"] == "requested"
    later(world, 11)
    run_job("refund_exceptions")
    assert exceptions_of(world, client, code)[0]["refund_status"] == "succeeded"
    assert len(refund_calls(world, "unionpay")) == 1  # confirmed by query, not asked twice


def test_a_bank_counter_exception_is_left_to_the_unit_as_manual(world, client):
    from tests.functional.support import create_note

    code = create_note(world, client)["payment_code"]
    body, headers = bank_notification(world.stack, code, 9000, now=world.clock())
    assert client.http.post("/callbacks/bank", body=body, headers=headers).status_code == 409
    run_job("refund_exceptions")
    [shown] = exceptions_of(world, client, code)
    assert shown["refund_status"] == "manual" and "线下退款" in shown["refund_detail"]
    assert world.channels.calls == []


def test_a_refund_notice_for_a_refund_we_did_not_ask_for_changes_nothing(world, client):
    code, row = paid_twice(world, client, "wechatpay")
    from devstack.builders.wechatpay import refund_resource, sign_notification

    wx = world.stack["channels"]["wechatpay"]
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(
        Path(wx["platform_private_key_pem"]).read_bytes(), None)
    body, headers = sign_notification(
        refund_resource(mchid=wx["mchid"], out_trade_no=row["out_trade_no"],
                        transaction_id=row["channel_txn_id"], out_refund_no="RNOTOURS0000001",
                        refund_id="5030", refund_fen=10000, total_fen=10000,
                        success_time="2026-03-02T10:00:00+08:00"),
        event_type="REFUND.SUCCESS", config_apiv3_key=wx["apiv3_key"].encode(),
        platform_private_key=key, serial=wx["platform_serial"],  # type: ignore[arg-type]
        now=int(world.clock().timestamp()))
    assert post_notification(client, body, headers).status_code == 204
    assert exceptions_of(world, client, code)[0]["refund_status"] == "pending"


def test_a_transaction_notice_without_appid_is_still_refused(world, client):
    """Refunds taught the verifier that appid may be absent: never for a payment."""
    code, view = opened(world, client, "wechatpay")
    body, headers = wechatpay_notification(world.stack, view["out_trade_no"], 10000,
                                           now=world.clock(), appid=None)
    r = post_notification(client, body, headers)
    assert r.status_code in (400, 401), r.body
    assert get_note(world, client, code)["status"] == "unpaid" and payments(world) == []
