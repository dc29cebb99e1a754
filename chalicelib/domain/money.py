"""Money: integer fen inside, exact yuan strings and Chinese capitals at the edges.

A fen is the smallest unit of the renminbi (0.01 yuan). Every amount in this application is an
``int`` of fen; yuan strings exist only where a protocol or a person reads them (Alipay, the PDF,
the pages), and are converted here, exactly, without floats.
"""

from __future__ import annotations

import re

from chalicelib.domain.errors import ValidationFailed

MAX_FEN = 10**14 - 1  # 999,999,999,999.99 yuan: above any non-tax payment, within 亿 groups

_YUAN = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def check_fen(value: object, field: str = "amount_fen", *, allow_zero: bool = False) -> int:
    """Return ``value`` if it is a valid amount of fen, else raise ``ValidationFailed``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("金额必须是以分为单位的整数", {field: "must be an integer number of fen"})
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationFailed("金额必须大于零", {field: "must be greater than zero"})
    if value > MAX_FEN:
        raise ValidationFailed("金额过大", {field: f"must not exceed {MAX_FEN}"})
    return value


def yuan_to_fen(text: str) -> int:
    """Convert a yuan string such as ``"20.00"`` or ``"0.5"`` to fen, exactly.

    Accepts only plain decimal notation with at most two decimals: no sign, exponent, spaces,
    separators or leading zeros. Anything else raises ``ValidationFailed``.
    """
    if not isinstance(text, str) or not _YUAN.fullmatch(text):
        raise ValidationFailed(f"not a yuan amount: {text!r}", {"amount": "not a yuan amount"})
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def signed_yuan_to_fen(text: str) -> int:
    """Like ``yuan_to_fen``, also accepting a leading minus (the amounts of a red bill)."""
    if isinstance(text, str) and text.startswith("-"):
        return -yuan_to_fen(text[1:])
    return yuan_to_fen(text)


def fen_to_yuan(fen: int) -> str:
    """Format fen as a yuan string with two decimals: ``12345`` → ``"123.45"``."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("fen must be an int")
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def fen_to_yuan_grouped(fen: int) -> str:
    """Like ``fen_to_yuan`` with thousands separators, for people: ``123456789`` → ``1,234,567.89``."""
    text = fen_to_yuan(fen)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}.{frac}"


def _four_digits(n: int) -> str:
    """Capitals for 1 ≤ n ≤ 9999 within one 万 group; inner zeros collapse to one 零."""
    out: list[str] = []
    pending_zero = False
    for unit, div in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
        digit = n // div % 10
        if digit == 0:
            pending_zero = pending_zero or bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + unit)
    return "".join(out)


def _integer_capitals(n: int) -> str:
    parts: list[str] = []
    gap = False
    for value, suffix in ((n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")):
        if value == 0:
            gap = gap or bool(parts)
            continue
        if parts and (gap or value < 1000):
            parts.append("零")
        gap = False
        parts.append(_four_digits(value) + suffix)
    return "".join(parts)


def fen_to_capitals(fen: int) -> str:
    """The amount in Chinese financial capitals (人民币大写), as accountants write it.

    ``15000`` → ``壹佰伍拾元整``; ``2005`` → ``贰拾元零伍分``; ``110`` → ``壹元壹角整``;
    ``0`` → ``零元整``; ``-8000`` (a red bill) → ``负捌拾元整``. Amounts ending at 元 or 角
    end in 整; amounts with 分 do not.
    """
    if isinstance(fen, int) and not isinstance(fen, bool) and fen < 0:
        return "负" + fen_to_capitals(-fen)
    check_fen(fen, allow_zero=True)
    yuan, rest = divmod(fen, 100)
    jiao, fen_digit = divmod(rest, 10)
    text = _integer_capitals(yuan)
    if yuan:
        text += "元"
    if jiao == 0 and fen_digit == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen_digit:
        return text + _DIGITS[fen_digit] + "分"
    return text + "整"
