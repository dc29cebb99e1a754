"""Draws a family's requests from its strategy without Hypothesis's search engine.

The fuzz tier wants many different hostile requests, not the smallest failing one: a failure
prints the request itself (``checks.py``), enough to replay it by hand. Hypothesis's engine
spent over a third of a family's CPU on search work the tier does not use: the tree of choices
already tried (to make each example novel), "mutations" that re-run an example with parts
copied over others (a quarter of the runs were such replays or invalid ones), and the
bookkeeping of both. Here each request is one fresh ``ConjectureData`` over a ``Random`` seeded
by the family's name, drawn with the same strategies and the same primitive provider as
``@given`` uses: the same kinds of values. The same seed gives the same requests in processes
that loaded the same modules (the provider sometimes draws constants found in loaded modules).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.errors import StopTest
from hypothesis.internal.conjecture.data import ConjectureData


def draws(strategy: st.SearchStrategy[Any], count: int, seed: str) -> Iterator[Any]:
    """``count`` values of ``strategy``, the same ones for the same ``seed``."""
    rnd = random.Random(seed)
    sent = rejected = 0
    while sent < count:
        data = ConjectureData(random=rnd)
        try:
            with BuildContext(data, wrapped_test=draws):
                value = data.draw(strategy)
        except StopTest:  # rejected by a filter, or over the size limit: draw another
            rejected += 1
            assert rejected <= count + 100, \
                f"{seed}: {rejected} draws rejected for {sent} made"
            continue
        yield value
        sent += 1
