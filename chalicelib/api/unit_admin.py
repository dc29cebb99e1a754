"""The unit admin's own pages in the unit console (单位管理员): the unit's audit log, and an
operator's page where the admin decides what that operator may do.

``/console/unit/audit`` is the finance console's audit pager (``services/audit_pages``) over
the unit's own rows: 100 a page, newest first, by day and by account of the unit, with
``下一页`` carrying a cursor sealed to the admin and the filter. An account of another unit, or a
finance person, is the 404 page, and no row of another unit is ever shown.

``/console/unit/people/{username}`` is one operator of the unit: their state and what they may
do (``UnitAction``), either the unit's default for operators or their own set, changed through
a confirmation box and audited with the value before (``services/people.set_person_actions``).
A unit admin, a finance person or another unit's person there is the 404 page.

Only the unit admin reaches these (the operator gets the 403 page); every view is a
``console.console_view`` (session, role, CSRF on posts first).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, form_lists, page, redirect
from chalicelib.api.errors import STATUS
from chalicelib.api.finance_console import ACTIONS, OUTCOMES
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.people import ROLE_LABELS, Role, Session, UnitAction, unit_actions
from chalicelib.services import people
from chalicelib.services.audit_pages import PAGE as AUDIT_LIMIT
from chalicelib.services.audit_pages import unit_audit_page
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

AUDIT = "/console/unit/audit"
PERSON = "/console/unit/people/{username}"


def _is_day(text: str) -> bool:
    from datetime import date

    try:
        return len(text) == 10 and bool(date.fromisoformat(text))
    except ValueError:
        return False


@bp.route(AUDIT, methods=["GET"])
@console_view(bp, Role.UNIT_ADMIN)
def audit_log(me: Session, actor: Actor) -> Response:
    """The unit's audit rows, 100 a page, newest first: of a day, of an account, or all."""
    request = bp.current_request
    day = (query_param(request, "day") or "").strip()[:10]
    account = (query_param(request, "username") or "").strip().lower()[:32]
    problems: dict[str, str] = {}
    if day and not _is_day(day):
        problems["day"] = "日期格式应为 YYYY-MM-DD"
        day = ""
    cursor = (query_param(request, "cursor") or "")[:1024] or None
    events, next_cursor = unit_audit_page(deps(), me, day=day, account=account, cursor=cursor)
    query = urlencode([(k, v) for k, v in (("day", day), ("username", account)) if v])
    return page(bp, "console/audit.html", me=me, here=AUDIT, heading="本单位审计日志",
                audit_path=AUDIT, unit_view=True, events=events, actions=ACTIONS,
                outcomes=OUTCOMES, limit=AUDIT_LIMIT, next_cursor=next_cursor,
                paged=bool(cursor), query=query,
                filters={"day": day, "unit_code": "", "username": account}, problems=problems)



# ---- an operator's page: what they may do ---------------------------------------------------

def _person_page(me: Session, actor: Actor, username: str, status: int = 200,
                 **context: Any) -> Response:
    d = deps()
    person, settings = people.operator_page(d, actor, username[:32])
    own = settings.own.get(person.username)
    current = settings.of(person.username)
    return page(bp, "console/unit_person.html", status, me=me, here="/console/unit/people",
                heading="经办人权限", person=person, roles=ROLE_LABELS,
                now=int(d.clock().timestamp()), own=own,
                current=[a for a in UnitAction if a in current],
                default=[a for a in UnitAction if a in settings.default],
                actions=list(UnitAction),
                chosen=context.pop("chosen", current),
                mode=context.pop("mode", "default" if own is None else "own"), **context)


@bp.route(PERSON, methods=["GET"])
@console_view(bp, Role.UNIT_ADMIN)
def person_detail(me: Session, actor: Actor, username: str) -> Response:
    done = query_param(bp.current_request, "done") == "1"
    return _person_page(me, actor, username,
                        done="已保存该经办人的权限，已记入审计日志。" if done else None)


@bp.route(PERSON + "/actions", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def person_actions(me: Session, actor: Actor, username: str) -> Response:
    """One operator's own set of actions, or the unit's default again (``mode``), once the
    confirmation box is ticked; without it the page again (400), nothing changed."""
    form = form_fields(bp, "mode", "confirm")
    chosen = unit_actions(form_lists(bp, "action")["action"])
    mode = form["mode"] if form["mode"] in ("default", "own") else ""
    problems = {}
    if form["confirm"] != "yes":
        problems["confirm"] = "请勾选确认"
    if not mode:
        problems["mode"] = "请选择适用的权限"
    if problems:
        return _person_page(me, actor, username, STATUS[ValidationFailed], problems=problems,
                            chosen=chosen, mode=mode or "own",
                            error="请选择权限并勾选确认后再提交")
    people.set_person_actions(deps(), actor, username[:32],
                              None if mode == "default" else chosen)
    return redirect(f"/console/unit/people/{quote(username[:32])}?done=1")
