"""NoteIndex: FakeNoteIndex against DynamoNoteIndex (the notes table's unit and day indexes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.domain.notes import NoteStatus, Payer
from chalicelib.domain.payer_search import PayerSearch
from tests.contracts.builders import UNIT, allocate, at, code, issue, note, pay
from tests.functional.support import botocore_hooks

SINCE, UNTIL = "2026-06-15T00:00:00", "2026-06-15T23:59:59+08:00"
T0_PLUS_5 = datetime.fromisoformat(at(5))
EVERY = PayerSearch("张三")  # the builders' payer: every note


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

    def test_a_days_notes_are_listed_as_they_are_now_by_the_stored_status_asked(self, stores):
        # The day index holds each note as made: the list still shows what became of it (its
        # status, payment and bill) and keeps to the stored status asked, page after page.
        allocate(stores)
        for n in range(5):
            stores.notes.add(note(n, minutes=n))
        pay(stores, 5, minutes=5)
        issue(stores, 6, minutes=6)
        pay(stores, 7, minutes=7)
        stores.notes.cancel(code(2))
        everything, end = stores.note_index.of_day("2026-06-15", SINCE, UNTIL, None, 20, None)
        assert [n.payment_code for n in everything] == [code(n) for n in range(7, -1, -1)]
        assert everything == [stores.notes.get(code(n)) for n in range(7, -1, -1)]
        assert end is None
        assert everything[1].status is NoteStatus.ISSUED and everything[1].bill is not None
        paid, after = stores.note_index.of_day("2026-06-15", SINCE, UNTIL,
                                               NoteStatus.PAID.value, 1, None)
        assert [n.payment_code for n in paid] == [code(7)] and after
        assert paid[0].payment is not None and paid[0].payment.amount_fen == 2000
        more, _ = stores.note_index.of_day("2026-06-15", SINCE, UNTIL, NoteStatus.PAID.value,
                                           5, after)
        assert [n.payment_code for n in more] == [code(5)]
        unpaid, _ = stores.note_index.of_day("2026-06-15", SINCE, UNTIL,
                                             NoteStatus.UNPAID.value, 2, None)
        assert [n.payment_code for n in unpaid] == [code(4), code(3)]
        cancelled, _ = stores.note_index.of_day("2026-06-15", at(1), at(3),
                                                NoteStatus.CANCELLED.value, 5, None)
        assert [n.payment_code for n in cancelled] == [code(2)]

    def test_a_search_reads_in_order_within_its_budget_and_goes_on_from_where_it_stopped(
            self, stores):
        for n in range(7):
            stores.notes.add(note(n, minutes=n))
        stores.notes.add(note(9, minutes=9, unit="110101002"))
        wanted = {code(5), code(3), code(0), code(9)}

        def match(found) -> bool:
            return found.payment_code in wanted

        page, after, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, EVERY, match, 2,
                                                          100, None)
        # a full page: read at least to its last match (a store may have looked further)
        assert [n.payment_code for n in page] == [code(5), code(3)] and 4 <= read <= 7 and after
        assert page[1] == stores.notes.get(code(3)).listed()  # as a list shows it
        rest, end, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, EVERY, match, 2,
                                                        100, after)
        assert [n.payment_code for n in rest] == [code(0)] and end is None and read == 3
        # a budget of 3 notes: 6, 5, 4 read, one found; then 3, 2, 1; then 0 to the end
        pages, after = [], None
        for _ in range(4):
            found, after, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, EVERY,
                                                               match, 5, 3, after)
            pages.append(([n.payment_code for n in found], read))
            if after is None:
                break
        assert pages == [([code(5)], 3), ([code(3)], 3), ([code(0)], 1)]
        window, end, read = stores.note_index.search_unit(UNIT, at(2), at(4), EVERY,
                                                          lambda n: True, 5, 100, None)
        assert [n.payment_code for n in window] == [code(4), code(3), code(2)] and end is None

    def test_a_search_finds_a_part_of_a_name_or_code_and_a_whole_phone_or_credit_code(
            self, stores):
        payers = [Payer("欧阳修远", "individual", "13912345678"),
                  Payer("欧阳娜", "individual", "13912345679"),
                  Payer("合肥市某某有限公司", "organization", None, "91350100M000100Y43"),
                  Payer("张三", "individual", "13800138000")]
        for n, payer in enumerate(payers):
            stores.notes.add(replace(note(n, minutes=n), payer=payer))
        stores.notes.add(replace(note(9, minutes=9, unit="110101002"), payer=payers[0]))

        def found(word: str, budget: int = 100) -> list[str]:
            notes, end, read = stores.note_index.search_unit(
                UNIT, SINCE, UNTIL, PayerSearch(word), lambda n: True, 10, budget, None)
            assert end is None and read == 4
            return [n.payment_code for n in notes]

        assert found("欧阳") == [code(1), code(0)]
        assert found("139 1234 5678") == found("+8613912345678") == [code(0)]
        assert found("1391234567") == []  # a phone is found whole, not by its first digits
        assert found("91350100m000100y43") == [code(2)]
        assert found(code(3)[-6:]) == [code(3)]
        whole = stores.note_index.search_unit(UNIT, SINCE, UNTIL, PayerSearch("欧阳修远"),
                                              lambda n: True, 10, 100, None)[0]
        assert whole == [stores.notes.get(code(0)).listed()]  # as a list shows it


    def test_a_search_lists_each_note_as_a_list_shows_it_whatever_its_state(self, stores):
        allocate(stores)
        issue(stores, 0, minutes=0)  # issued: its payment and bill
        pay(stores, 1, minutes=1)  # paid, no bill yet
        stores.notes.add(note(2, minutes=2, phone=None))  # unpaid, no phone
        stores.notes.add(replace(note(3, minutes=3), expires_at=at(4)))  # expires at 4
        stores.notes.add(note(4, minutes=4))
        stores.notes.cancel(code(4))
        stores.notes.add(replace(note(5, minutes=5), total_fen=123456, bill_kind="0302",
                                 payer=Payer("张三有限公司", "organization", None,
                                             "91350100M000100Y43")))
        later = T0_PLUS_5

        def expired(listed) -> bool:
            return listed.status_at(later) is NoteStatus.EXPIRED

        found, end, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, EVERY,
                                                         lambda n: True, 10, 100, None)
        assert found == [stores.notes.get(code(n)).listed() for n in (5, 4, 3, 2, 1, 0)]
        assert end is None and read == 6
        assert [n.status.value for n in found] == [
            "unpaid", "cancelled", "unpaid", "unpaid", "paid", "issued"]
        assert found[-1].bill is not None and found[-2].payment is not None
        only, _, _ = stores.note_index.search_unit(UNIT, SINCE, UNTIL, EVERY, expired, 10, 100,
                                                   None)
        assert [n.payment_code for n in only] == [code(3)]


def test_a_search_reads_in_full_the_notes_made_before_the_payer_index(aws):
    """A note written before ``payer_find`` existed is in the payer index without it: the
    search reads that note and decides on it, so no note is missed for want of it."""
    from chalicelib.adapters.dynamo_models import NoteModel
    from tests.contracts.conftest import DynamoStores, _shared

    stores = _shared(DynamoStores())
    for n, name in enumerate(["欧阳修远", "张三", "欧阳娜"]):
        stores.notes.add(replace(note(n, minutes=n), payer=Payer(name, "individual")))
    for n in (0, 1):
        NoteModel(code(n)).update(actions=[NoteModel.payer_find.remove(),
                                           NoteModel.note_brief.remove()])
    found, end, read = stores.note_index.search_unit(UNIT, SINCE, UNTIL, PayerSearch("欧阳"),
                                                     lambda n: True, 10, 100, None)
    assert [n.payment_code for n in found] == [code(2), code(0)] and end is None and read == 3
    assert found == [stores.notes.get(code(n)).listed() for n in (2, 0)]


def test_a_search_reads_in_full_only_the_notes_whose_row_lacks_the_brief(aws):
    """A note keyed for the payer index before ``note_brief`` existed: listed from the note,
    read in one BatchGetItem with the page's other such notes; the others from their rows."""
    from chalicelib.adapters.dynamo_models import NoteModel
    from tests.contracts.conftest import DynamoStores, _shared

    stores = _shared(DynamoStores())
    for n in range(4):
        stores.notes.add(note(n, minutes=n))
    for n in (1, 2):
        NoteModel(code(n)).update(actions=[NoteModel.note_brief.remove()])
    client = NoteModel._get_connection().connection.client
    asked: list[list[str]] = []

    def count(params, **_):
        asked.append([k["payment_code"]["S"] for t in params["RequestItems"].values()
                      for k in t["Keys"]])

    client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", count)
    try:
        found, end, _ = stores.note_index.search_unit(UNIT, SINCE, UNTIL, EVERY,
                                                      lambda n: True, 10, 100, None)
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.BatchGetItem", count)
    assert found == [stores.notes.get(code(n)).listed() for n in (3, 2, 1, 0)] and end is None
    assert asked == [[code(2), code(1)]]


