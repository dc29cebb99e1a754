"""The back-fill of the payer's search keys on notes created before the payer indexes
(``cli backfill-payer-search``, ``dynamo_notes.fill_payer_search``): such a note is found by
name only through the search's full read and never by its payer's phone or credit code; once the
command ran it is found by both, keyed exactly as a new note is (``note_row``); a second run
changes nothing; a bad page size is refused before anything is read."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters.dynamo_models import NoteModel
from chalicelib.cli import main
from tests.functional.support import NOTE, create_note
from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_unit_console import get
from tests.functional.test_unit_console_note_search import NOTES, codes

PHONE = "13955550123"
CREDIT = "91350100M000100Y43"
KEYS = ("payer_find", "note_brief", "payer_phone", "payer_credit")


def as_before_the_indexes(payment_code: str) -> None:
    """The note's row as the code before the payer indexes wrote it: no payer keys."""
    NoteModel(payment_code).update(actions=[getattr(NoteModel, k).remove() for k in KEYS])


def as_before_the_brief(payment_code: str) -> None:
    """The note's row as the code before ``note_brief`` wrote it: the payer keys only."""
    NoteModel(payment_code).update(actions=[NoteModel.note_brief.remove()])


def keys_of(payment_code: str) -> dict:
    row = NoteModel.get(payment_code)
    return {k: getattr(row, k) for k in KEYS}


def test_notes_created_before_the_indexes_are_found_by_phone_and_credit_once_keyed(
        client, world, capsys):
    person = create_note(world, client, {**NOTE, "payer": {
        "name": "王五", "type": "individual", "phone": PHONE}})["payment_code"]
    world.clock.now += timedelta(seconds=1)
    org = create_note(world, client, {**NOTE, "payer": {
        "name": "合肥市某某有限公司", "type": "organization", "credit_code": CREDIT}}
    )["payment_code"]
    world.clock.now += timedelta(seconds=1)
    world.clock.now += timedelta(seconds=1)
    briefless = create_note(world, client, {**NOTE, "payer": {
        "name": "赵六", "type": "individual", "phone": "13955550124"}})["payment_code"]
    keyed = create_note(world, client)["payment_code"]  # written by today's code: untouched
    as_written = {code: keys_of(code) for code in (person, org, briefless, keyed)}
    as_before_the_indexes(person)
    as_before_the_indexes(org)
    as_before_the_brief(briefless)
    assert keys_of(briefless)["note_brief"] is None
    cookies, _ = sign_in(client, world, "unit_operator")
    assert codes(get(client, f"{NOTES}?q={PHONE}", cookies).body.decode()) == []
    assert codes(get(client, f"{NOTES}?q={CREDIT}", cookies).body.decode()) == []
    assert codes(get(client, f"{NOTES}?q=王五", cookies).body.decode()) == [person]

    assert main(["backfill-payer-search", "--page-size", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("page 1: ") and out[-1].endswith(
        ", 3 without payer keys, 3 keyed")
    assert {code: keys_of(code) for code in (person, org, briefless, keyed)} == as_written
    assert codes(get(client, f"{NOTES}?q=赵六", cookies).body.decode()) == [briefless]
    assert codes(get(client, f"{NOTES}?q={PHONE}", cookies).body.decode()) == [person]
    assert codes(get(client, f"{NOTES}?q={CREDIT}", cookies).body.decode()) == [org]
    assert codes(get(client, f"{NOTES}?q=王五", cookies).body.decode()) == [person]

    assert main(["backfill-payer-search"]) == 0  # again: nothing left to key
    assert capsys.readouterr().out.splitlines()[-1].endswith(
        ", 0 without payer keys, 0 keyed")


def test_a_page_size_out_of_bounds_is_refused_before_reading(world, capsys):
    assert main(["backfill-payer-search", "--page-size", "0"]) == 2
    assert "page size" in capsys.readouterr().err
