"""Routes for collecting units' systems: payment notes, directly issued bills, their lifecycle."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import ANY_BODY, authenticated, collecting_or_finance, header, json_body
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services import links, notices
from chalicelib.services import notes as notes_service

bp = Blueprint(__name__)


@bp.route("/v1/notes", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def create_note(unit: Unit) -> Response:
    d = deps()
    request = bp.current_request
    note, created = notes_service.create_note(d, unit, json_body(request),
                                              header(request, "idempotency-key"))
    view = notes_service.note_view(d, note, public=False)
    return Response(body=view, status_code=201,
                    headers={"Location": f"/v1/notes/{note.payment_code}",
                             "Idempotent-Replayed": "false" if created else "true"})


@bp.route("/v1/notes", methods=["GET"])
@handles_errors
@collecting_or_finance(bp)
def list_notes(caller: Unit | FinanceKey) -> dict:
    """The unit's notes (the finance key: every unit's in its region), newest first, paged."""
    from chalicelib.services.note_lists import list_notes as notes_page

    params = {name: str(value) for name, value in (bp.current_request.query_params or {}).items()}
    return notes_page(deps(), caller, params)


@bp.route("/v1/notes/{payment_code}", methods=["GET"])
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def get_note(unit: Unit, payment_code: str) -> dict:
    return notes_service.unit_note_view(deps(), unit, payment_code)


@bp.route("/v1/notes/{payment_code}/cancel", methods=["POST"], content_types=[
    "application/json", "text/plain", "application/x-www-form-urlencoded"])
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def cancel_note(unit: Unit, payment_code: str) -> dict:
    d = deps()
    return notes_service.note_view(d, notes_service.cancel_note(d, unit, payment_code),
                                   public=False)


@bp.route("/v1/payment-exceptions", methods=["GET"])
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def payment_exceptions(unit: Unit) -> dict:
    """Money this unit received that no bill covers (paid twice, wrong amount, cancelled note),
    newest first, with the state of its refund."""
    from chalicelib.services.payments import unit_exceptions

    d = deps()
    return {"exceptions": unit_exceptions(d, unit.unit_code)}


@bp.route("/v1/notes/{payment_code}/notice.pdf", methods=["GET"])
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def notice_pdf(unit: Unit, payment_code: str) -> Response:
    pdf = notices.notice_pdf(deps(), unit, payment_code)
    return Response(body=pdf, status_code=200, headers={
        "Content-Type": "application/pdf",
        "Content-Disposition": f'inline; filename="notice-{payment_code}.pdf"'})


@bp.route("/v1/bills/{bill_code}/{bill_number}/notice.pdf", methods=["GET"])
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def bill_notice_pdf(unit: Unit, bill_code: str, bill_number: str) -> Response:
    """告知单: the slip telling a payer with no phone where to fetch this unit's bill."""
    pdf = notices.bill_notice_pdf(deps(), unit, bill_code, bill_number)
    return Response(body=pdf, status_code=200, headers={
        "Content-Type": "application/pdf",
        "Content-Disposition": f'inline; filename="bill-notice-{bill_code}-{bill_number}.pdf"'})


@bp.route("/v1/bills/{bill_code}/{bill_number}/reversal", methods=["POST"],
          content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def reverse_bill(unit: Unit, bill_code: str, bill_number: str) -> Response:
    """冲红: issue the red bill of one of this unit's bills."""
    from chalicelib.services import lifecycle

    d = deps()
    request = bp.current_request
    red, created = lifecycle.reverse_bill(d, unit, bill_code, bill_number, json_body(request))
    body = {"bill_code": red.bill_code, "bill_number": red.bill_number,
            "check_code": red.check_code, "issued_at": red.issued_at,
            "url": links.bill_url(d, red.bill_code, red.bill_number, red.check_code),
            "reverses": {"bill_code": bill_code, "bill_number": bill_number}}
    return Response(body=body, status_code=201 if created else 200)


@bp.route("/v1/bills/{bill_code}/{bill_number}/void", methods=["POST"],
          content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def void_bill(unit: Unit, bill_code: str, bill_number: str) -> dict:
    """作废: void one of this unit's bills issued in error (not once reimbursed)."""
    from chalicelib.services import lifecycle

    d = deps()
    request = bp.current_request
    status = lifecycle.void_bill(d, unit, bill_code, bill_number, json_body(request))
    return {"bill_code": bill_code, "bill_number": bill_number, "status": status}


@bp.route("/v1/bills/{bill_code}/{bill_number}/paper", methods=["POST"],
          content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def exchange_to_paper(unit: Unit, bill_code: str, bill_number: str) -> dict:
    """换开: record the paper bill issued for one of this unit's e-bills."""
    from chalicelib.services import lifecycle

    d = deps()
    request = bp.current_request
    result = lifecycle.exchange_to_paper(d, unit, bill_code, bill_number, json_body(request))
    return {"bill_code": bill_code, "bill_number": bill_number, **result}


@bp.route("/v1/units/me/seal", methods=["PUT"], content_types=["image/png"])
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def upload_seal(unit: Unit) -> dict:
    """The unit's own seal image (PNG, square, ≤ 256 KB), printed on its bills issued from two
    minutes on (``services/seals``)."""
    from chalicelib.api.http import client_address, raw_body
    from chalicelib.services.seals import set_seal

    d = deps()
    request = bp.current_request
    seal = set_seal(d, unit, raw_body(request),
                    f"unit:{unit.unit_code}@{client_address(request)}")
    return {"unit_code": unit.unit_code, "seal_key": seal.key, "since": seal.since}


@bp.route("/v1/bills", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@authenticated(bp, UnitKind.COLLECTING)
def issue_direct_bill(unit: Unit) -> Response:
    """直接开票: a bill for money the unit received itself (``paid_by``); 202 while it is being
    issued (``status_url``), 201 with the bill once it is."""
    from chalicelib.services import direct_bills

    d = deps()
    request = bp.current_request
    note, created = direct_bills.issue_direct_bill(d, unit, json_body(request),
                                                   header(request, "idempotency-key"))
    status, body = direct_bills.direct_bill_view(d, note)
    headers: dict[str, str | list[str]] = {"Idempotent-Replayed": "false" if created else "true"}
    if status == 202:
        headers["Location"] = body["status_url"]
    return Response(body=body, status_code=status, headers=headers)
