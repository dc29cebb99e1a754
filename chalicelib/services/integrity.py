"""The archive integrity job: re-read archived bill files and compare them with their SHA-256.

Each issued bill's record keeps the key and SHA-256 of its XML and PDF. The job reads every file
back from the archive and reports any that is missing or whose digest differs; it changes
nothing (an archive under Object Lock cannot be repaired in place — a mismatch is an incident).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from chalicelib.bootstrap import Deps
from chalicelib.domain.errors import DomainError

log = logging.getLogger(__name__)


@dataclass
class IntegrityReport:
    checked: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_archive(deps: Deps, limit: int | None = None) -> IntegrityReport:
    from chalicelib.adapters.dynamo_bills import archived_files

    report = IntegrityReport()
    for bill_id, files in archived_files(limit):
        for kind, meta in sorted(files.items()):
            report.checked += 1
            try:
                data = deps.archive.get(meta["key"], meta.get("version_id", ""))
            except DomainError as exc:
                report.problems.append({"bill_id": bill_id, "file": kind, "key": meta["key"],
                                        "problem": f"unreadable: {exc.message}"})
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != meta["sha256"] or len(data) != int(meta["size"]):
                report.problems.append({"bill_id": bill_id, "file": kind, "key": meta["key"],
                                        "problem": f"sha256 {digest} != recorded {meta['sha256']}"})
    for problem in report.problems:
        log.error("archive integrity: %s", problem)
    log.info("archive integrity: %d files checked, %d problems", report.checked,
             len(report.problems))
    return report
