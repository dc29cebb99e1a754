"""The local payment-channel simulator: plays WeChat Pay, Alipay, UnionPay and an agent bank.

As a server (``serve``): each channel's API as the app calls it, and a cashier page per order
a person clicks through; paying sends that channel's correctly signed notification to the
order's notify URL, then returns the payer to the pay page (``channel_servers.py``). As a
command (the notifications themselves: ``notifications.py``)::

    python -m devstack.simulator pay PAYMENT_CODE [--channel alipay]   # the running simulator pays
    python -m devstack.simulator notify OUT_TRADE_NO AMOUNT_FEN [--channel unionpay]  # signed here
    python -m devstack.simulator bank PAYMENT_CODE AMOUNT_FEN
    python -m devstack.simulator cancel-auth SELLER_ID   # a merchant cancels its Alipay authorisation

Keys and merchant ids come from ``.local/stack.json`` (CONTRACT.md, 'Local stack').
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devstack import clock
from devstack.channel_servers import ChannelServers
from devstack.notifications import NOTIFIERS, bank_notification


def send(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def pay(stack: dict, channel: str, out_trade_no: str, amount_fen: int) -> int:
    """Play the channel: send its payment notification for an order; the HTTP status."""
    body, headers = NOTIFIERS[channel](stack, out_trade_no, amount_fen)
    return send(f"{stack['base_url']}/callbacks/{channel}", body, headers)


class _Form(HTMLParser):
    """The one form of a page that posts the payer to a channel: its action and fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.action = named.get("action") or ""
        elif tag == "input" and named.get("name"):
            self.fields[str(named["name"])] = named.get("value") or ""


def arrive(stack: dict, order: dict) -> None:
    """The payer's browser reaches the channel with the order the app opened: it follows the
    pay URL when the channel's cashier serves it (Alipay's gateway; WeChat Pay's H5 page), or
    submits the form the app serves (UnionPay's front transaction), as a browser does."""
    url = str(order.get("pay_url") or "")
    if order.get("form_html"):
        form = _Form()
        form.feed(str(order["form_html"]))
        request = urllib.request.Request(
            form.action, method="POST", data=urllib.parse.urlencode(form.fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
    elif url.startswith(stack["simulator_url"]):
        request = urllib.request.Request(url)
    else:
        return
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def pay_order(stack: dict, channel: str, out_trade_no: str) -> int:
    """The payer pays an order the running simulator holds (``POST /_sim/pay``): the channel
    notifies as it would for that order, for the merchant it was opened for (a unit's own
    WeChat sub-merchant, Alipay seller or UnionPay merId, or the deployment's). The HTTP status
    of the notification's delivery."""
    request = urllib.request.Request(
        f"{stack['simulator_url']}/_sim/pay", method="POST",
        data=json.dumps({"channel": channel, "out_trade_no": out_trade_no}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.loads(response.read())["notify_status"])


def cancel_authorisation(stack: dict, seller_id: str) -> dict:
    """A merchant cancels its Alipay authorisation of our application at the running
    simulator, which posts Alipay's message (``alipay.open.auth.appauth.cancelled``) to the
    app's gateway: its answer (``notify_id``, ``message_status``: how the app answered)."""
    request = urllib.request.Request(
        f"{stack['simulator_url']}/alipay/_sim/app-auth-cancel", method="POST",
        data=json.dumps({"seller_id": seller_id}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def pay_at_bank(stack: dict, payment_code: str, amount_fen: int) -> int:
    body, headers = bank_notification(stack, payment_code, amount_fen)
    return send(f"{stack['base_url']}/callbacks/bank", body, headers)


class _Handler(BaseHTTPRequestHandler):
    """Every request goes to the channels' servers (``channel_servers.ChannelServers``)."""

    channels: ChannelServers

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.channels.handle(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def serve(stack_path: Path, host: str, port: int) -> ThreadingHTTPServer:
    """The channels' servers over HTTP (``port`` 0: any free one); ``.channels`` holds them."""
    ThreadingHTTPServer.request_queue_size = 128
    handler: Any = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer((host, port), handler)
    base = f"http://{host}:{server.server_address[1]}"
    handler.channels = ChannelServers(json.loads(stack_path.read_text()), base,
                                      auto_complete_refunds=True)
    server.channels = handler.channels  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True, name="simulator").start()
    return server


def _open_order(stack: dict, payment_code: str, channel: str) -> dict:
    request = urllib.request.Request(
        f"{stack['base_url']}/v1/public/notes/{payment_code}/pay",
        data=json.dumps({"channel": channel}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.simulator")
    parser.add_argument("--stack", default=".local/stack.json")
    sub = parser.add_subparsers(dest="command", required=True)
    pay_cmd = sub.add_parser("pay", help="open a channel order for a note and pay it")
    pay_cmd.add_argument("payment_code")
    pay_cmd.add_argument("--channel", choices=sorted(NOTIFIERS), default="wechatpay")
    notify = sub.add_parser("notify", help="send a payment notification for an order")
    notify.add_argument("out_trade_no")
    notify.add_argument("amount_fen", type=int)
    notify.add_argument("--channel", choices=sorted(NOTIFIERS), default="wechatpay")
    bank = sub.add_parser("bank", help="pay a note at an agent bank's counter")
    bank.add_argument("payment_code")
    bank.add_argument("amount_fen", type=int)
    cancel = sub.add_parser("cancel-auth", help="a merchant cancels its Alipay authorisation "
                                                "(Alipay's message to the app's gateway)")
    cancel.add_argument("seller_id")
    args = parser.parse_args(argv)
    stack = json.loads(Path(args.stack).read_text())
    clock.follow(stack)  # what it signs carries the stack's time
    if args.command == "cancel-auth":
        answer = cancel_authorisation(stack, args.seller_id)
        print(f"alipay authorisation of {args.seller_id} cancelled; message "
              f"{answer['notify_id']} to the app's gateway: HTTP {answer['message_status']}")
        return 0 if answer["message_status"] == 200 else 1
    if args.command == "bank":
        status = pay_at_bank(stack, args.payment_code, args.amount_fen)
        print(f"bank counter payment of {args.payment_code} ({args.amount_fen} fen): "
              f"HTTP {status}")
        return 0 if status == 200 else 1
    if args.command == "pay":
        try:
            order = _open_order(stack, args.payment_code, args.channel)
        except urllib.error.HTTPError as exc:
            print(f"cannot open an order: HTTP {exc.code} {exc.read().decode()}", file=sys.stderr)
            return 1
        out_trade_no, amount = order["out_trade_no"], order["amount_fen"]
        arrive(stack, order)
        status = pay_order(stack, args.channel, out_trade_no)
    else:  # a notification made here, for the deployment's merchant, whatever the order
        out_trade_no, amount = args.out_trade_no, args.amount_fen
        status = pay(stack, args.channel, out_trade_no, amount)
    print(f"{args.channel} notification for {out_trade_no} ({amount} fen): HTTP {status}")
    return 0 if status in (200, 204) else 1


if __name__ == "__main__":
    sys.exit(main())
