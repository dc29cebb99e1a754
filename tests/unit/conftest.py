"""Fixtures of the unit tier: a world of fakes (``tests/fakes.py``) per test, no I/O beyond tmp."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.bootstrap import Deps
from tests.fakes import FakeClock, fake_deps


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Key files and seed state made once, copied into each test's world."""
    path = tmp_path_factory.mktemp("seed")
    fake_deps(path)
    return path


@pytest.fixture
def deps(tmp_path: Path, seeded_dir: Path) -> Deps:
    return fake_deps(tmp_path, seed_from=seeded_dir)


@pytest.fixture
def clock(deps: Deps) -> FakeClock:
    assert isinstance(deps.clock, FakeClock)
    return deps.clock
