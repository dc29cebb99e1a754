"""Routes for the finance department's systems (财政端, CONTRACT v2 ``/v1/admin``).

Every route takes a finance key (``api.http.finance_only``); a unit's key is refused 403, no
key or an unknown one 401. What a key sees and changes is limited to its region, and every
change is in the audit log with the key and the client's address (``services/admin.py``).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import (
    ANY_BODY,
    client_address,
    finance_only,
    json_body,
    query_param,
    raw_body,
)
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import admin

bp = Blueprint(__name__)


def _who(finance: FinanceKey) -> str:
    """Who did it, as the audit log records it: the finance key and the client's address."""
    return f"{finance.actor}@{client_address(bp.current_request)}"


@bp.route("/v1/admin/units", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def create_unit(finance: FinanceKey) -> Response:
    """A collecting or reimbursing unit, with its first API key (shown only now)."""
    unit, api_key = admin.create_unit(deps(), finance, json_body(bp.current_request),
                                      _who(finance))
    return Response(body={"unit_code": unit.unit_code, "api_key": api_key,
                          "unit": admin.unit_summary(unit)}, status_code=201,
                    headers={"Location": f"/v1/admin/units/{unit.unit_code}",
                             "Cache-Control": "no-store"})


@bp.route("/v1/admin/units", methods=["GET"])
@handles_errors
@finance_only(bp)
def list_units(finance: FinanceKey) -> dict:
    """The units of the key's region (``region=`` narrows it), a page at a time."""
    request = bp.current_request
    return admin.list_units(deps(), finance, query_param(request, "region"),
                            query_param(request, "limit"), query_param(request, "cursor"))


@bp.route("/v1/admin/units/{unit_code}", methods=["GET"])
@handles_errors
@finance_only(bp)
def get_unit(finance: FinanceKey, unit_code: str) -> dict:
    """The unit, its fee items, its number ranges with used, void and left, its keys."""
    return admin.unit_detail(deps(), finance, unit_code)


@bp.route("/v1/admin/units/{unit_code}/fee-items/{item_code}", methods=["PUT"],
          content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def put_fee_item(finance: FinanceKey, unit_code: str, item_code: str) -> Response:
    """Create (201) or replace (200) a fee item with its standard."""
    item, created = admin.put_fee_item(deps(), finance, unit_code, item_code,
                                       json_body(bp.current_request), _who(finance))
    return Response(body=item, status_code=201 if created else 200)


@bp.route("/v1/admin/units/{unit_code}/ranges", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def allocate_range(finance: FinanceKey, unit_code: str) -> Response:
    """The next block of bill numbers of a bill kind for the unit (never overlapping)."""
    body = admin.allocate_range(deps(), finance, unit_code, json_body(bp.current_request),
                                _who(finance))
    return Response(body=body, status_code=201)


@bp.route("/v1/admin/units/{unit_code}/api-keys", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def add_api_key(finance: FinanceKey, unit_code: str) -> Response:
    """One more API key for the unit (shown only now); its old keys work until revoked. The
    body, if any, is an empty JSON object (a key has nothing to choose)."""
    request = bp.current_request
    if raw_body(request).strip():
        body = json_body(request)
        if body != {}:
            raise ValidationFailed("请求体应为空对象", {"body": "send no body, or {}"})
    key, api_key = admin.add_unit_key(deps(), finance, unit_code, _who(finance))
    return Response(body={**key.public(), "api_key": api_key}, status_code=201,
                    headers={"Cache-Control": "no-store"})


@bp.route("/v1/admin/units/{unit_code}/api-keys/{key_id}", methods=["DELETE"])
@handles_errors
@finance_only(bp)
def revoke_api_key(finance: FinanceKey, unit_code: str, key_id: str) -> dict:
    """Revoke one of the unit's API keys (the record stays, marked revoked)."""
    return admin.revoke_unit_key(deps(), finance, unit_code, key_id, _who(finance)).public()
