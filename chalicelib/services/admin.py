"""The finance department's basic information (基础信息) by API: units, their fee items, number
ranges and API keys, as a finance key sees and changes them (CONTRACT v2 ``/v1/admin``).

Every function takes the calling ``FinanceKey`` and reaches only units within its region
(``FinanceKey.covers``). A unit outside it is answered exactly as a unit that does not exist
(``NotFound``), so a county bureau cannot even learn which codes its neighbours use; creating
a unit outside it is ``Forbidden``. Every change is appended to the audit log with ``who``
(``services/changes.py``). The operator's commands share these use cases (``services/units``,
``services/ranges``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.credentials import FinanceKey, UnitKey
from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.fee_items import ITEM_CODE, read_fee_item
from chalicelib.domain.merchants import expiry_warnings
from chalicelib.domain.ranges import MAX_RANGE
from chalicelib.domain.regions import scope_of
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services import units as unit_service
from chalicelib.services.changes import record_change
from chalicelib.services.ports import Ports

MAX_LIMIT, DEFAULT_LIMIT = 100, 20


def cursor_key(deps: Ports) -> bytes:
    """The key that seals paging cursors (``domain/cursors``), derived from a stage secret."""
    return hmac.new(deps.payer_pepper.encode(), b"paging-cursor-v1", hashlib.sha256).digest()


def page_limit(raw: str | None) -> int:
    """``limit=``: 1 to ``MAX_LIMIT``, ``DEFAULT_LIMIT`` when absent."""
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed("limit 有误", {"limit": f"an integer from 1 to {MAX_LIMIT}"})
    return int(raw)


def unit_in_scope(deps: Ports, finance: FinanceKey, unit_code: str) -> Unit:
    """The unit ``unit_code`` if ``finance`` may see it; else ``NotFound`` (no such unit)."""
    unit = deps.units.get(unit_code)
    if unit is None or not finance.covers(unit.region_code):
        raise NotFound("单位不存在", code="unit_not_found")
    return unit


def unit_summary(unit: Unit) -> dict:
    """A unit as ``/v1/admin`` shows it. ``bill_kinds``: the kinds it is allowed, null for a
    unit from before allowed kinds existed (not restricted until the finance department sets
    them); ``seal``: its current seal (sha256, since, history), null when bills draw one;
    ``merchants``: its own merchant numbers by channel (never a token: only whether one is
    set), empty when it collects into the deployment's; ``retired_merchants``: those it had,
    replaced or removed, kept while their payments may still be refunded (when retired, kept
    until when; never a token), latest first."""
    from chalicelib.services.merchants import merchants_view, retired_view
    from chalicelib.services.seals import seal_view

    return {"unit_code": unit.unit_code, "name": unit.name, "kind": unit.kind.value,
            "region_code": unit.region_code, "credit_code": unit.credit_code,
            "bill_kind": unit.bill_kind,
            "bill_kinds": list(unit.bill_kinds) if unit.bill_kinds is not None else None,
            "signing_kid": unit.signing_kid, "has_seal": unit.seal_key is not None,
            "seal": seal_view(unit), "merchants": merchants_view(unit),
            "retired_merchants": retired_view(unit)}


def unit_detail(deps: Ports, finance: FinanceKey, unit_code: str) -> dict:
    """The unit, its fee items, its number ranges (used, void, left; ``low`` when fewer than
    ``low_below`` are left: ``domain/ranges``), its API keys (never the keys themselves), and
    ``warnings``: each bill kind whose ranges are all low (``range_low``), allowed bill kinds
    not set or items and ranges of a kind not allowed, what stops the unit from issuing (no
    signing key, no range), and a UnionPay signing certificate expired or ending soon
    (``domain/merchants.expiry_warnings``)."""
    unit = unit_in_scope(deps, finance, unit_code)
    fee_items, unit_ranges, api_keys = deps.gather(
        lambda: deps.units.fee_items(unit_code, fresh=True),
        lambda: deps.ranges.of_unit(unit_code), lambda: deps.units.api_keys(unit_code))
    items = [item.public(code) for code, item in sorted(fee_items.items())]
    ranges = [r.report() for r in unit_ranges]
    for row in ranges:
        row["first_number"], row["last_number"] = row["start"], row["end"]
    warnings: list[dict[str, Any]] = []
    for kind in sorted({r["kind_code"] for r in ranges}):
        left = sum(r["left"] for r in ranges if r["kind_code"] == kind)
        if all(r["low"] for r in ranges if r["kind_code"] == kind):
            below = sum(r["low_below"] for r in ranges if r["kind_code"] == kind)
            warnings.append({"code": "range_low", "bill_kind": kind, "left": left,
                             "low_below": below,
                             "message": f"票据种类 {kind} 的号段即将用完（剩余 {left} 个，"
                                        f"低于 {below} 个），请分配新号段"})
    if unit.kind is UnitKind.COLLECTING:
        warnings.extend(_kind_warnings(unit, items, ranges))
        if not unit.signing_kid:
            warnings.append({"code": "no_signing_key", "message": "单位尚无签名密钥，缴款后"
                             "无法开票：请运维人员执行 rotate-key --use unit"})
        if not ranges:
            warnings.append({"code": "no_range", "message": "单位尚无号段，无法开具缴款书"})
        warnings.extend(expiry_warnings(unit.merchants, deps.clock()))
    return {"unit": unit_summary(unit), "fee_items": items, "ranges": ranges,
            "api_keys": [k.public() for k in api_keys],
            "warnings": warnings}


def _kind_warnings(unit: Unit, items: list[dict], ranges: list[dict]) -> list[dict]:
    """What the unit's allowed bill kinds say of it: none set yet (any kind is accepted), or
    fee items and ranges of a kind it is no longer allowed (notes of it are refused)."""
    if unit.bill_kinds is None:
        return [{"code": "bill_kinds_unset", "message": "尚未设定允许的票据种类，目前不限种类："
                 "请设定本单位可使用的票据种类"}]
    warnings: list[dict[str, Any]] = []
    for item in items:
        if item.get("bill_kind") and not unit.kind_allowed(item["bill_kind"]):
            warnings.append({"code": "bill_kind_not_allowed", "item_code": item["item_code"],
                             "bill_kind": item["bill_kind"],
                             "message": f"收费项目 {item['item_code']} 的票据种类 "
                                        f"{item['bill_kind']} 未获准使用，按它开具的缴款书将被拒绝"})
    for kind in sorted({r["kind_code"] for r in ranges if not unit.kind_allowed(r["kind_code"])}):
        warnings.append({"code": "bill_kind_not_allowed", "bill_kind": kind,
                         "message": f"号段的票据种类 {kind} 未获准使用，不再开具该种类票据"})
    return warnings


def list_units(deps: Ports, finance: FinanceKey, region: str | None, limit: str | None,
               cursor: str | None) -> dict:
    """The units within the key's region (narrowed by ``region=``), by region then code, a
    page at a time."""
    size = page_limit(limit)
    scope = finance.scope
    if region is not None:
        asked = scope_of(region, "region")
        if asked.startswith(scope):
            scope = asked
        elif not scope.startswith(asked):
            raise Forbidden("该行政区划不在本财政部门的管辖范围内", code="outside_region",
                            details={"fields": {"region": f"outside this key's region {scope}"}})
    question = f"units|{finance.key_id}|{scope}|{size}"
    after = unseal(cursor, cursor_key(deps), question)["after"] if cursor else None
    if after is not None and not isinstance(after, str):
        raise ValidationFailed("分页游标无效", {"cursor": "not a cursor of this list"})
    page, next_after = deps.units.in_region(scope, size, after)
    return {"units": [unit_summary(u) for u in page],
            "next_cursor": seal({"after": next_after}, cursor_key(deps), question)
            if next_after else None}


def create_unit(deps: Ports, finance: FinanceKey, body: object, who: str) -> tuple[Unit, str]:
    """``POST /v1/admin/units``: the unit, and its first API key (shown once)."""
    unit = unit_service.read_unit(body)
    return unit_service.create_unit(
        deps, unit_code=unit.unit_code, name=unit.name, kind=unit.kind.value,
        region_code=unit.region_code, bill_kind=unit.bill_kind, credit_code=unit.credit_code,
        bill_kinds=unit.bill_kinds, who=who, scope=finance.scope)


def put_fee_item(deps: Ports, finance: FinanceKey, unit_code: str, item_code: str,
                 body: object, who: str) -> tuple[dict, bool]:
    """Create or replace one of a collecting unit's fee items; the item, and whether it is
    new (201) rather than replaced (200)."""
    unit = unit_in_scope(deps, finance, unit_code)
    if not ITEM_CODE.match(item_code):
        raise ValidationFailed("收费项目编码有误", {"item_code": "1-20 letters or digits"})
    item = read_fee_item(body, frozenset(BILL_KINDS))
    if unit.kind is not UnitKind.COLLECTING:
        raise Conflict("只有执收单位有收费项目", code="not_a_collecting_unit")
    if item.bill_kind:
        unit_service.refuse_kind_not_allowed(unit, item.bill_kind, "bill_kind")
    previous = deps.units.put_fee_item(unit_code, item_code, item)
    detail = {"item_code": item_code, "item": item.public(item_code)}
    if previous is not None:
        detail["previous"] = previous.public(item_code)
    record_change(deps, who, "put_fee_item", unit_code, detail,
                  outcome="created" if previous is None else "updated")
    return item.public(item_code), previous is None


def allocate_range(deps: Ports, finance: FinanceKey, unit_code: str, body: object,
                   who: str) -> dict:
    """``POST …/ranges`` ``{bill_kind, count, year?}``: the next ``count`` numbers of the
    unit's bill code for that kind and year. Ranges never overlap, even when two requests
    run at once: the allocation is a conditional write on the bill code's high-water mark
    (``RangeRepository.allocate``)."""
    from chalicelib.services.ranges import allocate_range as allocate

    unit = unit_in_scope(deps, finance, unit_code)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    fields = {name: "unknown field; the fields are bill_kind, count, year"
              for name in body if name not in ("bill_kind", "count", "year")}
    kind, count, year = body.get("bill_kind"), body.get("count"), body.get("year")
    if not isinstance(kind, str) or kind not in BILL_KINDS:
        fields["bill_kind"] = f"required, one of {', '.join(sorted(BILL_KINDS))}"
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_RANGE:
        fields["count"] = f"required, an integer from 1 to {MAX_RANGE}"
    this_year = deps.clock().astimezone(CHINA_TZ).year
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)
                             or not this_year - 1 <= year <= this_year + 1):
        fields["year"] = f"{this_year - 1}, {this_year} or {this_year + 1}"
    if fields:
        raise ValidationFailed("号段申请有误", fields)
    if unit.kind is not UnitKind.COLLECTING:
        raise Conflict("只有执收单位开具票据", code="not_a_collecting_unit")
    assert isinstance(kind, str) and isinstance(count, int)
    unit_service.refuse_kind_not_allowed(unit, kind, "bill_kind")
    try:
        allocated = allocate(deps, unit_code, kind, count, year)
    except ValueError as exc:  # the bill code's ten digits are spent
        raise Conflict("该票据代码的号码已不足", code="bill_code_exhausted") from exc
    result = {"bill_code": allocated.bill_code, "first_number": f"{allocated.start:010d}",
              "last_number": f"{allocated.end:010d}", "bill_kind": kind, "count": count}
    record_change(deps, who, "allocate_range", unit_code, result)
    return result


def add_unit_key(deps: Ports, finance: FinanceKey, unit_code: str,
                 who: str) -> tuple[UnitKey, str]:
    unit_in_scope(deps, finance, unit_code)
    return unit_service.add_api_key(deps, unit_code, who)


def revoke_unit_key(deps: Ports, finance: FinanceKey, unit_code: str, key_id: str,
                    who: str) -> UnitKey:
    unit_in_scope(deps, finance, unit_code)
    return unit_service.revoke_api_key(deps, unit_code, key_id, who)
