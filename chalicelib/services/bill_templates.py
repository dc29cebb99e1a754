"""Bill templates per kind: which template each kind's new bills are drawn from, and the
finance department's choice of it (``GET /v1/admin/bill-kinds``,
``PUT /v1/admin/bill-kinds/{kind}/template``).

A note records the template in force for its kind when it is made, and its extra fields are
checked against that template then; its bill is drawn from it whenever it is issued. So a choice
changes what new notes and direct bills carry, never a note already made or a bill issued.
"""

from __future__ import annotations

from datetime import date

from chalicelib.domain import bill_templates
from chalicelib.domain.bill_templates import BillTemplate, TemplateChoice
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.domain.records import AuditEvent
from chalicelib.services.ports import Ports

PROVINCE_SCOPE = 2  # the longest scope that may choose: a province's two digits


def find_template(deps: Ports, template_id: str, version: int) -> BillTemplate | None:
    """Version ``version`` of ``template_id``: built in, or defined by the finance
    department (stored)."""
    built_in = bill_templates.TEMPLATES.get((template_id, version))
    return built_in or deps.bill_templates.get(template_id, version)


def newest_template(deps: Ports, template_id: str) -> BillTemplate | None:
    """The newest version of ``template_id``, built in or defined; None if there is none."""
    built_in = bill_templates.latest(template_id)
    if built_in is not None:
        return built_in
    versions = deps.bill_templates.versions(template_id)
    return versions[-1].template if versions else None


def templates_for_kind(deps: Ports, kind_code: str) -> list[BillTemplate]:
    """The newest version of every template (built in, then defined) made for the kind."""
    return bill_templates.templates_for(kind_code) + [
        s.template for s in deps.bill_templates.newest() if s.template.applies_to(kind_code)]


def template_for_kind(deps: Ports, kind_code: str) -> BillTemplate:
    """The template new bills of ``kind_code`` are drawn from: the finance department's choice,
    else the default (the page bills had before templates)."""
    choice = deps.template_choices.get(kind_code)
    if choice is None:
        return bill_templates.DEFAULT
    return find_template(deps, choice.template_id, choice.version) or bill_templates.DEFAULT


def bill_extra_for(deps: Ports, kind_code: str, body: object, total_fen: int,
                   today: date) -> tuple[BillTemplate, tuple[tuple[str, str], ...]]:
    """The kind's template and the request's ``extra`` checked against it (``ValidationFailed``
    naming each wrong ``extra.<field>``)."""
    tpl = template_for_kind(deps, kind_code)
    raw = body.get("extra") if isinstance(body, dict) else None
    return tpl, bill_templates.read_extra(tpl, raw, total_fen=total_fen, today=today)


def bill_kinds_view(deps: Ports) -> dict:
    """Every bill kind with the template its new bills get and the templates it may have."""
    chosen = {c.kind_code: c for c in deps.template_choices.all()}
    defined = [s.template for s in deps.bill_templates.newest()]
    kinds = []
    for code, kind in sorted(BILL_KINDS.items()):
        choice = chosen.get(code)
        tpl = (find_template(deps, choice.template_id, choice.version) if choice
               else None) or bill_templates.DEFAULT
        available = bill_templates.templates_for(code) + [t for t in defined
                                                          if t.applies_to(code)]
        kinds.append({
            "kind_code": code, "name": kind.name,
            "title": (tpl.title or kind.title).format(region=deps.settings.region_name),
            "template": tpl.public(),
            # A newer version of the chosen template governs new bills once chosen again.
            "newest_version": next((t.version for t in available
                                    if t.template_id == tpl.template_id), tpl.version),
            "chosen_at": choice.chosen_at if choice else None,
            "chosen_by": choice.chosen_by if choice else None,
            "available": [{"template_id": t.template_id, "version": t.version, "name": t.name,
                           "built_in": t in bill_templates.BUILT_IN}
                          for t in available],
        })
    return {"bill_kinds": kinds}


def choose_template(deps: Ports, finance: FinanceKey, kind_code: str, body: object) -> dict:
    """Make ``body["template_id"]`` (its newest version) the template of ``kind_code``'s new
    bills; audit-logged with the previous choice. Choosing again the template already chosen
    changes nothing and logs nothing.

    A kind's template holds for every unit of the deployment (one province), so only a key of
    the whole province (or of everywhere) may choose it; a city's or county's key may look.
    """
    if len(finance.scope) > PROVINCE_SCOPE:
        raise Forbidden("票据模板由省级财政部门选定", code="not_a_provincial_key")
    if kind_code not in BILL_KINDS:
        raise NotFound("没有该票据种类", code="bill_kind_not_found")
    template_id = body.get("template_id") if isinstance(body, dict) else None
    if not isinstance(template_id, str) or len(template_id) > 40:
        raise ValidationFailed("请求参数有误", {"template_id": "required, a template id"})
    tpl = newest_template(deps, template_id)
    if tpl is None:
        known = ", ".join([t.template_id for t in bill_templates.BUILT_IN]
                          + [s.template.template_id for s in deps.bill_templates.newest()])
        raise ValidationFailed("没有该票据模板", {"template_id": f"one of {known}"})
    if not tpl.applies_to(kind_code):
        allowed = ", ".join(t.template_id for t in templates_for_kind(deps, kind_code))
        raise ValidationFailed("该模板不适用于此票据种类",
                               {"template_id": f"not for kind {kind_code}: one of {allowed}"})
    previous = deps.template_choices.get(kind_code)
    current = (previous.template_id, previous.version) if previous else (
        bill_templates.DEFAULT.template_id, bill_templates.DEFAULT.version)
    now = deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")
    if current != (tpl.template_id, tpl.version) or previous is None:
        deps.template_choices.put(TemplateChoice(kind_code=kind_code,
                                                 template_id=tpl.template_id,
                                                 version=tpl.version, chosen_at=now,
                                                 chosen_by=finance.actor))
        deps.audit.append(AuditEvent(
            bill_id=f"admin#bill_kind#{kind_code}", unit_code="finance",
            action="choose_template", outcome="ok", client=finance.actor, at=now,
            detail={"kind_code": kind_code, "template": tpl.ref,
                    "previous": f"{current[0]}@{current[1]}"}))
    return next(k for k in bill_kinds_view(deps)["bill_kinds"] if k["kind_code"] == kind_code)
