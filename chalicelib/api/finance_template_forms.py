"""The finance console's template pages (制样): the templates (built in and defined), a form to
define one and to edit one (each edit a new version), for a finance admin. The same use cases
as ``/v1/admin/bill-templates`` (``services/bill_template_admin``): the same checks, the same
audit row (``client = finance:person:<username>``); a field the checks name is shown next to
its input (``services/template_forms``). An auditor sees the templates, read-only, and a post
from them is the 403 page. A built-in template is shown read-only, with a link to define a new
one from it. A template is chosen for a kind on the 票据模板 page (``finance_templates``).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, form_lists, page, redirect
from chalicelib.api.errors import status_of
from chalicelib.api.finance_templates import BILL_KINDS_PAGE
from chalicelib.api.finance_units import credential
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.bill_templates import COLUMN_KEYS
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.errors import DomainError, ValidationFailed
from chalicelib.domain.people import Role, Session
from chalicelib.services import bill_template_admin, template_forms
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

TEMPLATES_PAGE = "/console/finance/bill-templates"
FINANCE = (Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
COLUMN_NAMES = {"item_code": "项目编码", "name": "项目名称", "unit": "单位", "quantity": "数量",
                "standard": "标准", "amount": "金额"}


def _form_page(me: Session, form: dict[str, Any], *, action: str, editing: str | None,
               status: int = 200, read_only: bool = False, **context: Any) -> Response:
    fields = form["fields"] + [{}] * (template_forms.field_rows(len(form["fields"]))
                                      - len(form["fields"]))
    columns = form["columns"] + [{}] * (len(COLUMN_KEYS) - len(form["columns"]))
    return page(bp, "console/finance_template_form.html", status, me=me, here=BILL_KINDS_PAGE,
                heading=(f"票据模板 {editing}" if editing else "定义票据模板"),
                form=form, fields=fields, columns=columns, action=action, editing=editing,
                kinds=sorted(BILL_KINDS.items()), types=template_forms.TYPES,
                column_names=COLUMN_NAMES,
                read_only=read_only or me.role is not Role.FINANCE_ADMIN, **context)


@bp.route(TEMPLATES_PAGE, methods=["GET"])
@console_view(bp, *FINANCE)
def template_list(me: Session, actor: Actor) -> Response:
    listed = bill_template_admin.list_templates(deps())["templates"]
    return page(bp, "console/finance_templates.html", me=me, here=BILL_KINDS_PAGE,
                heading="模板管理", templates=listed, kinds=BILL_KINDS,
                can_change=me.role is Role.FINANCE_ADMIN)


@bp.route(TEMPLATES_PAGE + "/new", methods=["GET"])
@console_view(bp, Role.FINANCE_ADMIN)
def template_new(me: Session, actor: Actor) -> Response:
    source = query_param(bp.current_request, "from")
    form = template_forms.blank_form()
    if source:  # a new template made from another (a built-in one, say)
        view = bill_template_admin.template_view(deps(), source[:40])
        form = {**template_forms.form_of(view["template"], view["rules_text"]),
                "template_id": "", "version": ""}
    return _form_page(me, form, action=TEMPLATES_PAGE, editing=None)


def _posted() -> dict[str, Any]:
    scalars = form_fields(bp, *template_forms.SCALARS)
    lists = form_lists(bp, "kinds", *template_forms.FIELD_INPUTS, *template_forms.COLUMN_INPUTS)
    return template_forms.form_from_post(scalars, lists)


def _refused(me: Session, form: dict[str, Any], exc: DomainError, *, action: str,
             editing: str | None) -> Response:
    fields = exc.fields if isinstance(exc, ValidationFailed) else {}
    problems = {template_forms.form_field(k, form) if "-" not in k else k: v
                for k, v in fields.items()}
    if exc.code in ("template_exists", "template_built_in"):
        problems["template_id"] = exc.message
    return _form_page(me, form, action=action, editing=editing, status=status_of(exc),
                      problems=problems, error=exc.message)


@bp.route(TEMPLATES_PAGE, methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def template_define(me: Session, actor: Actor) -> Response:
    form = _posted()
    try:
        body = template_forms.body_of(form)
        body.pop("version", None)
        view = bill_template_admin.define_template(deps(), credential(actor), body)
    except DomainError as exc:
        return _refused(me, form, exc, action=TEMPLATES_PAGE, editing=None)
    return redirect(f"{TEMPLATES_PAGE}/{view['template']['template_id']}?saved=1")


@bp.route(TEMPLATES_PAGE + "/{template_id}", methods=["GET"])
@console_view(bp, *FINANCE)
def template_detail(me: Session, actor: Actor, template_id: str) -> Response:
    view = bill_template_admin.template_view(deps(), template_id[:40])
    form = template_forms.form_of(view["template"], view["rules_text"])
    saved = query_param(bp.current_request, "saved") == "1"
    return _form_page(me, form, action=f"{TEMPLATES_PAGE}/{template_id[:40]}",
                      editing=template_id[:40], read_only=view["built_in"], view=view,
                      done=(f"已保存为第 {view['template']['version']} 版。在“票据模板”页为票据种类"
                            "选用（或重新选用）后，新开具的票据即使用此版本。") if saved else None)


@bp.route(TEMPLATES_PAGE + "/{template_id}", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def template_edit(me: Session, actor: Actor, template_id: str) -> Response:
    template_id = template_id[:40]
    form = _posted()
    action = f"{TEMPLATES_PAGE}/{template_id}"
    try:
        body = template_forms.body_of(form)
        view, _ = bill_template_admin.edit_template(deps(), credential(actor), template_id, body)
    except DomainError as exc:
        return _refused(me, {**form, "template_id": template_id}, exc, action=action,
                        editing=template_id)
    return redirect(f"{action}?saved=1")
