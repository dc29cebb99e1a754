"""统一社会信用代码 (GB 32100-2015): the check character, against codes published as valid.

Known-valid codes: 91350100M000100Y43 (the example printed in GB 32100-2015 and quoted by
every implementation of it), 91110000802100433B and 91110108551385082Q (business licences of
two Beijing companies, as shown on the national enterprise credit publicity system).
"""

from __future__ import annotations

import pytest

from chalicelib.domain.credit_code import CHARSET, WEIGHTS, check_character, credit_code_problem

KNOWN_VALID = ["91350100M000100Y43", "91110000802100433B", "91110108551385082Q"]


def test_the_weights_are_powers_of_three_modulo_31():
    assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    assert len(CHARSET) == 31 and not set("IOSVZ") & set(CHARSET)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_accepts_published_valid_codes(code):
    assert credit_code_problem(code) is None


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_every_other_check_character_is_refused(code):
    for ch in CHARSET.replace(code[-1], ""):
        assert credit_code_problem(code[:-1] + ch) is not None


def test_a_check_value_of_31_is_written_zero():
    # Find a 17-character body whose weighted sum is a multiple of 31: its check is "0".
    body = "9111000080210043"
    for ch in CHARSET:
        if check_character(body + ch) == "0":
            assert credit_code_problem(body + ch + "0") is None
            return
    pytest.fail("no body with check character 0 found")


@pytest.mark.parametrize(("code", "why"), [
    ("91350100M000100Y4", "18 characters"), ("91350100M000100Y433", "18 characters"),
    ("91350100M000100I43", "without I, O, S, V, Z"), ("9135010AM000100Y43", "region code"),
    ("91350100M000100Y44", "check character"),
])
def test_names_what_is_wrong(code, why):
    assert why in (credit_code_problem(code) or "")
