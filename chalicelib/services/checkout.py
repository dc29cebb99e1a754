"""A payer pays: open a channel order for the note, then open it with the channel.

Each order has a mode (``domain.payments.ORDER_MODES``), chosen by where the payer is:

- WeChat Pay: H5 (a phone's browser: the ``h5_url`` it opens), JSAPI (inside WeChat: the
  ``getBrandWCPayRequest`` parameters the page hands to WeixinJSBridge, for the openid kept in
  the payer's session, ``services/wechat_session.py``), Native (a desktop: ``pay_url`` is our
  page showing the ``code_url`` as a QR code, ``native_qr``).
- Alipay: wap pay on a phone (in the Alipay app too), page pay on a desktop: a signed URL to
  Alipay's gateway.
- UnionPay (front consumption): a form the browser posts to UnionPay; ``pay_url`` is our own
  page that serves it (``unionpay_form``), so a browser can be redirected there like to the
  others.

The channel notifies ``/callbacks/{channel}`` and sends the payer back to the note's pay page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.payments import ChannelOrder, Checkout
from chalicelib.services import limits
from chalicelib.services.links import callback_url, order_form_url, order_qr_url, pay_url
from chalicelib.services.merchants import authorised
from chalicelib.services.notes import open_order
from chalicelib.services.ports import Ports


def pay(deps: Ports, payment_code: str, body: object, client_ip: str,
        payer: str | None = None) -> tuple[ChannelOrder, Checkout]:
    """Open an order for the note and with its channel; where the payer goes next.

    ``payer`` is the WeChat openid of the payer's session, which a JSAPI order needs: without
    one the request is refused before any order is opened (no slot is taken)."""
    if isinstance(body, dict) and body.get("mode") == "jsapi" and not payer:
        raise ValidationFailed("请在微信中打开缴款页面后再使用微信支付",
                               {"mode": "jsapi needs the payer's WeChat session"},
                               code="wechat_session_required")
    order = open_order(deps, payment_code, body, client_ip)
    return order, checkout(deps, order, client_ip, payer)


def checkout(deps: Ports, order: ChannelOrder, client_ip: str,
             payer: str | None = None) -> Checkout:
    """Ask the order's channel to open it (WeChat, UnionPay: deterministic, safe to repeat)."""
    opened = deps.channel_api(order.channel).checkout(
        authorised(deps, order), description=f"非税收入缴款 {order.payment_code}",
        notify_url=callback_url(deps, order.channel),
        return_url=pay_url(deps, order.payment_code), client_ip=client_ip, payer=payer)
    if opened.form_html is not None:
        opened = replace(opened, pay_url=order_form_url(deps, order.out_trade_no))
    if opened.code_url is not None:
        opened = replace(opened, pay_url=order_qr_url(deps, order.payment_code,
                                                         order.out_trade_no))
    return opened


QR_VIEWS_PER_CLIENT_PER_HOUR = 60


def _order_of(deps: Ports, out_trade_no: str, client: str, channel: str,
              mode: str | None = None) -> ChannelOrder:
    """The order behind a public order page. The page names the note and its amount, so an
    unknown order number spends the client's guessing budget like an unknown payment code."""
    guesser = limits.Guesser.client(client)
    limits.guard(deps, guesser)
    order = deps.notes.get_order(out_trade_no)
    if order is None or order.channel != channel or (mode is not None and order.mode != mode):
        limits.count_miss(deps, guesser)
        raise NotFound("订单不存在", code="order_not_found")
    return order


def unionpay_form(deps: Ports, out_trade_no: str, client: str) -> str:
    """The self-submitting form of a UnionPay order (the same signed fields every time)."""
    opened = checkout(deps, _order_of(deps, out_trade_no, client, "unionpay"), "")
    assert opened.form_html is not None
    return opened.form_html


def native_qr(deps: Ports, payment_code: str, out_trade_no: str,
              client: str) -> tuple[ChannelOrder, str | None]:
    """A WeChat Native order of the note and its ``code_url`` to show as a QR code; None once
    the note is no longer payable (paid meanwhile, cancelled, expired: the page then says so).
    Asking WeChat again gives the same order, whose code_url lives two hours, as long as any
    order of ours."""
    order = _order_of(deps, out_trade_no, client, "wechatpay", "native")
    if order.payment_code != payment_code:
        limits.count_miss(deps, limits.Guesser.client(client))
        raise NotFound("订单不存在", code="order_not_found")
    # Each view asks WeChat again (the page follows the note by the JSON note, not by reloads):
    # a client reloading without end gets 429, not as many calls to WeChat.
    limits.limit(deps, f"native-qr#{limits.client_key(client)}#"
                       f"{int(deps.clock().timestamp()) // 3600}",
                 QR_VIEWS_PER_CLIENT_PER_HOUR, timedelta(hours=1), limits.GUESSING_MESSAGE)
    note = deps.notes.get(order.payment_code)
    now = deps.clock()
    if note is None or note.status_at(now) is not NoteStatus.UNPAID or \
            datetime.fromisoformat(order.expires_at) <= now:
        return order, None
    return order, checkout(deps, order, client).code_url
