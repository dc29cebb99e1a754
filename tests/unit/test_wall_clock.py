"""No test depends on today's date: the product reads the time in one place, and tests cannot.

``chalicelib.adapters.wall_clock.utc_now`` is the default of every clock the product has;
``tests/conftest.py`` makes it fail for the whole session. These tests check both halves: no
other module reads the time, and a test that reaches the wall clock fails, even when the
product swallows the error.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.adapters import wall_clock
from chalicelib.bootstrap import Deps
from tests.conftest import WALL_CLOCK_READS, WallClockRead
from tests.fakes import make_settings

REPO = Path(__file__).resolve().parents[2]
# The product and its dev tools (the local stack, the channels' simulators), wherever they live.
SOURCES = [REPO / "app.py", *sorted((REPO / "chalicelib").rglob("*.py")),
           *sorted((REPO / "devstack").rglob("*.py"))]
READERS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
           ("time", "time"), ("time", "time_ns"), ("time", "gmtime"), ("time", "localtime")}


def wall_clock_reads(source: str) -> list[int]:
    """Lines that read the time of day (``datetime.now`` called or passed as a function)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in READERS]


def test_the_wall_clock_module_is_the_only_one_that_reads_the_time():
    readers = {str(path.relative_to(REPO)): lines for path in SOURCES
               if (lines := wall_clock_reads(path.read_text(encoding="utf-8")))}
    assert set(readers) == {"chalicelib/adapters/wall_clock.py"}, readers


def test_reading_the_time_is_found_however_it_is_written():
    source = ("a = datetime.now(UTC)\nb = date.today()\nc = partial(datetime.now, UTC)\n"
              "d = time.time()\n")
    assert wall_clock_reads(source) == [1, 2, 3, 4]
    assert wall_clock_reads("e = datetime.fromisoformat(x)\nf = time.monotonic()\n") == []


def test_the_products_default_clock_fails_in_a_test():
    deps = Deps(settings=make_settings())  # no clock given: the wall clock
    with pytest.raises(WallClockRead, match="pass the world's or a FakeClock"):
        deps.clock()
    WALL_CLOCK_READS.clear()  # read on purpose here; any other test that reads it fails


@pytest.mark.wall_clock
def test_a_test_marked_wall_clock_reads_the_real_time():
    from datetime import UTC, datetime, timedelta

    assert abs(wall_clock.utc_now() - datetime.now(UTC)) < timedelta(seconds=5)


UNPINNED = '''
from chalicelib.adapters.wall_clock import utc_now


def test_a_due_date_thirty_days_on():
    try:
        utc_now()  # as product code would, and it swallows the error
    except Exception:
        pass


def test_nothing_about_dates():
    pass
'''


def test_a_test_that_reads_the_wall_clock_fails_even_if_the_error_is_swallowed(tmp_path):
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "test_unpinned.py").write_text(UNPINNED)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "test_unpinned.py::test_a_due_date_thirty_days_on" in run.stdout
    assert "the test read the wall clock; pin its clock" in run.stdout


@pytest.mark.stack_clock(timedelta(hours=-3))
def test_a_test_marked_stack_clock_reads_its_stacks_clock():
    from datetime import UTC, datetime

    assert abs(wall_clock.utc_now() - (datetime.now(UTC) - timedelta(hours=3))) \
        < timedelta(seconds=5)
