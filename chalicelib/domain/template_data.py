"""Bill templates as data: the JSON the finance department sends to define or edit one
(``POST /v1/admin/bill-templates``, ``PUT …/{template_id}``), the same JSON as a template is
stored (in the templates table, and copied onto every note and bill made from it), and the rule
lines of the finance console's form.

``template_from_data`` reads a body into a ``BillTemplate`` and refuses it with one
``ValidationFailed`` naming every wrong field (``fields[2].type``, ``rules[0]``, ``columns``):
first the shape and the bounds of each value, then ``bill_templates.template_faults`` (keys and
XML tags unique, rules naming fields of the right type, columns known and spanning the page). A
template is bounded: at most ``MAX_EXTRA_FIELDS`` fields, ``MAX_RULES`` rules, six columns,
``MAX_REMARKS`` remarks, every text short, and ``MAX_TEMPLATE_BYTES`` as stored JSON; so a
template costs little to store, to copy onto a bill and to draw.

Rules as text (the console; ``rule_text`` writes what ``parse_rule`` reads):
``fund_paid_fen + self_paid_fen = total_fen``, ``admitted_on <= discharged_on``,
``insurance_number required unless insurance_type = 自费``.

Pure: standard library only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.bill_templates import (
    COLUMN_KEYS,
    FIELD_TYPES,
    GENERAL_COLUMNS,
    MAX_EXTRA_FIELDS,
    AmountsAddUp,
    BillTemplate,
    Column,
    DatesInOrder,
    RequiredUnless,
    Rule,
    TemplateField,
    template_faults,
)
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.text import clean_text

TEMPLATE_ID = re.compile(r"[a-z][a-z0-9-]{2,39}")
FIELD_KEY = re.compile(r"[a-z][a-z0-9_]{1,39}")
MAX_RULES = 10
MAX_TERMS = 6
MAX_REMARKS = 3
MAX_CHOICES = 12
MAX_TEXT_LENGTH = 60  # the longest text field a block has room for (the widest built-in one)
MAX_TEMPLATE_BYTES = 8 * 1024  # as stored (compact JSON, UTF-8)
MAX_BODY_BYTES = 16 * 1024  # a request body larger than this is refused unread
COLUMN_WIDTH_MM = (10.0, 120.0)
ALIGNS = ("l", "c", "r")
LIMITS = {"name": 40, "title": 40, "payer_label": 6, "block_title": 10, "remark": 80,
          "label": 10, "choice": 20, "column_label": 10}
RULE_TYPES = ("amounts_add_up", "dates_in_order", "required_unless")


@dataclass(frozen=True)
class StoredTemplate:
    """A version of a template the finance department defined, who made it and when."""

    template: BillTemplate
    made_at: str  # ISO 8601, China time
    made_by: str  # the finance key's holder, or a person of the console


def rule_to_data(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, AmountsAddUp):
        return {"type": "amounts_add_up", "terms": [[s, k] for s, k in rule.terms],
                "equals": rule.equals}
    if isinstance(rule, DatesInOrder):
        return {"type": "dates_in_order", "first": rule.first, "then": rule.then}
    return {"type": "required_unless", "field": rule.field, "other": rule.other,
            "value": rule.value}


def template_to_data(tpl: BillTemplate) -> dict[str, Any]:
    """Everything a template is, as JSON: what ``template_from_data`` reads back equal."""
    return {
        "template_id": tpl.template_id, "version": tpl.version, "name": tpl.name,
        "kinds": list(tpl.kinds), "title": tpl.title, "payer_label": tpl.payer_label,
        "block_title": tpl.block_title, "remarks": list(tpl.remarks),
        "fields": [{"key": f.key, "label": f.label, "type": f.type, "xml_tag": f.xml_tag,
                    "required": f.required,
                    **({"max_length": f.max_length} if f.type == "text" else {}),
                    **({"choices": list(f.choices)} if f.choices else {}),
                    **({"future_ok": f.future_ok} if f.type == "date" else {})}
                   for f in tpl.fields],
        "rules": [rule_to_data(r) for r in tpl.rules],
        "columns": [{"key": c.key, "label": c.label, "width_mm": c.width_mm, "align": c.align}
                    for c in tpl.columns],
    }


def stored_size(tpl: BillTemplate) -> int:
    return len(json.dumps(template_to_data(tpl), ensure_ascii=False,
                          separators=(",", ":")).encode())


class _Reader:
    """Collects every problem of a body under the name of the field it is in."""

    def __init__(self) -> None:
        self.faults: dict[str, str] = {}

    def text(self, value: object, where: str, limit: int, required: bool = True) -> str:
        text, problem = clean_text(value, limit=limit, required=required)
        if problem:
            self.faults[where] = problem
        return text or ""

    def match(self, value: object, where: str, pattern: re.Pattern[str], what: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.faults[where] = what
            return ""
        return value

    def flag(self, value: object, where: str) -> bool:
        if value is not None and not isinstance(value, bool):
            self.faults[where] = "must be true or false"
        return bool(value)

    def items(self, value: object, where: str, most: int) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.faults[where] = "must be a list"
            return []
        if len(value) > most:
            self.faults[where] = f"at most {most}"
            return []
        return value

    def obj(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.faults[where] = "must be an object"
            return {}
        return value


_KEY_WHAT = "2-40 lower-case letters, digits or _, starting with a letter"


def _field(r: _Reader, raw: object, at: str) -> TemplateField:
    d = r.obj(raw, at)
    ftype = d.get("type")
    if ftype not in FIELD_TYPES:
        r.faults[f"{at}.type"] = f"one of {' | '.join(FIELD_TYPES)}"
    max_length = d.get("max_length", 40)
    if ftype == "text" and (isinstance(max_length, bool) or not isinstance(max_length, int)
                            or not 1 <= max_length <= MAX_TEXT_LENGTH):
        r.faults[f"{at}.max_length"] = f"a whole number from 1 to {MAX_TEXT_LENGTH}"
        max_length = 40
    choices = tuple(r.text(c, f"{at}.choices[{i}]", LIMITS["choice"])
                    for i, c in enumerate(r.items(d.get("choices"), f"{at}.choices",
                                                  MAX_CHOICES)))
    return TemplateField(
        key=r.match(d.get("key"), f"{at}.key", FIELD_KEY, _KEY_WHAT),
        label=r.text(d.get("label"), f"{at}.label", LIMITS["label"]),
        type=str(ftype) if ftype in FIELD_TYPES else "text",
        xml_tag=r.match(d.get("xml_tag"), f"{at}.xml_tag", re.compile(r"[A-Z][A-Za-z]{1,40}"),
                        "a plain XML name: a capital letter, then 1-40 letters"),
        required=r.flag(d.get("required", True), f"{at}.required"),
        max_length=max_length if ftype == "text" else 40, choices=choices,
        future_ok=r.flag(d.get("future_ok", False), f"{at}.future_ok") and ftype == "date")


def _rule(r: _Reader, raw: object, at: str) -> Rule | None:
    d = r.obj(raw, at)
    kind = d.get("type")
    key = re.compile(r"[a-z][a-z0-9_]{1,39}")
    if kind == "amounts_add_up":
        terms = []
        for n, term in enumerate(r.items(d.get("terms"), f"{at}.terms", MAX_TERMS)):
            if (not isinstance(term, list) or len(term) != 2 or term[0] not in (1, -1)
                    or isinstance(term[0], bool) or not isinstance(term[1], str)):
                r.faults[f"{at}.terms[{n}]"] = "a pair [1 or -1, field key]"
                continue
            terms.append((int(term[0]), r.match(term[1], f"{at}.terms[{n}]", key, _KEY_WHAT)))
        if not terms and f"{at}.terms" not in r.faults:
            r.faults[f"{at}.terms"] = "at least one term"
        equals = d.get("equals")
        if equals != "total_fen":
            equals = r.match(equals, f"{at}.equals", key, "total_fen or a field key")
        return AmountsAddUp(tuple(terms), str(equals))
    if kind == "dates_in_order":
        return DatesInOrder(r.match(d.get("first"), f"{at}.first", key, _KEY_WHAT),
                            r.match(d.get("then"), f"{at}.then", key, _KEY_WHAT))
    if kind == "required_unless":
        return RequiredUnless(r.match(d.get("field"), f"{at}.field", key, _KEY_WHAT),
                              r.match(d.get("other"), f"{at}.other", key, _KEY_WHAT),
                              r.text(d.get("value"), f"{at}.value", LIMITS["choice"]))
    r.faults[f"{at}.type"] = f"one of {' | '.join(RULE_TYPES)}"
    return None


def _column(r: _Reader, raw: object, at: str) -> Column:
    d = r.obj(raw, at)
    width = d.get("width_mm")
    low, high = COLUMN_WIDTH_MM
    if isinstance(width, bool) or not isinstance(width, int | float) or not low <= width <= high:
        r.faults[f"{at}.width_mm"] = f"a width from {low:g} to {high:g} mm"
        width = 0.0
    align = d.get("align", "c")
    if align not in ALIGNS:
        r.faults[f"{at}.align"] = "one of l | c | r"
    ckey = d.get("key")
    if ckey not in COLUMN_KEYS:
        r.faults[f"{at}.key"] = f"one of {' | '.join(COLUMN_KEYS)}"
    return Column(str(ckey), r.text(d.get("label"), f"{at}.label", LIMITS["column_label"]),
                  round(float(width), 1), str(align) if align in ALIGNS else "c")


def template_from_data(raw: object, *, template_id: str | None = None,
                       version: int) -> BillTemplate:
    """The template a body describes, as version ``version``; ``template_id`` is the path's
    when editing (a body's own id must then be absent or the same). One ``ValidationFailed``
    names every wrong field; nothing about a template that fails is kept."""
    r = _Reader()
    d = r.obj(raw, "body")
    if r.faults:
        raise ValidationFailed("票据模板有误", r.faults)
    given = d.get("template_id", template_id)
    if template_id is not None and given != template_id:
        r.faults["template_id"] = "must be the template's own id (or absent)"
    tid = r.match(given, "template_id", TEMPLATE_ID,
                  "3-40 lower-case letters, digits or -, starting with a letter")
    kinds = tuple(str(k) for k in r.items(d.get("kinds"), "kinds", len(BILL_KINDS)))
    if any(k not in BILL_KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        r.faults["kinds"] = f"bill kinds, each once: {' | '.join(sorted(BILL_KINDS))}"
    title = r.text(d.get("title"), "title", LIMITS["title"], required=False) or None
    if title and any(b in title.replace("{region}", "") for b in "{}"):
        r.faults["title"] = "may hold {region} and no other braces"
    fields = tuple(_field(r, f, f"fields[{n}]")
                   for n, f in enumerate(r.items(d.get("fields"), "fields", MAX_EXTRA_FIELDS)))
    rules = tuple(rule for n, x in enumerate(r.items(d.get("rules"), "rules", MAX_RULES))
                  if (rule := _rule(r, x, f"rules[{n}]")) is not None)
    columns = tuple(_column(r, c, f"columns[{n}]")
                    for n, c in enumerate(r.items(d.get("columns"), "columns",
                                                  len(COLUMN_KEYS))))
    remarks = tuple(r.text(x, f"remarks[{n}]", LIMITS["remark"])
                    for n, x in enumerate(r.items(d.get("remarks"), "remarks", MAX_REMARKS)))
    tpl = BillTemplate(
        template_id=tid, version=version,
        name=r.text(d.get("name"), "name", LIMITS["name"]), kinds=kinds, title=title,
        payer_label=r.text(d.get("payer_label", "交款人"), "payer_label", LIMITS["payer_label"]),
        block_title=r.text(d.get("block_title"), "block_title", LIMITS["block_title"],
                           required=bool(fields)),
        fields=fields, rules=rules, remarks=remarks,
        columns=columns or GENERAL_COLUMNS)
    if not r.faults:
        r.faults.update(template_faults(tpl))
    if not r.faults and stored_size(tpl) > MAX_TEMPLATE_BYTES:
        r.faults["body"] = f"a template is at most {MAX_TEMPLATE_BYTES} bytes as stored"
    if r.faults:
        raise ValidationFailed("票据模板有误", r.faults)
    return tpl


def template_from_stored(doc: dict[str, Any]) -> BillTemplate:
    """A template stored by ``template_to_data`` (trusted: it was checked when defined)."""
    return template_from_data(doc, version=int(doc["version"]))


# ---- rules as lines of text (the finance console's form) ---------------------------------------

_SUM = re.compile(r"\s*([-+]?)\s*([a-z][a-z0-9_]*)")


def rule_text(rule: Rule) -> str:
    if isinstance(rule, AmountsAddUp):
        parts = [("- " if s < 0 else ("+ " if n else "")) + k
                 for n, (s, k) in enumerate(rule.terms)]
        return f"{' '.join(parts)} = {rule.equals}"
    if isinstance(rule, DatesInOrder):
        return f"{rule.first} <= {rule.then}"
    return f"{rule.field} required unless {rule.other} = {rule.value}"


def parse_rule(line: str) -> dict[str, Any] | None:
    """The rule a line of the console's form says, as the API's JSON; None if it says none
    of the three (the form names the line)."""
    line = line.strip()
    if m := re.fullmatch(r"([a-z][a-z0-9_]*)\s+required\s+unless\s+([a-z][a-z0-9_]*)\s*=\s*(.+)",
                         line):
        return {"type": "required_unless", "field": m[1], "other": m[2], "value": m[3].strip()}
    if m := re.fullmatch(r"([a-z][a-z0-9_]*)\s*<=\s*([a-z][a-z0-9_]*)", line):
        return {"type": "dates_in_order", "first": m[1], "then": m[2]}
    left, eq, right = line.partition("=")
    if eq and re.fullmatch(r"\s*[a-z][a-z0-9_]*\s*", right):
        terms: list[list[Any]] = []
        pos = 0
        while pos < len(left):
            m = _SUM.match(left, pos)
            if m is None or (terms and not m[1]):
                return None
            terms.append([-1 if m[1] == "-" else 1, m[2]])
            pos = m.end()
            if not left[pos:].strip():
                break
        if terms:
            return {"type": "amounts_add_up", "terms": terms, "equals": right.strip()}
    return None
