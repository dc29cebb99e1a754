"""What the payer's note pages show, as plain values: the pay page (``/pay/<code>``, from the
notice's QR code) and the note found by typing (``/lookup``).

The views in ``api/pages.py`` and ``api/payer_pages.py`` find the note, call one function here
and hand the result to their template (``pay.html``, ``lookup.html``), which only lays it out:
amounts in yuan with thousands separators and in capitals, the payment code grouped for
reading, the status in Chinese, the unit's name, and on the pay page the channels and a
refresh while the bill is being issued.

The pay page offers what works where the payer opened it (``domain.payer_clients``): inside
WeChat, WeChat Pay by JSAPI; inside Alipay, Alipay; inside 云闪付, UnionPay; in a phone's
browser, all three (WeChat H5, Alipay wap, UnionPay mobile); on a desktop, WeChat by a QR code,
Alipay's and UnionPay's desktop cashiers. A short line says how to reach the others, and the
agent bank's counter is always offered. Channels this deployment has not enabled are shown, but
disabled.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.money import fen_to_capitals, fen_to_yuan_grouped
from chalicelib.domain.notes import Note
from chalicelib.domain.payer_clients import Where
from chalicelib.services.note_lookup import lookup_view
from chalicelib.services.notes import note_view
from chalicelib.services.ports import Ports

NOTE_STATUS = {"unpaid": "待缴款", "paid": "已缴款 · 票据开具中", "issued": "已开票",
               "cancelled": "已撤销", "expired": "已过期", "refunded": "已退款"}
# (code, name, colour, the letter of its mark), in the order the pay page offers them
CHANNELS = (("wechatpay", "微信支付", "#07a35a", "微"), ("alipay", "支付宝", "#1677ff", "支"),
            ("unionpay", "云闪付", "#d81e06", "银"))
PAID_REFRESH_SECONDS = 3  # the pay page reloads itself until the bill is issued
# What each place offers, in order: (channel, the order's mode there).
OFFERS: dict[Where, tuple[tuple[str, str], ...]] = {
    Where.WECHAT: (("wechatpay", "jsapi"),),
    Where.ALIPAY: (("alipay", "h5"),),
    Where.UNIONPAY: (("unionpay", "h5"),),
    Where.MOBILE: (("wechatpay", "h5"), ("alipay", "h5"), ("unionpay", "h5")),
    Where.DESKTOP: (("wechatpay", "native"), ("alipay", "page"), ("unionpay", "page")),
}
# The line for what is not offered there (or how the offered ones work).
HINTS: dict[Where, str] = {
    Where.WECHAT: "微信内无法打开支付宝、云闪付：如需使用，请点击右上角「···」，选择"
                  "「在默认浏览器中打开」后再支付。",
    Where.ALIPAY: "支付宝内无法使用微信支付、云闪付：如需使用，请点击右上角「···」，选择"
                  "「在浏览器中打开」后再支付。",
    Where.UNIONPAY: "云闪付内仅可使用银联支付：如需使用微信支付或支付宝，请在手机浏览器中打开本页，"
                    "或用微信、支付宝扫描缴款通知书上的二维码。",
    Where.MOBILE: "在微信或支付宝中扫描缴款通知书上的二维码，可直接在该应用内支付。",
    Where.DESKTOP: "微信支付将显示二维码，请用手机微信「扫一扫」支付；支付宝可扫码或登录账户支付。",
}
BANK_COUNTER = "也可凭缴款码到代理银行柜台缴款。"
WECHAT_FAILURES = {
    "refused": "您未同意微信授权，暂时无法在微信内支付。",
    "expired": "微信授权已过期或页面已失效。",
    "failed": "微信授权未成功（授权码无效或已使用）。",
    "unavailable": "暂时无法连接微信授权服务。",
}
WECHAT_RETRY = "可点击「重新授权」再试，或在浏览器中打开本页选择其他方式。"


def grouped_code(code: str) -> str:
    """``34010026000000000017`` → ``340100 26 000000 000017`` (region, year, then the rest)."""
    return f"{code[:6]} {code[6:8]} {code[8:14]} {code[14:]}"


def items_in_yuan(items: list[dict]) -> list[dict]:
    """Each item of a view with its amount in yuan, grouped: ``amount_yuan``."""
    return [{**i, "amount_yuan": fen_to_yuan_grouped(i["amount_fen"])} for i in items]


def _page(deps: Ports, note: Note, view: dict) -> dict[str, Any]:
    unit = deps.units.get(note.unit_code)
    return {"note": view, "items": items_in_yuan(view["items"]),
            "unit_name": unit.name if unit else note.unit_code,
            "status_label": NOTE_STATUS[view["status"]],
            "total_yuan": fen_to_yuan_grouped(note.total_fen),
            "total_capitals": fen_to_capitals(note.total_fen),
            "grouped_code": grouped_code(note.payment_code)}


def pay_page(deps: Ports, note: Note, where: Where = Where.MOBILE, *,
             wechat_failure: str | None = None) -> dict[str, Any]:
    """The pay page of ``note`` (masked as every public view) for a payer ``where``: the
    template's context. ``wechat_failure`` (a ``wechat_session.Failure`` value) says why a
    payer inside WeChat has no openid: WeChat Pay is then shown disabled, with the reason."""
    view = note_view(deps, note, public=True)
    enabled = deps.settings.enabled_channels
    brands = {code: (name, colour, letter) for code, name, colour, letter in CHANNELS}
    channels = []
    for code, mode in OFFERS[where]:
        name, colour, letter = brands[code]
        blocked = mode == "jsapi" and wechat_failure is not None
        channels.append({"code": code, "mode": mode, "name": name, "colour": colour,
                         "letter": letter, "enabled": code in enabled and not blocked,
                         "why_not": "需微信授权" if blocked and code in enabled else "暂未开通"})
    notice = WECHAT_FAILURES.get(wechat_failure or "")
    return {**_page(deps, note, view), "where": where.value, "channels": channels,
            "hint": HINTS[where], "bank_counter": BANK_COUNTER,
            "wechat_notice": f"{notice}{WECHAT_RETRY}" if notice else None,
            "refresh": PAID_REFRESH_SECONDS if view["status"] == "paid" else None}


def lookup_page(deps: Ports, note: Note) -> dict[str, Any]:
    """The note its payer found by code and name (``note_lookup``): the template's context."""
    return _page(deps, note, lookup_view(deps, note))
