"""Fee items (收费项目) and their standards, and the check of a note against them (事前审核).

The finance department sets, for each unit, the items it may charge: a code, a name, the unit
of measure (``measure``; the API's ``unit``), the bill kind it is billed on, and a standard
(收费标准), either fixed (``standard_fen``: the price of one unit of measure) or a range
(``min_fen``–``max_fen``: the unit decides the price within it, as for a fine), valid from one
day to another (China time, both days included; either may be open).

A note's or a direct bill's line may use only its unit's fee items, each within its standard
(fixed: ``standard_fen`` equal to it, so ``amount_fen`` = standard × quantity; range: the
line's ``standard_fen`` within it), on a day the item is valid, and on the item's bill kind;
otherwise the request is refused naming the field (``items[0].standard_fen``).

Items written before standards existed (the demo's first seed) carry none: they restrict the
item code only, as before (their bill kind is the note's default kind, which a note may
override with ``bill_kind``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import check_fen

ITEM_CODE = re.compile(r"^[0-9A-Za-z]{1,20}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FIELDS = ("name", "unit", "bill_kind", "standard_fen", "min_fen", "max_fen", "valid_from",
          "valid_to")


@dataclass(frozen=True)
class FeeItem:
    """A unit's fee item (收费项目) with its standard and validity."""

    name: str
    bill_kind: str | None = None  # the bill kind this item is billed on
    measure: str | None = None  # 计量单位: 件, 本, 次
    standard_fen: int | None = None  # fixed standard, per unit of measure
    min_fen: int | None = None  # or a range of standards, both ends included
    max_fen: int | None = None
    valid_from: str | None = None  # YYYY-MM-DD, China time, included
    valid_to: str | None = None  # YYYY-MM-DD, included

    @property
    def has_standard(self) -> bool:
        return self.standard_fen is not None or self.min_fen is not None

    def public(self, item_code: str) -> dict[str, Any]:
        return {"item_code": item_code, "name": self.name, "unit": self.measure,
                "bill_kind": self.bill_kind, "standard_fen": self.standard_fen,
                "min_fen": self.min_fen, "max_fen": self.max_fen,
                "valid_from": self.valid_from, "valid_to": self.valid_to}


def read_fee_item(body: object, bill_kinds: frozenset[str]) -> FeeItem:
    """The fee item a ``PUT …/fee-items/{item_code}`` body describes; one ``ValidationFailed``
    naming every wrong field."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    fields: dict[str, str] = {}
    for name in body:
        if name not in FIELDS:
            fields[name] = f"unknown field; the fields are {', '.join(FIELDS)}"
    name = _text(body, "name", 100, fields, required=True)
    measure = _text(body, "unit", 20, fields, required=False)
    kind = body.get("bill_kind")
    if not isinstance(kind, str) or kind not in bill_kinds:
        fields["bill_kind"] = f"required, one of {', '.join(sorted(bill_kinds))}"
    amounts: dict[str, int | None] = {}
    for key in ("standard_fen", "min_fen", "max_fen"):
        amounts[key] = None
        if body.get(key) is not None:
            try:
                amounts[key] = check_fen(body[key], key)
            except ValidationFailed as exc:
                fields.update(exc.fields)
    standard, low, high = amounts["standard_fen"], amounts["min_fen"], amounts["max_fen"]
    given = {k for k in ("standard_fen", "min_fen", "max_fen") if body.get(k) is not None}
    if not given:
        fields["standard_fen"] = "required: a fixed standard_fen, or min_fen and max_fen"
    elif "standard_fen" in given and given & {"min_fen", "max_fen"}:
        fields["standard_fen"] = "either a fixed standard_fen or min_fen and max_fen, not both"
    elif "standard_fen" not in given and given != {"min_fen", "max_fen"}:
        fields["min_fen" if "min_fen" not in given else "max_fen"] = \
            "a range needs both min_fen and max_fen"
    elif low is not None and high is not None and low > high:
        fields["max_fen"] = "must not be less than min_fen"
    valid_from = _day(body, "valid_from", fields)
    valid_to = _day(body, "valid_to", fields)
    if valid_from and valid_to and valid_to < valid_from:
        fields["valid_to"] = "must not be before valid_from"
    if fields:
        raise ValidationFailed("收费项目信息有误", fields)
    assert name is not None and isinstance(kind, str)
    return FeeItem(name=name, bill_kind=kind, measure=measure, standard_fen=standard,
                   min_fen=low, max_fen=high, valid_from=valid_from, valid_to=valid_to)


def line_problems(item: FeeItem, line: Any, at: str, today: date,
                  bill_kind: str) -> dict[str, str]:
    """Why a note's line (``items[i]``, a ``domain.notes.Item``) breaks its fee item's
    standard, validity or bill kind on ``today`` (China time), as fields; empty when it keeps
    them. ``bill_kind`` is the bill kind the note will be issued on."""
    problems: dict[str, str] = {}
    day = today.isoformat()
    if item.valid_from and day < item.valid_from:
        problems[f"{at}.item_code"] = f"fee item is valid from {item.valid_from}"
    elif item.valid_to and day > item.valid_to:
        problems[f"{at}.item_code"] = f"fee item was valid until {item.valid_to}"
    if item.has_standard and item.bill_kind and item.bill_kind != bill_kind:
        problems[f"{at}.item_code"] = (f"fee item is billed on kind {item.bill_kind}, "
                                       f"not {bill_kind}")
    if item.standard_fen is not None and line.standard_fen != item.standard_fen:
        problems[f"{at}.standard_fen"] = f"must be the item's standard, {item.standard_fen}"
    elif item.min_fen is not None and item.max_fen is not None \
            and not item.min_fen <= line.standard_fen <= item.max_fen:
        problems[f"{at}.standard_fen"] = (f"must be within the item's standard, "
                                          f"{item.min_fen}-{item.max_fen}")
    return problems


def _text(body: dict, key: str, limit: int, fields: dict[str, str], *,
          required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit \
            or not value.isprintable():
        fields[key] = f"{'required, ' if required else ''}1-{limit} printable characters"
        return None
    return value.strip()


def _day(body: dict, key: str, fields: dict[str, str]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError:
        fields[key] = "must be a date YYYY-MM-DD"
        return None

