"""The local stack's clock can be moved (``devstack/clock.py``), production's never.

``LOCAL_CLOCK_AT`` / ``LOCAL_CLOCK_OFFSET`` move ``wall_clock.utc_now`` in the stack's processes
(STAGE local or test only); the product itself never reads them, so a deployment with either set
reads real UTC time, and the stack's reader refuses them in any other stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.adapters import wall_clock
from devstack import clock

REPO = Path(__file__).resolve().parents[2]
REAL = datetime(2026, 12, 2, 14, 58, 30, tzinfo=UTC)  # what "real time" reads in these tests
AT = "2026-06-17T10:00:00+08:00"


@pytest.fixture()
def real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real time is REAL here, and the process's clock is put back afterwards."""
    monkeypatch.setattr(wall_clock, "real_read", lambda: REAL)
    monkeypatch.setattr(wall_clock, "_read", wall_clock._read)


def test_a_start_instant_is_an_offset_from_real_time():
    offset = clock.offset_from({"STAGE": "local", clock.AT: AT}, now=lambda: REAL)
    assert REAL + offset == datetime(2026, 6, 17, 2, 0, tzinfo=UTC)
    assert clock.offset_from({"STAGE": "test", clock.OFFSET: "-90.5"}) == timedelta(seconds=-90.5)
    assert clock.offset_from({"STAGE": "local"}) is None
    assert clock.offset_from({"STAGE": "prod", clock.AT: " "}) is None


@pytest.mark.parametrize("stage", ["prod", "staging", "", "Local"])
@pytest.mark.parametrize("variable, value", [(clock.AT, AT), (clock.OFFSET, "3600")])
def test_outside_the_local_and_test_stages_a_clock_setting_is_refused(real_time, stage,
                                                                      variable, value):
    environ = {"STAGE": stage, variable: value}
    before = wall_clock._read
    with pytest.raises(clock.ClockSettingRefused, match="only the local stack's clock"):
        clock.use_environment(environ)
    assert wall_clock._read is before and environ == {"STAGE": stage, variable: value}


@pytest.mark.parametrize("environ, why", [
    ({clock.AT: AT, clock.OFFSET: "1"}, "both"),
    ({clock.AT: "2026-06-17T10:00:00"}, "no UTC offset"),
    ({clock.AT: "tomorrow"}, "not an ISO 8601 instant"),
    ({clock.OFFSET: "1h"}, "not a number of seconds"),
])
def test_an_unreadable_setting_is_refused(environ, why):
    with pytest.raises(clock.ClockSettingRefused, match=why):
        clock.offset_from({"STAGE": "local", **environ}, now=lambda: REAL)


def test_the_stack_moves_its_clock_and_hands_its_children_the_offset(real_time, monkeypatch):
    environ = {"STAGE": "local", clock.AT: AT}
    offset = clock.use_environment(environ)
    assert wall_clock.utc_now() == datetime(2026, 6, 17, 2, 0, tzinfo=UTC)
    assert environ == {"STAGE": "local", clock.OFFSET: clock.seconds(offset)}
    # a child started later reads the same clock (not AT again): real time has moved on 90 s
    later = REAL + timedelta(seconds=90)
    monkeypatch.setattr(wall_clock, "real_read", lambda: later)
    clock.use_environment(environ)
    assert wall_clock.utc_now() == datetime(2026, 6, 17, 2, 1, 30, tzinfo=UTC)


def test_the_simulators_command_follows_the_stack_document(real_time):
    clock.follow({"clock_offset_seconds": -3600.0})
    assert wall_clock.utc_now() == REAL - timedelta(hours=1)
    before = wall_clock._read
    clock.follow({"clock_offset_seconds": 0.0})  # a stack on real time: nothing moved
    clock.follow({})  # a stack document from before the clock could move
    assert wall_clock._read is before


def test_no_production_module_names_the_clock_settings():
    naming = [path.relative_to(REPO).as_posix()
              for path in [REPO / "app.py", *sorted((REPO / "chalicelib").rglob("*.py"))]
              if "LOCAL_CLOCK" in path.read_text(encoding="utf-8")]
    assert naming == []


def test_a_deployment_with_a_clock_setting_reads_real_utc_time():
    """The app as Lambda imports it, in stage prod with both settings (one a year back): its
    clock is real time."""
    probe = ("import time\nimport app\nfrom chalicelib.adapters.wall_clock import utc_now\n"
             "print(abs(utc_now().timestamp() - time.time()))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_CLOCK"))}
    env.update({"STAGE": "prod", clock.AT: "2001-01-01T00:00:00+08:00",
                clock.OFFSET: str(-365 * 86400), "AWS_DEFAULT_REGION": "cn-north-1",
                "PYTHONPATH": str(REPO)})
    run = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) < 5.0, run.stdout


def test_a_clock_behind_the_machines_is_told_apart(real_time):
    """A stack behind the machine's clock leaves DynamoDB Local's TTL sweep off (it would sweep
    the stack's items before they expire on the stack's clock)."""
    clock.move(timedelta(0))
    assert not clock.behind()
    clock.move(timedelta(hours=1))
    assert not clock.behind()
    clock.move(timedelta(days=-168))
    assert clock.behind()
