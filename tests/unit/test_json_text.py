"""parse_json: hostile JSON is a ValidationFailed naming the place, never another exception."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.json_text import MAX_DEPTH, parse_json


@pytest.mark.parametrize("text", [
    "9" * 4_301, "-" + "9" * 5_000, '{"a": [' + "1" * 21 + "]}",
])
def test_refuses_an_integer_longer_than_twenty_digits(text):
    with pytest.raises(ValidationFailed, match="数值超出范围") as refused:
        parse_json(text.encode())
    assert "more than 20 digits" in refused.value.fields["body"]


def test_accepts_integers_up_to_twenty_digits():
    assert parse_json(b'[99999999999999999999, -99999999999999999999, 0]') == [
        10**20 - 1, -(10**20 - 1), 0]


@pytest.mark.parametrize("text", ["1e999", "-1e400", "0." + "1" * 5_000, "NaN", "Infinity",
                                  "-Infinity", '{"x": NaN}'])
def test_refuses_non_finite_or_oversized_numbers(text):
    with pytest.raises(ValidationFailed, match="数值超出范围"):
        parse_json(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_refuses_nesting_deeper_than_the_limit(depth):
    with pytest.raises(ValidationFailed, match="嵌套过深"):
        parse_json("[" * depth + "]" * depth)
    with pytest.raises(ValidationFailed, match="嵌套过深"):
        parse_json('{"a":' * depth + "1" + "}" * depth)


def test_accepts_nesting_up_to_the_limit():
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@pytest.mark.parametrize(("raw", "why"), [(b"\xff\xfe", "not UTF-8"), (b"{", "invalid JSON"),
                                          (b'{"a":1}x', "Extra data")])
def test_refuses_bytes_that_are_not_json_naming_where(raw, why):
    with pytest.raises(ValidationFailed) as refused:
        parse_json(raw, "resource")
    assert why in refused.value.fields["resource"]


def test_parses_ordinary_json():
    assert parse_json('{"总额": 1.5, "ok": true, "n": null}') == {"总额": 1.5, "ok": True,
                                                                   "n": None}
