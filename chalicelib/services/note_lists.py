"""``GET /v1/notes``: a collecting unit's notes, or (finance key) every unit's within the key's
region, newest first, a page at a time.

Parameters: ``status`` (the status a reader sees: ``expired`` is an unpaid note past its due
date), ``created_from``/``created_to`` (China dates, both included; by default the last
``DEFAULT_DAYS`` days, at most ``MAX_DAYS``), ``limit`` (1-100, default 20), ``cursor`` (the
``next_cursor`` of the previous page) and, for the finance key, ``unit_code``. Anything else,
or a bad value, is 400 naming the parameter.

The cursor is sealed to the caller and the question (``domain/cursors``): a unit cannot edit
one to page into another unit's notes, nor reuse one with other filters. A unit's list reads
the unit index; the finance key's, without ``unit_code``, walks the days of the range newest
first through the day index, at most ``MAX_DAYS_PER_PAGE`` days per request, keeping only
notes within its region. A page may be short, or empty, and still have a ``next_cursor``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.notes import ListedNote, Note, NoteStatus
from chalicelib.domain.payer_search import PayerSearch
from chalicelib.domain.units import Unit
from chalicelib.services.admin import cursor_key, page_limit, unit_in_scope
from chalicelib.services.ports import Ports

PARAMS = ("status", "created_from", "created_to", "limit", "cursor", "unit_code")
DEFAULT_DAYS, MAX_DAYS = 31, 366
MAX_DAYS_PER_PAGE = 31
SEARCH_BUDGET = 200  # payer index rows one search request may look at (see the README)
# The stored status to ask the index for, for each status a reader may ask for.
STORED = {NoteStatus.EXPIRED: NoteStatus.UNPAID}


def list_notes(deps: Ports, caller: Unit | FinanceKey, params: dict[str, str],
               word: str = "") -> dict:
    """A page of notes (see the module's docstring). ``word`` (a unit's own list only: the
    console's search box) keeps the notes whose payer's name or payment code holds it, or
    whose payer's phone or credit code it is (``domain/payer_search``), searched over the
    whole range, not only the page: the unit's payer index is read in order, at most
    ``SEARCH_BUDGET`` notes a request, and the answer says how many were looked at and whether
    the budget ran out before the range did (``searched``, ``budget_spent``)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ValidationFailed("未知的查询参数", {name: f"unknown; the parameters are "
                                                        f"{', '.join(PARAMS)}" for name in unknown})
    fields: dict[str, str] = {}
    status = None
    if params.get("status"):
        try:
            status = NoteStatus(params["status"])
        except ValueError:
            fields["status"] = f"one of {', '.join(s.value for s in NoteStatus)}"
    today = deps.clock().astimezone(CHINA_TZ).date()
    first = _day(params, "created_from", fields)
    last = _day(params, "created_to", fields) or today
    first = first or (last - timedelta(days=DEFAULT_DAYS - 1))
    if "created_from" not in fields and "created_to" not in fields:
        if first > last:
            fields["created_from"] = "must not be after created_to"
        elif (last - first).days >= MAX_DAYS:
            fields["created_from"] = f"the range may span at most {MAX_DAYS} days"
    try:
        limit = page_limit(params.get("limit"))
    except ValidationFailed as exc:
        fields.update(exc.fields)
        limit = 0
    unit_code = params.get("unit_code")
    if fields:
        raise ValidationFailed("查询参数有误", fields)
    if isinstance(caller, Unit):
        if unit_code not in (None, caller.unit_code):
            raise Forbidden("只能查询本单位的缴款书", code="not_your_unit")
        unit_code, who = caller.unit_code, f"unit:{caller.unit_code}"
    else:
        if unit_code is not None:
            unit_in_scope(deps, caller, unit_code)
        who = f"finance:{caller.key_id}"
    if word and not isinstance(caller, Unit):
        raise ValidationFailed("查询参数有误", {"q": "a unit's own list only"})
    question = "|".join([who, f"unit={unit_code or ''}", f"status={status or ''}",
                         f"from={first}", f"to={last}", f"limit={limit}",
                         *([f"q={word}"] if word else [])])
    position: dict[str, Any] | None = None
    if params.get("cursor"):
        position = unseal(params["cursor"], cursor_key(deps), question)
    stored = STORED.get(status, status) if status else None
    since, until = f"{first.isoformat()}T00:00:00", f"{last.isoformat()}T23:59:59+08:00"
    now = deps.clock()
    if word:
        assert unit_code is not None

        search = PayerSearch(word)

        def matches(note: Note | ListedNote) -> bool:
            return status is None or note.status_at(now) is status

        after = position.get("after") if position else None
        exact = [(kind, value) for kind, value in (("phone", search.phone),
                                                   ("credit_code", search.credit_code)) if value]
        if exact:  # a phone or credit code: its own index, in one query whatever the range
            [(kind, value)] = exact
            notes, after = deps.note_index.of_payer(unit_code, kind, value, since, until,
                                                    matches, limit, after)
            return {"notes": [note_summary(n, n.status_at(now)) for n in notes],
                    "next_cursor": seal({"after": after}, cursor_key(deps), question)
                    if after else None, "searched": None, "budget_spent": False}
        listed, after, searched = deps.note_index.search_unit(
            unit_code, since, until, search, matches, limit, SEARCH_BUDGET, after)
        return {"notes": [note_summary(n, n.status_at(now)) for n in listed],
                "next_cursor": seal({"after": after}, cursor_key(deps), question)
                if after else None, "searched": searched,
                "budget_spent": after is not None and len(listed) < limit}
    if unit_code is not None:
        notes, after = deps.note_index.for_unit(unit_code, since, until,
                                                stored.value if stored else None, limit,
                                                position.get("after") if position else None)
        next_position = {"after": after} if after else None
    else:
        assert isinstance(caller, FinanceKey)
        notes, next_position = _across_days(deps, caller, first, last, since, until, stored,
                                            limit, position)
    shown = [n for n in notes if status is None or n.status_at(now) is status]
    return {"notes": [note_summary(n, n.status_at(now)) for n in shown],
            "next_cursor": seal(next_position, cursor_key(deps), question)
            if next_position else None}


def _across_days(deps: Ports, finance: FinanceKey, first: date, last: date, since: str,
                 until: str, stored: NoteStatus | None, limit: int,
                 position: dict[str, Any] | None) -> tuple[list[Note], dict[str, Any] | None]:
    day = date.fromisoformat(position["day"]) if position else last
    after = position.get("after") if position else None
    found: list[Note] = []
    for _ in range(MAX_DAYS_PER_PAGE):
        if day < first:
            return found, None
        notes, after = deps.note_index.of_day(day.isoformat(), since, until,
                                              stored.value if stored else None,
                                              limit - len(found), after)
        found.extend(n for n in notes if finance.covers(n.region_code))
        if after is None:
            day -= timedelta(days=1)
        if len(found) >= limit:
            break
    if day < first:
        return found, None
    return found, {"day": day.isoformat(), "after": after}


def note_summary(note: Note | ListedNote, status: NoteStatus) -> dict:
    """A note as a list shows it: enough to find it; ``GET /v1/notes/{code}`` has the rest."""
    return {"payment_code": note.payment_code, "status": status.value,
            "unit_code": note.unit_code, "payer": {"name": note.payer.name,
                                                   "type": note.payer.type},
            "total_fen": note.total_fen, "bill_kind": note.bill_kind,
            "created_at": note.created_at, "expires_at": note.expires_at,
            "paid_at": note.payment.paid_at if note.payment else None,
            "bill": {"bill_code": note.bill.bill_code, "bill_number": note.bill.bill_number,
                     "issued_at": note.bill.issued_at}
            if note.bill is not None and status is NoteStatus.ISSUED else None}


def _day(params: dict[str, str], name: str, fields: dict[str, str]) -> date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        fields[name] = "must be a date YYYY-MM-DD"
        return None
