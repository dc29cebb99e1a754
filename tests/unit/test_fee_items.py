"""Fee items' standards and 事前审核 (domain/fee_items.py)."""

from datetime import date

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.fee_items import FeeItem, line_problems, read_fee_item
from chalicelib.domain.notes import Item

KINDS = frozenset({"0101", "0301"})
TODAY = date(2026, 6, 15)


def _line(standard: int, quantity: str = "1") -> Item:
    return Item(item_code="001", name="工本费", unit="本", quantity=quantity,
                standard_fen=standard, amount_fen=standard * int(quantity))


def test_a_fixed_or_a_ranged_standard_is_read_with_its_validity():
    fixed = read_fee_item({"name": " 工本费 ", "unit": "本", "bill_kind": "0301",
                           "standard_fen": 1000, "valid_from": "2026-01-01"}, KINDS)
    assert fixed == FeeItem("工本费", "0301", "本", standard_fen=1000, valid_from="2026-01-01")
    ranged = read_fee_item({"name": "罚款", "bill_kind": "0301", "min_fen": 2000,
                            "max_fen": 2000, "valid_to": "2026-12-31"}, KINDS)
    assert (ranged.min_fen, ranged.max_fen, ranged.standard_fen) == (2000, 2000, None)


@pytest.mark.parametrize("body, fields", [
    ({}, {"name", "bill_kind", "standard_fen"}),
    ({"name": "x", "bill_kind": "0301", "standard_fen": 0}, {"standard_fen"}),
    ({"name": "x", "bill_kind": "0301", "standard_fen": "10"}, {"standard_fen"}),
    ({"name": "x", "bill_kind": "0301", "max_fen": 10}, {"min_fen"}),
    ({"name": "x", "bill_kind": "0301", "min_fen": 10, "max_fen": 9}, {"max_fen"}),
    ({"name": "x", "bill_kind": "0301", "standard_fen": 1, "valid_to": "2026-02-30"},
     {"valid_to"}),
    ({"name": "x" * 101, "bill_kind": "0301", "standard_fen": 1, "unit": ""}, {"name", "unit"}),
    ({"name": "x", "bill_kind": "0301", "standard_fen": 1, "price": 1}, {"price"}),
])
def test_a_bad_fee_item_names_every_wrong_field(body, fields):
    with pytest.raises(ValidationFailed) as refused:
        read_fee_item(body, KINDS)
    assert set(refused.value.fields) == fields


def test_a_line_must_charge_the_fixed_standard_whatever_the_quantity():
    item = FeeItem("工本费", "0301", standard_fen=1000)
    assert line_problems(item, _line(1000, "3"), "items[0]", TODAY, "0301") == {}
    assert set(line_problems(item, _line(900), "items[0]", TODAY, "0301")) == {
        "items[0].standard_fen"}


def test_a_line_of_a_ranged_item_may_charge_anything_within_it_ends_included():
    item = FeeItem("罚款", "0301", min_fen=2000, max_fen=5000)
    for standard in (2000, 3500, 5000):
        assert line_problems(item, _line(standard), "items[1]", TODAY, "0301") == {}
    for standard in (1999, 5001):
        assert set(line_problems(item, _line(standard), "items[1]", TODAY, "0301")) == {
            "items[1].standard_fen"}


def test_a_line_outside_its_items_validity_or_bill_kind_names_the_item_code():
    dated = FeeItem("工本费", "0301", standard_fen=1000, valid_from="2026-06-15",
                    valid_to="2026-06-30")
    assert line_problems(dated, _line(1000), "items[0]", TODAY, "0301") == {}
    assert line_problems(dated, _line(1000), "items[0]", date(2026, 6, 30), "0301") == {}
    for day in (date(2026, 6, 14), date(2026, 7, 1)):
        assert set(line_problems(dated, _line(1000), "items[0]", day, "0301")) == {
            "items[0].item_code"}
    assert set(line_problems(dated, _line(1000), "items[0]", TODAY, "0101")) == {
        "items[0].item_code"}


def test_an_item_from_before_standards_restricts_nothing_but_its_code():
    assert line_problems(FeeItem("旧项目"), _line(123), "items[0]", TODAY, "0101") == {}
    assert line_problems(FeeItem("旧项目", "0101"), _line(123), "items[0]", TODAY, "0301") == {}
