"""Money: fen inside, exact yuan strings and financial capitals (大写) at the edges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import (
    MAX_FEN,
    check_fen,
    fen_to_capitals,
    fen_to_yuan,
    fen_to_yuan_grouped,
    signed_yuan_to_fen,
    yuan_to_fen,
)

fens = st.integers(min_value=0, max_value=MAX_FEN)

# Checked against how an accountant writes the 人民币大写 line of a receipt. Where the rules
# (支付结算办法) let a zero in the 元 place before 角 be written or left out, it is left out.
CAPITALS = [
    (0, "零元整"),
    (5, "伍分"),
    (50, "伍角整"),
    (55, "伍角伍分"),
    (100, "壹元整"),
    (105, "壹元零伍分"),
    (110, "壹元壹角整"),
    (111, "壹元壹角壹分"),
    (1000, "壹拾元整"),
    (2005, "贰拾元零伍分"),
    (15000, "壹佰伍拾元整"),
    (100100, "壹仟零壹元整"),
    (101010, "壹仟零壹拾元壹角整"),
    (1000500, "壹万零伍元整"),
    (1200000, "壹万贰仟元整"),
    (10001000, "壹拾万零壹拾元整"),
    (10010000, "壹拾万零壹佰元整"),
    (100000000, "壹佰万元整"),
    (1000000000, "壹仟万元整"),
    (10000000000, "壹亿元整"),
    (10000000100, "壹亿零壹元整"),
    (10100000000, "壹亿零壹佰万元整"),
    (10000100000, "壹亿零壹仟元整"),
    (100000000000, "壹拾亿元整"),
    (123456789012, "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分"),
    (MAX_FEN, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
]


@pytest.mark.parametrize(("fen", "capitals"), CAPITALS)
def test_writes_amounts_in_capitals_as_an_accountant_does(fen, capitals):
    assert fen_to_capitals(fen) == capitals


@given(fens)
def test_capitals_never_write_two_zeros_in_a_row(fen):
    assert "零零" not in fen_to_capitals(fen)


@given(fens)
def test_capitals_end_in_zheng_exactly_when_there_are_no_fen(fen):
    assert fen_to_capitals(fen).endswith("整") == (fen % 10 == 0)


@given(fens)
def test_capitals_only_start_with_zero_for_nothing_at_all(fen):
    assert fen_to_capitals(fen).startswith("零") == (fen == 0)


@given(st.integers(min_value=1, max_value=MAX_FEN))
def test_a_red_bill_amount_is_written_with_fu_before_the_capitals(fen):
    assert fen_to_capitals(-fen) == "负" + fen_to_capitals(fen)


def test_writes_a_red_bill_amount_as_an_accountant_does():
    assert fen_to_capitals(-8000) == "负捌拾元整"
    assert fen_to_capitals(-2005) == "负贰拾元零伍分"


@given(st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_a_signed_yuan_string_reads_back_as_the_same_fen(fen):
    assert signed_yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("text", ["--1", "-", "- 1", "+1", "-1e3", "-01"])
def test_a_signed_yuan_string_is_plain_decimal_after_its_minus(text):
    with pytest.raises(ValidationFailed):
        signed_yuan_to_fen(text)


def test_an_unsigned_yuan_string_never_takes_a_minus():
    with pytest.raises(ValidationFailed):
        yuan_to_fen("-1.00")


@given(fens)
def test_a_yuan_string_reads_back_as_the_same_fen(fen):
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize(("text", "fen"), [
    ("0", 0), ("0.5", 50), ("0.05", 5), ("20", 2000), ("20.00", 2000), ("1234.5", 123450),
    ("999999999999.99", MAX_FEN),
])
def test_reads_plain_yuan_strings_exactly(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", [
    "1e3", "-1", "+1", "01.00", "00", "1.234", " 1", "1 ", "1,000.00", "", ".5", "1.", "NaN",
    "Infinity", "１", "1.0.0", "0x10", "1_000", "1000000000000.00",
])
def test_refuses_a_yuan_string_that_is_not_plain_decimal(text):
    with pytest.raises(ValidationFailed) as exc:
        yuan_to_fen(text)
    assert exc.value.fields == {"amount": "not a yuan amount"}


@pytest.mark.parametrize("text", ["1.00\n", "20\n"])
def test_refuses_a_yuan_string_with_a_trailing_newline(text):
    with pytest.raises(ValidationFailed):
        yuan_to_fen(text)


@pytest.mark.parametrize("value", [1.0, 1.5, "100", None, True, False])
def test_check_fen_refuses_what_is_not_an_integer(value):
    with pytest.raises(ValidationFailed) as exc:
        check_fen(value, "total_fen")
    assert exc.value.fields == {"total_fen": "must be an integer number of fen"}


@pytest.mark.parametrize("value", [-1, -10**20, 0])
def test_check_fen_refuses_amounts_that_are_not_positive(value):
    with pytest.raises(ValidationFailed) as exc:
        check_fen(value)
    assert exc.value.fields == {"amount_fen": "must be greater than zero"}


def test_check_fen_accepts_zero_only_when_asked():
    assert check_fen(0, allow_zero=True) == 0


def test_check_fen_refuses_an_amount_above_the_maximum():
    assert check_fen(MAX_FEN) == MAX_FEN
    with pytest.raises(ValidationFailed) as exc:
        check_fen(MAX_FEN + 1)
    assert "amount_fen" in exc.value.fields


@pytest.mark.parametrize("value", [True, 1.0, "100", MAX_FEN + 1, -MAX_FEN - 1])
def test_capitals_refuse_what_is_not_a_valid_amount(value):
    with pytest.raises(ValidationFailed):
        fen_to_capitals(value)


def test_formats_fen_as_yuan_with_two_decimals():
    assert [fen_to_yuan(n) for n in (0, 5, 50, 12345, -250)] == [
        "0.00", "0.05", "0.50", "123.45", "-2.50"]
    assert fen_to_yuan_grouped(123456789) == "1,234,567.89"
    assert fen_to_yuan_grouped(-123456789) == "-1,234,567.89"


@pytest.mark.parametrize("value", [True, 1.0, "1"])
def test_fen_to_yuan_refuses_what_is_not_an_int(value):
    with pytest.raises(TypeError):
        fen_to_yuan(value)
