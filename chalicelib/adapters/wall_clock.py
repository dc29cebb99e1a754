"""The wall clock: the one place the product reads the real time.

Everything that needs the time takes a clock (``Deps.clock``, a service's ``clock`` argument,
an adapter's ``clock=``); only their defaults fall back to ``utc_now``. Tests never read it:
``tests/conftest.py`` swaps ``_read`` for one that fails, so a test that forgets to pin its
clock fails at once instead of depending on today's date (a due date 30 days on crosses a year
in December). ``tests/unit/test_wall_clock.py`` checks that no other module reads the time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

real_read: Callable[[], datetime] = partial(datetime.now, UTC)
_read = real_read  # what utc_now reads; tests replace it (see above)


def utc_now() -> datetime:
    """Now, in UTC, from the wall clock."""
    return _read()
