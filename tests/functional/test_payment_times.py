"""A correctly signed payment notification without its payment time is refused (the channel's
400), never a 500 from the payments store, and records nothing.

Found by the fuzz tier (tests/fuzz): the time is a key of the payments table's index, where an
empty string is refused by DynamoDB itself.
"""

from __future__ import annotations

from devstack.notifications import alipay_notification
from tests.functional.channel_support import opened
from tests.functional.support import notification, payments, post_notification


def test_a_wechat_payment_without_a_success_time_is_refused_and_records_nothing(world, client):
    _, order = opened(world, client, "wechatpay")
    r = post_notification(client, *notification(world, order, success_time=""))
    assert r.status_code == 400, r.body
    assert payments(world) == []


def test_a_wechat_payment_whose_success_time_is_not_a_time_is_refused(world, client):
    _, order = opened(world, client, "wechatpay")
    r = post_notification(client, *notification(world, order, success_time="昨天"))
    assert r.status_code == 400, r.body
    assert payments(world) == []


def test_a_paid_alipay_notice_without_gmt_payment_is_refused_and_records_nothing(world, client):
    _, order = opened(world, client, "alipay")
    body, headers = alipay_notification(world.stack, order["out_trade_no"], order["amount_fen"],
                                        now=world.clock(), gmt_payment="")
    r = client.http.post("/callbacks/alipay", headers=headers, body=body)
    assert (r.status_code, r.body) == (400, b"fail")
    assert payments(world) == []
