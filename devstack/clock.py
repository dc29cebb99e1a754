"""The local stack's clock: real time, or moved for a run (pinned at a start instant, or offset).

Every process of the stack that runs the product or plays a channel (the app and the channels'
simulator in the stack's process, the worker and the scheduler in its jobs child, the
simulator's command) reads the time through ``chalicelib.adapters.wall_clock.utc_now``. Here,
and only here, that clock can be moved, so that a test or a developer can run the stack at a
chosen time of day instead of the machine's (issue 11: no test depends on the time of day):

- ``LOCAL_CLOCK_AT=2026-06-17T10:00:00+08:00``: the clock reads that instant when the stack
  starts, then advances with real time (timeouts, TTLs and the scheduler's minute behave). A
  restart starts it there again.
- ``LOCAL_CLOCK_OFFSET=<seconds>``: the clock reads real time plus that many seconds (negative:
  the past). The stack turns ``LOCAL_CLOCK_AT`` into this for its children and writes it to
  ``stack.json`` (``clock_offset_seconds``), so that all its processes, and whoever reads the
  stack document (the simulator's command, the integration tests), read one clock.

Production reads real UTC time: the product never reads these variables (``chalicelib/`` and
``app.py`` do not name them, and cannot import ``devstack``: ``tests/unit/test_wall_clock.py``
and ``test_dev_code_stays_out.py``), and :func:`use_environment` refuses them unless STAGE is
local or test. DynamoDB Local, moto's server and Chromium keep the machine's clock; nothing they
time decides a day (SQS delays and visibility, S3 versions' order, cookies' ``Max-Age`` are
all relative).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime, timedelta
from functools import partial

from chalicelib.adapters import wall_clock
from chalicelib.config import LOCAL_STAGES

AT, OFFSET = "LOCAL_CLOCK_AT", "LOCAL_CLOCK_OFFSET"


class ClockSettingRefused(RuntimeError):
    """A clock setting the stack will not run on (wrong stage, unreadable, or both set)."""


def offset_from(environ: Mapping[str, str],
                now: Callable[[], datetime] | None = None) -> timedelta | None:
    """How far the stack's clock is from real time (``now``: real time) by ``environ``; None
    when not moved."""
    at, offset = environ.get(AT, "").strip(), environ.get(OFFSET, "").strip()
    if not at and not offset:
        return None
    stage = environ.get("STAGE", "").strip()
    if stage not in LOCAL_STAGES:
        raise ClockSettingRefused(
            f"{AT if at else OFFSET} is set in stage {stage or '(none)'}: only the local stack's "
            f"clock can be moved (STAGE {' or '.join(LOCAL_STAGES)}); every other stage reads "
            "real UTC time")
    if at and offset:
        raise ClockSettingRefused(f"both {AT} and {OFFSET} are set: set one")
    if offset:
        try:
            return timedelta(seconds=float(offset))
        except ValueError:
            raise ClockSettingRefused(f"{OFFSET}={offset!r} is not a number of seconds") from None
    try:
        instant = datetime.fromisoformat(at)
    except ValueError:
        raise ClockSettingRefused(f"{AT}={at!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise ClockSettingRefused(f"{AT}={at!r} has no UTC offset (e.g. +08:00 or Z)")
    return instant - (now or wall_clock.real_read)()


def _moved(offset: timedelta) -> datetime:
    return wall_clock.real_read() + offset


def move(offset: timedelta) -> None:
    """This process's ``utc_now`` reads real time + ``offset`` from now on."""
    wall_clock._read = partial(_moved, offset)


def use_environment(environ: MutableMapping[str, str] = os.environ) -> timedelta | None:
    """Move this process's clock as ``environ`` says (refused outside STAGE local and test), and
    leave ``environ`` saying it as an offset, for the children it starts to read the same clock.
    The offset, or None when the clock is real time."""
    offset = offset_from(environ)
    if offset is None:
        return None
    move(offset)
    environ.pop(AT, None)
    environ[OFFSET] = seconds(offset)
    return offset


def follow(stack: Mapping[str, object]) -> None:
    """Read the clock of the stack whose document is ``stack`` (the simulator's command)."""
    offset = float(str(stack.get("clock_offset_seconds") or 0))
    if offset:
        move(timedelta(seconds=offset))


def behind() -> bool:
    """This process's clock reads earlier than the machine's (moved into the past): DynamoDB
    Local, sweeping expired items by the machine's clock, would delete them early."""
    return wall_clock.utc_now() < wall_clock.real_read() - timedelta(seconds=1)


def seconds(offset: timedelta) -> str:
    """An offset as the variable holds it: seconds, to the microsecond."""
    return f"{offset.total_seconds():.6f}"
