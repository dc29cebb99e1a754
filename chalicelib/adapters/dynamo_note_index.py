"""Notes listed newest first: a unit's (``unit_code-created_at-listed-index``) or a day's
(``created_day-created_at-made-index``), a page at a time, at a bounded cost. The unit index
carries what a list shows (``note_lists.note_summary``), so a unit's page is its queries and
nothing after, its notes without their reservation (not projected: a list never shows it). The
day index holds each note as made only (``NotesByDay``: a status change does not write it), so
a day's page reads the notes it names, whole, as ``of_payer`` does.

A page is read with DynamoDB's own ``Limit`` set to what is still missing, so the position
after the last note returned is exactly DynamoDB's ``LastEvaluatedKey``; a status filter may
make a request return fewer, so at most ``MAX_REQUESTS`` requests are made for one page, and
a page may come back short (even empty) with a position to go on from.

A search (``search_unit``: part of a payer's name, which no index can look up) reads the unit's
payer index (the keys, the payer's text and what a list shows) in order within a budget of rows
a request, lists what it found from those rows (reading in full only notes made before the
index's attributes), and says where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import reduce
from operator import or_
from typing import Any

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import NoteModel, batch_get
from chalicelib.adapters.dynamo_notes import BATCH_GET_KEYS, listed_from_item, note_from_item
from chalicelib.domain.notes import ListedNote, Note
from chalicelib.domain.payer_search import PayerSearch, payer_from_text

MAX_REQUESTS = 5
KEY = ("payment_code", "unit_code", "created_at")  # a unit index row's key: a position
DAY_KEY = ("payment_code", "created_day", "created_at")  # a day index row's
# Payer index rows one search Query looks at: a page that fills early stops early (DynamoDB
# Local's time, and DynamoDB's answer, grow with the rows a Query returns).
SEARCH_CHUNK = 100
Position = dict[str, str]


def _may_find(search: PayerSearch, item: dict[str, Any]) -> bool:
    """Whether the index row may be a note ``search`` finds: surely not when its payer text
    says so; a row without one (a note made before the payer index) may."""
    if "payer_find" not in item:
        return True
    name, phone, credit = payer_from_text(item["payer_find"]["S"])
    return search.finds(item["payment_code"]["S"], name, phone or None, credit or None)


def _plain(key: dict[str, dict[str, Any]] | None) -> Position | None:
    return {name: value["S"] for name, value in key.items()} if key else None


def _raw(position: Position | None) -> dict[str, dict[str, str]] | None:
    return {name: {"S": value} for name, value in position.items()} if position else None


@aws_boundary
class DynamoNoteIndex:
    """NoteIndex."""

    def for_unit(self, unit_code: str, since: str, until: str, status: str | None,
                 limit: int, after: Position | None) -> tuple[list[Note], Position | None]:
        return self._pages(NoteModel.by_unit, unit_code, since, until, status, limit, after,
                           note_from_item)

    def search_unit(self, unit_code: str, since: str, until: str, search: PayerSearch,
                    match: Callable[[ListedNote], bool], limit: int, budget: int,
                    after: Position | None) -> tuple[list[ListedNote], Position | None, int]:
        """The unit's payer index (``unit_code-created_at-payer-listed-index``: the keys, the
        payer's text and what a list shows, ~0.3 KB a note), newest first, with a filter on
        DynamoDB's side that keeps the rows whose payer text or payment code holds one of
        ``search.needles`` (or that have no payer text: notes made before it). ``budget``
        bounds the index rows looked at (DynamoDB's ``Limit`` counts the rows it filters out
        too), so it bounds a request's read units. The rows that ``search`` finds are gathered
        until there are as many as the page still needs (or the budget or the range ends), and
        kept when ``match`` holds; a row lacking the payer's text or the note's brief (a note
        made before them) is read from the notes table, all such of a page in one
        BatchGetItem, and decided on the note. A full page ends just after its last match
        (that note's index key is the position), a spent budget after the last row looked
        at."""
        found: list[ListedNote] = []
        start = _raw(after)
        read = 0
        wanted = reduce(or_, [c for needle in search.needles
                              for c in (NoteModel.payer_find.contains(needle),
                                        NoteModel.payment_code.contains(needle))],
                        NoteModel.payer_find.does_not_exist())
        pending: list[dict[str, Any]] = []  # candidates in index order, not yet decided
        done = False  # the range is read through, or the budget spent
        while True:
            if not done and len(pending) < limit - len(found):
                rows = NoteModel.by_unit_payer.query(
                    unit_code, NoteModel.created_at.between(since, until),
                    filter_condition=wanted, scan_index_forward=False,
                    limit=min(SEARCH_CHUNK, budget - read),
                    page_size=min(SEARCH_CHUNK, budget - read), last_evaluated_key=start)
                page: dict[str, Any] = next(iter(rows.page_iter), {})
                read += int(page.get("ScannedCount", 0))
                pending += [item for item in page.get("Items", []) if _may_find(search, item)]
                start = page.get("LastEvaluatedKey")
                done = start is None or read >= budget
                continue
            if not pending:
                return found, _plain(start), read
            # as many as the page still needs (some may not match); the notes of rows that do
            # not show them, in one BatchGetItem
            chunk, pending = (pending[:min(BATCH_GET_KEYS, limit - len(found))],
                              pending[min(BATCH_GET_KEYS, limit - len(found)):])
            listed = {item["payment_code"]["S"]: listed_from_item(item) for item in chunk}
            unlisted = [code for code, note in listed.items() if note is None]
            notes = self._notes(unlisted) if unlisted else {}
            for item in chunk:
                code = item["payment_code"]["S"]
                whole = notes.get(code)
                shown = listed[code] or (whole.listed() if whole is not None else None)
                if (shown is not None and search.finds_payer(code, shown.payer)
                        and match(shown)):
                    found.append(shown)
                    if len(found) == limit:
                        return found, _plain({k: item[k] for k in KEY}), read

    def of_payer(self, unit_code: str, kind: str, value: str, since: str, until: str,
                 match: Callable[[Note], bool], limit: int,
                 after: Position | None) -> tuple[list[Note], Position | None]:
        """The unit's notes of one payer's ``phone`` or ``credit_code`` (``kind``), newest
        first: the sparse keys-only index of that kind (``payer_phone-created_at-index`` or
        ``payer_credit-created_at-index``), then the notes it names in one BatchGetItem, kept
        when ``match`` holds; at most ``MAX_REQUESTS`` rounds a page."""
        index = NoteModel.by_payer_phone if kind == "phone" else NoteModel.by_payer_credit
        return self._named(index, f"{unit_code}#{value}", since, until, match, limit, after)

    def _named(self, index: Any, hash_key: str, since: str, until: str,
               keep: Callable[[Note], bool], limit: int, after: Position | None,
               consistent: bool = True,
               attributes: list[str] | None = None) -> tuple[list[Note], Position | None]:
        """The notes an index names, newest first: its keys a round at a time, each round
        looking at as many rows as the page still needs, then the notes they name in one
        BatchGetItem, kept when ``keep`` holds; at most ``MAX_REQUESTS`` rounds a page. A full
        page ends at its last note's index key."""
        found: list[Note] = []
        start = _raw(after)
        for _ in range(MAX_REQUESTS):
            rows = index.query(hash_key, NoteModel.created_at.between(since, until),
                               scan_index_forward=False, limit=limit - len(found),
                               page_size=limit - len(found), last_evaluated_key=start,
                               attributes_to_get=attributes)
            page: dict[str, Any] = next(iter(rows.page_iter), {})
            items = page.get("Items", [])
            notes = self._notes((item["payment_code"]["S"] for item in items),
                                consistent) if items else {}
            for item in items:
                note = notes.get(item["payment_code"]["S"])
                if note is not None and keep(note):
                    found.append(note)
                    if len(found) == limit:
                        return found, _plain(item)
            start = page.get("LastEvaluatedKey")
            if start is None:
                break
        return found, _plain(start)

    @staticmethod
    def _notes(codes: Iterable[str], consistent: bool = True) -> dict[str, Note]:
        table = NoteModel.Meta.table_name
        wanted = {table: [{"payment_code": {"S": c}} for c in codes]}
        items = batch_get(NoteModel._get_connection().connection.client, wanted, "note search",
                          consistent)
        return {item["payment_code"]["S"]: note_from_item(item)
                for item in items[table]}

    def of_day(self, day: str, since: str, until: str, status: str | None, limit: int,
               after: Position | None) -> tuple[list[Note], Position | None]:
        """The day's notes, newest first: the keys from the day index (which holds no status,
        payment or bill: a status change does not write it), then the notes they name in one
        BatchGetItem, kept when their stored status is ``status`` (DynamoDB cannot filter on
        what the index does not hold); at most ``MAX_REQUESTS`` rounds a page, each looking at
        as many index rows as the page still needs, as a filtered query did. A full page ends
        at its last note's index key. The notes are read eventually consistent, as the index
        is (half a read unit a note of up to 4 KB, where a consistent read costs one)."""
        return self._named(NoteModel.by_day, day, since, until,
                           lambda note: status is None or note.status.value == status, limit,
                           after, consistent=False, attributes=list(DAY_KEY))

    @staticmethod
    def _pages(index: Any, hash_key: str, since: str, until: str, status: str | None,
               limit: int, after: Position | None, read: Any) -> tuple[list, Position | None]:
        found: list = []
        start = _raw(after)
        for _ in range(MAX_REQUESTS):
            rows = index.query(hash_key, NoteModel.created_at.between(since, until),
                               filter_condition=(NoteModel.status == status) if status else None,
                               scan_index_forward=False, limit=limit - len(found),
                               page_size=limit - len(found), last_evaluated_key=start)
            page: dict[str, Any] = next(iter(rows.page_iter), {})
            found.extend(read(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if start is None or len(found) >= limit:
                break
        return found, _plain(start)
