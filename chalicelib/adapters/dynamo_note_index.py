"""Notes listed newest first: a unit's (``unit_code-created_at-listed-index``) or a day's
(``created_day-created_at-index``), a page at a time, at a bounded cost. Both indexes carry
what a list shows (``note_lists.note_summary``), so a page is its queries and nothing after;
a unit's notes come without their reservation (not projected: a list never shows it).

A page is read with DynamoDB's own ``Limit`` set to what is still missing, so the position
after the last note returned is exactly DynamoDB's ``LastEvaluatedKey``; a status filter may
make a request return fewer, so at most ``MAX_REQUESTS`` requests are made for one page, and
a page may come back short (even empty) with a position to go on from.

A search (``search_unit``: a payer's name, which no index holds) reads the unit's notes in
order within a budget of notes per request, and says where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import NoteModel
from chalicelib.adapters.dynamo_notes import note_from_model
from chalicelib.domain.notes import Note

MAX_REQUESTS = 5
SEARCH_CHUNK = 100  # index keys a search reads at once: one BatchGetItem's worth of notes
Position = dict[str, str]


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
                           lambda item: note_from_model(NoteModel.from_raw_data(item)))

    def search_unit(self, unit_code: str, since: str, until: str,
                    match: Callable[[Note], bool], limit: int, budget: int,
                    after: Position | None) -> tuple[list[Note], Position | None, int]:
        """Chunks of ``SEARCH_CHUNK`` notes of the unit index (one Query: it carries what a
        list shows), looked at in index order: a full page ends just after its last match
        (that note's index key is the position), a spent budget after the last note read.
        No filter on the index: every row read is a note looked at, so ``budget`` bounds the
        notes read (a status is for ``match`` to test)."""
        found: list[Note] = []
        start = _raw(after)
        read = 0
        while read < budget:
            rows = NoteModel.by_unit.query(
                unit_code, NoteModel.created_at.between(since, until), scan_index_forward=False, limit=min(SEARCH_CHUNK, budget - read),
                page_size=min(SEARCH_CHUNK, budget - read), last_evaluated_key=start)
            page: dict[str, Any] = next(iter(rows.page_iter), {})
            for item in page.get("Items", []):
                read += 1
                note = note_from_model(NoteModel.from_raw_data(item))
                if match(note):
                    found.append(note)
                    if len(found) == limit:
                        return found, {"payment_code": note.payment_code,
                                       "unit_code": unit_code,
                                       "created_at": note.created_at}, read
            start = page.get("LastEvaluatedKey")
            if start is None:
                break
        return found, _plain(start), read

    def of_day(self, day: str, since: str, until: str, status: str | None, limit: int,
               after: Position | None) -> tuple[list[Note], Position | None]:
        return self._pages(NoteModel.by_day, day, since, until, status, limit, after,
                           lambda item: note_from_model(NoteModel.from_raw_data(item)))

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
