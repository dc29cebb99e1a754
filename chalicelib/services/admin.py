"""The finance department's view of basic information (基础信息): a unit, its fee items and
its number ranges, as a finance key sees them.

Every function takes the calling ``FinanceKey`` and reaches only units within its region
(``FinanceKey.covers``). A unit outside it is answered exactly as a unit that does not exist
(``NotFound``), so a county bureau cannot even learn which codes its neighbours use.
"""

from __future__ import annotations

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import NotFound
from chalicelib.domain.units import Unit
from chalicelib.services.ports import Ports


def unit_in_scope(deps: Ports, finance: FinanceKey, unit_code: str) -> Unit:
    """The unit ``unit_code`` if ``finance`` may see it; else ``NotFound`` (no such unit)."""
    unit = deps.units.get(unit_code)
    if unit is None or not finance.covers(unit.region_code):
        raise NotFound("单位不存在", code="unit_not_found")
    return unit


def unit_summary(unit: Unit) -> dict:
    return {"unit_code": unit.unit_code, "name": unit.name, "kind": unit.kind.value,
            "region_code": unit.region_code, "bill_kind": unit.bill_kind,
            "signing_kid": unit.signing_kid, "has_seal": unit.seal_key is not None}


def unit_detail(deps: Ports, finance: FinanceKey, unit_code: str) -> dict:
    """The unit, its fee items and its number ranges (used, void, left; ``low`` when it
    should be given more), and ``warnings`` naming each bill kind that is running low."""
    unit = unit_in_scope(deps, finance, unit_code)
    items = [{"item_code": code, "name": item.name, "bill_kind": item.bill_kind}
             for code, item in sorted(deps.units.fee_items(unit_code).items())]
    ranges = [r.report() for kind in BILL_KINDS for r in deps.ranges.for_unit(unit_code, kind)]
    low = sorted({r["kind_code"] for r in ranges if r["low"]}
                 - {r["kind_code"] for r in ranges if not r["low"]})
    warnings = [{"code": "range_low", "bill_kind": kind,
                 "left": sum(r["left"] for r in ranges if r["kind_code"] == kind),
                 "message": f"票据种类 {kind} 的号段即将用完，请分配新号段"} for kind in low]
    return {"unit": unit_summary(unit), "fee_items": items, "ranges": ranges,
            "warnings": warnings}
