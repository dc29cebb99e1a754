"""Paging cursors: carried by the client, readable and forgeable by no one (domain/cursors)."""

import pytest

from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import ValidationFailed

KEY = b"k" * 32
POSITION = {"after": {"created_at": "2026-06-15T10:00:00+08:00", "payment_code": "3401"}}


def test_a_cursor_gives_back_its_position_for_the_same_question():
    cursor = seal(POSITION, KEY, "unit:340100001|status=")
    assert unseal(cursor, KEY, "unit:340100001|status=") == POSITION
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # URL-safe as it is


@pytest.mark.parametrize("change", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # one character edited
    lambda c: c[:20],  # cut short
    lambda c: "",
    lambda c: "!!!not base64!!!",
    lambda c: c + "x" * 2000,  # too long to be ours
])
def test_an_edited_or_foreign_cursor_is_refused_on_the_cursor_field(change):
    cursor = seal(POSITION, KEY, "q")
    with pytest.raises(ValidationFailed) as refused:
        unseal(change(cursor), KEY, "q")
    assert set(refused.value.fields) == {"cursor"}


def test_a_cursor_made_for_one_caller_or_question_is_refused_for_another():
    cursor = seal(POSITION, KEY, "unit:340100001|status=")
    for other in ("unit:340100002|status=", "unit:340100001|status=paid"):
        with pytest.raises(ValidationFailed):
            unseal(cursor, KEY, other)
    with pytest.raises(ValidationFailed):
        unseal(cursor, b"x" * 32, "unit:340100001|status=")
