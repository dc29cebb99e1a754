"""What the simulated channels really processed, as each one's daily statement; and the agent
bank the simulator plays (its counter payments and its signed statement).

A day's lines (``day_lines``) are the orders paid that day (Beijing time; UnionPay's day is its
clearing day, 23:00 the day before to 23:00, as its settleDate says) and the refunds that
succeeded that day, whether or not
a notification was ever delivered: a payment made with ``POST /_sim/pay`` ``notify: false`` is
in the statement like any other. Each channel takes a fee (``FEE_PER_MILLE`` of the amount,
rounded half up to the fen) and gives it back with a whole refund. The channels' servers write
the lines in their own formats (``devstack.builders.statements``).

``BankServer`` answers ``GET /bank/statements/{bank_code}/{date}`` (our request's HMAC checked,
the answer signed) and takes counter payments: ``ChannelServers.bank_pay``.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import replace
from datetime import datetime

from chalicelib.adapters.bank import signature_for, statement_path
from chalicelib.domain.china_time import china_iso
from chalicelib.domain.statements import PAYMENT, REFUND, StatementLine, clearing_day
from devstack.builders.statements import bank_signed, bank_statement
from devstack.sim_common import ChannelState, Reply, SimOrder, new_id

FEE_PER_MILLE = {"wechatpay": 6, "alipay": 6, "unionpay": 5, "bank": 0}


def fee_of(channel: str, amount_fen: int) -> int:
    return (amount_fen * FEE_PER_MILLE[channel] + 500) // 1000


def _day(channel: str, moment: datetime | None) -> str:
    """The statement day of a moment at ``channel`` (UnionPay's clearing day cuts at 23:00)."""
    return clearing_day(channel, china_iso(moment)) if moment is not None else ""


def _merchant(order: SimOrder) -> str:
    """The merchant an order was for: WeChat's sub_mchid, Alipay's seller_id, UnionPay's merId
    (the deployment's too: its file is per merId)."""
    return str(order.extra.get("sub_mchid") or order.extra.get("seller_id")
               or order.extra.get("merId") or "")


def day_lines(state: ChannelState, channel: str, date: str) -> list[StatementLine]:
    """Every payment and finished refund of ``channel`` on ``date``, in time order."""
    with state.lock:
        orders = [o for (c, _), o in state.orders.items()
                  if c == channel and o.txn_id and _day(channel, o.paid_at) == date]
        refunds = [r for (c, _), r in state.refunds.items()
                   if c == channel and r.status == "SUCCESS" and _day(channel, r.done_at) == date]
    lines = [StatementLine(PAYMENT, o.txn_id or "", o.out_trade_no, o.amount_fen,
                           fee_of(channel, o.amount_fen), china_iso(o.paid_at),  # type: ignore[arg-type]
                           state="SUCCESS", merchant=_merchant(o))
             for o in orders]
    for r in refunds:
        fee = fee_of(channel, r.order.amount_fen)
        given_back = fee if r.amount_fen == r.order.amount_fen else 0
        lines.append(StatementLine(REFUND, r.order.txn_id or "", r.order.out_trade_no,
                                   r.amount_fen, -given_back, china_iso(r.done_at),  # type: ignore[arg-type]
                                   refund_id=r.refund_id, out_refund_no=r.out_refund_no,
                                   state="REFUND", merchant=_merchant(r.order)))
    return sorted(lines, key=lambda line: line.at)


class BankServer:
    """An agent bank: counter payments (notified like ``/callbacks/bank``) and its statement."""

    channel = "bank"

    def __init__(self, servers: ChannelState) -> None:
        self.s = servers
        self.bank = servers.stack["channels"]["bank"]
        self.code, self.secret = self.bank["bank_code"], self.bank["secret"].encode()

    def pay(self, payment_code: str, amount_fen: int) -> SimOrder:
        """A payer pays ``amount_fen`` for ``payment_code`` at the counter: remembered, paid."""
        now = self.s.clock()
        order = SimOrder(self.channel, payment_code, amount_fen,
                         f"{self.s.stack.get('base_url', '').rstrip('/')}/callbacks/bank", "",
                         txn_id=new_id("C", 15), paid_at=now)
        with self.s.lock:  # a note may be paid twice at the counter: each payment is its own
            self.s.orders[(self.channel, f"{payment_code}#{order.txn_id}")] = order
        return order

    def notification(self, order: SimOrder) -> tuple[bytes, dict[str, str]]:
        from devstack.notifications import bank_notification

        return bank_notification(self.s.stack, order.out_trade_no, order.amount_fen,
                                 now=order.paid_at, bank_txn_id=order.txn_id)

    def new_txn_id(self, now: datetime) -> str:
        return new_id("C", 15)

    def handle(self, method: str, url: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        path = url.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if method != "GET" or len(parts) != 3 or parts[0] != "statements":
            return _text(404, "not found")
        bank_code, date = parts[1], parts[2]
        if bank_code != self.code:
            return _text(404, "unknown bank")
        timestamp = headers.get("x-timestamp", "")
        expected = base64.b64encode(signature_for(
            self.secret, timestamp, f"GET {statement_path(bank_code, date)}".encode())).decode()
        if headers.get("x-bank-code") != bank_code or not timestamp.isdigit() \
                or abs(self.s.clock().timestamp() - int(timestamp)) > 300 \
                or not hmac.compare_digest(headers.get("x-signature", ""), expected):
            return _text(401, "signature")
        failing = self.s.record(self.channel, "statement", {"date": date})
        if failing:
            return _text(failing, "unavailable")
        lines = [replace(line, channel_txn_id=f"{bank_code}-{line.channel_txn_id}",
                         out_trade_no=line.out_trade_no[:20],
                         refund_id=f"{bank_code}-{line.refund_id}" if line.refund_id else "")
                 for line in day_lines(self.s, self.channel, date)]
        body = bank_statement(lines, bank_code=bank_code, date=date)
        return Reply(200, bank_signed(body, bank_code=bank_code, secret=self.secret,
                                      now=int(self.s.clock().timestamp())), body)


def _text(status: int, text: str) -> Reply:
    return Reply(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode())
