"""What the simulated channels share: the replies they give, the orders and refunds they
remember, their cashier page, and how a notification is posted.

``ChannelState`` is the channels' memory over one stack (orders, refunds, the calls made to them,
the failures tests ask for, statement files waiting for their download) with the clock and the
delivery they use; each channel's server (``sim_wechatpay.py``, ``sim_alipay.py``,
``sim_unionpay.py``, ``sim_aliyun_sms.py``, the bank's in ``sim_statements.py``) works on it,
and ``channel_servers.ChannelServers`` routes requests to them. This module imports none of them,
so the simulator's modules import one way: ``simulator`` → ``channel_servers`` → ``sim_*`` →
``sim_common``, ``notifications`` → ``builders``.
"""

from __future__ import annotations

import html
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from chalicelib.adapters.wall_clock import utc_now
from chalicelib.domain.money import fen_to_yuan_grouped


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class SimOrder:
    """An order as the channel remembers it."""

    channel: str
    out_trade_no: str
    amount_fen: int
    notify_url: str
    return_url: str
    txn_time: str = ""  # UnionPay's: with merId and orderId it names the trade
    txn_id: str | None = None  # transaction_id / trade_no / queryId once paid
    paid_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class SimRefund:
    channel: str
    out_refund_no: str
    order: SimOrder
    amount_fen: int
    refund_id: str
    status: str  # the channel's word: PROCESSING / SUCCESS …
    notify_url: str = ""
    txn_time: str = ""
    done_at: datetime | None = None  # when it succeeded (the statement of that day lists it)


BRANDS = {"wechatpay": ("微信支付", "#07a35a"), "alipay": ("支付宝", "#1677ff"),
          "unionpay": ("云闪付", "#d81e06")}
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{brand}（本地模拟）</title>
<style>body{{margin:0;font:16px/1.6 sans-serif;background:#ededed;color:#111}}
header{{background:{colour};color:#fff;padding:14px 16px;font-weight:600}}
main{{max-width:420px;margin:0 auto;padding:16px}}.card{{background:#fff;border-radius:12px;padding:20px;text-align:center}}
.amt{{font-size:40px;font-weight:700;margin:8px 0}}button{{width:100%;padding:14px;border:0;border-radius:8px;
background:{colour};color:#fff;font-size:18px;margin-top:16px}}a{{display:block;margin-top:14px;color:#576b95}}
.note{{color:#555;font-size:13px;margin-top:16px}}</style></head><body><header>{brand} · 本地模拟收银台</header>
<main><div class="card">{body}</div><p class="note">这是本地开发环境的支付模拟器，不会产生真实扣款。</p></main></body></html>"""


def page(channel: str, status: int, body: str, location: str | None = None) -> Reply:
    brand, colour = BRANDS.get(channel, BRANDS["wechatpay"])
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if location:
        headers["Location"] = location
    return Reply(status, headers, PAGE.format(body=body, brand=brand, colour=colour).encode())


def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """Deliver a notification over HTTP; the status (0 when nothing answered)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def new_id(prefix: str, digits: int) -> str:
    return prefix + "".join(secrets.choice("0123456789") for _ in range(digits))


class ChannelState:
    """The channels' memory over one stack's keys: orders, refunds, calls; clock and delivery."""

    def __init__(self, stack: dict, base_url: str, *,
                 clock: Callable[[], datetime] | None = None,
                 deliver: Callable[[str, bytes, Mapping[str, str]], int] = post,
                 auto_complete_refunds: bool = False) -> None:
        self.stack, self.base_url = stack, base_url.rstrip("/")
        self.clock = clock or utc_now
        self.deliver, self.auto_complete_refunds = deliver, auto_complete_refunds
        self.orders: dict[tuple[str, str], SimOrder] = {}
        self.refunds: dict[tuple[str, str], SimRefund] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (channel, api, what we sent)
        self.failing: dict[str, int] = {}  # channel → HTTP status its API answers with, for now
        self.files: dict[str, bytes] = {}  # statement downloads waiting, by token
        self.cancelled: set[str] = set()  # Alipay merchants (PIDs) that cancelled our authorisation
        self.lock = threading.RLock()

    def remember(self, order: SimOrder) -> SimOrder:
        with self.lock:
            known = self.orders.get((order.channel, order.out_trade_no))
            if known is not None and known.txn_id:
                return known  # paid already: the first order stands
            self.orders[(order.channel, order.out_trade_no)] = order
            return order

    def order(self, channel: str, out_trade_no: str) -> SimOrder | None:
        return self.orders.get((channel, out_trade_no))

    def by_txn(self, channel: str, txn_id: str) -> SimOrder | None:
        return next((o for (c, _), o in self.orders.items() if c == channel and o.txn_id == txn_id),
                    None)

    def cashier(self, order: SimOrder, return_url: str | None = None) -> Reply:
        e = html.escape
        if return_url:  # WeChat learns it only now, from the h5_url's redirect_url
            order.return_url = return_url
        back = order.return_url
        return page(order.channel, 200, (
            f"<div>财政非税收入缴款</div><div class='amt'>¥{fen_to_yuan_grouped(order.amount_fen)}"
            f"</div><div style='color:#555;font-size:13px'>订单号 {e(order.out_trade_no)}</div>"
            f"<form method='post' action='/{order.channel}/pay'>"
            f"<input type='hidden' name='out_trade_no' value='{e(order.out_trade_no)}'>"
            f"<input type='hidden' name='return_url' value='{e(back)}'>"
            f"<button type='submit'>确认支付</button></form><a href='{e(back)}'>取消支付</a>"))

    def pay(self, channel: str, out_trade_no: str, *, notify: bool = True,
            amount_fen: int | None = None) -> int:
        """The payer pays an order (``channel_servers.ChannelServers`` does it)."""
        raise NotImplementedError

    def record(self, channel: str, api: str, data: dict[str, Any]) -> int | None:
        """Note a call (for tests); the status to fail it with, if the channel is failing."""
        self.calls.append((channel, api, data))
        return self.failing.get(channel)

    def later(self, action: Callable[[], object]) -> None:
        """Run ``action`` a moment from now (a refund the channel completes on its own)."""
        timer = threading.Timer(1.0, action)
        timer.daemon = True
        timer.start()
