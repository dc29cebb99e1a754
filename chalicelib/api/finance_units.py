"""The finance console's units pages (基础信息: 单位、收费项目、号段、密钥), on the admin API's
own use cases (``services/admin.py``): the same checks, the same audit rows (``admin#unit#…``,
``client`` = ``person:<username>@<address>``), no second copy of any rule.

A finance person acts as a finance credential of their own, ``person:<username>``, with their
region (``Person.scope``, carried by their session): a unit outside it is the 404 page, as for a
finance key of that region, and a unit may be created only within it. A finance auditor sees
every page and no form; a post from them is the 403 page. Changes that cannot be undone (a unit's API key
revoked, a new key) ask for a confirmation box; a new key is shown once.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, page
from chalicelib.api.errors import status_of
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.money import fen_to_yuan, fen_to_yuan_grouped, yuan_to_fen
from chalicelib.domain.people import Role, Session
from chalicelib.services import admin
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

UNITS = "/console/finance/units"
FINANCE = (Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
KINDS = {"collecting": "执收单位", "reimbursing": "报销单位"}


def credential(actor: Actor | Session) -> FinanceKey:
    """The finance credential a signed-in finance person acts as (their region)."""
    return FinanceKey(key_id=f"person:{actor.username}", scope=actor.scope,
                      label=actor.username, created_at="")


def who(actor: Actor) -> str:
    return f"person:{actor.username}@{actor.client}"


def _list_page(me: Session, status: int = 200, **context: Any) -> Response:
    request = bp.current_request
    region = query_param(request, "region")
    listed = admin.list_units(deps(), credential(me), region, "50", query_param(request, "cursor"))
    return page(bp, "console/finance_units.html", status, me=me, here=UNITS, heading="单位",
                units=listed["units"], next_cursor=listed["next_cursor"], region=region or "",
                kinds=KINDS, bill_kinds=BILL_KINDS, can_change=me.role is Role.FINANCE_ADMIN,
                form=context.pop("form", {"kind": "collecting", "bill_kind": "0301"}),
                **context)


@bp.route(UNITS, methods=["GET"])
@console_view(bp, *FINANCE, early=True)
def units(me: Session, actor: Actor) -> Response:
    return _list_page(me)


@bp.route(UNITS, methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def unit_create(me: Session, actor: Actor) -> Response:
    form = form_fields(bp, "unit_code", "name", "kind", "region_code", "credit_code", "bill_kind")
    body = {k: v.strip() for k, v in form.items() if v.strip()}
    try:
        unit, api_key = admin.create_unit(deps(), credential(actor), body, who(actor))
    except (ValidationFailed, Conflict) as exc:
        return _list_page(me, status_of(exc), form=form, error=exc.message,
                          problems=getattr(exc, "fields", {}))
    return page(bp, "console/finance_key_once.html", me=me, here=UNITS, heading="单位已创建",
                done=f"已创建单位 {unit.unit_code} {unit.name}。", api_key=api_key,
                back=f"{UNITS}/{unit.unit_code}")


def detail_page(me: Session, unit_code: str, status: int = 200, **context: Any) -> Response:
    detail = admin.unit_detail(deps(), credential(me), unit_code[:20])
    edit = query_param(bp.current_request, "edit")
    editing = next((i for i in detail["fee_items"] if i["item_code"] == edit), None)
    context.setdefault("item_form", _item_form(editing) if editing else {"bill_kind":
                                                                         "0301"})
    return page(bp, "console/finance_unit.html", status, me=me, here=UNITS,
                heading=f"单位 {unit_code}", detail=detail, kinds=KINDS, bill_kinds=BILL_KINDS,
                yuan=fen_to_yuan_grouped, can_change=me.role is Role.FINANCE_ADMIN,
                **context)


def _item_form(item: dict) -> dict:
    money = {k: fen_to_yuan(item[k]) if item.get(k) is not None else ""
             for k in ("standard_fen", "min_fen", "max_fen")}
    return {"item_code": item["item_code"], "name": item["name"], "unit": item.get("unit") or "",
            "bill_kind": item.get("bill_kind") or "0301", "standard": money["standard_fen"],
            "min": money["min_fen"], "max": money["max_fen"],
            "valid_from": item.get("valid_from") or "", "valid_to": item.get("valid_to") or ""}


@bp.route(UNITS + "/{unit_code}", methods=["GET"])
@console_view(bp, *FINANCE, early=True)
def unit_detail(me: Session, actor: Actor, unit_code: str) -> Response:
    return detail_page(me, unit_code)


@bp.route(UNITS + "/{unit_code}/fee-items", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def fee_item_put(me: Session, actor: Actor, unit_code: str) -> Response:
    form = form_fields(bp, "item_code", "name", "unit", "bill_kind", "standard", "min", "max",
                       "valid_from", "valid_to")
    body: dict[str, Any] = {"name": form["name"].strip(), "bill_kind": form["bill_kind"]}
    problems: dict[str, str] = {}
    for field, key in (("standard", "standard_fen"), ("min", "min_fen"), ("max", "max_fen")):
        if form[field].strip():
            try:
                body[key] = yuan_to_fen(form[field].strip())
            except ValidationFailed:
                problems[field] = "金额（元），最多两位小数"
    for key in ("unit", "valid_from", "valid_to"):
        if form[key].strip():
            body[key] = form[key].strip()
    try:
        if problems:
            raise ValidationFailed("收费项目信息有误", problems)
        item, created = admin.put_fee_item(deps(), credential(actor), unit_code[:20],
                                           form["item_code"].strip(), body, who(actor))
    except (ValidationFailed, Conflict) as exc:
        fields = {{"standard_fen": "standard", "min_fen": "min", "max_fen": "max"}.get(k, k): v
                  for k, v in getattr(exc, "fields", {}).items()}
        return detail_page(me, unit_code, status_of(exc), item_form=form, item_error=exc.message,
                            item_problems=fields)
    done = f"已{'新增' if created else '修改'}收费项目 {item['item_code']} {item['name']}。"
    return detail_page(me, unit_code, done=done)


@bp.route(UNITS + "/{unit_code}/ranges", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def range_allocate(me: Session, actor: Actor, unit_code: str) -> Response:
    form = form_fields(bp, "bill_kind", "count", "year")
    body: dict[str, Any] = {"bill_kind": form["bill_kind"]}
    for key in ("count", "year"):
        text = form[key].strip()
        if text:
            body[key] = int(text) if text.isdigit() and len(text) < 9 else text
    try:
        result = admin.allocate_range(deps(), credential(actor), unit_code[:20], body, who(actor))
    except (ValidationFailed, Conflict) as exc:
        return detail_page(me, unit_code, status_of(exc), range_form=form,
                            range_error=exc.message, range_problems=getattr(exc, "fields", {}))
    return detail_page(me, unit_code, done=f"已分配号段：票据代码 {result['bill_code']}，号码 "
                                            f"{result['first_number']}–{result['last_number']}。")


@bp.route(UNITS + "/{unit_code}/keys", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def key_add(me: Session, actor: Actor, unit_code: str) -> Response:
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再生成新密钥", {"confirm": "required"})
    key, api_key = admin.add_unit_key(deps(), credential(actor), unit_code[:20], who(actor))
    return page(bp, "console/finance_key_once.html", me=me, here=UNITS, heading="新密钥",
                done=f"已为单位 {unit_code[:20]} 生成新密钥 {key.key_id}；原密钥在吊销前仍然有效。",
                api_key=api_key, back=f"{UNITS}/{unit_code[:20]}")


@bp.route(UNITS + "/{unit_code}/keys/{key_id}/revoke", methods=["POST"],
          content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def key_revoke(me: Session, actor: Actor, unit_code: str, key_id: str) -> Response:
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再吊销", {"confirm": "required"})
    admin.revoke_unit_key(deps(), credential(actor), unit_code[:20], key_id[:40], who(actor))
    return detail_page(me, unit_code, done=f"已吊销密钥 {key_id[:40]}，使用它的请求将被拒绝。")
