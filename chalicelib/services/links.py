"""Links: every address the product hands out, made from ``PUBLIC_BASE_URL`` in one place.

A bill's link (printed as the PDF's QR code, texted to the payer, listed in "my bills") and its
告知单, a note's pay page and notice, and the callback address a channel is given with each
order. Nothing here reads a store: a link follows from the settings and the identifiers alone,
so any service may use it without depending on another service.
"""

from __future__ import annotations

from chalicelib.services.ports import Ports


def bill_url(deps: Ports, bill_code: str, bill_number: str, check_code: str) -> str:
    """The bill's public page; the check code makes the link its holder's proof."""
    base = deps.settings.public_base_url
    return f"{base}/bills/{bill_code}/{bill_number}?check_code={check_code}"


def pay_url(deps: Ports, payment_code: str) -> str:
    """The payer's page of a note: pay it, or see its bill."""
    return f"{deps.settings.public_base_url}/pay/{payment_code}"


def notice_url(deps: Ports, payment_code: str) -> str:
    """The note's printable notice (PDF), for its collecting unit."""
    return f"{deps.settings.public_base_url}/v1/notes/{payment_code}/notice.pdf"


def bill_notice_url(deps: Ports, bill_code: str, bill_number: str) -> str:
    """The bill's printable 告知单 (PDF), for its issuing unit."""
    return f"{deps.settings.public_base_url}/v1/bills/{bill_code}/{bill_number}/notice.pdf"


def callback_url(deps: Ports, channel: str) -> str:
    """Where a channel sends its notifications about our orders and refunds."""
    return f"{deps.settings.public_base_url}/callbacks/{channel}"


def order_form_url(deps: Ports, out_trade_no: str) -> str:
    """The self-submitting form of a UnionPay order (its checkout is a form, not a link)."""
    return f"{deps.settings.public_base_url}/v1/public/orders/{out_trade_no}/form"


def order_qr_url(deps: Ports, payment_code: str, out_trade_no: str) -> str:
    """The page showing a WeChat Native order's code as a QR code, for a desktop's payer."""
    return f"{deps.settings.public_base_url}/pay/{payment_code}/qr/{out_trade_no}"


def wechat_oauth_return_url(deps: Ports, payment_code: str) -> str:
    """Where WeChat's OAuth sends the payer back with a ``code`` (its ``redirect_uri``: under
    the official account's 网页授权域名, which is our public host)."""
    return f"{deps.settings.public_base_url}/pay/{payment_code}/wechat"


def note_status_url(deps: Ports, payment_code: str) -> str:
    """The note as its collecting unit reads it (``GET /v1/notes/{code}``): its ``bill`` once
    issued; where a directly issued bill is followed."""
    return f"{deps.settings.public_base_url}/v1/notes/{payment_code}"
