"""Settings every tier shares.

Hypothesis measures time: on a shared 2-core machine (and in CI, with two test processes) a
slow example is the machine, not the code. No deadline, no "too slow" health check; what each
test asserts is unchanged.

No test reads the wall clock. Every clock the product has defaults to
``chalicelib.adapters.wall_clock.utc_now``; here it fails, for the whole session, so a test that
computes a date without pinning its clock (``tests/world.py``'s ``Clock``, ``tests/fakes.py``'s
``FakeClock``, ``now=`` of the simulator's notifications) fails on every day instead of on the
days its arithmetic crosses a month or a year. A test that really needs the time of day says so
with ``@pytest.mark.wall_clock``; the fixtures it uses may then read the wall clock too. A test
marked ``@pytest.mark.stack_clock(offset)`` reads real time + ``offset`` instead: the clock of
the local stacks it talks to (every test of the integration tier: its stacks run on a pinned
clock, ``tests/integration/conftest.py``).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("shared-machine", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")

WALL_CLOCK_READS: list[str] = []  # where the current test read the wall clock
_RUNNING: list[pytest.Item] = []  # the test being set up, run or torn down


class WallClockRead(AssertionError):
    """A test reached the product's wall clock: pin the clock (see this module's docstring)."""


def _guarded_wall_clock() -> datetime:
    from chalicelib.adapters import wall_clock

    if _RUNNING and (stack := _RUNNING[0].get_closest_marker("stack_clock")) is not None:
        return wall_clock.real_read() + stack.args[0]
    if _RUNNING and _RUNNING[0].get_closest_marker("wall_clock"):
        return wall_clock.real_read()
    WALL_CLOCK_READS.append("".join(traceback.format_stack(limit=8)[:-1]))
    raise WallClockRead(
        "this test reads the wall clock (chalicelib.adapters.wall_clock.utc_now): pass the "
        "world's or a FakeClock (or now=world.clock()) so that it does not depend on today's "
        "date, or mark it @pytest.mark.wall_clock if it truly needs the time of day")


def pytest_configure(config: pytest.Config) -> None:
    from chalicelib.adapters import wall_clock

    config.addinivalue_line("markers", "wall_clock: the test may read the real time of day")
    config.addinivalue_line("markers", "stack_clock(offset): the test reads real time + offset "
                                       "(a timedelta), its local stacks' pinned clock")
    wall_clock._read = _guarded_wall_clock
    _share_botocore_loader()
    from tests.rewrite_cache import share_rewritten_modules

    share_rewritten_modules(config)  # xdist workers: each test module rewritten once, not twice


def _share_botocore_loader() -> None:
    """One botocore data loader for every botocore session of the test process.

    Each session loads and keeps its own copy of the service models it uses (``endpoints.json``,
    DynamoDB's ``service-2.json`` and its endpoint rules: ~40,000 objects a copy), and a test
    process has a dozen sessions: boto3's one per client (``adapters/aws.py``) and pynamodb's
    one per model class. Shared, the models load once (a loader caches by file and version and
    hands out what it loaded; a session already shares it among its clients).
    """
    from functools import cache

    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = cache(botocore.loaders.create_loader)


def pytest_unconfigure(config: pytest.Config) -> None:
    from chalicelib.adapters import wall_clock

    wall_clock._read = wall_clock.real_read
    _collect_once_then_freeze()


def _collect_once_then_freeze() -> None:
    """One full garbage collection, then what survives it is kept out of later ones.

    pytest collects five times after this hook (its ``unraisableexception`` plugin, to run
    finalizers that might raise), each pass walking the whole heap: 0.1-1 CPU-s a pass in a
    worker that ran a tier. The first pass runs here, with pytest's hook for unraisable
    exceptions still installed, so whatever it finds is reported as before; what its
    finalizers leave (new objects, not frozen) is still collected by pytest's passes. The
    process ends right after.
    """
    import gc

    gc.collect()
    gc.freeze()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Know which test runs (its fixtures' reads count as its own), and start it with no read."""
    _RUNNING[:] = [item]
    del WALL_CLOCK_READS[:]
    try:
        return (yield)
    finally:
        _RUNNING.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that read the wall clock (in its fixtures or body), even where the product
    caught the error."""
    result = yield
    if WALL_CLOCK_READS:
        pytest.fail("the test read the wall clock; pin its clock. First read:\n"
                    + WALL_CLOCK_READS[0], pytrace=False)
    return result
