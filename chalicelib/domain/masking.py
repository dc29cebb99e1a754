"""Masking personal data for public pages and log lines."""

from __future__ import annotations

import re

_PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")
# "+8613812345678" or "008613812345678": mask_phones_in wants the number to stand alone.
_PREFIXED = re.compile(r"(?<![0-9])(?:\+|00)?86[ -]?(?=1[3-9][0-9]{9}(?![0-9]))")


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧**娜; an organization keeps its first and last two characters."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:2] + "*" * (len(name) - 4) + name[-2:]


def mask_phone(phone: str | None) -> str | None:
    """13812345678 → 138****5678."""
    if not phone:
        return phone
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)


def mask_credit_code(code: str | None) -> str | None:
    """91340100MA2XXXXX1X → 9134**********XX1X: the first four and the last four are kept."""
    if not code:
        return code
    if len(code) <= 8:
        return "*" * len(code)
    return code[:4] + "*" * (len(code) - 8) + code[-4:]


def mask_phones_in(text: str) -> str:
    """Mask every mainland mobile number inside a free text (for log lines)."""
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def scrub_phones(text: str) -> str:
    """``text`` with every mainland mobile number masked, with or without +86 (for logs)."""
    return mask_phones_in(_PREFIXED.sub("+86 ", text))
