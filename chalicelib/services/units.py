"""Use cases for units, shared by the finance department's API and the operator's commands:
create one, give it API keys and revoke them, set the bill kinds it is allowed (its seal:
``services/seals``).

An API key is 43 random characters after ``ck_`` (collecting) or ``rk_`` (reimbursing), shown
once, when it is made; only its SHA-256 is stored, named by ``key_id`` (a prefix of that hash).
A unit may hold several keys at once: its system moves to a new one, then the old one is
revoked. Every change is in the audit log (``services/changes.py``) with who made it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.china_time import china_iso
from chalicelib.domain.credentials import UnitKey, key_id_of
from chalicelib.domain.credit_code import credit_code_problem
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.regions import covers, is_region_code
from chalicelib.domain.units import Unit, UnitKind, hash_api_key
from chalicelib.services.changes import record_change
from chalicelib.services.ports import Ports

_UNIT_CODE = re.compile(r"^[0-9A-Za-z]{3,20}$")
UNIT_FIELDS = ("unit_code", "name", "kind", "region_code", "credit_code", "bill_kind",
               "bill_kinds")
MAX_ACTIVE_KEYS = 5  # a unit rotating keeps two at a time; more is a leak waiting to happen


def new_api_key(kind: UnitKind) -> str:
    return ("ck_" if kind is UnitKind.COLLECTING else "rk_") + secrets.token_urlsafe(32)


def read_unit(body: object) -> Unit:
    """The unit a ``POST /v1/admin/units`` body describes; one ``ValidationFailed`` naming
    every wrong field."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    fields = {name: f"unknown field; the fields are {', '.join(UNIT_FIELDS)}"
              for name in body if name not in UNIT_FIELDS}
    values = {name: body.get(name) for name in UNIT_FIELDS if name != "bill_kinds"}
    kinds = None
    if body.get("bill_kinds") is not None:
        try:
            kinds = read_bill_kinds(body["bill_kinds"])
        except ValidationFailed as exc:
            fields.update(exc.fields)
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            fields[name] = "must be a string"
            values[name] = ""
    try:
        unit = check_unit(**{k: v for k, v in values.items() if v is not None},  # type: ignore[arg-type]
                          bill_kinds=kinds)
    except ValidationFailed as exc:
        fields.update(exc.fields)
        unit = None
    if fields or unit is None:
        raise ValidationFailed("单位信息有误", fields)
    return unit


def read_bill_kinds(value: object) -> tuple[str, ...]:
    """``bill_kinds``: a list of known bill kinds, each once, in the order given."""
    if not isinstance(value, list) or not value or len(value) > len(BILL_KINDS) \
            or not all(isinstance(k, str) and k in BILL_KINDS for k in value) \
            or len(set(value)) != len(value):
        raise ValidationFailed("允许的票据种类有误", {
            "bill_kinds": f"a list of 1-{len(BILL_KINDS)} distinct bill kinds, each one of "
                          f"{', '.join(sorted(BILL_KINDS))}"})
    return tuple(value)


def check_unit(*, unit_code: str = "", name: str = "", kind: str = "", region_code: str = "",
               bill_kind: str = "0301", credit_code: str | None = None,
               bill_kinds: tuple[str, ...] | None = None) -> Unit:
    """A well-formed unit, else ``ValidationFailed`` naming every wrong field. It is allowed
    ``bill_kinds`` (its default ``bill_kind`` among them), or its default kind alone."""
    fields = {}
    name = (name or "").strip()
    if not _UNIT_CODE.match(unit_code or ""):
        fields["unit_code"] = "required, 3-20 letters or digits"
    if not name or len(name) > 100 or not name.isprintable():
        fields["name"] = "required, 1-100 characters"
    if kind not in (k.value for k in UnitKind):
        fields["kind"] = "required, collecting | reimbursing"
    if not is_region_code(region_code):
        fields["region_code"] = "required, a 6-digit region code"
    if bill_kind not in BILL_KINDS:
        fields["bill_kind"] = f"one of {', '.join(sorted(BILL_KINDS))}"
    if bill_kinds is not None and bill_kind not in bill_kinds:
        fields["bill_kinds"] = f"must include the default bill_kind {bill_kind}"
    if credit_code is not None:
        credit_code = credit_code.strip().upper()
        if problem := credit_code_problem(credit_code):
            fields["credit_code"] = f"not a unified social credit code: {problem}"
    if fields:
        raise ValidationFailed("单位信息有误", fields)
    return Unit(unit_code=unit_code, name=name, kind=UnitKind(kind), region_code=region_code,
                bill_kind=bill_kind, credit_code=credit_code or None,
                bill_kinds=bill_kinds or (bill_kind,))


