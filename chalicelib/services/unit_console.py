"""What the online unit (在线单位) does through its console, as the person who does it.

A note made in the console is the same note an interface unit makes by ``POST /v1/notes``: the
form's fields become the contract's body (``note_body``), which ``services/notes.create_note``
checks as it checks any unit's (fee items of the unit, quantity × standard = amount, the
unit's standards when the finance department set them). The form carries a random id that is
the request's ``Idempotency-Key``, so a double click or a reload of the post makes one note.

A unit whose fee items are billed on several kinds (a hospital: outpatient and inpatient) picks
the kind first; the form then offers that kind's fee items and asks for the extra fields of the
kind's template (``extra_inputs``: typed inputs, amounts in yuan), which ``create_note`` checks
against the template as it checks an interface unit's ``extra``; a wrong one is named next to
its input. The direct bill's form (直接开票) is the same form with how the money came
(``paid_by``) instead of a due date, and ``create_direct`` is ``POST /v1/bills``'s use case.

Who may do what: both unit roles create notes and direct bills and see their unit's; cancelling an unpaid note
is the unit admin's, and an operator's only while an admin of the unit allows it
(``people.may``, ``UnitAction.CANCEL``). Every note created or cancelled here is in the audit log
under the person who did it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.direct_bills import PAID_BY
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.money import fen_to_yuan, yuan_to_fen
from chalicelib.domain.notes import Note
from chalicelib.domain.people import UnitAction
from chalicelib.domain.units import Unit
from chalicelib.services import notes as notes_service
from chalicelib.services import people
from chalicelib.services.bill_templates import template_for_kind
from chalicelib.services.direct_bills import issue_direct_bill
from chalicelib.services.people import Actor
from chalicelib.services.ports import Ports

ROWS = 5  # item rows the form offers
PAID_BY_LABELS = {"cash": "现金", "transfer": "银行转账", "pos": "POS 刷卡", "other": "其他方式"}
assert set(PAID_BY_LABELS) == set(PAID_BY)


def actor_unit(deps: Ports, actor: Actor) -> Unit:
    unit = deps.units.get(str(actor.unit_code))
    if unit is None:
        raise Forbidden("账号所属单位不存在", code="unit_missing")
    return notes_service.require_collecting(unit)


def fee_item_choices(deps: Ports, unit: Unit, kind: str | None = None) -> list[dict[str, Any]]:
    """The unit's fee items for the form (those billed on ``kind`` when given): code, name,
    and the standard when one is set."""
    choices = []
    for code, item in sorted(deps.units.fee_items(unit.unit_code).items()):
        if kind is not None and (getattr(item, "bill_kind", None) or unit.bill_kind) != kind:
            continue
        standard = getattr(item, "standard_fen", None)
        choices.append({"item_code": code, "name": item.name, "standard_fen": standard,
                        "unit": getattr(item, "measure", None) or getattr(item, "unit", None)})
    return choices


def unit_kinds(deps: Ports, unit: Unit) -> list[str]:
    """The bill kinds the unit's fee items are billed on (its own kind first)."""
    kinds = {getattr(item, "bill_kind", None) or unit.bill_kind
             for item in deps.units.fee_items(unit.unit_code).values()}
    return [unit.bill_kind] + sorted(kinds - {unit.bill_kind})


def form_kind(deps: Ports, unit: Unit, asked: str | None) -> str:
    """The kind the form is for: the one asked when it is the unit's, else the unit's own."""
    return asked if asked in unit_kinds(deps, unit) else unit.bill_kind


def extra_inputs(deps: Ports, kind: str, today: str) -> list[dict[str, Any]]:
    """The extra fields of ``kind``'s template as the form's inputs: name ``extra_<key>``,
    label, type, required (a field required unless another has a value is checked on post),
    choices, the longest text, and the latest date allowed."""
    tpl = template_for_kind(deps, kind)
    return [{"name": f"extra_{f.key}", "key": f.key, "label": f.label, "type": f.type,
             "required": f.required, "choices": list(f.choices), "max_length": f.max_length,
             "max_date": None if f.future_ok else today} for f in tpl.fields]


def _extra_body(inputs: list[dict[str, Any]], given: dict[str, str],
                fields: dict[str, str]) -> dict[str, Any]:
    """The request's ``extra`` from the form's inputs: amounts from yuan to fen, blanks left
    out (the template's checks say which are required)."""
    extra: dict[str, Any] = {}
    for spec in inputs:
        text = given.get(spec["name"], "").strip()
        if not text:
            continue
        if spec["type"] == "fen":
            fen = _fen(text, spec["name"], fields)
            if fen is not None:
                extra[spec["key"]] = fen
        else:
            extra[spec["key"]] = text
    return extra


def extra_form_values(extra: dict[str, Any], inputs: list[dict[str, Any]]) -> dict[str, str]:
    """The form's values for a request's ``extra`` (amounts back in yuan)."""
    types = {spec["key"]: spec["type"] for spec in inputs}
    return {f"extra_{k}": fen_to_yuan(v) if types.get(k) == "fen" and isinstance(v, int)
            else str(v) for k, v in extra.items()}


def _fen(text: str, field: str, fields: dict[str, str]) -> int | None:
    try:
        return yuan_to_fen(text.strip())
    except ValidationFailed:
        fields[field] = "请填写金额（元），最多两位小数"
        return None


