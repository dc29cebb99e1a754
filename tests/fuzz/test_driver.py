"""The fuzz tier's request driver: the quota exactly, the same values for the same seed."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from tests.fuzz.driver import draws


def test_draws_give_the_count_asked_the_same_for_a_seed_and_skip_rejected_draws():
    strategy = st.text(max_size=4).filter(lambda t: len(t) % 2 == 0)  # rejects some draws
    first = list(draws(strategy, 200, "a seed"))
    assert len(first) == 200 and all(len(t) % 2 == 0 for t in first)
    assert first == list(draws(strategy, 200, "a seed"))
    assert first != list(draws(strategy, 200, "another seed"))
    assert len(set(first)) > 50  # varied, not one value repeated


def test_draws_give_up_on_a_strategy_that_rejects_everything():
    with pytest.raises(AssertionError, match="rejected"):
        list(draws(st.integers().filter(lambda _: False), 10, "a seed"))
