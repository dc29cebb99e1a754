"""Routes of remittance (划款, CONTRACT v2), for the finance department's systems.

``GET /v1/admin/remittances/{date}`` (the contract's object, plus the day's state and figures);
``POST …/{date}/instruct`` (201 with the day instructed, 200 when it was already; 409 when the
day does not balance); ``GET …/{date}/instruction.csv`` (the kept bank file);
``POST …/{date}/confirm`` ``{unit_code, account, bank_reference}``;
``PUT /v1/admin/units/{unit_code}/remittance-account`` ``{account, item_code?}``.
Every route takes the finance key; instructing, confirming and reading the bank file take one
covering every unit of the day.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import ANY_BODY, finance_only, json_body
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.remittance import RemittanceDay
from chalicelib.services import remittance

bp = Blueprint(__name__)


def _day_view(day: RemittanceDay) -> dict:
    return {"date": day.date, "state": day.status,
            "remittances": [r.view() for r in day.remittances],
            "reconciled_net_fen": day.net_fen, "instructed_at": day.instructed_at,
            "instruction_sha256": day.instruction_sha256,
            "instruction_url": f"/v1/admin/remittances/{day.date}/instruction.csv"}


@bp.route("/v1/admin/remittances/{date}", methods=["GET"])
@handles_errors
@finance_only(bp)
def get_remittances(finance: FinanceKey, date: str) -> dict:
    return remittance.remittances_view(deps(), finance, date)


@bp.route("/v1/admin/remittances/{date}/instruct", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def instruct(finance: FinanceKey, date: str) -> Response:
    day, made = remittance.instruct(deps(), finance, date)
    return Response(body=_day_view(day), status_code=201 if made else 200)


@bp.route("/v1/admin/remittances/{date}/instruction.csv", methods=["GET"])
@handles_errors
@finance_only(bp)
def instruction_file(finance: FinanceKey, date: str) -> Response:
    body = remittance.instruction_file(deps(), finance, date)
    return Response(body=body, status_code=200, headers={
        "Content-Type": remittance.CSV_TYPE,
        "Content-Disposition": f'attachment; filename="remittance-{date}.csv"'})


@bp.route("/v1/admin/remittances/{date}/confirm", methods=["POST"], content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def confirm(finance: FinanceKey, date: str) -> dict:
    day = remittance.confirm(deps(), finance, date, json_body(bp.current_request))
    return _day_view(day)


@bp.route("/v1/admin/units/{unit_code}/remittance-account", methods=["PUT"],
          content_types=ANY_BODY)
@handles_errors
@finance_only(bp)
def set_account(finance: FinanceKey, unit_code: str) -> dict:
    return remittance.set_account(deps(), finance, unit_code, json_body(bp.current_request))
