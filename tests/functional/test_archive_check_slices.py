"""The scheduled archive check works in slices: each stops when its invocation runs short of
time and saves where it stopped; the next resumes there; a round starts at most once a day."""

from dataclasses import asdict
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo_models import BillModel
from chalicelib.domain.errors import Conflict
from chalicelib.services import integrity
from chalicelib.services.integrity import check_archive, check_archive_slice


class CountingArchive:
    """The real archive, remembering every key read."""

    def __init__(self, inner):
        self.inner, self.read = inner, []

    def get(self, key, version_id=""):
        self.read.append(key)
        return self.inner.get(key, version_id)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def archived_bills(world, count):
    """``count`` bill rows, each with an XML and a PDF in the archive (as issuance leaves them)."""
    ids = []
    for i in range(count):
        bill_id = f"34010026{i:010d}"
        files = {kind: asdict(world.deps.archive.put_once(
            f"bills/test/{bill_id}.{kind}", f"{kind} of {bill_id}".encode(), "text/plain"))
            for kind in ("xml", "pdf")}
        BillModel(bill_id, status="normal", payment_code=f"code{i}", files=files).save()
        ids.append(bill_id)
    return ids


def time_for(pages):
    """seconds_left for a slice that has time to start ``pages`` pages, then runs short."""
    left = [100.0] * pages

    def seconds_left():
        return left.pop() if left else 0.0
    return seconds_left


@pytest.fixture
def counting(world):
    archive = CountingArchive(world.deps.archive)
    world.deps.overrides["archive"] = archive
    return archive


def test_a_slice_stops_when_time_runs_short_and_the_next_resumes_where_it_stopped(
        world, counting):
    ids = archived_bills(world, 7)
    first = check_archive_slice(world.deps, time_for(2), page_bills=2)
    assert (first.checked, first.round_finished) == (8, False)
    second = check_archive_slice(world.deps, time_for(10), page_bills=2)
    assert (second.checked, second.round_finished, second.ok) == (6, True, True)
    expected = sorted(f"bills/test/{i}.{k}" for i in ids for k in ("xml", "pdf"))
    assert sorted(counting.read) == expected  # every file once, none twice
    state, _ = world.deps.job_state.load(integrity.JOB)
    assert state["last_round"]["checked"] == 14 and state["last_round"]["slices"] == 2


def test_a_slice_with_no_time_left_checks_nothing_and_loses_no_place(world, counting):
    archived_bills(world, 3)
    assert check_archive_slice(world.deps, time_for(0), page_bills=2).checked == 0
    assert check_archive_slice(world.deps, time_for(5), page_bills=2).checked == 6


def test_no_round_starts_again_until_a_day_after_the_last_began(world, counting):
    archived_bills(world, 2)
    assert check_archive_slice(world.deps, time_for(5)).round_finished
    world.clock.now += timedelta(hours=23)
    idle = check_archive_slice(world.deps, time_for(5))
    assert idle.idle and idle.checked == 0
    world.clock.now += timedelta(hours=1)
    assert check_archive_slice(world.deps, time_for(5)).checked == 4


def test_a_changed_file_found_by_a_slice_is_reported_and_counted_in_the_round(world):
    [bill_id, _] = archived_bills(world, 2)
    row = BillModel.get(bill_id)
    files = row.files.as_dict()
    files["xml"]["sha256"] = "0" * 64
    BillModel(bill_id).update(actions=[BillModel.files.set(files)])
    report = check_archive_slice(world.deps, time_for(5))
    assert [(p["bill_id"], p["file"]) for p in report.problems] == [(bill_id, "xml")]
    state, _ = world.deps.job_state.load(integrity.JOB)
    assert state["last_round"]["problems"] == 1


def test_the_scheduled_job_fails_its_invocation_when_a_file_differs(world, client):
    from chalice.local import LambdaContext

    import app as application

    [bill_id] = archived_bills(world, 1)
    BillModel(bill_id).update(actions=[BillModel.files.set(
        {**BillModel.get(bill_id).files.as_dict(), "pdf": {
            "key": f"bills/test/{bill_id}.pdf", "sha256": "1" * 64, "size": 3,
            "version_id": ""}})])
    with pytest.raises(integrity.ArchiveIntegrityError, match="1 archived files differ"):
        # as Lambda calls it: a minute's timeout (the test client's context has 3 s)
        application.app.handler_map["check_archive"](
            client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                            resources=[], detail={}),
            LambdaContext("check_archive", 1024, max_runtime_ms=60_000))


def test_two_overlapping_slices_cannot_both_save_their_place(world):
    store = world.deps.job_state
    state, version = store.load("overlap")
    store.save("overlap", {"after": "a"}, version)
    with pytest.raises(Conflict):
        store.save("overlap", {"after": "b"}, version)
    assert store.load("overlap") == ({"after": "a"}, 1)


def test_the_operators_check_reads_the_whole_archive_across_pages(world, counting,
                                                                   monkeypatch):
    monkeypatch.setattr(integrity, "PAGE_BILLS", 2)
    archived_bills(world, 5)
    report = check_archive(world.deps)
    assert report.ok and report.checked == 10 and len(set(counting.read)) == 10
