"""Alipay third-party application authorisation (第三方应用授权), end to end: a unit whose Alipay
account authorised our application has its orders opened for it (``app_auth_token`` among the
signed common parameters), paid, notified with its ``seller_id`` and ``auth_app_id``, queried,
refunded and reconciled against its own trade bill; a notification naming another merchant than
the order's is refused and records nothing; a unit without a merchant of its own sends exactly
what it sent before."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from chalicelib.domain.payments import out_refund_no
from devstack.notifications import alipay_notification
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
from tests.functional.support import body_of, get_note, payments

UNIT = "340100001"
SELLER = "2088000000000101"
# What a wap pay URL carried before units had merchants of their own, in this order.
DEPLOYMENT_PARAMS = ["app_id", "method", "format", "charset", "sign_type", "version",
                     "timestamp", "biz_content", "notify_url", "return_url", "sign"]


def authorised(world, seller: str = SELLER) -> dict[str, str]:
    """The unit's Alipay account authorises our application (the simulator answers as
    ``alipay.open.auth.token.app``): its app_auth_token, user_id and auth_app_id."""
    r = world.channels.handle("POST", "/alipay/_sim/app-auth", {},
                              json.dumps({"seller_id": seller}).encode())
    assert r.status == 200, r.body
    return json.loads(r.body)


def give_alipay_merchant(world, client, seller: str = SELLER) -> dict[str, str]:
    grant = authorised(world, seller)
    r = client.http.put(f"/v1/admin/units/{UNIT}/merchants/alipay",
                        headers=world.finance_auth(), body=json.dumps({
                            "seller_id": grant["user_id"], "auth_app_id": grant["auth_app_id"],
                            "app_auth_token": grant["app_auth_token"]}))
    assert r.status_code == 200, r.body
    world.deps.units.forget()  # this process's copy of the unit (others: within a minute)
    return grant


def url_params(view: dict) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(view["pay_url"]).query, keep_blank_values=True)


def sent(world, method: str) -> list[dict]:
    return [data for channel, api, data in world.channels.calls
            if channel == "alipay" and api == method]


def notify(client, world, order: dict, **fields: str):
    body, headers = alipay_notification(world.stack, order["out_trade_no"], order["amount_fen"],
                                        now=world.clock(), **fields)
    return client.http.post("/callbacks/alipay", headers=headers, body=body)


def test_alipay_must_know_the_token_as_the_merchants_valid_authorisation_before_it_is_kept(
        world, client):
    """alipay.open.auth.token.app.query: a typo in the PID or the AppID, or a token Alipay
    does not know, is a 400 naming the field; Alipay unreachable is a 503; nothing is kept."""
    grant, other = authorised(world), authorised(world, "2088000000000102")
    right = {"seller_id": SELLER, "auth_app_id": grant["auth_app_id"],
             "app_auth_token": grant["app_auth_token"]}
    for wrong, field in (({"app_auth_token": "202606BB2088000000000101ffffffffffffffff"},
                          "app_auth_token"),
                         ({"app_auth_token": other["app_auth_token"]}, "seller_id"),
                         ({"auth_app_id": other["auth_app_id"]}, "auth_app_id")):
        r = client.http.put(f"/v1/admin/units/{UNIT}/merchants/alipay",
                            headers=world.finance_auth(), body=json.dumps({**right, **wrong}))
        assert r.status_code == 400 and field in body_of(r)["error"]["fields"], (wrong, r.body)
        assert grant["app_auth_token"] not in r.body.decode()
    world.channels.failing["alipay"] = 503
    r = client.http.put(f"/v1/admin/units/{UNIT}/merchants/alipay",
                        headers=world.finance_auth(), body=json.dumps(right))
    assert r.status_code == 503, r.body
    del world.channels.failing["alipay"]
    assert world.deps.units.get(UNIT).merchants == ()
    assert world.deps.audit.query(bill_id=f"admin#unit#{UNIT}") == []
    [asked, *_] = sent(world, "alipay.open.auth.token.app.query")
    assert asked == {"app_auth_token": "202606BB2088000000000101ffffffffffffffff"}


def test_a_units_order_carries_its_token_signed_and_is_paid_and_billed_as_its_merchants(
        world, client):
    grant = give_alipay_merchant(world, client)
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "alipay")
    params = url_params(view)
    assert [k for k, _ in params] == [*DEPLOYMENT_PARAMS[:7], "app_auth_token",
                                      *DEPLOYMENT_PARAMS[7:]]
    assert dict(params)["app_auth_token"] == grant["app_auth_token"]
    order = world.deps.notes.get_order(view["out_trade_no"])
    assert (order.merchant, order.merchant_app) == (SELLER, grant["auth_app_id"])
    assert grant["app_auth_token"] not in repr(order)
    assert at_cashier(world, client, "alipay", view).status == 200  # the signature holds
    assert world.channels.order("alipay", view["out_trade_no"]).extra["seller_id"] == SELLER
    assert press_pay(world, "alipay", view["out_trade_no"]).status == 303  # notified: success
    [row] = payments(world)
    assert (row["status"], row["merchant"]) == ("applied", SELLER)
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"


def test_a_token_altered_after_signing_is_refused_at_the_cashier(world, client):
    give_alipay_merchant(world, client)
    _, view = opened(world, client, "alipay")
    url = urlsplit(view["pay_url"])
    altered = url.query.replace("app_auth_token=202606BB", "app_auth_token=202606BC")
    assert altered != url.query
    r = world.channels.handle("GET", f"{url.path}?{altered}", {}, b"")
    assert r.status == 400 and "验签失败" in r.body.decode()


def test_a_unit_without_its_own_merchant_sends_what_it_always_sent(world, client):
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "alipay")
    params = url_params(view)
    assert [k for k, _ in params] == DEPLOYMENT_PARAMS
    assert list(json.loads(dict(params)["biz_content"])) == [
        "out_trade_no", "total_amount", "subject", "timeout_express", "product_code", "quit_url"]
    assert world.deps.notes.get_order(view["out_trade_no"]).merchant == ""
    at_cashier(world, client, "alipay", view)
    world.channels.pay("alipay", view["out_trade_no"], notify=False)
    later(world, 4)
    run_job("query_open_orders")
    [query] = sent(world, "alipay.trade.query")
    assert query == {"out_trade_no": view["out_trade_no"]}  # no app_auth_token
    [row] = payments(world)
    assert row["status"] == "applied" and "merchant" not in row
    assert get_note(world, client, code)["status"] == "paid"


def test_a_desktop_order_of_the_unit_is_a_page_pay_for_its_merchant(world, client):
    from tests.functional.support import JSON, create_note

    grant = give_alipay_merchant(world, client)
    world.channels.deliver = deliver_through(client)
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                         body=json.dumps({"channel": "alipay", "mode": "page"}))
    assert r.status_code == 201, r.body
    view = body_of(r)
    params = dict(url_params(view))
    assert (params["method"], params["app_auth_token"]) == ("alipay.trade.page.pay",
                                                            grant["app_auth_token"])
    assert at_cashier(world, client, "alipay", view).status == 200
    assert press_pay(world, "alipay", view["out_trade_no"]).status == 303
    assert get_note(world, client, code)["status"] == "paid"


def test_a_notification_naming_another_merchant_than_the_orders_is_refused(world, client,
                                                                            caplog):
    """The check this feature rests on: without it the payment would be recorded."""
    grant = give_alipay_merchant(world, client)
    code, order = opened(world, client, "alipay")
    caplog.set_level(logging.WARNING)
    other = authorised(world, "2088000000000102")
    for wrong in ({"seller_id": other["user_id"], "auth_app_id": other["auth_app_id"]},
                  {"seller_id": other["user_id"]},  # auth_app_id ours: not authentic (400)
                  {"seller_id": SELLER, "auth_app_id": other["auth_app_id"]},
                  {}):  # the deployment's own seller and app
        r = notify(client, world, order, **wrong)
        assert r.status_code in (400, 401, 409), (wrong, r.body)
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"
    assert f"paid to merchant {other['user_id']}" in caplog.text
    assert "paid to merchant ours (the deployment)" in caplog.text
    assert f"paid to merchant {SELLER} (application {other['auth_app_id']})" in caplog.text
    refused = notify(client, world, order, seller_id=other["user_id"],
                     auth_app_id=other["auth_app_id"])
    assert refused.status_code == 409
    ok = notify(client, world, order, seller_id=SELLER, auth_app_id=grant["auth_app_id"])
    assert ok.status_code == 200 and ok.body == b"success"
    [row] = payments(world)
    assert (row["status"], row["merchant"]) == ("applied", SELLER)


def test_a_merchants_notification_for_an_order_of_the_deployments_is_refused(world, client):
    code, order = opened(world, client, "alipay")
    grant = authorised(world)
    r = notify(client, world, order, seller_id=SELLER, auth_app_id=grant["auth_app_id"])
    assert r.status_code == 409
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"


def test_a_lost_notification_is_found_by_a_query_carrying_the_merchants_token(world, client):
    grant = give_alipay_merchant(world, client)
    code, view = opened(world, client, "alipay")
    at_cashier(world, client, "alipay", view)
    world.channels.pay("alipay", view["out_trade_no"], notify=False)
    later(world, 4)
    run_job("query_open_orders")
    [query] = sent(world, "alipay.trade.query")
    assert query == {"out_trade_no": view["out_trade_no"],
                     "app_auth_token": grant["app_auth_token"]}
    assert get_note(world, client, code)["status"] == "paid"
    [row] = payments(world)
    assert (row["notification_id"], row["merchant"]) == ("query", SELLER)


def test_an_order_keeps_its_merchant_and_the_unit_goes_back_to_the_deployments(world, client):
    world.channels.deliver = deliver_through(client)
    grant = give_alipay_merchant(world, client)
    code, before = opened(world, client, "alipay")
    r = client.http.delete(f"/v1/admin/units/{UNIT}/merchants/alipay",
                           headers=world.finance_auth())
    assert r.status_code == 200, r.body
    world.deps.units.forget()
    _, after = opened(world, client, "alipay", code)
    assert world.deps.notes.get_order(before["out_trade_no"]).merchant == SELLER
    assert world.deps.notes.get_order(after["out_trade_no"]).merchant == ""
    assert [k for k, _ in url_params(after)] == DEPLOYMENT_PARAMS
    # The removed merchant is retired, not forgotten: its open order is asked about with its
    # own token (never as ours), and its payment is found and recorded as its merchant's.
    at_cashier(world, client, "alipay", before)
    world.channels.pay("alipay", before["out_trade_no"], notify=False)
    later(world, 4)
    run_job("query_open_orders")
    asked = {q["out_trade_no"]: q.get("app_auth_token")
             for q in sent(world, "alipay.trade.query")}
    assert asked[before["out_trade_no"]] == grant["app_auth_token"], asked
    # the deployment's order of the same note: asked without a token, or closed unasked once
    # the note was found paid (the job takes the open orders in no set order)
    assert asked.get(after["out_trade_no"]) is None, asked
    assert get_note(world, client, code)["status"] == "paid"
    [row] = payments(world)
    assert (row["notification_id"], row["merchant"]) == ("query", SELLER)


def test_a_merchants_exception_is_refunded_with_its_token(world, client):
    grant = give_alipay_merchant(world, client)
    code, exception = paid_twice(world, client, "alipay")
    assert exception["merchant"] == SELLER
    run_job("refund_exceptions")
    [request] = sent(world, "alipay.trade.refund")
    assert request["app_auth_token"] == grant["app_auth_token"]
    assert request["out_request_no"] == out_refund_no(exception["payment_id"])
    [shown] = get_note(world, client, code)["exceptions"]
    assert shown["refund_status"] == "succeeded"


def test_each_merchant_is_reconciled_against_its_own_trade_bill(world, client):
    direct, own, grant = paid_before_and_after(world, client, "alipay", give_alipay_merchant)
    ours = world.deps.statements("alipay").statement("2026-06-15")
    assert [line.out_trade_no for line in ours.lines] == [direct["out_trade_no"]]
    theirs = world.deps.statements("alipay").merchant_statement(
        "2026-06-15", SELLER, grant["app_auth_token"])
    assert [(line.out_trade_no, line.merchant) for line in theirs.lines] == [
        (own["out_trade_no"], SELLER)]
    assert theirs.source.startswith(f"{SELLER}0156_")
    world.channels.calls.clear()
    world.clock.now += timedelta(days=1, minutes=30)
    r = client.http.post("/v1/admin/reconciliations/2026-06-15", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    alipay = body_of(r)["channels"]["alipay"]
    assert (alipay["status"], alipay["statement_count"]) == ("balanced", 2), alipay
    asked = sent(world, "alipay.data.dataservice.bill.downloadurl.query")
    assert [a.get("app_auth_token") for a in asked] == [None, grant["app_auth_token"]]
    names = [f["name"] for f in alipay["statement_files"]]
    assert names == ["alipay-2026-06-15-trade.csv.zip",
                     f"alipay-2026-06-15-{SELLER}-trade.csv.zip"], names


def test_a_merchant_whose_authorisation_is_gone_leaves_the_day_pending_naming_its_unit(
        world, client):
    from chalicelib.services.merchants import seal_token

    give_alipay_merchant(world, client)
    unit = world.deps.units.get(UNIT)
    mine = unit.merchant("alipay")
    from dataclasses import replace

    world.deps.units.set_merchant(UNIT, replace(mine, sealed_token=seal_token(
        world.deps, UNIT, "alipay", "202606BB2088000000000101revokedrevoked00")),
        world.clock())
    world.deps.units.forget()
    world.clock.now += timedelta(days=1, minutes=30)
    r = client.http.post("/v1/admin/reconciliations/2026-06-15", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    alipay = body_of(r)["channels"]["alipay"]
    assert alipay["status"] == "pending", alipay
    assert UNIT in alipay["detail"] and "无效的应用授权令牌" in alipay["detail"]


def test_the_finance_console_sets_shows_and_removes_the_alipay_merchant_never_its_token(
        client, world):
    from tests.functional.test_console_sign_in import post, sign_in
    from tests.functional.test_finance_console_people import get

    page_url = f"/console/finance/units/{UNIT}"
    grant = authorised(world)
    cookies, token = sign_in(client, world, "finance_admin")
    page = get(client, page_url, cookies).body.decode()
    assert "本部署的支付宝应用" in page and "保存支付宝授权商户" in page
    wrong = post(client, f"{page_url}/merchants/alipay",
                 {"action": "set", "seller_id": SELLER, "auth_app_id": "20",
                  "app_auth_token": grant["app_auth_token"]}, cookies, token)
    assert wrong.status_code == 400
    shown = wrong.body.decode()
    assert 'id="e-ali-auth_app_id"' in shown and grant["app_auth_token"] not in shown
    assert f'value="{SELLER}"' in shown  # what was typed comes back, but the token
    done = post(client, f"{page_url}/merchants/alipay",
                {"action": "set", "seller_id": SELLER, "auth_app_id": grant["auth_app_id"],
                 "app_auth_token": grant["app_auth_token"]}, cookies, token)
    assert done.status_code == 200, done.body
    shown = done.body.decode()
    assert f"已保存支付宝商户 {SELLER}" in shown and grant["app_auth_token"] not in shown
    assert grant["auth_app_id"] in shown and "令牌已设定" in shown
    stored = world.deps.units.get(UNIT).merchant("alipay")
    assert stored.sealed_token not in shown
    [event] = world.deps.audit.query(bill_id=f"admin#unit#{UNIT}")
    assert event.action == "set_merchant" and event.client.startswith("person:finance.admin@")
    removed = post(client, f"{page_url}/merchants/alipay", {"action": "remove"}, cookies, token)
    assert removed.status_code == 200 and "本部署的支付宝应用" in removed.body.decode()
    assert world.deps.units.get(UNIT).merchants == ()


def test_the_unit_warns_a_month_before_its_alipay_authorisation_ends_and_once_it_has(world,
                                                                                      client):
    give_alipay_merchant(world, client)

    def token_warnings() -> list[dict]:
        r = client.http.get(f"/v1/admin/units/{UNIT}", headers=world.finance_auth())
        assert r.status_code == 200, r.body
        [shown] = body_of(r)["unit"]["merchants"]
        assert shown["token_until"] == "2027-06-01T00:00:00+08:00"  # the simulator's auth_end
        return [w for w in body_of(r)["warnings"] if w["code"].startswith("merchant_token")]

    assert token_warnings() == []
    world.clock.now = datetime.fromisoformat("2027-05-20T09:00:00+08:00")
    [soon] = token_warnings()
    assert (soon["code"], soon["merchant_id"], soon["days_left"]) == (
        "merchant_token_expiring", SELLER, 11)
    world.clock.now = datetime.fromisoformat("2027-06-01T00:00:01+08:00")
    assert [w["code"] for w in token_warnings()] == ["merchant_token_expired"]
