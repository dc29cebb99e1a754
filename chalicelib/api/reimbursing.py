"""Routes for reimbursing units (报销单位): verification and reimbursement recording."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import ANY_BODY, caller, client_address, json_body, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.units import UnitKind
from chalicelib.services import reimbursements as reimbursement_service
from chalicelib.services import verification

bp = Blueprint(__name__)


@bp.route("/v1/verifications", methods=["POST"], content_types=ANY_BODY)
@handles_errors
def verify() -> dict:
    d = deps()
    request = bp.current_request
    unit = caller(request, d, UnitKind.REIMBURSING)
    return verification.verify_elements(d, unit, json_body(request),
                                        f"{unit.unit_code}@{client_address(request)}")


@bp.route("/v1/verifications/batch", methods=["POST"], content_types=ANY_BODY)
@handles_errors
def verify_batch() -> dict:
    """Up to 500 bills in one request; each result stands on its own."""
    d = deps()
    request = bp.current_request
    unit = caller(request, d, UnitKind.REIMBURSING)
    return verification.verify_batch(d, unit, json_body(request),
                                     f"{unit.unit_code}@{client_address(request)}")


@bp.route("/v1/verifications/file", methods=["POST"], content_types=[
    "application/xml", "text/xml", "application/pdf", "application/octet-stream"])
@handles_errors
def verify_file() -> dict:
    """The bill file itself as the body (XML, or PDF with the XML attached)."""
    d = deps()
    request = bp.current_request
    unit = caller(request, d, UnitKind.REIMBURSING)
    return verification.verify_file(d, unit, raw_body(request),
                                    f"{unit.unit_code}@{client_address(request)}")


@bp.route("/v1/reimbursements", methods=["POST"], content_types=ANY_BODY)
@handles_errors
def record_reimbursement() -> Response:
    d = deps()
    request = bp.current_request
    unit = caller(request, d, UnitKind.REIMBURSING)
    record, created = reimbursement_service.record_reimbursement(
        d, unit, json_body(request), f"{unit.unit_code}@{client_address(request)}")
    body = {"bill_code": record.bill_id[:8], "bill_number": record.bill_id[8:],
            **record.public()}
    return Response(body=body, status_code=201 if created else 200)


@bp.route("/v1/reimbursements/{bill_code}/{bill_number}", methods=["DELETE"])
@handles_errors
def release_reimbursement(bill_code: str, bill_number: str) -> Response:
    d = deps()
    request = bp.current_request
    unit = caller(request, d, UnitKind.REIMBURSING)
    reimbursement_service.release_reimbursement(d, unit, bill_code, bill_number,
                                                f"{unit.unit_code}@{client_address(request)}")
    return Response(body=b"", status_code=204)
