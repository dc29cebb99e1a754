"""The finance console's page of the weekly report (每周一报): ``/console/finance/reports/weekly``
(``?week=YYYY-Www``; the running week by default), for finance admins and auditors, behind the
console's sign-in (``api/console.console_view``), of the person's region. The view-model is
``services/report_page.report_page``; the page draws its charts as inline SVG."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.console import console_view, page
from chalicelib.api.errors import status_of
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.people import Role, Session
from chalicelib.services.people import Actor
from chalicelib.services.report_page import report_page

bp = Blueprint(__name__)
PATH = "/console/finance/reports/weekly"


@bp.route(PATH, methods=["GET"])
@console_view(bp, Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
def weekly_report_page(me: Session, actor: Actor) -> Response:
    week = query_param(bp.current_request, "week")
    try:
        context = report_page(deps(), week, me.scope)  # a region's person: its units only
    except (ValidationFailed, NotFound) as exc:
        problems = getattr(exc, "fields", {}) or {}
        return page(bp, "console/finance_report.html", status_of(exc), me=me, here=PATH,
                    heading="每周一报", week=week or "", error=exc.message,
                    problems=problems, previous="", next="", has_next=False)
    return page(bp, "console/finance_report.html", me=me, here=PATH, heading="每周一报",
                problems={}, **context)