class TestNotesOfAPayer:
    def test_a_phone_or_credit_code_finds_its_payers_notes_newest_first_a_page_at_a_time(
            self, stores):
        phone, credit = "13912345678", "91350100M000100Y43"
        for n in range(5):
            stores.notes.add(replace(note(n, minutes=n, phone=phone if n != 2 else None)))
        stores.notes.add(replace(note(6, minutes=6), payer=Payer(
            "合肥市某某有限公司", "organization", phone, credit)))
        stores.notes.add(note(9, minutes=9, unit="110101002", phone=phone))
        first, after = stores.note_index.of_payer(UNIT, "phone", phone, SINCE, UNTIL,
                                                  lambda n: True, 3, None)
        assert [n.payment_code for n in first] == [code(6), code(4), code(3)] and after
        rest, end = stores.note_index.of_payer(UNIT, "phone", phone, SINCE, UNTIL,
                                               lambda n: True, 3, after)
        assert [n.payment_code for n in rest] == [code(1), code(0)] and end is None
        assert rest[0] == stores.notes.get(code(1))  # whole, as the repository reads it
        kept, _ = stores.note_index.of_payer(UNIT, "phone", phone, at(1), at(3),
                                             lambda n: n.payment_code != code(3), 5, None)
        assert [n.payment_code for n in kept] == [code(1)]
        org, end = stores.note_index.of_payer(UNIT, "credit_code", credit, SINCE, UNTIL,
                                              lambda n: True, 5, None)
        assert [n.payment_code for n in org] == [code(6)] and end is None


def test_a_days_page_reads_its_notes_in_one_eventually_consistent_batch(aws, monkeypatch):
    """The day index names the notes (its keys only: it holds no status); the page reads them
    in one BatchGetItem, eventually consistent as the index itself is: half the read units."""
    from tests.contracts.conftest import DynamoStores, _shared

    stores = _shared(DynamoStores())
    for n in range(3):
        stores.notes.add(note(n, minutes=n))
    asked: list[tuple[list[str], bool]] = []

    def count(params, **_):
        asked.extend(([k["payment_code"]["S"] for k in t["Keys"]], t["ConsistentRead"])
                     for t in params["RequestItems"].values())

    with botocore_hooks(monkeypatch, {"before-parameter-build.dynamodb.BatchGetItem": count}):
        page, end = stores.note_index.of_day("2026-06-15", SINCE, UNTIL, None, 10, None)
    assert page == [stores.notes.get(code(n)) for n in (2, 1, 0)] and end is None
    assert asked == [([code(2), code(1), code(0)], False)]
