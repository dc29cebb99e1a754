"""Routes for reimbursing units (报销单位): verification."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import caller, client_address, json_body
from chalicelib.bootstrap import deps
from chalicelib.domain.units import UnitKind
from chalicelib.services import bills as bills_service

bp = Blueprint(__name__)


@bp.route("/v1/verifications", methods=["POST"])
@handles_errors
def verify() -> dict:
    d = deps()
    request = bp.current_request
    unit = caller(request, d, UnitKind.REIMBURSING)
    return bills_service.verify_elements(d, json_body(request),
                                         f"{unit.unit_code}@{client_address(request)}")
