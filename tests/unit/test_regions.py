"""Region scopes: province → city → county by the 6-digit code (domain/regions.py)."""

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.regions import covers, is_region_code, level, scope_of


@pytest.mark.parametrize("text, scope", [
    ("", ""), ("34", "34"), ("3401", "3401"), ("340102", "340102"),
    ("340000", "34"), ("340100", "3401"), (" 3401 ", "3401")])
def test_a_scope_is_the_prefix_of_the_codes_it_governs_whichever_way_it_is_written(text, scope):
    assert scope_of(text) == scope


@pytest.mark.parametrize("text", ["3", "341", "34010", "3401021", "04", "ab", "34O1", "000000"])
def test_a_scope_that_is_no_province_city_or_county_is_refused_naming_the_field(text):
    with pytest.raises(ValidationFailed) as refused:
        scope_of(text, "region")
    assert set(refused.value.fields) == {"region"}


def test_a_county_lies_within_its_city_and_province_and_nowhere_else():
    assert covers("", "340102") and covers("34", "340102") and covers("3401", "340102")
    assert covers("340102", "340102")
    assert not covers("340103", "340102") and not covers("3402", "340102")
    assert not covers("340102", "340100")  # a county does not see its city's own units
    assert [level(s) for s in ("", "34", "3401", "340102")] == [
        "all", "province", "city", "county"]


def test_a_region_code_has_six_digits_and_never_starts_with_zero():
    assert is_region_code("340100") and not is_region_code("040100")
    assert not is_region_code("34010") and not is_region_code("3401000")
