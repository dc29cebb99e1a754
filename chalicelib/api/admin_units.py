"""The finance department's routes for a unit's basic information beyond fee items, ranges and
keys (CONTRACT v2 ``/v1/admin``, extended): the bill kinds it is allowed, its seal, and the
merchant numbers it collects into.

    PUT  /v1/admin/units/{unit_code}/bill-kinds          {bill_kinds: [...], bill_kind?}
    PUT  /v1/admin/units/{unit_code}/seal                a PNG (Content-Type: image/png)
    GET  /v1/admin/units/{unit_code}/seal/sample.pdf     the sample bill with its seal now
    POST /v1/admin/units/{unit_code}/seal/sample.pdf     the sample bill with the PNG sent
                                                         (nothing kept: a preview)
    PUT    /v1/admin/units/{unit_code}/merchants/{channel}  the unit's own merchant number
           (wechatpay: {sub_mchid, sub_appid?}; unionpay: {mer_id, sign_cert_pfx (base64),
           sign_cert_password}); 200 with the unit (a token or key never shown)
    DELETE /v1/admin/units/{unit_code}/merchants/{channel}  back to the deployment's merchant

Every route takes a finance key (``api.http.finance_only``: a unit's key 403, none 401); a unit
outside the key's region is 404 like one that does not exist; every change is audited with the
key and the client's address (``services/units``, ``services/seals``).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import ANY_BODY, client_address, finance_only, json_body, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.services import admin, merchants, seals, units

bp = Blueprint(__name__)
PNG = ["image/png"]


def _who(finance: FinanceKey) -> str:
    return f"{finance.actor}@{client_address(bp.current_request)}"


def _pdf(pdf: bytes, unit_code: str) -> Response:
    return Response(body=pdf, status_code=200, headers={
        "Content-Type": "application/pdf", "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="seal-sample-{unit_code}.pdf"'})


@bp.route("/v1/admin/units/{unit_code}/bill-kinds", methods=["PUT"], content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def put_bill_kinds(finance: FinanceKey, unit_code: str) -> dict:
    """The bill kinds the unit may use (and its default among them); 200 with the unit."""
    d = deps()
    body = json_body(bp.current_request)  # a body that is not JSON is 400 before anything
    unit = admin.unit_in_scope(d, finance, unit_code)
    changed = units.set_bill_kinds(d, unit, body, _who(finance))
    return {"unit": admin.unit_summary(changed)}


@bp.route("/v1/admin/units/{unit_code}/seal", methods=["PUT"], content_types=PNG)
@handles_errors
@finance_only(bp)
def put_seal(finance: FinanceKey, unit_code: str) -> dict:
    """The unit's seal image: on every bill it issues from ``since`` (two minutes on)."""
    d = deps()
    unit = admin.unit_in_scope(d, finance, unit_code)
    seal = seals.set_seal(d, unit, raw_body(bp.current_request), _who(finance))
    return {"unit_code": unit.unit_code, "seal": {**seal.public(), "key": seal.key},
            "sample_url": f"/v1/admin/units/{unit.unit_code}/seal/sample.pdf"}


@bp.route("/v1/admin/units/{unit_code}/seal/sample.pdf", methods=["GET"])
@handles_errors
@finance_only(bp)
def seal_sample(finance: FinanceKey, unit_code: str) -> Response:
    """The unit's sample bill (样张) with the seal its bills carry from now on."""
    d = deps()
    unit = admin.unit_in_scope(d, finance, unit_code)
    png = d.archive.get(unit.seal_key) if unit.seal_key else None
    return _pdf(seals.sample_pdf(d, unit, png), unit.unit_code)


@bp.route("/v1/admin/units/{unit_code}/seal/sample.pdf", methods=["POST"], content_types=PNG)
@handles_errors
@finance_only(bp)
def seal_preview(finance: FinanceKey, unit_code: str) -> Response:
    """The unit's sample bill with the PNG sent, checked as a seal would be; nothing kept."""
    d = deps()
    unit = admin.unit_in_scope(d, finance, unit_code)
    _, pdf = seals.checked_sample(d, unit, raw_body(bp.current_request))
    return _pdf(pdf, unit.unit_code)


@bp.route("/v1/admin/units/{unit_code}/merchants/{channel}", methods=["PUT"],
          content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def put_merchant(finance: FinanceKey, unit_code: str, channel: str) -> dict:
    """The unit collects at ``channel`` into its own merchant number, from the next order on."""
    d = deps()
    body = json_body(bp.current_request)
    unit = admin.unit_in_scope(d, finance, unit_code)
    changed = merchants.set_merchant(d, unit, channel[:20], body, _who(finance))
    return {"unit": admin.unit_summary(changed)}


@bp.route("/v1/admin/units/{unit_code}/merchants/{channel}", methods=["DELETE"])
@handles_errors
@finance_only(bp)
def delete_merchant(finance: FinanceKey, unit_code: str, channel: str) -> dict:
    """The unit collects at ``channel`` into the deployment's merchant again."""
    d = deps()
    unit = admin.unit_in_scope(d, finance, unit_code)
    changed = merchants.remove_merchant(d, unit, channel[:20], _who(finance))
    return {"unit": admin.unit_summary(changed)}
