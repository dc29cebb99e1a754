"""What the online unit (在线单位) does through its console, as the person who does it.

A note made in the console is the same note an interface unit makes by ``POST /v1/notes``: the
form's fields become the contract's body (``note_body``), which ``services/notes.create_note``
checks as it checks any unit's (fee items of the unit, quantity × standard = amount, the
unit's standards when the finance department set them). The form carries a random id that is
the request's ``Idempotency-Key``, so a double click or a reload of the post makes one note.

Who may do what: both unit roles create notes and see their unit's; cancelling an unpaid note
is the unit admin's, and an operator's only while an admin of the unit allows it
(``people.operators_may_cancel``). Every note created or cancelled here is in the audit log
under the person who did it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.money import yuan_to_fen
from chalicelib.domain.notes import Note
from chalicelib.domain.people import Role
from chalicelib.domain.units import Unit
from chalicelib.services import notes as notes_service
from chalicelib.services import people
from chalicelib.services.people import Actor
from chalicelib.services.ports import Ports

ROWS = 5  # item rows the form offers


def actor_unit(deps: Ports, actor: Actor) -> Unit:
    unit = deps.units.get(str(actor.unit_code))
    if unit is None:
        raise Forbidden("账号所属单位不存在", code="unit_missing")
    return notes_service.require_collecting(unit)


def fee_item_choices(deps: Ports, unit: Unit) -> list[dict[str, Any]]:
    """The unit's fee items for the form: code, name, and the standard when one is set."""
    choices = []
    for code, item in sorted(deps.units.fee_items(unit.unit_code).items()):
        standard = getattr(item, "standard_fen", None)
        choices.append({"item_code": code, "name": item.name, "standard_fen": standard,
                        "unit": getattr(item, "measure", None) or getattr(item, "unit", None)})
    return choices


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
    names = {c["item_code"]: c for c in fee_item_choices(deps, unit)}
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
    if fields:
        raise ValidationFailed("请检查标出的项目", fields)
    payer: dict[str, Any] = {"name": form["payer_name"].strip(), "type": form["payer_type"]}
    if form["payer_phone"].strip():
        payer["phone"] = form["payer_phone"].strip()
    if form["payer_credit_code"].strip():
        payer["credit_code"] = form["payer_credit_code"].strip().upper()
    body: dict[str, Any] = {"payer": payer, "items": items,
                            "total_fen": sum(i["amount_fen"] for i in items)}
    if form["due_date"].strip():
        body["due_date"] = form["due_date"].strip()
    if form["remark"].strip():
        body["remark"] = form["remark"].strip()
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


def may_cancel(deps: Ports, actor: Actor) -> bool:
    return actor.role is Role.UNIT_ADMIN or (
        actor.role is Role.UNIT_OPERATOR
        and people.operators_may_cancel(deps, str(actor.unit_code)))


def cancel(deps: Ports, actor: Actor, payment_code: str) -> Note:
    """Cancel the unit's unpaid note (the unit admin, or an operator the admin allows)."""
    if not may_cancel(deps, actor):
        raise Forbidden("单位管理员未允许经办人撤销缴款书", code="operators_may_not_cancel")
    note = notes_service.cancel_note(deps, actor_unit(deps, actor), payment_code)
    people.audit_change(deps, actor, "note_cancel", payment_code)
    return note
