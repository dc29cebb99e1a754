"""The archive integrity job: re-read archived bill files and compare them with their SHA-256.

Each issued bill's record keeps the key and SHA-256 of its XML and PDF. The job reads files
back from the archive and reports any that is missing or whose digest differs; it changes
nothing (an archive under Object Lock cannot be repaired in place — a mismatch is an incident).

The archive outgrows one invocation (1 M bills = 2 M files), so the scheduled job works in
slices: ``check_archive_slice`` resumes at the bill id where the last slice stopped (saved in
``JobState``), reads pages of bills while its invocation has time left, and saves the cursor.
A round over the whole archive starts at most once a day (``ROUND_EVERY``); between rounds a
slice only reads the saved state. The operator's ``check-archive`` reads everything at once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.errors import DomainError
from chalicelib.domain.records import ArchivedFile
from chalicelib.services.ports import Ports
from chalicelib.services.rounds import round_state

log = logging.getLogger(__name__)

JOB = "check-archive"
ROUND_EVERY = timedelta(days=1)
PAGE_BILLS = 250  # bills per DynamoDB scan page (2 files each)
READERS = 16  # archive reads in flight: S3 latency, not our CPU, bounds one reader
RESERVE_SECONDS = 15.0  # stop starting pages when less than this is left of the invocation


class ArchiveIntegrityError(Exception):
    """Raised by the check_archive job when a file differs from its record: the invocation
    fails, so the IntegrityJobAlarm (Lambda Errors) fires."""


@dataclass
class IntegrityReport:
    checked: int = 0
    problems: list[dict] = field(default_factory=list)
    round_finished: bool = True  # False: a slice stopped midway; the next one resumes
    idle: bool = False  # a slice between rounds: nothing was due

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_file(deps: Ports, bill_id: str, kind: str, meta: ArchivedFile) -> dict | None:
    try:
        data = deps.archive.get(meta.key, meta.version_id)
    except DomainError as exc:
        return {"bill_id": bill_id, "file": kind, "key": meta.key,
                "problem": f"unreadable: {exc.message}"}
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.sha256 or len(data) != meta.size:
        return {"bill_id": bill_id, "file": kind, "key": meta.key,
                "problem": f"sha256 {digest} != recorded {meta.sha256}"}
    return None


def _check(deps: Ports, bills: Iterable[tuple[str, dict[str, ArchivedFile]]], report: IntegrityReport,
           pool: ThreadPoolExecutor) -> None:
    files = [(bill_id, kind, meta) for bill_id, by_kind in bills
             for kind, meta in sorted(by_kind.items())]
    for problem in pool.map(lambda f: _check_file(deps, *f), files):
        report.checked += 1
        if problem is not None:
            log.error("archive integrity: %s", problem)
            report.problems.append(problem)


def check_archive(deps: Ports, limit: int | None = None) -> IntegrityReport:
    """Every archived file (or the first ``limit`` bills'), in this one process."""
    report, after, seen = IntegrityReport(), None, 0
    with ThreadPoolExecutor(READERS) as pool:
        while True:
            size = PAGE_BILLS if limit is None else min(PAGE_BILLS, limit - seen)
            if size <= 0:
                break
            bills, after = deps.bills.archived_files_page(after, size)
            seen += len(bills)
            _check(deps, bills, report, pool)
            if after is None:
                break
    log.info("archive integrity: %d files checked, %d problems", report.checked,
             len(report.problems))
    return report


def check_archive_slice(deps: Ports, seconds_left: Callable[[], float],
                        page_bills: int = PAGE_BILLS) -> IntegrityReport:
    """One bounded run of the daily round, resumed where the last one stopped."""
    now = deps.clock()
    opened = round_state(deps, JOB, now, lambda saved: {
        "in_round": True, "after": None, "round_started_at": now.isoformat(), "checked": 0,
        "problems": 0, "slices": 0, "last_round": saved.get("last_round")})
    if opened is None:
        return IntegrityReport(idle=True)
    state, version = opened
    report = IntegrityReport(round_finished=False)
    after = state["after"]
    with ThreadPoolExecutor(READERS) as pool:
        while seconds_left() > RESERVE_SECONDS:
            bills, after = deps.bills.archived_files_page(after, page_bills)
            _check(deps, bills, report, pool)
            if after is None:
                report.round_finished = True
                break
    state.update(after=after, checked=state["checked"] + report.checked,
                 problems=state["problems"] + len(report.problems), slices=state["slices"] + 1)
    if report.round_finished:
        started = datetime.fromisoformat(state["round_started_at"])
        state = {"in_round": False, "next_round_at": (started + ROUND_EVERY).isoformat(),
                 "last_round": {k: state[k] for k in ("round_started_at", "checked",
                                                      "problems", "slices")}
                 | {"finished_at": now.isoformat()}}
        log.info("archive integrity round done: %s", state["last_round"])
    deps.job_state.save(JOB, state, version)
    log.info("archive integrity slice: %d files checked, %d problems, %s", report.checked,
             len(report.problems), "round done" if report.round_finished else f"next after {after}")
    return report


def check_archive_job(deps: Ports, seconds_left: Callable[[], float]) -> IntegrityReport:
    """The scheduled job: one slice of the round; ``ArchiveIntegrityError`` when a file differs
    from its record (the invocation fails, and the alarm on the function's errors fires)."""
    report = check_archive_slice(deps, seconds_left)
    if report.problems:
        raise ArchiveIntegrityError(f"{len(report.problems)} archived files differ from their "
                                    f"records: {report.problems[:3]}")
    return report
