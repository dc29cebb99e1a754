"""Regions as the finance departments see them: province → city → county, by the 6-digit code.

A region code (GB/T 2260, 行政区划代码) is two digits of province, two of city (prefecture),
two of county: ``340102`` is 瑶海区 of 合肥市 (``3401``) in 安徽省 (``34``). A finance
department's reach is a *scope*: the prefix of the codes it governs, ``"34"`` for the
provincial department (财政厅), ``"3401"`` for a city bureau (财政局), ``"340102"`` for a county
bureau; the empty scope reaches every region (the system's operator, or a single-province
deployment's provincial key).

People also write a city or province as its full 6-digit code padded with zeros (``340100``,
``340000``): ``scope_of`` accepts both and returns the prefix.
"""

from __future__ import annotations

import re

from chalicelib.domain.errors import ValidationFailed

_REGION = re.compile(r"^[1-9][0-9]{5}$")
_SCOPE = re.compile(r"^([1-9][0-9])([0-9]{2})?([0-9]{2})?$")

LEVELS = {0: "all", 2: "province", 4: "city", 6: "county"}


def is_region_code(code: str) -> bool:
    """A well-formed 6-digit region code (the first digit is never 0)."""
    return bool(_REGION.match(code or ""))


def scope_of(text: str, field: str = "region") -> str:
    """The scope (a 0-, 2-, 4- or 6-digit prefix) written as ``text``; ``ValidationFailed``
    naming ``field`` when it is not one.

    ``""`` (everywhere), ``"34"``/``"340000"`` (a province), ``"3401"``/``"340100"`` (a city),
    ``"340102"`` (a county).
    """
    text = (text or "").strip()
    if text == "":
        return ""
    if len(text) == 6 and _REGION.match(text):
        while text.endswith("00") and len(text) > 2:  # 340100 → 3401, 340000 → 34
            text = text[:-2]
        return text
    if not _SCOPE.match(text):
        raise ValidationFailed("行政区划代码有误", {
            field: "a region: 2 (province), 4 (city) or 6 (county) digits, e.g. 34, 3401, 340102"})
    return text


def covers(scope: str, region_code: str) -> bool:
    """True when ``region_code`` lies within ``scope`` (a prefix from ``scope_of``)."""
    return region_code.startswith(scope)


def level(scope: str) -> str:
    """``all``, ``province``, ``city`` or ``county``."""
    return LEVELS[len(scope)]
