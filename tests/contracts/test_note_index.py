"""NoteIndex: FakeNoteIndex against DynamoNoteIndex (the notes table's unit and day indexes)."""

from __future__ import annotations

from chalicelib.domain.notes import NoteStatus
from tests.contracts.builders import UNIT, at, code, note

SINCE, UNTIL = "2026-06-15T00:00:00", "2026-06-15T23:59:59+08:00"


class TestNoteIndex:
    def test_a_units_notes_come_newest_first_a_page_at_a_time(self, stores):
        for n in range(5):
            stores.notes.add(note(n, minutes=n))
        stores.notes.add(note(9, minutes=9, unit="110101002"))
        first, after = stores.note_index.for_unit(UNIT, SINCE, UNTIL, None, 2, None)
        assert [n.payment_code for n in first] == [code(4), code(3)] and after
        second, after = stores.note_index.for_unit(UNIT, SINCE, UNTIL, None, 2, after)
        assert [n.payment_code for n in second] == [code(2), code(1)]
        last, end = stores.note_index.for_unit(UNIT, SINCE, UNTIL, None, 2, after)
        assert [n.payment_code for n in last] == [code(0)] and end is None
        assert last[0] == stores.notes.get(code(0))  # whole, as the repository reads it

    def test_a_units_list_keeps_to_the_times_and_the_stored_status_asked(self, stores):
        for n in range(3):
            stores.notes.add(note(n, minutes=60 * n))
        stores.notes.cancel(code(1))
        window, _ = stores.note_index.for_unit(UNIT, at(30), at(150), None, 10, None)
        assert [n.payment_code for n in window] == [code(2), code(1)]
        cancelled, end = stores.note_index.for_unit(UNIT, SINCE, UNTIL,
                                                    NoteStatus.CANCELLED.value, 10, None)
        assert [n.payment_code for n in cancelled] == [code(1)] and end is None

    def test_a_days_notes_of_every_unit_come_newest_first(self, stores):
        stores.notes.add(note(1, minutes=1))
        stores.notes.add(note(2, minutes=2, unit="110101002"))
        stores.notes.add(note(3, minutes=60 * 24))  # the next day
        page, after = stores.note_index.of_day("2026-06-15", SINCE, UNTIL, None, 1, None)
        assert [n.payment_code for n in page] == [code(2)] and after
        rest, end = stores.note_index.of_day("2026-06-15", SINCE, UNTIL, None, 5, after)
        assert [n.payment_code for n in rest] == [code(1)] and end is None
        assert rest[0].unit_code == UNIT and rest[0].region_code == "340100"

    def test_a_search_reads_in_order_within_its_budget_and_goes_on_from_where_it_stopped(
            self, stores):
        for n in range(7):
            stores.notes.add(note(n, minutes=n))
        stores.notes.add(note(9, minutes=9, unit="110101002"))
        wanted = {code(5), code(3), code(0), code(9)}

        def match(found) -> bool:
            return found.payment_code in wanted

        page, after, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, match, 2,
                                                          100, None)
        assert [n.payment_code for n in page] == [code(5), code(3)] and read == 4 and after
        assert page[1] == stores.notes.get(code(3))  # whole, as the repository reads it
        rest, end, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, match, 2,
                                                        100, after)
        assert [n.payment_code for n in rest] == [code(0)] and end is None and read == 3
        # a budget of 3 notes: 6, 5, 4 read, one found; then 3, 2, 1; then 0 to the end
        pages, after = [], None
        for _ in range(4):
            found, after, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, match,
                                                               5, 3, after)
            pages.append(([n.payment_code for n in found], read))
            if after is None:
                break
        assert pages == [([code(5)], 3), ([code(3)], 3), ([code(0)], 1)]
        window, end, read = stores.note_index.search_unit(UNIT, at(2), at(4), lambda n: True,
                                                          5, 100, None)
        assert [n.payment_code for n in window] == [code(4), code(3), code(2)] and end is None
