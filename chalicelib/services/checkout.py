"""A payer pays: open a channel order for the note, then open it with the channel.

WeChat Pay (H5): a prepay call gives the ``h5_url`` the browser opens. Alipay (wap pay): a
signed URL to Alipay's gateway. UnionPay (front consumption): a form the browser posts to
UnionPay; ``pay_url`` is our own page that serves it (``unionpay_form``), so a browser can be
redirected there like to the others. The channel notifies ``/callbacks/{channel}`` and sends the
payer back to the note's pay page.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.errors import NotFound
from chalicelib.domain.payments import ChannelOrder, Checkout
from chalicelib.services import limits
from chalicelib.services.links import callback_url, order_form_url, pay_url
from chalicelib.services.notes import open_order
from chalicelib.services.ports import Ports


def pay(deps: Ports, payment_code: str, body: object,
        client_ip: str) -> tuple[ChannelOrder, Checkout]:
    """Open an order for the note and with its channel; where the payer goes next."""
    order = open_order(deps, payment_code, body, client_ip)
    return order, checkout(deps, order, client_ip)


def checkout(deps: Ports, order: ChannelOrder, client_ip: str) -> Checkout:
    """Ask the order's channel to open it (WeChat, UnionPay: deterministic, safe to repeat)."""
    opened = deps.channel_api(order.channel).checkout(
        order, description=f"非税收入缴款 {order.payment_code}",
        notify_url=callback_url(deps, order.channel),
        return_url=pay_url(deps, order.payment_code), client_ip=client_ip)
    if opened.form_html is not None:
        opened = replace(opened, pay_url=order_form_url(deps, order.out_trade_no))
    return opened


def unionpay_form(deps: Ports, out_trade_no: str, client: str) -> str:
    """The self-submitting form of a UnionPay order (the same signed fields every time).

    The form names the note and its amount, so an unknown order number spends the client's
    guessing budget like an unknown payment code."""
    guesser = limits.Guesser.client(client)
    limits.guard(deps, guesser)
    order = deps.notes.get_order(out_trade_no)
    if order is None or order.channel != "unionpay":
        limits.count_miss(deps, guesser)
        raise NotFound("订单不存在", code="order_not_found")
    opened = checkout(deps, order, "")
    assert opened.form_html is not None
    return opened.form_html
