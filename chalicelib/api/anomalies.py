"""``GET /v1/admin/anomalies?from=YYYY-MM-DD&to=YYYY-MM-DD`` (finance key): the 事中/事后
checks of a period of at most 31 days (``services/anomalies.py``), each anomaly with links to
its records."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import finance_only, query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.services import anomalies

bp = Blueprint(__name__)


@bp.route("/v1/admin/anomalies", methods=["GET"])
@handles_errors
@finance_only(bp)
def list_anomalies(finance: FinanceKey) -> dict:
    request = bp.current_request
    return anomalies.find(deps(), finance, query_param(request, "from"),
                          query_param(request, "to"))
