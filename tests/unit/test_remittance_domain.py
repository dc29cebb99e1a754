"""Remittance (划款) in the domain: every fen allocated once, the day adding up to its net."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import Conflict
from chalicelib.domain.remittance import (
    SPECIAL,
    TREASURY,
    Contribution,
    DayNet,
    Remittance,
    RemittedItem,
    account_for,
    allocate,
    check_day,
    remittances_of,
)

weights = st.lists(st.tuples(st.sampled_from("ABCDEFG"), st.integers(0, 10**9)),
                   min_size=1, max_size=8).filter(lambda w: sum(x for _, x in w) > 0)


@settings(max_examples=400)
@given(st.integers(-10**12, 10**12), weights)
def test_allocate_gives_every_fen_once_within_a_fen_of_the_exact_share(amount, w):
    shares = allocate(amount, w)
    assert sum(shares.values()) == amount
    total = sum(x for _, x in w)
    for key in shares:
        exact = Fraction(amount * sum(x for k, x in w if k == key), total)
        assert abs(shares[key] - exact) < len([k for k, _ in w if k == key]) + 1


@given(st.lists(st.integers(1, 10**8), min_size=1, max_size=6))
def test_a_payment_of_the_notes_total_goes_to_each_item_exactly_its_amount(amounts):
    items = [(f"item{i}", a) for i, a in enumerate(amounts)]
    assert allocate(sum(amounts), items) == dict(items)


def test_allocate_refuses_weights_that_cannot_split():
    with pytest.raises(ValueError):
        allocate(100, [("A", 0)])
    with pytest.raises(ValueError):
        allocate(100, [("A", -1), ("B", 2)])
    assert allocate(0, [("A", 0)]) == {"A": 0}


def test_the_remainder_goes_to_the_largest_remainders_first():
    assert allocate(100, [("A", 1), ("B", 1), ("C", 1)]) == {"A": 34, "B": 33, "C": 33}
    assert allocate(-100, [("A", 1), ("B", 1), ("C", 1)]) == {"A": -34, "B": -33, "C": -33}


contributions = st.lists(st.builds(
    Contribution, payment_code=st.text("0123456789", min_size=20, max_size=20),
    unit_code=st.sampled_from(["U1", "U2", "U3"]), amount_fen=st.integers(-10**6, 10**9),
    items=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 10**7)),
                   min_size=1, max_size=4).map(tuple)), max_size=30)


@settings(max_examples=300)
@given(contributions, st.dictionaries(st.sampled_from(["U1", "U2"]), st.dictionaries(
    st.sampled_from(["*", "A", "B"]), st.sampled_from([TREASURY, SPECIAL]))))
def test_the_days_remittances_add_up_to_the_money_settled_each_item_once(cs, setting):
    account_of = account_for(setting)
    found = remittances_of(cs, account_of)
    assert sum(r.total_fen for r in found) == sum(c.amount_fen for c in cs)
    keys = [(r.unit_code, r.account) for r in found]
    assert len(keys) == len(set(keys))  # one remittance per unit and account
    for r in found:
        assert r.total_fen == sum(i.total_fen for i in r.items)
        for item in r.items:
            assert account_of(r.unit_code, item.item_code) == r.account
    for unit in {c.unit_code for c in cs}:
        assert sum(r.total_fen for r in found if r.unit_code == unit) \
            == sum(c.amount_fen for c in cs if c.unit_code == unit)


def test_an_items_own_account_wins_over_its_units_and_the_treasury_is_the_default():
    account_of = account_for({"U1": {"*": SPECIAL, "A": TREASURY}})
    assert account_of("U1", "A") == TREASURY
    assert account_of("U1", "B") == SPECIAL
    assert account_of("U2", "B") == TREASURY
    found = remittances_of([Contribution("1" * 20, "U1", 300, (("A", 100), ("B", 200)))],
                           account_of)
    assert [r.view() for r in found] == [
        {"unit_code": "U1", "account": "special", "total_fen": 200,
         "items": [{"item_code": "B", "total_fen": 200}], "status": "pending"},
        {"unit_code": "U1", "account": "treasury", "total_fen": 100,
         "items": [{"item_code": "A", "total_fen": 100}], "status": "pending"}]


def _one(total: int) -> list[Remittance]:
    return [Remittance("U1", TREASURY, total, (RemittedItem("A", total),))]


def test_a_day_is_instructed_only_when_reconciled_and_adding_up_to_the_fen():
    check_day(_one(1000), DayNet(payments_fen=1200, refunds_fen=200))
    with pytest.raises(Conflict, match="不符"):
        check_day(_one(999), DayNet(payments_fen=1000))
    with pytest.raises(Conflict) as caught:
        check_day(_one(1000), DayNet(payments_fen=1000, pending_channels=["alipay"]))
    assert caught.value.code == "day_not_reconciled"
    with pytest.raises(Conflict):
        check_day(_one(1000), DayNet(payments_fen=1000, open_lines=1))
    with pytest.raises(Conflict) as caught:
        check_day(_one(-5), DayNet(payments_fen=0, refunds_fen=5))
    assert caught.value.code == "remittance_negative"
