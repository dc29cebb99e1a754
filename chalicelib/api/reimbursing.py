"""Routes for reimbursing units (报销单位): verification and reimbursement recording."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import ANY_BODY, authenticated, client_address, json_body, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services import reimbursements as reimbursement_service
from chalicelib.services import verification

bp = Blueprint(__name__)


def _who(unit: Unit) -> str:
    """Who did it, as the audit trail records it: the unit and the client's address."""
    return f"{unit.unit_code}@{client_address(bp.current_request)}"


@bp.route("/v1/verifications", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.REIMBURSING)
def verify(unit: Unit) -> dict:
    return verification.verify_elements(deps(), unit, json_body(bp.current_request), _who(unit))


@bp.route("/v1/verifications/batch", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.REIMBURSING)
def verify_batch(unit: Unit) -> dict:
    """Up to 500 bills in one request; each result stands on its own."""
    return verification.verify_batch(deps(), unit, json_body(bp.current_request), _who(unit))


@bp.route("/v1/verifications/file", methods=["POST"], content_types=[
    "application/xml", "text/xml", "application/pdf", "application/ofd",
    "application/octet-stream"])
@handles_errors
@authenticated(bp, UnitKind.REIMBURSING)
def verify_file(unit: Unit) -> dict:
    """The bill file itself as the body (XML, or PDF or OFD with the XML attached)."""
    return verification.verify_file(deps(), unit, raw_body(bp.current_request), _who(unit))


@bp.route("/v1/reimbursements", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.REIMBURSING)
def record_reimbursement(unit: Unit) -> Response:
    record, created = reimbursement_service.record_reimbursement(
        deps(), unit, json_body(bp.current_request), _who(unit))
    body = {"bill_code": record.bill_id[:8], "bill_number": record.bill_id[8:],
            **record.public()}
    return Response(body=body, status_code=201 if created else 200)


@bp.route("/v1/reimbursements/{bill_code}/{bill_number}", methods=["DELETE"])
@handles_errors
@authenticated(bp, UnitKind.REIMBURSING)
def release_reimbursement(unit: Unit, bill_code: str, bill_number: str) -> Response:
    reimbursement_service.release_reimbursement(deps(), unit, bill_code, bill_number, _who(unit))
    return Response(body=b"", status_code=204)
