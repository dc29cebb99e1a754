"""Routes for the finance department's systems (财政端, CONTRACT v2 ``/v1/admin``).

Every route takes a finance key (``api.http.finance_only``); a unit's key is refused 403, no
key or an unknown one 401. What a key sees is limited to its region (``services/admin.py``).
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import finance_only
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.services import admin

bp = Blueprint(__name__)


@bp.route("/v1/admin/units/{unit_code}", methods=["GET"])
@handles_errors
@finance_only(bp)
def get_unit(finance: FinanceKey, unit_code: str) -> dict:
    """The unit, its fee items and its number ranges with used, void and left."""
    return admin.unit_detail(deps(), finance, unit_code)
