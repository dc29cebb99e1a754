"""JobState: FakeJobState against DynamoJobState (a scheduled job's cursor in the counters
table, saved only over the version loaded)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from chalicelib.domain.errors import Conflict
from tests.contracts.conftest import SETTINGS, DynamoStores


@cache
def dynamo_job_state() -> Any:
    """Built once per process: its constructor rebinds the model and drops its connection."""
    from chalicelib.adapters.dynamo_job_state import DynamoJobState

    return DynamoJobState(SETTINGS)


@pytest.fixture(params=["fake", "dynamo"])
def job_state(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.fakes import FakeJobState

        return FakeJobState()
    request.getfixturevalue("aws")
    DynamoStores()._tables("COUNTERS")
    return dynamo_job_state()


class TestJobState:
    def test_a_job_never_saved_starts_empty_at_version_zero(self, job_state):
        assert job_state.load("check_archive") == ({}, 0)

    def test_each_save_over_the_version_loaded_moves_the_version_on(self, job_state):
        job_state.save("check_archive", {"after": "B1", "checked": 10}, 0)
        assert job_state.load("check_archive") == ({"after": "B1", "checked": 10}, 1)
        job_state.save("check_archive", {"after": None, "nested": {"x": [1, 2]}}, 1)
        assert job_state.load("check_archive") == ({"after": None, "nested": {"x": [1, 2]}}, 2)

    def test_a_save_over_a_stale_version_is_refused_and_changes_nothing(self, job_state):
        job_state.save("check_archive", {"after": "B1"}, 0)
        for stale in (0, 2):
            with pytest.raises(Conflict) as refused:
                job_state.save("check_archive", {"after": "B9"}, stale)
            assert refused.value.code == "job_state_moved"
        assert job_state.load("check_archive") == ({"after": "B1"}, 1)

    def test_jobs_keep_their_own_state(self, job_state):
        job_state.save("check_archive", {"after": "B1"}, 0)
        assert job_state.load("other_job") == ({}, 0)
        job_state.save("other_job", {"n": 1}, 0)
        assert job_state.load("check_archive") == ({"after": "B1"}, 1)

    def test_what_was_saved_is_not_changed_by_changing_the_callers_copy(self, job_state):
        state = {"after": "B1", "seen": ["B1"]}
        job_state.save("check_archive", state, 0)
        state["seen"].append("B2")
        loaded, _ = job_state.load("check_archive")
        loaded["after"] = "changed"
        assert job_state.load("check_archive") == ({"after": "B1", "seen": ["B1"]}, 1)
