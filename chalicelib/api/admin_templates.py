"""Routes of the finance department for bill templates (票据模板, CONTRACT v2 ``/v1/admin``).

- ``GET /v1/admin/bill-kinds`` → every bill kind with the template its new bills are drawn from
  (fields, labels, columns, remarks), who chose it and when, and the templates it may have.
- ``PUT /v1/admin/bill-kinds/{kind_code}/template`` ``{template_id}`` → the kind's entry as
  above, once its new notes and bills are drawn from the newest version of that template.
  Audit-logged; only a provincial (or wider) finance key may choose.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import finance_only, json_body
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.services import bill_templates

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
