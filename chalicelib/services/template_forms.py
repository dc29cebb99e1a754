"""The finance console's template form (制样): a template as the inputs of a form, and back.

The form is the API's body laid out for a person (``domain/template_data``): one row of inputs a
field (key, label, type, XML tag, required, and one "options" box: the choices of a choice
field separated by 、 or |, the longest text of a text field), one row a column (which column,
label, width, alignment), remarks one a line, rules one a line in words (``a_fen + b_fen =
total_fen``, ``admitted_on <= discharged_on``, ``x required unless y = 自费``). What the form
sends becomes the API's body, checked by the same use cases (``bill_template_admin``); a field
the checks name is shown next to the input it came from (``form_field``).
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.bill_templates import COLUMN_KEYS, GENERAL_COLUMNS, MAX_EXTRA_FIELDS
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.template_data import MAX_RULES, parse_rule

FIELD_INPUTS = ("f_key", "f_label", "f_type", "f_xml_tag", "f_required", "f_options")
COLUMN_INPUTS = ("c_key", "c_label", "c_width", "c_align")
SCALARS = ("template_id", "name", "title", "payer_label", "block_title", "remarks", "rules",
           "version")
TYPES = {"text": "文本", "code": "编码", "date": "日期（不晚于当日）",
         "date_future": "日期（可晚于当日）", "fen": "金额（分）", "choice": "选项"}
EMPTY_ROWS = 3  # blank field rows offered below the template's own
MIN_ROWS = 6
_SPLIT = re.compile(r"[、|｜,，]")


def field_rows(count: int) -> int:
    return min(MAX_EXTRA_FIELDS, max(MIN_ROWS, count + EMPTY_ROWS))


def form_of(data: dict[str, Any], rules: list[str]) -> dict[str, Any]:
    """The form's values for a template's data (``template_to_data``) and its rules as lines
    (``rule_text``)."""
    fields = [{"key": f["key"], "label": f["label"], "xml_tag": f["xml_tag"],
               "type": "date_future" if f.get("future_ok") else f["type"],
               "required": "yes" if f.get("required", True) else "no",
               "options": "、".join(f.get("choices", [])) if f["type"] == "choice"
               else str(f.get("max_length", "")) if f["type"] == "text" else ""}
              for f in data.get("fields", [])]
    columns = [{"key": c["key"], "label": c["label"], "width": f"{c['width_mm']:g}",
                "align": c["align"]} for c in data.get("columns", [])]
    return {"template_id": data.get("template_id", ""), "name": data.get("name", ""),
            "kinds": list(data.get("kinds", [])), "title": data.get("title") or "",
            "payer_label": data.get("payer_label", "交款人"),
            "block_title": data.get("block_title", ""),
            "remarks": "\n".join(data.get("remarks", [])),
            "rules": "\n".join(rules),
            "version": str(data.get("version", "")), "fields": fields,
            "columns": columns}


def blank_form() -> dict[str, Any]:
    return {"template_id": "", "name": "", "kinds": [], "title": "", "payer_label": "交款人",
            "block_title": "", "remarks": "", "rules": "", "version": "", "fields": [],
            "columns": [{"key": c.key, "label": c.label, "width": f"{c.width_mm:g}",
                         "align": c.align} for c in GENERAL_COLUMNS]}


def form_from_post(scalars: dict[str, str], lists: dict[str, list[str]]) -> dict[str, Any]:
    """The form as posted (rows rebuilt from the repeated inputs), to show again if refused."""
    def rows(names: tuple[str, ...], most: int) -> list[dict[str, str]]:
        count = min(most, max((len(lists.get(n, [])) for n in names), default=0))
        return [{n.split("_", 1)[1]: (lists[n][i] if i < len(lists.get(n, [])) else "").strip()
                 for n in names} for i in range(count)]
    return {**{k: scalars.get(k, "") for k in SCALARS},
            "kinds": lists.get("kinds", [])[:10],
            "fields": rows(FIELD_INPUTS, MAX_EXTRA_FIELDS),
            "columns": rows(COLUMN_INPUTS, len(COLUMN_KEYS))}


def body_of(form: dict[str, Any]) -> dict[str, Any]:
    """The API's body for a posted form; ``ValidationFailed`` naming the form's own inputs for
    what the form alone can tell (a rule line that says nothing, a width that is no number)."""
    problems: dict[str, str] = {}
    fields = []
    for n, row in enumerate(form["fields"]):
        if not any(row.get(k) for k in ("key", "label", "xml_tag", "options")):
            continue  # a blank row
        ftype = row.get("type", "text")
        field: dict[str, Any] = {"key": row.get("key", ""), "label": row.get("label", ""),
                                 "type": "date" if ftype == "date_future" else ftype,
                                 "xml_tag": row.get("xml_tag", ""),
                                 "required": row.get("required", "yes") != "no"}
        options = row.get("options", "")
        if ftype == "date_future":
            field["future_ok"] = True
        if ftype == "choice":
            field["choices"] = [c.strip() for c in _SPLIT.split(options) if c.strip()]
        elif ftype == "text" and options:
            if options.isdigit() and len(options) < 4:
                field["max_length"] = int(options)
            else:
                problems[f"f_options-{n}"] = "文本字段的选项填最大长度（1-60）"
        fields.append(field)
    columns = []
    for n, row in enumerate(form["columns"]):
        if not row.get("key"):
            continue
        try:
            width = float(row.get("width", ""))
        except ValueError:
            problems[f"c_width-{n}"] = "宽度填毫米数"
            continue
        columns.append({"key": row["key"], "label": row.get("label", ""), "width_mm": width,
                        "align": row.get("align", "c")})
    rules = []
    for n, line in enumerate(x for x in form["rules"].splitlines() if x.strip()):
        rule = parse_rule(line)
        if rule is None or n >= MAX_RULES:
            problems["rules"] = (f"第 {n + 1} 行无法识别：{line.strip()[:40]}" if rule is None
                                 else f"最多 {MAX_RULES} 条规则")
            break
        rules.append(rule)
    if problems:
        raise ValidationFailed("请检查标出的项目", problems)
    body: dict[str, Any] = {
        "template_id": form["template_id"].strip(), "name": form["name"],
        "kinds": form["kinds"], "title": form["title"].strip() or None,
        "payer_label": form["payer_label"], "block_title": form["block_title"],
        "remarks": [x.strip() for x in form["remarks"].splitlines() if x.strip()],
        "fields": fields, "rules": rules, "columns": columns}
    if form["version"].isdigit() and len(form["version"]) < 7:
        body["version"] = int(form["version"])
    return body


def form_field(api_field: str, form: dict[str, Any]) -> str:
    """The form's input for a field the checks named (``fields[2].label`` → ``f_label-<row>``,
    the row of the form that field came from)."""
    if m := re.fullmatch(r"fields\[(\d+)\]\.(\w+)(?:\[\d+\])?", api_field):
        rows = [n for n, r in enumerate(form["fields"])
                if any(r.get(k) for k in ("key", "label", "xml_tag", "options"))]
        row = rows[int(m[1])] if int(m[1]) < len(rows) else 0
        name = {"key": "key", "label": "label", "type": "type", "xml_tag": "xml_tag",
                "required": "required"}.get(m[2], "options")
        return f"f_{name}-{row}"
    if m := re.fullmatch(r"columns\[(\d+)\]\.(\w+)", api_field):
        rows = [n for n, r in enumerate(form["columns"]) if r.get("key")]
        row = rows[int(m[1])] if int(m[1]) < len(rows) else 0
        name = "width" if m[2] == "width_mm" else m[2]
        return f"c_{name}-{row}"
    head = re.split(r"[.\[]", api_field)[0]
    return head if head in (*SCALARS, "kinds", "columns", "fields") else "body"
