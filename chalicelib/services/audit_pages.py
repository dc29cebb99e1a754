"""The finance console's audit log a page at a time (审计日志分页): nothing is cut silently.

A page shows up to ``PAGE`` events, newest first, of one day, one unit (optionally one day) or
one account (optionally one day, optionally one unit), that the viewer may read
(``people.AuditReach``: a regional finance person sees only their region's rows). A regional
viewer's rows are found among others', so one page may need several reads: at most
``MAX_READS`` queries of ``PAGE`` rows each, after which the page is shown as it is (short,
possibly empty) with a cursor that goes on from exactly the last row read. A page cut at
``PAGE`` events goes on from just after its last event. So every row is either shown or
reachable by ``下一页``, and a request costs at most ``MAX_READS`` reads.

The cursor is the position sealed to the viewer and the question (``domain/cursors``, the key of
``GET /v1/notes``): it cannot be edited, nor carried to another filter or another person.

A unit admin's page (``unit_audit_page``) is the same pager over their own unit's rows only:
the unit is always the filter (the index ``unit_code-event_id-index``), an account filter must
name a person of the unit (another is ``NotFound``, as a name that does not exist), and every
row shown is checked to be the unit's again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.people import Session
from chalicelib.domain.records import AuditEvent
from chalicelib.services.admin import cursor_key
from chalicelib.services.ports import Ports

PAGE = 100
MAX_READS = 5  # queries one page may make for a regional viewer (PAGE rows each)


def audit_page(deps: Ports, viewer: Session, sees: Callable[[AuditEvent], bool], *,
               day: str, unit: str, account: str, cursor: str | None
               ) -> tuple[list[AuditEvent], str | None]:
    """The events of one page and the cursor of the next (None: the last page)."""
    question = f"console-audit|{viewer.username}|{viewer.scope}|{day}|{unit}|{account}"
    after: Any = unseal(cursor, cursor_key(deps), question).get("after") if cursor else None
    if after is not None and not (isinstance(after, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in after.items())):
        raise ValidationFailed("分页游标无效", {"cursor": "not a cursor of this list"})
    ask: dict[str, Any]
    if account:
        ask = {"bill_id": f"person#{account}", "day": day or None}
    elif unit:
        ask = {"unit_code": unit, "day": day or None}
    else:
        ask = {"day": day}

    def shown(event: AuditEvent) -> bool:
        return (not account or not unit or event.unit_code == unit) and sees(event)

    events: list[AuditEvent] = []
    position = after
    for _ in range(MAX_READS):
        rows, last = deps.audit.page(**ask, limit=PAGE, after=position)
        for n, (event, here) in enumerate(rows):
            if shown(event):
                events.append(event)
                if len(events) == PAGE:
                    ended = last is None and n == len(rows) - 1
                    return events, None if ended else seal({"after": here}, cursor_key(deps),
                                                           question)
        position = last
        if last is None:
            return events, None
    return events, seal({"after": position}, cursor_key(deps), question)


def unit_audit_page(deps: Ports, viewer: Session, *, day: str, account: str,
                    cursor: str | None) -> tuple[list[AuditEvent], str | None]:
    """A unit admin's page of their own unit's audit rows (of one day, one of the unit's
    accounts, or both; neither: every day, newest first). Another unit's person, a finance
    person or an unknown name as ``account`` is ``NotFound``; no other unit's row is shown."""
    unit = str(viewer.unit_code)
    if account:
        person = deps.people.get(account) if len(account) <= 32 else None
        if person is None or person.role.is_finance or person.unit_code != unit:
            raise NotFound("没有这个用户", code="person_not_found")
    return audit_page(deps, viewer, lambda event: event.unit_code == unit, day=day, unit=unit,
                      account=account, cursor=cursor)
