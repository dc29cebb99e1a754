"""Draws a family's requests from its strategy without Hypothesis's search engine.

The fuzz tier wants many different hostile requests, not the smallest failing one: a failure
prints the request itself (``checks.py``), enough to replay it by hand. Hypothesis's engine
spent over a third of a family's CPU on search work the tier does not use: the tree of choices
already tried (to make each example novel), "mutations" that re-run an example with parts
copied over others (a quarter of the runs were such replays or invalid ones), and the
bookkeeping of both. Here each request is one fresh ``ConjectureData`` over a ``Random`` seeded
by the family's name, drawn with the same strategies and the same primitive provider as
``@given`` uses: the same kinds of values. The same seed gives the same requests in every process: the provider
sometimes (one draw in twenty) picks a constant found in the source of the project's loaded
modules, a set that grows with what a worker happened to import before; while a family draws,
that set is fixed to the constants of the product's code, ``app.py`` and ``chalicelib``
(``FIXED_CONSTANTS``; Hypothesis never takes them from tests).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
from collections.abc import Iterator
from typing import Any
from unittest import mock

from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.errors import StopTest
from hypothesis.internal.cache import LRUCache
from hypothesis.internal.conjecture import providers
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.constants_ast import Constants, constants_from_module

FIXED_CONSTANTS = ("app", "chalicelib")  # the product's modules: the constants draws may use


@functools.cache
def fixed_constants() -> Constants:
    """The constants in the source of every module of ``FIXED_CONSTANTS``, whatever else the
    process has loaded."""
    found = Constants()
    for name in FIXED_CONSTANTS:
        package = importlib.import_module(name)
        inside = pkgutil.walk_packages(getattr(package, "__path__", []), name + ".")
        modules = [package] + [importlib.import_module(info.name)
                               for info in sorted(inside, key=lambda info: info.name)]
        for module in modules:
            found |= constants_from_module(module)
    return found


# Which constants a kind of draw permits (by its choice type and constraints), worked out from
# the fixed set once per process: Hypothesis's own cache (``CONSTANTS_CACHE``, 1,024 kinds) had
# to be emptied before and after each family, as it answers for the process's other constants,
# and each kind was worked out again in every family, filtering every constant of the product
# (~2.5 ms a kind; a sixth of the draws' CPU). An answer depends only on its key and the set,
# and working it out draws nothing: the requests are the same.
_FIXED_PERMITTED: LRUCache = LRUCache(1 << 16)


def draws(strategy: st.SearchStrategy[Any], count: int, seed: str) -> Iterator[Any]:
    """``count`` values of ``strategy``, the same ones for the same ``seed``."""
    rnd = random.Random(seed)
    fixed = fixed_constants()
    with mock.patch.object(providers, "_get_local_constants", lambda: fixed), \
            mock.patch.object(providers, "CONSTANTS_CACHE", _FIXED_PERMITTED):
        yield from _draw(strategy, count, seed, rnd)


def _draw(strategy: st.SearchStrategy[Any], count: int, seed: str,
          rnd: random.Random) -> Iterator[Any]:
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
