"""ChannelApi: FakeChannelApi against the WeChat Pay, Alipay and UnionPay clients talking to the
channels' servers (``devstack.channel_servers``, in-process, checking our signatures and
signing their answers as the channels do). One payer's story on each: open an order, ask
before and after paying, give the money back (twice: the same refund), and a channel that is
down."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.payments import ChannelOrder, Payment, RefundRequest
from tests.contracts.builders import at, channel_client, code
from tests.contracts.conftest import demo_state

CHANNELS_URL = "http://channels.test"
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
CHANNELS = ("wechatpay", "alipay", "unionpay")


@dataclass
class Channel:
    api: Any
    pay: Any  # (order) → the channel takes the payer's money for it
    go_down: Any  # () → every call fails as a channel's outage does
    visit: Any = None  # (checkout) → the payer's browser reaches the channel's cashier


@pytest.fixture(scope="session")
def channel_state(demo_state_dir: Path) -> dict[str, Any]:
    """The demo channels' keys and certificates, made once (RSA keys are slow to make)."""
    return demo_state(demo_state_dir)


def served(channel: str, state: dict[str, Any]) -> Channel:
    from devstack.channel_servers import ChannelServers, InProcessTransport
    from devstack.seed import Seeded, channel_secrets, stack_document

    stack = stack_document(Seeded(state), "http://testserver", "moto", NOW)
    servers = ChannelServers(stack, CHANNELS_URL, clock=lambda: NOW,
                             deliver=lambda url, body, headers: 0)
    secret = channel_secrets(state)[channel]
    transport = InProcessTransport(servers)
    api = channel_client(channel, secret, CHANNELS_URL, transport, NOW)

    def go_down() -> None:
        servers.failing[channel] = 503

    def visit(checkout: Any) -> None:
        """Alipay's and WeChat Pay's cashier is a URL; UnionPay's a form posted to it."""
        if checkout.form_html is None:
            url = urlsplit(checkout.pay_url)
            reply = servers.handle("GET", f"{url.path}?{url.query}", {}, b"")
        else:
            fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">',
                                     checkout.form_html))
            action = re.search(r'<form id="pay" action="([^"]*)"', checkout.form_html)
            assert action is not None
            reply = servers.handle(
                "POST", urlsplit(html.unescape(action.group(1))).path,
                {"Content-Type": "application/x-www-form-urlencoded"},
                urlencode({html.unescape(k): html.unescape(v) for k, v in fields.items()})
                .encode())
        assert reply.status == 200, reply.body[:300]

    return Channel(api, lambda order: servers.pay(channel, order.out_trade_no, notify=False),
                   go_down, visit)


def faked(channel: str) -> Channel:
    from tests.fakes_channels import FakeChannelApi

    fake = FakeChannelApi(channel)

    def pay(order: ChannelOrder) -> None:
        fake.paid[order.out_trade_no] = Payment(
            channel=channel, channel_txn_id=f"T{order.out_trade_no}",
            out_trade_no=order.out_trade_no, amount_fen=order.amount_fen,
            paid_at=NOW.isoformat())

    return Channel(fake, pay, lambda: setattr(fake, "down", True))


@pytest.fixture(params=[f"{kind}-{c}" for c in CHANNELS for kind in ("fake", "served")])
def channel(request: pytest.FixtureRequest) -> tuple[str, Channel]:
    kind, name = request.param.split("-")
    if kind == "fake":
        return name, faked(name)
    return name, served(name, request.getfixturevalue("channel_state"))


def order_on(channel: str, n: int = 1) -> ChannelOrder:
    return ChannelOrder(out_trade_no=code(n) + "aB3dE9", payment_code=code(n), channel=channel,
                        amount_fen=2000, created_at=at(), expires_at=at(120))


def opened(name: str, ch: Channel, n: int = 1) -> ChannelOrder:
    order = order_on(name, n)
    checkout = ch.api.checkout(order, description="工本费", notify_url="http://testserver/cb",
                               return_url="http://testserver/pay/done", client_ip="203.0.113.9")
    assert checkout.pay_url or checkout.form_html
    if ch.visit is not None:
        ch.visit(checkout)
    return order


def refund_of(payment: Payment, n: str = "RF1") -> RefundRequest:
    return RefundRequest(payment_id=payment.payment_id, channel=payment.channel,
                         channel_txn_id=payment.channel_txn_id,
                         out_trade_no=payment.out_trade_no, amount_fen=payment.amount_fen,
                         out_refund_no=n, requested_at=NOW + timedelta(minutes=5),
                         notify_url="http://testserver/refund-cb")


class TestChannelApi:
    def test_an_order_is_unpaid_until_the_payer_pays_then_the_payment_is_its_own(self, channel):
        name, ch = channel
        order = opened(name, ch)
        assert ch.api.query(order) is None
        ch.pay(order)
        paid = ch.api.query(order)
        assert (paid.channel, paid.out_trade_no, paid.amount_fen, paid.payment_code) == (
            name, order.out_trade_no, 2000, code(1))
        assert paid.channel_txn_id and datetime.fromisoformat(paid.paid_at) == NOW

    def test_a_refund_asked_twice_is_the_same_refund(self, channel):
        name, ch = channel
        order = opened(name, ch)
        ch.pay(order)
        paid = ch.api.query(order)
        first = ch.api.refund(refund_of(paid))
        again = ch.api.refund(refund_of(paid))
        assert first.status in ("requested", "succeeded")
        assert again.status in ("requested", "succeeded")
        assert again.refund_id == first.refund_id

    def test_a_channel_that_is_down_is_unavailable_to_queries_and_refunds(self, channel):
        name, ch = channel
        order = opened(name, ch)
        ch.pay(order)
        paid = ch.api.query(order)
        ch.go_down()
        with pytest.raises(ServiceUnavailable):
            ch.api.query(order)
        with pytest.raises(ServiceUnavailable):
            ch.api.refund(refund_of(paid))
