"""The payment channels' servers, played locally: WeChat Pay, Alipay and UnionPay; WeChat's web
authorisation of the official account (``sim_weixin.py``: ``/weixin/``); and the SMS provider of
the China regions, Alibaba Cloud SMS (``sim_aliyun_sms.py``: ``/dysmsapi/``, its sent messages
at ``GET /_sim/sms``).

``ChannelServers.handle(method, path, headers, body)`` answers a request as the channel would,
under one path prefix per channel (``/wechatpay/v3/…``, ``/alipay/gateway.do``,
``/unionpay/gateway/api/…``). It CHECKS our signatures with our merchant public keys (from the
stack's state), remembers orders, shows a cashier page for each, pays an order when the page's
button is pressed (the channel's signed notification goes to the order's notify URL), answers
queries and takes refunds, all signed with the channel's keys as the channel signs them. Each
channel also serves its daily statement in its own format, from what it really processed
(``sim_statements.py``), and an agent bank is played under ``/bank/`` (its signed statement).
``POST /_sim/pay`` (CONTRACT.md, Local stack) pays an order at its channel, or at the bank's
counter, with its notification sent or lost (``notify: false``).

The simulator's HTTP server (``simulator.serve``) calls ``handle``; tests call it in-process
through ``InProcessTransport``, with the test's clock and a ``deliver`` that posts to the app.
What the channels remember (orders, refunds, calls) is ``sim_common.ChannelState``, which this
class extends; the channels' servers work on that and never import this module.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.adapters.channel_http import HttpReply
from chalicelib.domain.errors import SignatureInvalid
from chalicelib.domain.forms import read_form
from devstack.sim_alipay import AlipayServer
from devstack.sim_aliyun_sms import AliyunSmsServer
from devstack.sim_common import ChannelState, Reply, SimOrder, page, post
from devstack.sim_statements import BankServer
from devstack.sim_unionpay import UnionPayServer
from devstack.sim_wechatpay import WechatPayServer
from devstack.sim_weixin import WeixinServer


class ChannelServers(ChannelState):
    """The three channels' servers over one stack's keys (see the module docstring)."""

    def __init__(self, stack: dict, base_url: str, *,
                 clock: Callable[[], datetime] | None = None,
                 deliver: Callable[[str, bytes, Mapping[str, str]], int] = post,
                 auto_complete_refunds: bool = False) -> None:
        super().__init__(stack, base_url, clock=clock, deliver=deliver,
                         auto_complete_refunds=auto_complete_refunds)
        self.servers: dict[str, Any] = {"wechatpay": WechatPayServer(self),
                                        "alipay": AlipayServer(self),
                                        "unionpay": UnionPayServer(self),
                                        "weixin": WeixinServer(self)}
        if "bank" in stack.get("channels", {}):
            self.servers["bank"] = BankServer(self)
        self.sms: AliyunSmsServer | None = None  # when the stack has the provider's credentials
        if "aliyun_sms" in stack.get("channels", {}):
            self.sms = AliyunSmsServer(self, stack)

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        channel, _, rest = parts.path.lstrip("/").partition("/")
        if method == "POST" and parts.path == "/_sim/pay":
            return self.sim_pay(body)
        if channel in ("dysmsapi", "_sim") and self.sms is not None:  # signed over the full path
            return self.sms.handle(method, parts.path, parts.query,
                                   {k.lower(): v for k, v in headers.items()}, body)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if channel not in self.servers:
            return page("wechatpay", 404, "<p>未知的模拟支付请求</p>")
        lowered = {k.lower(): v for k, v in headers.items()}
        if method == "POST" and rest == "pay":  # the cashier page's button: a browser's form
            try:
                form, _ = read_form(body, lowered.get("content-type", ""),
                                    charset_field="_charset_", codecs={"utf-8": "utf-8"})
            except SignatureInvalid as exc:
                return page(channel, 400, f"<p>请求格式错误：{html.escape(exc.message)}</p>")
            return self.cashier_paid(channel, form.get("out_trade_no", ""),
                                     form.get("return_url", ""))
        url = "/" + rest + (f"?{parts.query}" if parts.query else "")
        return self.servers[channel].handle(method, url, query, lowered, body)

    def sim_pay(self, body: bytes) -> Reply:
        """``POST /_sim/pay`` (CONTRACT.md, Local stack): ``{channel, out_trade_no, notify}``
        pays an order at its channel, its notification sent or (``notify: false``) lost; for
        the agent bank ``{channel: "bank", payment_code, amount_fen, notify}`` is a counter
        payment. The answer says what the channel now holds."""
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _json(400, {"error": "body must be a JSON object"})
        channel, notify = data.get("channel"), data.get("notify", True) is not False
        if channel == "bank" and "bank" in self.servers:
            code, amount = str(data.get("payment_code", "")), data.get("amount_fen")
            if len(code) != 20 or not code.isdigit() or not isinstance(amount, int) \
                    or isinstance(amount, bool) or amount <= 0:
                return _json(400, {"error": "payment_code (20 digits) and amount_fen (> 0)"})
            order = self.servers["bank"].pay(code, amount)
            status = self.notify(order) if notify else 0
            return _json(200, {"channel": channel, "payment_code": code,
                               "channel_txn_id": f"{self.stack['channels']['bank']['bank_code']}"
                                                 f"-{order.txn_id}", "amount_fen": amount,
                               "notified": notify, "notify_status": status})
        out_trade_no = str(data.get("out_trade_no", ""))
        if channel not in ("wechatpay", "alipay", "unionpay") \
                or self.order(str(channel), out_trade_no) is None:
            return _json(404, {"error": f"{channel} has no order {out_trade_no[:40]!r}"})
        status = self.pay(str(channel), out_trade_no, notify=notify)
        order = self.order(str(channel), out_trade_no)
        assert order is not None
        return _json(200, {"channel": channel, "out_trade_no": out_trade_no,
                           "channel_txn_id": order.txn_id, "amount_fen": order.amount_fen,
                           "notified": notify, "notify_status": status})

    def notify(self, order: SimOrder) -> int:
        body, headers = self.servers[order.channel].notification(order)
        return self.deliver(order.notify_url, body, headers)

    def cashier_paid(self, channel: str, out_trade_no: str, return_url: str) -> Reply:
        order = self.order(channel, out_trade_no)
        if order is None:
            return page(channel, 404, "<p>订单不存在或已过期</p>")
        status = self.pay(channel, out_trade_no)
        back = html.escape(return_url or order.return_url or "/")
        if status in (200, 204):
            return page(channel, 303, f"<p>支付成功</p><a href='{back}'>返回</a>",
                        return_url or order.return_url)
        return page(channel, 502, f"<p>通知商户失败（HTTP {status}）</p><a href='{back}'>返回</a>")

    def pay(self, channel: str, out_trade_no: str, *, notify: bool = True,
            amount_fen: int | None = None) -> int:
        """The payer pays: the order is paid; its notification is sent (unless ``notify`` is
        False: a notification lost on the way). The delivery's HTTP status, or 0."""
        order = self.order(channel, out_trade_no)
        if order is None:
            raise KeyError(f"{channel} has no order {out_trade_no}")
        with self.lock:
            if order.txn_id is None:
                order.txn_id = self.servers[channel].new_txn_id(self.clock())
                order.paid_at = self.clock()
                if amount_fen is not None:
                    order.amount_fen = amount_fen
        if not notify:
            return 0
        return self.notify(order)


class InProcessTransport:
    """A transport (``channel_http``) that hands requests to ``ChannelServers`` directly."""

    def __init__(self, servers: ChannelServers) -> None:
        self.servers = servers

    def __call__(self, method: str, url: str, headers: Mapping[str, str],
                 body: bytes | None) -> HttpReply:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        reply = self.servers.handle(method, path, headers, body or b"")
        return HttpReply(reply.status, {k.lower(): v for k, v in reply.headers.items()},
                         reply.body)


def _json(status: int, data: dict[str, Any]) -> Reply:
    return Reply(status, {"Content-Type": "application/json; charset=utf-8"},
                 json.dumps(data, ensure_ascii=False).encode())
