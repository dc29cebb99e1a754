"""The fuzz tier's request driver: the quota exactly, the same values for the same seed."""

from __future__ import annotations

import sys

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


def test_draws_are_the_same_whatever_modules_the_process_loaded_since(tmp_path, monkeypatch):
    # Hypothesis's provider sometimes draws a constant from the source of the project's loaded
    # modules; a test module imported in between (as an xdist worker does) must not change them.
    strategy = st.text(max_size=12)
    first = list(draws(strategy, 2000, "a seed"))
    (tmp_path / "loaded_in_between.py").write_text(
        "WORDS = [" + ", ".join(f'"between-{i}"' for i in range(300)) + "]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        __import__("loaded_in_between")
        assert list(draws(strategy, 2000, "a seed")) == first
    finally:
        sys.modules.pop("loaded_in_between", None)
