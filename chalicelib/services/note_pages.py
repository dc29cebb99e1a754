"""What the payer's note pages show, as plain values: the pay page (``/pay/<code>``, from the
notice's QR code) and the note found by typing (``/lookup``).

The views in ``api/pages.py`` and ``api/payer_pages.py`` find the note, call one function here
and hand the result to their template (``pay.html``, ``lookup.html``), which only lays it out:
amounts in yuan with thousands separators and in capitals, the payment code grouped for
reading, the status in Chinese, the unit's name, and on the pay page the channels (those this
deployment has not enabled shown, but disabled) and a refresh while the bill is being issued.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.money import fen_to_capitals, fen_to_yuan_grouped
from chalicelib.domain.notes import Note
from chalicelib.services.note_lookup import lookup_view
from chalicelib.services.notes import note_view
from chalicelib.services.ports import Ports

NOTE_STATUS = {"unpaid": "待缴款", "paid": "已缴款 · 票据开具中", "issued": "已开票",
               "cancelled": "已撤销", "expired": "已过期", "refunded": "已退款"}
# (code, name, colour, the letter of its mark), in the order the pay page offers them
CHANNELS = (("wechatpay", "微信支付", "#07a35a", "微"), ("alipay", "支付宝", "#1677ff", "支"),
            ("unionpay", "云闪付", "#d81e06", "银"))
PAID_REFRESH_SECONDS = 3  # the pay page reloads itself until the bill is issued


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


def pay_page(deps: Ports, note: Note) -> dict[str, Any]:
    """The pay page of ``note`` (masked as every public view): the template's context."""
    view = note_view(deps, note, public=True)
    enabled = deps.settings.enabled_channels
    return {**_page(deps, note, view),
            "channels": [{"code": code, "name": name, "enabled": code in enabled,
                          "colour": colour, "letter": letter}
                         for code, name, colour, letter in CHANNELS],
            "refresh": PAID_REFRESH_SECONDS if view["status"] == "paid" else None}


def lookup_page(deps: Ports, note: Note) -> dict[str, Any]:
    """The note its payer found by code and name (``note_lookup``): the template's context."""
    return _page(deps, note, lookup_view(deps, note))
