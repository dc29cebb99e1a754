"""Codes printed on notes and bills: payment codes with a Damm check digit, bill codes, numbers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.codes import (
    CHECK_CODE_ALPHABET,
    check_bill_reference,
    check_payment_code,
    format_bill_number,
    is_bill_code,
    is_bill_number,
    is_check_code,
    is_out_trade_no,
    make_bill_code,
    make_payment_code,
    new_check_code,
    new_out_trade_no,
    payment_code_problem,
)
from chalicelib.domain.errors import ValidationFailed

regions = st.from_regex(r"^[1-9][0-9]{5}$", fullmatch=True)
years = st.integers(min_value=2000, max_value=2099)
counters = st.integers(min_value=1, max_value=10**11 - 1)
payment_codes = st.builds(make_payment_code, regions, years, counters)


@given(payment_codes)
def test_a_generated_payment_code_is_valid(code):
    assert len(code) == 20 and code.isdigit()
    assert payment_code_problem(code) is None
    assert check_payment_code(code) == code


@given(payment_codes)
def test_every_single_digit_typo_is_caught(code):
    for i, digit in enumerate(code):
        for other in "0123456789":
            if other != digit:
                typo = code[:i] + other + code[i + 1:]
                assert payment_code_problem(typo) is not None, typo


@given(payment_codes)
def test_every_swap_of_two_adjacent_digits_is_caught(code):
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            assert payment_code_problem(swapped) is not None, swapped


def test_consecutive_counters_give_distinct_codes_of_their_region_and_year():
    codes = [make_payment_code("340100", 2026, n) for n in range(1, 5001)]
    assert len(set(codes)) == 5000
    assert all(code.startswith("34010026") for code in codes)
    assert all(payment_code_problem(code) is None for code in codes)


def test_consecutive_counters_do_not_give_consecutive_codes():
    first, second = (int(make_payment_code("340100", 2026, n)[8:19]) for n in (1, 2))
    assert abs(first - second) > 1


@pytest.mark.parametrize("counter", [0, -1, 10**11])
def test_refuses_a_counter_outside_the_sequence_space(counter):
    with pytest.raises(ValueError):
        make_payment_code("340100", 2026, counter)


@pytest.mark.parametrize("region", ["034010", "34010", "3401000", "34O100"])
def test_refuses_a_region_that_is_not_six_digits_without_a_leading_zero(region):
    with pytest.raises(ValueError):
        make_payment_code(region, 2026, 1)


@pytest.mark.parametrize(("code", "message"), [
    ("3401002600000000000", "缴款码应为20位数字，您输入了19位"),
    ("340100260000000000000", "缴款码应为20位数字，您输入了21位"),
    ("", "缴款码应为20位数字"),
    ("3401002600000000000A", "缴款码应为20位数字"),
    ("34010026 0000000000", "缴款码应为20位数字"),
    ("３４０１００２６０００００００００００１", "缴款码应为20位数字"),
    (34010026000000000001, "缴款码应为20位数字"),
    (None, "缴款码应为20位数字"),
])
def test_explains_a_malformed_payment_code_to_the_payer(code, message):
    assert payment_code_problem(code) == message


def test_explains_a_payment_code_that_starts_with_zero():
    code = "0" + make_payment_code("340100", 2026, 7)[1:]
    assert payment_code_problem(code) == "缴款码应以地区代码开头"


def test_explains_a_payment_code_whose_check_digit_fails():
    code = make_payment_code("340100", 2026, 7)
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert payment_code_problem(typo) == "缴款码校验不通过，请检查是否有输错或颠倒的数字"


def test_check_payment_code_raises_with_the_message_for_its_field():
    with pytest.raises(ValidationFailed) as exc:
        check_payment_code("123", field="code")
    assert exc.value.code == "invalid_payment_code"
    assert exc.value.fields == {"code": "缴款码应为20位数字，您输入了3位"}


@pytest.mark.parametrize(("region", "kind", "year", "bill_code"), [
    ("340100", "0301", 2026, "34030126"),
    ("110101", "0101", 2025, "11010125"),
    ("440300", "0601", 2100, "44060100"),
])
def test_a_bill_code_is_region_kind_and_year(region, kind, year, bill_code):
    assert make_bill_code(region, kind, year) == bill_code
    assert is_bill_code(bill_code)


@pytest.mark.parametrize(("region", "kind"), [("34010", "0301"), ("340100", "301"),
                                              ("340100", "03a1")])
def test_refuses_a_bad_region_or_kind_for_a_bill_code(region, kind):
    with pytest.raises(ValueError):
        make_bill_code(region, kind, 2026)


def test_bill_numbers_are_ten_digits_from_one():
    assert format_bill_number(1) == "0000000001"
    assert format_bill_number(9_999_999_999) == "9999999999"
    assert is_bill_number(format_bill_number(42))
    for out_of_range in (0, 10**10):
        with pytest.raises(ValueError):
            format_bill_number(out_of_range)


def test_a_check_code_is_six_characters_of_the_alphabet():
    for _ in range(200):
        code = new_check_code()
        assert len(code) == 6 and set(code) <= set(CHECK_CODE_ALPHABET)
        assert is_check_code(code)


def test_check_codes_use_the_whole_alphabet_case_sensitively():
    rng = random.Random(7)
    drawn = "".join(new_check_code(rng.choice) for _ in range(500))
    assert set(drawn) == set(CHECK_CODE_ALPHABET) and len(CHECK_CODE_ALPHABET) == 62


@pytest.mark.parametrize("value", ["abc12", "abc1234", "abc 12", "abc-12", "ａbc123", None, 123456])
def test_recognises_what_is_not_a_check_code(value):
    assert not is_check_code(value)


@given(payment_codes)
def test_an_out_trade_no_is_the_payment_code_and_six_letters_or_digits(code):
    out_trade_no = new_out_trade_no(code)
    assert out_trade_no.startswith(code) and len(out_trade_no) == 26
    assert is_out_trade_no(out_trade_no)


def test_check_bill_reference_names_each_malformed_element():
    with pytest.raises(ValidationFailed) as exc:
        check_bill_reference("3403012", "000000001", "abc")
    assert set(exc.value.fields) == {"bill_code", "bill_number", "check_code"}
    check_bill_reference("34030126", "0000000001", "aB3dE9")
