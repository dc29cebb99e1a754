"""WeChat Pay in service-provider mode (服务商模式), end to end: a unit the finance department
gave its own sub_mchid has its orders opened at the partner endpoints for it, paid, notified in
the partner shape, queried, refunded and reconciled as that sub-merchant's; a notification
naming another merchant than the order's is refused and records nothing; a unit without a
merchant of its own sends exactly what it sent before."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.payments import out_refund_no
from devstack.builders.wechatpay import (
    partner_transaction_resource,
    sign_notification,
    transaction_resource,
)
from tests.functional.channel_support import (
    at_cashier,
    deliver_through,
    later,
    opened,
    paid_before_and_after,
    paid_twice,
    press_pay,
    run_job,
)
from tests.functional.support import body_of, get_note, payments, post_notification

UNIT = "340100001"
SUB_MCHID, SUB_APPID = "1900000109", "wx0123456789abcdef"
EVENT = Path(__file__).resolve().parent.parent / "events" / \
    "wechatpay_partner_transaction_success.json"
PARTNER_H5 = "/v3/pay/partner/transactions/h5"


def give_sub_merchant(world, client, sub_mchid: str = SUB_MCHID, sub_appid: str | None = None):
    body = {"sub_mchid": sub_mchid, **({"sub_appid": sub_appid} if sub_appid else {})}
    r = client.http.put(f"/v1/admin/units/{UNIT}/merchants/wechatpay",
                        headers=world.finance_auth(), body=json.dumps(body))
    assert r.status_code == 200, r.body
    world.deps.units.forget()  # this process's copy of the unit (others: within a minute)


def sent(world, api: str) -> list[dict]:
    return [data for channel, path, data in world.channels.calls
            if channel == "wechatpay" and path == api]


def stored_order(world, out_trade_no: str):
    return world.deps.notes.get_order(out_trade_no)


def signed(world, resource: dict) -> tuple[bytes, dict[str, str]]:
    wx = world.stack["channels"]["wechatpay"]
    key = serialization.load_pem_private_key(Path(wx["platform_private_key_pem"]).read_bytes(),
                                             None)
    return sign_notification(resource, config_apiv3_key=wx["apiv3_key"].encode(),
                             platform_private_key=key,  # type: ignore[arg-type]
                             serial=wx["platform_serial"], now=int(world.clock().timestamp()))


def partner_resource(world, order: dict, sub_mchid: str = SUB_MCHID, **overrides) -> dict:
    wx = world.stack["channels"]["wechatpay"]
    resource = partner_transaction_resource(
        sp_mchid=wx["mchid"], sp_appid=wx["appid"], sub_mchid=sub_mchid,
        out_trade_no=order["out_trade_no"],
        transaction_id="4200000848" + world.clock().strftime("%Y%m%d%H%M%S"),
        amount_fen=order["amount_fen"], success_time=china_iso(world.clock()))
    resource.update(overrides)
    return resource


def test_a_units_order_is_opened_paid_and_billed_as_its_sub_merchants(world, client):
    give_sub_merchant(world, client, sub_appid=SUB_APPID)
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "wechatpay")
    [request] = sent(world, PARTNER_H5)
    wx = world.stack["channels"]["wechatpay"]
    assert (request["sp_mchid"], request["sp_appid"], request["sub_mchid"],
            request["sub_appid"]) == (wx["mchid"], wx["appid"], SUB_MCHID, SUB_APPID)
    assert "mchid" not in request and "appid" not in request
    assert sent(world, "/v3/pay/transactions/h5") == []
    order = stored_order(world, view["out_trade_no"])
    assert (order.merchant, order.merchant_app) == (SUB_MCHID, SUB_APPID)
    assert at_cashier(world, client, "wechatpay", view).status == 200
    assert press_pay(world, "wechatpay", view["out_trade_no"]).status == 303  # notified: 204
    [row] = payments(world)
    assert (row["status"], row["merchant"]) == ("applied", SUB_MCHID)
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"


def test_a_unit_without_its_own_merchant_sends_what_it_always_sent(world, client):
    world.channels.deliver = deliver_through(client)
    _, view = opened(world, client, "wechatpay")
    [request] = sent(world, "/v3/pay/transactions/h5")
    assert list(request) == ["appid", "mchid", "description", "out_trade_no", "time_expire",
                             "notify_url", "amount", "scene_info"]
    assert sent(world, PARTNER_H5) == []
    assert stored_order(world, view["out_trade_no"]).merchant == ""
    at_cashier(world, client, "wechatpay", view)
    press_pay(world, "wechatpay", view["out_trade_no"])
    [row] = payments(world)
    assert row["status"] == "applied" and "merchant" not in row


def test_an_order_keeps_the_merchant_it_was_opened_for(world, client):
    world.channels.deliver = deliver_through(client)
    code, before = opened(world, client, "wechatpay")
    give_sub_merchant(world, client)
    _, after = opened(world, client, "wechatpay", code)
    assert stored_order(world, before["out_trade_no"]).merchant == ""
    assert stored_order(world, after["out_trade_no"]).merchant == SUB_MCHID
    at_cashier(world, client, "wechatpay", before)
    assert press_pay(world, "wechatpay", before["out_trade_no"]).status == 303
    assert get_note(world, client, code)["status"] == "paid"


def test_a_real_shaped_partner_notification_is_accepted(world, client):
    give_sub_merchant(world, client)
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    code, order = opened(world, client, "wechatpay")
    wx = world.stack["channels"]["wechatpay"]
    resource = dict(event["resource"], sp_mchid=wx["mchid"], sp_appid=wx["appid"],
                    sub_mchid=SUB_MCHID, out_trade_no=order["out_trade_no"],
                    amount={**event["resource"]["amount"], "total": order["amount_fen"],
                            "payer_total": order["amount_fen"]},
                    success_time=china_iso(world.clock()))
    body, headers = signed(world, resource)
    assert set(headers) <= set(event["headers"]) and set(json.loads(body)) == set(event["body"])
    r = post_notification(client, body, headers)
    assert r.status_code == 204, r.body
    note = get_note(world, client, code)
    assert note["payment"]["channel_txn_id"] == event["resource"]["transaction_id"]


def test_a_notification_naming_another_merchant_than_the_orders_is_refused(world, client,
                                                                            caplog):
    """The check this feature rests on: without it the payment would be recorded."""
    give_sub_merchant(world, client)
    code, order = opened(world, client, "wechatpay")
    caplog.set_level(logging.WARNING)
    other = post_notification(client, *signed(world, partner_resource(world, order,
                                                                      "1900000110")))
    assert other.status_code == 409 and body_of(other)["code"] == "FAIL"
    wx = world.stack["channels"]["wechatpay"]
    direct = transaction_resource(  # to the provider itself, not the unit's sub-merchant
        mchid=wx["mchid"], appid=wx["appid"], out_trade_no=order["out_trade_no"],
        transaction_id="4200000848000000000000000002", amount_fen=order["amount_fen"],
        success_time=china_iso(world.clock()))
    assert post_notification(client, *signed(world, direct)).status_code == 409
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"
    assert "paid to merchant 1900000110" in caplog.text and "notification refused" in caplog.text
    ok = post_notification(client, *signed(world, partner_resource(world, order)))
    assert ok.status_code == 204 and get_note(world, client, code)["status"] == "paid"


def test_a_partner_notification_for_an_order_of_the_deployments_merchant_is_refused(
        world, client):
    code, order = opened(world, client, "wechatpay")
    r = post_notification(client, *signed(world, partner_resource(world, order)))
    assert r.status_code == 409 and payments(world) == []
    assert get_note(world, client, code)["status"] == "unpaid"


def test_a_partner_notification_not_naming_us_as_the_provider_is_rejected(world, client):
    give_sub_merchant(world, client)
    code, order = opened(world, client, "wechatpay")
    for wrong in ({"sp_mchid": "1230000199"}, {"sp_appid": "wx9999999999999999"},
                  {"mchid": "1230000109"}, {"sub_mchid": "19000x0109"}):
        r = post_notification(client, *signed(world, partner_resource(world, order, **wrong)))
        assert r.status_code in (400, 401), (wrong, r.body)
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"


def test_a_lost_partner_notification_is_found_by_the_partner_query(world, client):
    give_sub_merchant(world, client)
    code, view = opened(world, client, "wechatpay")
    at_cashier(world, client, "wechatpay", view)
    world.channels.pay("wechatpay", view["out_trade_no"], notify=False)
    later(world, 4)
    run_job("query_open_orders")
    [asked] = [path for channel, path, _ in world.channels.calls
               if "out-trade-no" in path]
    assert asked == f"/v3/pay/partner/transactions/out-trade-no/{view['out_trade_no']}"
    note = get_note(world, client, code)
    assert note["status"] == "paid"
    [row] = payments(world)
    assert (row["notification_id"], row["merchant"]) == ("query", SUB_MCHID)


def test_a_sub_merchants_exception_is_refunded_by_it_and_closed_by_its_refund_notice(
        world, client):
    give_sub_merchant(world, client)
    code, exception = paid_twice(world, client, "wechatpay")
    assert exception["merchant"] == SUB_MCHID
    run_job("refund_exceptions")
    [request] = sent(world, "/v3/refund/domestic/refunds")
    assert request["sub_mchid"] == SUB_MCHID
    number = out_refund_no(exception["payment_id"])
    assert world.channels.servers["wechatpay"].complete_refund(number) == 204
    [shown] = get_note(world, client, code)["exceptions"]
    assert shown["refund_status"] == "succeeded"


def test_the_providers_trade_bill_lists_the_sub_merchant_and_the_day_balances(world, client):
    direct, partner, _ = paid_before_and_after(world, client, "wechatpay", give_sub_merchant)
    statement = world.deps.statements("wechatpay").statement("2026-06-15")
    assert {line.out_trade_no: line.merchant for line in statement.lines} == {
        direct["out_trade_no"]: "", partner["out_trade_no"]: SUB_MCHID}
    world.clock.now += timedelta(days=1, minutes=30)
    r = client.http.post("/v1/admin/reconciliations/2026-06-15", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    wechat = body_of(r)["channels"]["wechatpay"]
    assert (wechat["status"], wechat["statement_count"]) == ("balanced", 2), wechat


def test_inside_wechat_a_sub_merchants_jsapi_order_is_for_the_payers_sp_openid(world, client):
    from chalicelib.adapters.wechatpay.jsapi import verify_pay_sign
    from devstack.sim_weixin import openid_of
    from tests.functional.support import JSON, create_note
    from tests.functional.test_pay_where_payers_are import identified_in_wechat

    give_sub_merchant(world, client, sub_appid=SUB_APPID)
    world.channels.deliver = deliver_through(client)
    code = create_note(world, client)["payment_code"]
    session = identified_in_wechat(world, client, code)
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers={**JSON, "Cookie": session},
                         body=json.dumps({"channel": "wechatpay", "mode": "jsapi"}))
    assert r.status_code == 201, r.body
    params = body_of(r)["jsapi"]
    wx = world.stack["channels"]["wechatpay"]
    [request] = sent(world, "/v3/pay/partner/transactions/jsapi")
    assert request["payer"] == {"sp_openid": openid_of(wx["appid"], "alice")}
    assert request["sub_mchid"] == SUB_MCHID and params["appId"] == wx["appid"]  # sp_appid
    verify_pay_sign(params, world.channels.servers["wechatpay"].merchant_public)
    paid = world.channels.handle("POST", "/wechatpay/_sim/jsapi-pay", {},
                                 json.dumps({"user": "alice", "params": params}).encode())
    assert json.loads(paid.body) == {"err_msg": "get_brand_wcpay_request:ok",
                                     "notify_status": 204}
    [row] = payments(world)
    assert (row["status"], row["merchant"]) == ("applied", SUB_MCHID)


def test_a_desktop_payer_scans_a_sub_merchants_native_order(world, client):
    from tests.functional.support import create_note

    give_sub_merchant(world, client)
    world.channels.deliver = deliver_through(client)
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", body="channel=wechatpay&mode=native",
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "Accept": "text/html"})
    assert r.status_code == 303
    assert client.http.get(r.headers["Location"].split("testserver")[-1]).status_code == 200
    asked = sent(world, "/v3/pay/partner/transactions/native")
    assert len(asked) == 2 and asked[0] == asked[1] and asked[0]["sub_mchid"] == SUB_MCHID
    order = world.channels.order("wechatpay", asked[0]["out_trade_no"])
    scanned = world.channels.handle("POST", "/wechatpay/_sim/scan", {},
                                    json.dumps({"code_url": order.extra["code_url"]}).encode())
    assert json.loads(scanned.body)["notify_status"] == 204
    assert get_note(world, client, code)["status"] == "paid"
