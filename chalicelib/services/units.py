"""Operator use cases for units: create one, give it a new API key.

An API key is 43 random characters shown once, when it is made; only its SHA-256 is stored.
"""

from __future__ import annotations

import re
import secrets

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.units import Unit, UnitKind, hash_api_key
from chalicelib.services.ports import Ports

_UNIT_CODE = re.compile(r"^[0-9A-Za-z]{3,20}$")


def new_api_key(kind: UnitKind) -> str:
    return ("ck_" if kind is UnitKind.COLLECTING else "rk_") + secrets.token_urlsafe(32)


def create_unit(deps: Ports, *, unit_code: str, name: str, kind: str, region_code: str,
                bill_kind: str = "0301") -> tuple[Unit, str]:
    """Create a unit; returns it and its API key (shown once, never stored)."""
    fields = {}
    if not _UNIT_CODE.match(unit_code or ""):
        fields["unit_code"] = "3-20 letters or digits"
    if not name or len(name) > 100:
        fields["name"] = "1-100 characters"
    if kind not in (k.value for k in UnitKind):
        fields["kind"] = "collecting | reimbursing"
    if not re.match(r"^[1-9][0-9]{5}$", region_code or ""):
        fields["region_code"] = "6 digits"
    if bill_kind not in BILL_KINDS:
        fields["bill_kind"] = f"one of {sorted(BILL_KINDS)}"
    if fields:
        raise ValidationFailed("单位信息有误", fields)
    if deps.units.get(unit_code) is not None:
        raise Conflict(f"unit {unit_code} exists", code="unit_exists")
    unit = Unit(unit_code=unit_code, name=name, kind=UnitKind(kind), region_code=region_code,
                bill_kind=bill_kind)
    key = new_api_key(unit.kind)
    deps.units.put(unit, hash_api_key(key))
    return unit, key


def rotate_api_key(deps: Ports, unit_code: str) -> str:
    """Give a unit a new API key; the old one stops working at once in this process and
    within a minute in every other (``adapters.cached_units``)."""
    unit = deps.units.get(unit_code)
    if unit is None:
        raise NotFound(f"unknown unit {unit_code}")
    key = new_api_key(unit.kind)
    deps.units.put(unit, hash_api_key(key))
    return key


def upload_seal(deps: Ports, unit: Unit, data: bytes) -> str:
    """Keep a unit's seal image (PNG) in the archive; later bills carry it. Returns its key."""
    import hashlib

    from chalicelib.domain.units import check_seal_png

    check_seal_png(data)
    key = f"seals/{unit.unit_code}/{hashlib.sha256(data).hexdigest()}.png"
    deps.archive.put_once(key, data, "image/png")
    deps.units.set_seal_key(unit.unit_code, key)
    return key
