"""StatementSource: the four channels' statement clients (WeChat Pay's trade bill, Alipay's bill
zip, UnionPay's file transfer, the agent bank's signed CSV) against the simulator's channels
(in-process), which write what they really processed in each channel's own format. What the
client parses is exactly what the channel did: payments whose notification was lost included,
refunds, fees; an empty day is an empty statement; a tampered file is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.channel_http import HttpReply
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.statements import StatementInvalid
from devstack.sim_common import SimOrder, SimRefund
from devstack.sim_statements import day_lines, fee_of
from tests.contracts.builders import channel_client, code
from tests.contracts.conftest import demo_state

CHANNELS_URL = "http://channels.test"
NOW = datetime(2026, 6, 16, 2, 30, tzinfo=UTC)  # 10:30 the next morning, China
PAID = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # 09:00 China
DAY = "2026-06-15"
CHANNELS = ("wechatpay", "alipay", "unionpay", "bank")


@pytest.fixture(scope="session")
def channel_state(demo_state_dir: Path) -> dict[str, Any]:
    return demo_state(demo_state_dir)


class Tampering:
    """A transport that hands requests to the simulator, and may alter what comes back."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.alter = inner, None

    def __call__(self, method: str, url: str, headers: Any, body: bytes | None) -> HttpReply:
        reply = self.inner(method, url, headers, body)
        return self.alter(url, reply) if self.alter else reply


def served(channel: str, state: dict[str, Any]) -> tuple[Any, Any, Tampering]:
    from devstack.channel_servers import ChannelServers, InProcessTransport
    from devstack.seed import Seeded, channel_secrets, stack_document

    stack = stack_document(Seeded(state), "http://testserver", "moto", NOW)
    servers = ChannelServers(stack, CHANNELS_URL, clock=lambda: NOW,
                             deliver=lambda url, body, headers: 0)
    secret = channel_secrets(state)[channel]
    transport = Tampering(InProcessTransport(servers))
    source = channel_client(channel, secret, CHANNELS_URL, transport, NOW)
    return source, servers, transport


def a_day_at(servers: Any, channel: str) -> None:
    """Three payments of ``DAY`` (one never notified: the simulator pays without notifying
    here), one of the day after, and a refund of the second, all at the channel."""
    for n, minutes in ((1, 0), (2, 30), (3, 60), (4, 24 * 60)):
        moment = PAID + timedelta(minutes=minutes)
        if channel == "bank":
            order = servers.servers["bank"].pay(code(n), 1000 * n)
            order.paid_at = moment
            continue
        order = servers.remember(SimOrder(channel, code(n) + "Ab12", 1000 * n, "", "",
                                          txn_time=moment.strftime("%Y%m%d%H%M%S")))
        order.txn_id, order.paid_at = servers.servers[channel].new_txn_id(moment), moment
    if channel != "bank":  # an agent bank's exception is refunded at its counter, by hand
        paid = servers.order(channel, code(2) + "Ab12")
        servers.refunds[(channel, "RF2")] = SimRefund(
            channel, "RF2", paid, paid.amount_fen, "RF2" if channel == "alipay" else "5002",
            "SUCCESS", done_at=PAID + timedelta(hours=5))


def essentials(lines: Any) -> list[tuple]:
    return [(li.kind, li.channel_txn_id, li.out_trade_no, li.amount_fen, li.fee_fen, li.at,
             li.refund_id) for li in lines]


@pytest.mark.parametrize("channel", CHANNELS)
class TestStatementSource:
    def test_the_statement_is_what_the_channel_processed_that_day(self, channel,
                                                                  channel_state):
        source, servers, _ = served(channel, channel_state)
        a_day_at(servers, channel)
        statement = source.statement(DAY)
        assert (statement.channel, statement.date) == (channel, DAY)
        expected = day_lines(servers, channel, DAY)
        if channel == "bank":
            code_ = servers.stack["channels"]["bank"]["bank_code"]
            expected = [replace(li, channel_txn_id=f"{code_}-{li.channel_txn_id}")
                        for li in expected]
        assert essentials(statement.lines) == essentials(expected)
        assert len(statement.payments) == 3 and statement.total_fen == 6000
        if channel != "bank":
            assert statement.refund_fen == 2000
            assert statement.fee_fen == fee_of(channel, 1000) + fee_of(channel, 3000)

    def test_the_file_as_fetched_parses_again_into_the_same_lines(self, channel, channel_state):
        from chalicelib.adapters.statement_files import reparse

        source, servers, _ = served(channel, channel_state)
        a_day_at(servers, channel)
        statement = source.statement(DAY)
        [file] = statement.files
        assert file.name.startswith(f"{channel}-{DAY}-") and file.body and file.note
        again = reparse(channel, file.name, file.body, DAY)
        assert essentials(again.lines) == essentials(statement.lines)
        assert again.fee_fen == statement.fee_fen

    def test_an_empty_day_is_an_empty_statement(self, channel, channel_state):
        source, servers, _ = served(channel, channel_state)
        a_day_at(servers, channel)
        assert source.statement("2026-06-10").lines == ()

    def test_a_channel_that_is_down_leaves_the_day_to_a_later_run(self, channel, channel_state):
        source, servers, _ = served(channel, channel_state)
        servers.failing[channel] = 503
        with pytest.raises(ServiceUnavailable):
            source.statement(DAY)

    def test_a_file_altered_on_the_way_is_refused_whole(self, channel, channel_state):
        source, servers, transport = served(channel, channel_state)
        a_day_at(servers, channel)

        def alter(url: str, reply: HttpReply) -> HttpReply:
            body = reply.body
            if channel == "wechatpay" and "billdownload" in url:
                import gzip
                body = gzip.compress(gzip.decompress(body).replace(b"`10.00", b"`11.00", 1))
            elif channel == "alipay" and "downloadBillFile" in url:
                body = body[:len(body) // 2]
            elif channel == "unionpay":
                body = body.replace(b"fileContent=", b"fileContent=AAAA", 1)
            elif channel == "bank":
                body = body.replace(b",1000,", b",1001,", 1)
            return HttpReply(reply.status, reply.headers, body)

        transport.alter = alter
        with pytest.raises((StatementInvalid, ServiceUnavailable)) as caught:
            source.statement(DAY)
        # UnionPay's answer is signed whole: altered, it fails verification like any answer
        assert channel == "unionpay" or isinstance(caught.value, StatementInvalid)


def test_unionpays_file_follows_its_clearing_day_from_23_to_23(channel_state):
    """A UnionPay payment at 23:30 belongs to the next clearing day's file, as its settleDate
    says; one at 22:59 to the day's own."""
    source, servers, _ = served("unionpay", channel_state)
    china = timedelta(hours=8)
    for n, moment in ((1, datetime(2026, 6, 14, 23, 30) - china),   # → the 15th
                      (2, datetime(2026, 6, 15, 22, 59) - china),   # → the 15th
                      (3, datetime(2026, 6, 15, 23, 0) - china)):   # → the 16th
        moment = moment.replace(tzinfo=UTC)
        order = servers.remember(SimOrder("unionpay", code(n) + "Ab12", 1000 * n, "", "",
                                          txn_time=moment.strftime("%Y%m%d%H%M%S")))
        order.txn_id, order.paid_at = servers.servers["unionpay"].new_txn_id(moment), moment
    ids = {n: servers.order("unionpay", code(n) + "Ab12").txn_id for n in (1, 2, 3)}
    assert [li.channel_txn_id for li in source.statement(DAY).lines] == [ids[1], ids[2]]
    assert [li.channel_txn_id for li in source.statement("2026-06-16").lines] == [ids[3]]
