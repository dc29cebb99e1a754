"""Routes of the weekly report (每周一报, CONTRACT v2), for the finance department's systems.

``GET /v1/admin/reports/weekly/{YYYY-Www}`` answers JSON; the same path ending ``.csv`` or
``.pdf`` answers the same figures as CSV or PDF (one route: API Gateway gives the whole last
segment as the parameter). A finance key sees the units of its region only, and a finished
week's report is kept per region (``services/reports.py``). The answer says which it is:
``X-Report-State: final`` (kept, served as kept) or ``live`` (the week still running).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import finance_only
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.services import reports

bp = Blueprint(__name__)


@bp.route("/v1/admin/reports/weekly/{week}", methods=["GET"])
@handles_errors
@finance_only(bp)
def weekly_report(finance: FinanceKey, week: str) -> Response:
    """The week's report as JSON, or as CSV or PDF by the path's ending."""
    label, _, fmt = week.partition(".")
    if fmt not in ("csv", "pdf"):
        label, fmt = week, "json"
    body, state = reports.weekly_report(deps(), label, fmt, finance.scope)
    headers: dict[str, str | list[str]] = {
        "Content-Type": reports.FORMATS[fmt], "X-Report-State": state,
        "Cache-Control": "no-store" if state == "live" else "private, max-age=3600"}
    if fmt != "json":
        headers["Content-Disposition"] = f'inline; filename="weekly-report-{label}.{fmt}"'
    return Response(body=body, status_code=200, headers=headers)