def note_body(deps: Ports, unit: Unit, form: dict[str, Any]) -> dict[str, Any]:
    """The contract's note body from the form (``form['rows']``: item_code, quantity,
    standard in yuan); ``ValidationFailed`` with the form's own field names when a row is
    incomplete. The remaining checks are ``create_note``'s."""
    fields: dict[str, str] = {}
    names = {c["item_code"]: c for c in fee_item_choices(deps, unit, form.get("bill_kind"))}
    items = []
    for n, row in enumerate(form["rows"]):
        code, qty_text, std_text = row["item_code"], row["quantity"].strip(), row["standard"]
        if not code and not qty_text and not std_text.strip():
            continue
        if code not in names:
            fields[f"item_code-{n}"] = "请选择本单位的收费项目"
            continue
        choice = names[code]
        standard = choice["standard_fen"]
        if standard is None or std_text.strip():
            standard = _fen(std_text, f"standard-{n}", fields)
        try:
            quantity = Decimal(qty_text or "1")
        except InvalidOperation:
            fields[f"quantity-{n}"] = "数量须为正数"
            continue
        if standard is None:
            continue
        if not quantity.is_finite() or quantity <= 0:
            fields[f"quantity-{n}"] = "数量须为正数"
            continue
        amount = int((quantity * standard).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        item = {"item_code": code, "name": choice["name"], "quantity": qty_text or "1",
                "standard_fen": standard, "amount_fen": amount}
        if choice["unit"]:
            item["unit"] = choice["unit"]
        items.append(item)
    if not items and not fields:
        fields["item_code-0"] = "请至少填写一个收费项目"
    extra = None
    if form.get("bill_kind"):
        today = deps.clock().astimezone(CHINA_TZ).date().isoformat()
        extra = _extra_body(extra_inputs(deps, form["bill_kind"], today),
                            form.get("extra", {}), fields)
    if fields:
        raise ValidationFailed("请检查标出的项目", fields)
    payer: dict[str, Any] = {"name": form["payer_name"].strip(), "type": form["payer_type"]}
    if form["payer_phone"].strip():
        payer["phone"] = form["payer_phone"].strip()
    if form["payer_credit_code"].strip():
        payer["credit_code"] = form["payer_credit_code"].strip().upper()
    body: dict[str, Any] = {"payer": payer, "items": items,
                            "total_fen": sum(i["amount_fen"] for i in items)}
    if form.get("bill_kind"):
        body["bill_kind"] = form["bill_kind"]
    if extra:
        body["extra"] = extra
    if form.get("due_date", "").strip():
        body["due_date"] = form["due_date"].strip()
    if form["remark"].strip():
        body["remark"] = form["remark"].strip()
    if form.get("paid_by"):
        body["paid_by"] = form["paid_by"]
    return body


def form_field(api_field: str) -> str:
    """The form's field for a field ``create_note`` named (``items[1].quantity`` →
    ``quantity-1``, ``payer.name`` → ``payer_name``)."""
    if api_field.startswith("items["):
        index, _, rest = api_field[6:].partition("].")
        name = {"standard_fen": "standard", "amount_fen": "standard"}.get(rest, rest)
        return f"{name if name in ('quantity', 'standard', 'item_code') else 'item_code'}-{index}"
    return api_field.replace(".", "_")


def create(deps: Ports, actor: Actor, form: dict[str, Any], form_id: str) -> Note:
    """Create the note the form describes, once per form (``form_id``), audited."""
    unit = actor_unit(deps, actor)
    body = note_body(deps, unit, form)
    note, created = notes_service.create_note(deps, unit, body, f"console-{form_id}"[:128])
    if created:
        people.audit_change(deps, actor, "note_create", note.payment_code,
                            {"total_fen": note.total_fen})
    return note


def create_direct(deps: Ports, actor: Actor, form: dict[str, Any], form_id: str) -> Note:
    """Issue the bill the form describes directly (``POST /v1/bills``'s use case: a note paid
    at once by ``paid_by``, queued for issuance), once per form, audited."""
    unit = actor_unit(deps, actor)
    problems = {} if form.get("paid_by") in PAID_BY else {"paid_by": "请选择收款方式"}
    try:
        body = note_body(deps, unit, {**form, "due_date": ""})
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {**exc.fields, **problems}) from None
    if problems:
        raise ValidationFailed("请检查标出的项目", problems)
    note, created = issue_direct_bill(deps, unit, body, f"console-{form_id}"[:128])
    if created:
        people.audit_change(deps, actor, "direct_bill_create", note.payment_code,
                            {"total_fen": note.total_fen, "paid_by": form["paid_by"]})
    return note


def note_detail(deps: Ports, actor: Actor,
                payment_code: str) -> tuple[Unit, Note, dict, bool]:
    """The person's unit, its note and the note as the API shows it, and whether this person
    may cancel notes: the note, its exception payments and the unit's permissions read at
    once."""
    unit = actor_unit(deps, actor)
    (note, view), allowed = deps.gather(
        lambda: notes_service.unit_note(deps, unit, payment_code),
        lambda: people.may(deps, actor, UnitAction.CANCEL))
    return unit, note, view, allowed


def cancel(deps: Ports, actor: Actor, payment_code: str) -> Note:
    """Cancel the unit's unpaid note (the unit admin, or an operator the admin allows)."""
    people.require_may(deps, actor, UnitAction.CANCEL)
    note = notes_service.cancel_note(deps, actor_unit(deps, actor), payment_code)
    people.audit_change(deps, actor, "note_cancel", payment_code)
    return note