def create_unit(deps: Ports, *, unit_code: str, name: str, kind: str, region_code: str,
                bill_kind: str = "0301", credit_code: str | None = None,
                bill_kinds: tuple[str, ...] | None = None, who: str = "operator",
                scope: str = "") -> tuple[Unit, str]:
    """Create a unit with its first API key; returns it and the key (shown once, never
    stored). ``scope``: the region the caller may create in (a finance key's); outside it,
    ``Forbidden``. ``Conflict`` (``unit_exists``) when the code is taken, even by a request
    running at the same instant (a conditional write)."""
    unit = check_unit(unit_code=unit_code, name=name, kind=kind, region_code=region_code,
                      bill_kind=bill_kind, credit_code=credit_code, bill_kinds=bill_kinds)
    if not covers(scope, unit.region_code):
        raise Forbidden("该行政区划不在本财政部门的管辖范围内", code="outside_region",
                        details={"fields": {"region_code": f"outside this key's region {scope}"}})
    deps.units.add(unit)
    key, api_key = _new_key(deps, unit)
    record_change(deps, who, "create_unit", unit.unit_code, {
        "name": unit.name, "kind": unit.kind.value, "region_code": unit.region_code,
        "bill_kind": unit.bill_kind, "bill_kinds": list(unit.bill_kinds or ()),
        "credit_code": unit.credit_code, "key_id": key.key_id})
    return unit, api_key


def add_api_key(deps: Ports, unit_code: str, who: str = "operator", *,
                limit: int | None = MAX_ACTIVE_KEYS) -> tuple[UnitKey, str]:
    """One more key for a unit (the old ones keep working until revoked); at most ``limit``
    active at once (``Conflict`` ``too_many_keys``)."""
    unit = deps.units.get(unit_code)
    if unit is None:
        raise NotFound("单位不存在", code="unit_not_found")
    if limit is not None:
        active = [k for k in deps.units.api_keys(unit_code) if k.active]
        if len(active) >= limit:
            raise Conflict(f"单位已有 {len(active)} 个有效密钥，请先吊销不用的密钥",
                           code="too_many_keys")
    key, api_key = _new_key(deps, unit)
    record_change(deps, who, "create_api_key", unit_code, {"key_id": key.key_id})
    return key, api_key


def revoke_api_key(deps: Ports, unit_code: str, key_id: str, who: str = "operator") -> UnitKey:
    """Revoke one of a unit's keys: refused at once by the process that revokes it and within
    a minute by every other (``adapters.cached_units``)."""
    key = deps.units.revoke_api_key(unit_code, key_id, china_iso(deps.clock()))
    record_change(deps, who, "revoke_api_key", unit_code, {"key_id": key_id})
    return key


def rotate_api_key(deps: Ports, unit_code: str, who: str = "operator") -> str:
    """Replace every key of a unit by a new one (the operator's ``new-api-key``: a key that
    leaked); the old ones stop working as ``revoke_api_key`` says."""
    new, api_key = add_api_key(deps, unit_code, who, limit=None)
    for key in deps.units.api_keys(unit_code):
        if key.active and key.key_id != new.key_id:
            revoke_api_key(deps, unit_code, key.key_id, who)
    return api_key


def _new_key(deps: Ports, unit: Unit) -> tuple[UnitKey, str]:
    api_key = new_api_key(unit.kind)
    key_hash = hash_api_key(api_key)
    key = UnitKey(key_id=key_id_of(key_hash), unit_code=unit.unit_code,
                  created_at=china_iso(deps.clock()))
    deps.units.add_api_key(key, key_hash)
    return key, api_key


def set_bill_kinds(deps: Ports, unit: Unit, body: object, who: str) -> Unit:
    """``{bill_kinds, bill_kind?}``: the kinds a collecting unit may issue (notes, direct
    bills), be given fee items of and ranges of, and (``bill_kind``) its default among them.
    Narrowing refuses nothing already made: fee items and ranges of a kind taken away stay,
    but no new note of that kind is accepted (``GET /v1/admin/units/{code}`` warns)."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    fields = {name: "unknown field; the fields are bill_kinds, bill_kind"
              for name in body if name not in ("bill_kinds", "bill_kind")}
    kinds: tuple[str, ...] = ()
    try:
        kinds = read_bill_kinds(body.get("bill_kinds"))
    except ValidationFailed as exc:
        fields.update(exc.fields)
    default = body.get("bill_kind", unit.bill_kind)
    if not isinstance(default, str) or default not in BILL_KINDS:
        fields["bill_kind"] = f"one of {', '.join(sorted(BILL_KINDS))}"
    elif kinds and default not in kinds:
        fields["bill_kinds" if "bill_kind" not in body else "bill_kind"] = (
            f"the default bill_kind {default} must be one of bill_kinds")
    if fields:
        raise ValidationFailed("允许的票据种类有误", fields)
    if unit.kind is not UnitKind.COLLECTING:
        raise Conflict("只有执收单位开具票据", code="not_a_collecting_unit")
    deps.units.set_bill_kinds(unit.unit_code, default, kinds)
    record_change(deps, who, "set_bill_kinds", unit.unit_code, {
        "bill_kind": default, "bill_kinds": list(kinds), "previous": {
            "bill_kind": unit.bill_kind,
            "bill_kinds": list(unit.bill_kinds) if unit.bill_kinds is not None else None}})
    return replace(unit, bill_kind=default, bill_kinds=kinds)


def refuse_kind_not_allowed(unit: Unit, kind: str, field: str) -> None:
    """``ValidationFailed`` (``bill_kind_not_allowed``) naming ``field`` when the finance
    department has not allowed ``unit`` bill kind ``kind`` (事前审核)."""
    if not unit.kind_allowed(kind):
        allowed = ", ".join(sorted({unit.bill_kind, *(unit.bill_kinds or ())}))
        raise ValidationFailed("本单位未获准使用该票据种类", {
            field: f"bill kind {kind} is not allowed for this unit (allowed: {allowed})"},
            code="bill_kind_not_allowed")
