"""The finance department defines and edits bill templates (制样): ``POST /v1/admin/
bill-templates``, ``PUT /v1/admin/bill-templates/{template_id}``, and the lists of them.

A template is data (``domain/template_data``): fields with types and rules, labels, remarks,
the layout's title, payer label, block heading and columns. Defining one stores version 1;
each edit stores the next version beside the earlier ones, which never change. A kind's choice
names a version, so an edit governs new bills only once the finance department chooses the
template again (``PUT /v1/admin/bill-kinds/{kind}/template``): a unit is never surprised by a
newly required field. Every note records the template it was checked against and carries a
copy of a defined one, which its bill keeps: re-rendering an old bill, as PDF, OFD or page,
draws the version it was issued with.

Who: as for choosing, only a key of the whole province (or everywhere) defines or edits; a
city's or county's key may look. Each definition and edit is audit-logged
(``admin#bill_template#<id>``). Bounds: a template as ``template_data`` allows (at most 8 KB
stored), ``MAX_TEMPLATES`` defined templates and ``MAX_VERSIONS`` versions of each, so the
table and its lists stay small.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain import bill_templates
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from chalicelib.domain.records import AuditEvent
from chalicelib.domain.template_data import (
    MAX_BODY_BYTES,
    StoredTemplate,
    rule_text,
    stored_size,
    template_from_data,
    template_to_data,
)
from chalicelib.services.bill_templates import PROVINCE_SCOPE
from chalicelib.services.ports import Ports

MAX_TEMPLATES = 30  # defined templates (besides the built-in ones)
MAX_VERSIONS = 20  # versions of one template


def check_body_size(raw: bytes) -> None:
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge("票据模板过大", {"body": f"at most {MAX_BODY_BYTES} bytes"})


def _may_define(finance: FinanceKey) -> None:
    if len(finance.scope) > PROVINCE_SCOPE:
        raise Forbidden("票据模板由省级财政部门制定", code="not_a_provincial_key")


def _now(deps: Ports) -> str:
    return deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")


def _audit(deps: Ports, finance: FinanceKey, action: str, at: str, tpl: Any,
           previous: str | None) -> None:
    deps.audit.append(AuditEvent(
        bill_id=f"admin#bill_template#{tpl.template_id}", unit_code="finance", action=action,
        outcome="ok", client=finance.actor, at=at,
        detail={"template": tpl.ref, "previous": previous, "bytes": stored_size(tpl)}))


def template_view(deps: Ports, template_id: str, version: int | None = None) -> dict:
    """A template in full (its newest version, or ``version``), with its versions and the
    kinds whose new bills are drawn from it."""
    template_id = template_id[:40]
    built = [t for t in bill_templates.BUILT_IN if t.template_id == template_id]
    stored = [] if built else deps.bill_templates.versions(template_id)
    versions: list[dict[str, Any]] = (
        [{"version": t.version, "made_at": None, "made_by": None} for t in built]
                or [{"version": s.template.version, "made_at": s.made_at,
                     "made_by": s.made_by} for s in stored])
    candidates = built or [s.template for s in stored]
    if not candidates:
        raise NotFound("没有该票据模板", code="template_not_found")
    if version is None:
        tpl = candidates[-1]
    else:
        found = [t for t in candidates if t.version == version]
        if not found:
            raise NotFound("没有该版本的票据模板", code="template_not_found")
        tpl = found[0]
    chosen = [c.kind_code for c in deps.template_choices.all()
              if c.template_id == template_id]
    return {"template": template_to_data(tpl), "built_in": bool(built), "versions": versions,
            "chosen_for": chosen, "rules_text": [rule_text(r) for r in tpl.rules]}


def list_templates(deps: Ports) -> dict:
    """Every template: the built-in ones, then those defined, each at its newest version."""
    rows = [{"template_id": t.template_id, "version": t.version, "name": t.name,
             "kinds": list(t.kinds), "built_in": True, "made_at": None, "made_by": None}
            for t in bill_templates.BUILT_IN]
    rows += [{"template_id": s.template.template_id, "version": s.template.version,
              "name": s.template.name, "kinds": list(s.template.kinds), "built_in": False,
              "made_at": s.made_at, "made_by": s.made_by} for s in deps.bill_templates.newest()]
    return {"templates": rows}


def define_template(deps: Ports, finance: FinanceKey, body: object) -> dict:
    """Store a new template as version 1 (``template_id`` from the body); 409 if the id is
    taken (built in or defined) or too many are defined."""
    _may_define(finance)
    tpl = template_from_data(body, version=1)
    if bill_templates.latest(tpl.template_id) is not None:
        raise Conflict("内置模板不可重新定义，请换一个模板编号", code="template_built_in")
    if deps.bill_templates.versions(tpl.template_id):
        raise Conflict("该模板编号已存在，请修改该模板", code="template_exists")
    if len(deps.bill_templates.newest()) >= MAX_TEMPLATES:
        raise Conflict(f"最多可定义 {MAX_TEMPLATES} 个票据模板", code="too_many_templates")
    at = _now(deps)
    deps.bill_templates.add(StoredTemplate(template=tpl, made_at=at, made_by=finance.actor))
    _audit(deps, finance, "define_template", at, tpl, None)
    return template_view(deps, tpl.template_id)


def edit_template(deps: Ports, finance: FinanceKey, template_id: str, body: object) -> tuple[
        dict, bool]:
    """Store the body as the next version of ``template_id``; and whether a version was made
    (an edit that changes nothing makes none). ``body["version"]``, when given, is the version
    the edit was made on: another version being the newest by then is a 409, so two people
    editing at once do not silently undo each other."""
    _may_define(finance)
    template_id = template_id[:40]
    if bill_templates.latest(template_id) is not None:
        raise Conflict("内置模板不可修改；可另定义一个模板", code="template_built_in")
    versions = deps.bill_templates.versions(template_id)
    if not versions:
        raise NotFound("没有该票据模板", code="template_not_found")
    current = versions[-1].template
    base = body.get("version") if isinstance(body, dict) else None
    if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
        raise ValidationFailed("票据模板有误", {"version": "the version edited, a whole number"})
    if base is not None and base != current.version:
        raise Conflict(f"模板已被修改为第 {current.version} 版，请刷新后再改",
                       code="template_changed")
    data = {k: v for k, v in body.items() if k != "version"} if isinstance(body, dict) else body
    tpl = template_from_data(data, template_id=template_id, version=current.version + 1)
    if template_to_data(tpl) | {"version": current.version} == template_to_data(current):
        return template_view(deps, template_id), False
    if len(versions) >= MAX_VERSIONS:
        raise Conflict(f"每个模板最多 {MAX_VERSIONS} 个版本，请另定义一个模板",
                       code="too_many_versions")
    at = _now(deps)
    deps.bill_templates.add(StoredTemplate(template=tpl, made_at=at, made_by=finance.actor))
    _audit(deps, finance, "edit_template", at, tpl, current.ref)
    return template_view(deps, template_id), True
