"""Helpers for tests that play the payer and the channels' servers (``world.channels``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from tests.functional.support import JSON, body_of, create_note, payments

PAY_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def deliver_through(client):
    """A ``deliver`` for ``world.channels``: notifications reach the app via the test client."""
    def deliver(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        return client.http.post(urlsplit(url).path, body=body, headers=dict(headers)).status_code
    return deliver


def pay_request(client, code: str, channel: str):
    return client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                            body=json.dumps({"channel": channel}))


def opened(world, client, channel: str, code: str | None = None) -> tuple[str, dict]:
    """A new note (unless ``code``) with an order opened through the API: (code, view)."""
    code = code or create_note(world, client)["payment_code"]
    r = pay_request(client, code, channel)
    assert r.status_code == 201, r.body
    return code, body_of(r)


def at_cashier(world, client, channel: str, view: dict):
    """The payer's browser follows ``pay_url`` to the channel's cashier (UnionPay: our form
    page, then its form posted to the gateway); the channel's answer."""
    url = urlsplit(view["pay_url"])
    if channel != "unionpay":
        return world.channels.handle("GET", f"{url.path}?{url.query}", {}, b"")
    page = client.http.get(url.path)
    assert page.status_code == 200, page.body
    fields = form_fields(page.body.decode())
    action = urlsplit(form_action(page.body.decode()))
    return world.channels.handle("POST", action.path, PAY_FORM, urlencode(fields).encode())


def form_fields(html: str) -> dict[str, str]:
    import html as htmllib
    import re

    return {htmllib.unescape(k): htmllib.unescape(v) for k, v in re.findall(
        r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)}


def form_action(html: str) -> str:
    import html as htmllib
    import re

    found = re.search(r'<form id="pay" action="([^"]*)"', html)
    assert found, html
    return htmllib.unescape(found.group(1))


def press_pay(world, channel: str, out_trade_no: str):
    """确认支付 on the cashier: the channel pays the order and notifies the app."""
    return world.channels.handle("POST", f"/{channel}/pay", PAY_FORM,
                                 urlencode({"out_trade_no": out_trade_no}).encode())


def paid_before_and_after(world, client, channel: str, give) -> tuple[dict, dict, object]:
    """Two orders of one unit paid at the cashier: one opened before ``give(world, client)``
    gave the unit a merchant of its own (the deployment's), one after (the unit's); their pay
    views and what ``give`` answered."""
    world.channels.deliver = deliver_through(client)
    _, direct = opened(world, client, channel)
    given = give(world, client)
    _, own = opened(world, client, channel)
    for view in (direct, own):
        at_cashier(world, client, channel, view)
        press_pay(world, channel, view["out_trade_no"])
    return direct, own, given


def paid_twice(world, client, channel: str) -> tuple[str, dict]:
    """A note paid on one order, then again on a second one (both at the cashier): the note's
    code and the second payment's row, an exception whose refund is pending."""
    world.channels.deliver = deliver_through(client)
    code, first = opened(world, client, channel)
    _, second = opened(world, client, channel, code)
    for view in (first, second):
        at_cashier(world, client, channel, view)
    assert press_pay(world, channel, first["out_trade_no"]).status == 303
    press_pay(world, channel, second["out_trade_no"])
    [exception] = [p for p in payments(world) if p["status"] == "exception"]
    assert (exception["out_trade_no"], exception["refund_status"]) == (
        second["out_trade_no"], "pending")
    return code, exception


def run_job(name: str) -> None:
    """A scheduled handler, called as EventBridge calls it (``tests/lambda_events.py``)."""
    from tests.lambda_events import handler_client, run_schedule

    run_schedule(handler_client(), name)


def later(world, minutes: float) -> None:
    world.clock.now += timedelta(minutes=minutes)
