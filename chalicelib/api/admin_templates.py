"""Routes of the finance department for bill templates (票据模板, CONTRACT v2 ``/v1/admin``).

- ``GET /v1/admin/bill-kinds`` → every bill kind with the template its new bills are drawn from
  (fields, labels, columns, remarks), who chose it and when, and the templates it may have.
- ``PUT /v1/admin/bill-kinds/{kind_code}/template`` ``{template_id}`` → the kind's entry as
  above, once its new notes and bills are drawn from the newest version of that template.
  Audit-logged; only a provincial (or wider) finance key may choose.
- ``GET /v1/admin/bill-templates`` → every template (built in, then defined), newest versions.
- ``POST /v1/admin/bill-templates`` (a template as data, ``domain/template_data``) → 201 and
  the template as version 1; ``PUT /v1/admin/bill-templates/{template_id}`` → 200 and the next
  version (or the same one when nothing changed). 400 naming each wrong field, 409 for a taken
  id, a built-in template, a stale ``version`` or too many; 413 over 16 KB. Audit-logged.
- ``GET /v1/admin/bill-templates/{template_id}[?version=N]`` → a template in full, its
  versions and the kinds that chose it.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import finance_only, json_body, query_param, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import bill_template_admin, bill_templates

bp = Blueprint(__name__)


@bp.route("/v1/admin/bill-kinds", methods=["GET"])
@handles_errors
@finance_only(bp)
def bill_kinds(finance: FinanceKey) -> dict:
    return bill_templates.bill_kinds_view(deps())


@bp.route("/v1/admin/bill-kinds/{kind_code}/template", methods=["PUT"])
@handles_errors
@finance_only(bp)
def choose_template(finance: FinanceKey, kind_code: str) -> dict:
    return bill_templates.choose_template(deps(), finance, kind_code,
                                          json_body(bp.current_request))


def _template_body() -> object:
    bill_template_admin.check_body_size(raw_body(bp.current_request))
    return json_body(bp.current_request)


@bp.route("/v1/admin/bill-templates", methods=["GET"])
@handles_errors
@finance_only(bp)
def list_templates(finance: FinanceKey) -> dict:
    return bill_template_admin.list_templates(deps())


@bp.route("/v1/admin/bill-templates", methods=["POST"])
@handles_errors
@finance_only(bp)
def define_template(finance: FinanceKey) -> Response:
    view = bill_template_admin.define_template(deps(), finance, _template_body())
    return Response(body=view, status_code=201)


@bp.route("/v1/admin/bill-templates/{template_id}", methods=["GET"])
@handles_errors
@finance_only(bp)
def get_template(finance: FinanceKey, template_id: str) -> dict:
    raw = query_param(bp.current_request, "version")
    if raw is not None and (not raw.isdigit() or len(raw) > 6):
        raise ValidationFailed("请求参数有误", {"version": "a whole number"})
    return bill_template_admin.template_view(deps(), template_id,
                                             int(raw) if raw is not None else None)


@bp.route("/v1/admin/bill-templates/{template_id}", methods=["PUT"])
@handles_errors
@finance_only(bp)
def edit_template(finance: FinanceKey, template_id: str) -> dict:
    return bill_template_admin.edit_template(deps(), finance, template_id, _template_body())[0]
