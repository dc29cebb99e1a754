"""The channels' one form reader (``chalicelib/domain/forms.py``): strict, exactly one reading."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import SignatureInvalid
from chalicelib.domain.forms import read_form

FORM = "application/x-www-form-urlencoded; charset=utf-8"
CHARSETS = {"utf-8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}


def read(body: bytes, content_type: str = FORM, field: str = "charset") -> tuple[dict, str]:
    return read_form(body, content_type, charset_field=field, codecs=CHARSETS)


def test_a_form_is_read_into_one_value_per_field_with_blanks_kept_and_plus_as_space():
    assert read(b"a=1&b=&c=x+y%2Bz&charset=utf-8") == (
        {"a": "1", "b": "", "c": "x y+z", "charset": "utf-8"}, "utf-8")


def test_the_form_is_decoded_in_the_character_set_it_declares_for_itself():
    body = b"charset=GB2312&subject=%CB%AE%B7%D1"
    assert read(body) == ({"charset": "GB2312", "subject": "水费"}, "gbk")


def test_a_form_that_names_no_character_set_is_read_as_the_default():
    assert read(b"orderId=1&txnAmt=100", field="encoding") == (
        {"orderId": "1", "txnAmt": "100"}, "utf-8")


@pytest.mark.parametrize("body, content_type, problem", [
    (b"a=1", "application/json", "Content-Type 'application/json' is not"),
    (b"a=1", "", "Content-Type '' is not"),
    (b"charset=big5&a=1", FORM, "charset 'big5' is not one of utf-8, gbk, gb2312"),
    (b"charset=utf-8&a=1&charset=gbk", FORM, "field 'charset' appears more than once"),
    (b"a=%C3%28", FORM, "body is not valid utf-8 form data"),
    (b"a=1&b=2&a=1", FORM, "field 'a' appears more than once"),
    (b"ch%61rset=utf-8&charset=gbk", FORM, "field 'charset' appears more than once"),
    (b"%63harset=gbk&a=1", FORM, "field 'charset' was sent under a percent-encoded name"),
], ids=["json", "no type", "unknown charset", "charset twice", "bad bytes", "field twice",
        "charset twice once encoded", "charset only encoded"])
def test_a_form_that_could_be_read_two_ways_is_refused_naming_the_rule(body, content_type,
                                                                        problem):
    with pytest.raises(SignatureInvalid, match=problem):
        read(body, content_type)
