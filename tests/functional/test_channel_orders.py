"""Opening orders with the channels for real, and the active query (主动查询).

The channels' servers are ``devstack.channel_servers`` in-process (``world.channels``):
they check our requests' signatures with our merchant keys and answer signed, as the channels.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from tests.functional.channel_support import (
    at_cashier,
    deliver_through,
    later,
    opened,
    pay_request,
    press_pay,
    run_job,
)
from tests.functional.support import get_note, payments


def test_a_wechat_order_is_opened_by_h5_prepay_and_paid_at_the_cashier(world, client):
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "wechatpay")
    assert view["pay_url"].startswith("http://channels.test/wechatpay?prepay_id=wx")
    assert "form_html" not in view
    [(_, api, sent)] = world.channels.calls
    assert api == "/v3/pay/transactions/h5" and sent["out_trade_no"] == view["out_trade_no"]
    assert sent["notify_url"] == "http://testserver/callbacks/wechatpay"
    cashier = at_cashier(world, client, "wechatpay", view)
    assert cashier.status == 200 and "100.00" in cashier.body.decode()
    paid = press_pay(world, "wechatpay", view["out_trade_no"])
    assert paid.status == 303 and paid.headers["Location"] == f"http://testserver/pay/{code}"
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"


def test_an_alipay_order_is_a_signed_gateway_url_the_gateway_accepts(world, client):
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "alipay")
    assert view["pay_url"].startswith("http://channels.test/alipay/gateway.do?")
    assert "method=alipay.trade.wap.pay" in view["pay_url"] and "sign=" in view["pay_url"]
    cashier = at_cashier(world, client, "alipay", view)
    assert cashier.status == 200, cashier.body.decode()
    tampered = view["pay_url"].replace("total_amount%22%3A%22100.00", "total_amount%22%3A%221.00")
    assert tampered != view["pay_url"]
    assert at_cashier(world, client, "alipay", {"pay_url": tampered}).status == 400
    assert press_pay(world, "alipay", view["out_trade_no"]).status == 303
    assert get_note(world, client, code)["status"] == "paid"


def test_a_unionpay_order_is_a_form_page_of_ours_that_posts_itself_to_the_gateway(world, client):
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "unionpay")
    assert view["pay_url"] == f"http://testserver/v1/public/orders/{view['out_trade_no']}/form"
    assert 'action="http://channels.test/unionpay/gateway/api/frontTransReq.do"' in \
        view["form_html"]
    page = client.http.get(f"/v1/public/orders/{view['out_trade_no']}/form")
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.body.decode() == view["form_html"]  # the same signed fields every time
    assert at_cashier(world, client, "unionpay", view).status == 200
    assert press_pay(world, "unionpay", view["out_trade_no"]).status == 303
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"


def test_the_simulated_gateway_refuses_a_form_with_a_field_sent_twice_as_unionpay_does(
        world, client):
    from urllib.parse import urlencode

    from tests.functional.channel_support import PAY_FORM, form_fields

    _, view = opened(world, client, "unionpay")
    body = urlencode(form_fields(view["form_html"])).encode() + b"&txnAmt=1"
    reply = world.channels.handle("POST", "/unionpay/gateway/api/frontTransReq.do", PAY_FORM, body)
    assert reply.status == 400
    assert "field &#x27;txnAmt&#x27; appears more than once" in reply.body.decode()
    assert world.channels.order("unionpay", view["out_trade_no"]) is None
    pressed = world.channels.handle("POST", "/unionpay/pay", PAY_FORM,
                                    b"out_trade_no=a&out_trade_no=b")
    assert pressed.status == 400  # the cashier's button, read the same strict way


def test_the_form_page_is_only_for_unionpay_orders_that_exist(world, client):
    _, view = opened(world, client, "wechatpay")
    assert client.http.get(f"/v1/public/orders/{view['out_trade_no']}/form").status_code == 404
    assert client.http.get("/v1/public/orders/not-an-order!/form").status_code == 400


def test_unionpays_front_post_back_lands_on_the_pay_page(world, client):
    code, _ = opened(world, client, "unionpay")
    r = client.http.post(f"/pay/{code}", body="respCode=00&orderId=x", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303 and r.headers["Location"] == f"http://testserver/pay/{code}"


def test_a_channel_that_is_down_gives_the_payer_a_503_not_a_trace(world, client):
    world.channels.failing["wechatpay"] = 500
    from tests.functional.support import create_note

    code = create_note(world, client)["payment_code"]
    r = pay_request(client, code, "wechatpay")
    assert r.status_code == 503 and json.loads(r.body)["error"]["code"] == "service_unavailable"


@pytest.mark.parametrize("channel", ["wechatpay", "alipay", "unionpay"])
def test_a_paid_order_whose_notification_never_came_is_recorded_by_the_query_job(
        world, client, channel):
    code, view = opened(world, client, channel)
    at_cashier(world, client, channel, view)
    world.channels.pay(channel, view["out_trade_no"], notify=False)  # the notice is lost
    run_job("query_open_orders")
    assert get_note(world, client, code)["status"] == "unpaid"  # too young to ask about
    later(world, 4)
    run_job("query_open_orders")
    note = get_note(world, client, code)
    assert note["status"] == "paid" and note["payment"]["channel"] == channel
    [row] = payments(world)
    assert (row["status"], row["notification_id"]) == ("applied", "query")
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"
    asked = len(world.channels.calls)
    later(world, 5)
    run_job("query_open_orders")  # the order left the open index: not asked again
    assert len(world.channels.calls) == asked


def test_the_query_job_asks_about_unpaid_orders_until_an_hour_past_expiry(world, client):
    code, view = opened(world, client, "wechatpay")
    queries = lambda: [c for c in world.channels.calls if "out-trade-no" in c[1]]  # noqa: E731
    for minutes in (4, 60, 60):
        later(world, minutes)
        run_job("query_open_orders")
    assert len(queries()) == 3 and get_note(world, client, code)["status"] == "unpaid"
    later(world, 60)  # 3 h after opening: the order expired 2 h in, plus one hour
    run_job("query_open_orders")
    later(world, 5)
    run_job("query_open_orders")
    assert len(queries()) == 3


def test_an_order_paid_by_its_notification_is_closed_without_asking(world, client):
    world.channels.deliver = deliver_through(client)
    _, view = opened(world, client, "alipay")
    at_cashier(world, client, "alipay", view)
    press_pay(world, "alipay", view["out_trade_no"])
    later(world, 4)
    run_job("query_open_orders")
    assert [c for c in world.channels.calls if c[1] == "alipay.trade.query"] == []


def test_the_simulator_over_http_plays_the_channels_for_the_real_transport(world, client,
                                                                           tmp_path: Path):
    """The same flows through urllib and the simulator's HTTP server on a free port."""
    from dataclasses import replace

    from chalicelib.adapters.channel_http import UrllibTransport
    from devstack.simulator import serve

    stack_path = tmp_path / "stack.json"
    stack_path.write_text(json.dumps(world.stack))
    server = serve(stack_path, "127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        server.channels.clock = world.clock
        world.deps.settings = replace(world.deps.settings, channel_api_urls={
            "wechatpay": f"{base}/wechatpay", "alipay": f"{base}/alipay/gateway.do",
            "unionpay": f"{base}/unionpay"})
        world.deps.overrides["channel_http"] = UrllibTransport(timeout=5)
        for channel in ("wechatpay", "alipay", "unionpay"):
            _, view = opened(world, client, channel)
            assert view["pay_url"].startswith(base if channel != "unionpay" else
                                              "http://testserver/")
        order = view["out_trade_no"]
        _post_form(server.channels, view)  # the payer's browser at UnionPay's gateway
        server.channels.pay("unionpay", order, notify=False)
        later(world, 4)
        run_job("query_open_orders")
        assert payments(world)[0]["out_trade_no"] == order
    finally:
        server.shutdown()
        server.server_close()
    world.deps.overrides["channel_http"] = UrllibTransport(timeout=2)
    with pytest.raises(ServiceUnavailable):  # nobody listens there any more
        world.deps.channel_api("wechatpay").query(world.deps.notes.get_order(order))


def _post_form(channels, view):
    from urllib.parse import urlencode

    from tests.functional.channel_support import PAY_FORM, form_fields

    reply = channels.handle("POST", "/unionpay/gateway/api/frontTransReq.do", PAY_FORM,
                            urlencode(form_fields(view["form_html"])).encode())
    assert reply.status == 200, reply.body
