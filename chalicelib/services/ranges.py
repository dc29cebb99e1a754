"""Number ranges: allocation, the report per range, and the repair of unfinished issuances.

Every number of a range ends as used (an issued bill), void (its issuance could not complete)
or left. The repair job finds numbers taken more than ``STALE`` ago whose bill is still pending:
a note's number whose note is still paid and reserved it is enqueued again; a red bill's number
has its reversal enqueued, to be finished; otherwise the number is recorded as void, with the
reason.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import make_bill_code
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.ranges import NumberRange
from chalicelib.domain.records import PendingNumber
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)
STALE = timedelta(minutes=10)


def allocate_range(deps: Ports, unit_code: str, kind_code: str, count: int,
                   year: int | None = None) -> NumberRange:
    """The finance department gives a unit ``count`` more numbers of a bill kind."""
    unit = deps.units.get(unit_code)
    if unit is None:
        raise NotFound(f"unknown unit {unit_code}")
    if kind_code not in BILL_KINDS:
        raise ValidationFailed("unknown bill kind", {"kind": f"one of {sorted(BILL_KINDS)}"})
    from chalicelib.services.units import refuse_kind_not_allowed

    refuse_kind_not_allowed(unit, kind_code, "bill_kind")
    now = deps.clock().astimezone(CHINA_TZ)
    bill_code = make_bill_code(unit.region_code, kind_code, year or now.year)
    allocated = deps.ranges.allocate(unit_code, kind_code, bill_code, count,
                                     now.isoformat(timespec="seconds"))
    log.info("range %s %010d-%010d allocated to %s", bill_code, allocated.start, allocated.end,
             unit_code)
    return allocated


def range_report(deps: Ports) -> list[dict]:
    """Used, void and left per range; ``low`` when a unit should be given more numbers."""
    report = [r.report() for r in deps.ranges.all()]
    for row in report:
        if row["low"]:
            log.warning("number range %s %s of unit %s is running low: %d left",
                        row["bill_code"], row["start"], row["unit_code"], row["left"])
    return report


def repair_job(deps: Ports) -> dict[str, int]:
    """The scheduled job: repair what stopped midway, then warn of every range running low."""
    repaired = repair_pending_bills(deps)
    range_report(deps)
    return repaired


def repair_pending_bills(deps: Ports) -> dict[str, int]:
    """Complete or void every number taken long ago whose bill never finished.

    Each pending number says what it was taken for (``purpose``): a note's bill is enqueued
    again if the note still holds the number; a red bill's (``reversal``) reversal is enqueued
    to be finished on the issuing queue (whose function may sign), which voids the number only
    if the original no longer holds it; numbers of purposes this job does not know (``direct``,
    until direct bills exist) are left pending and counted as ``skipped``. Rows from before
    ``purpose`` existed are notes' numbers.
    """
    cutoff = (deps.clock() - STALE).astimezone(UTC).isoformat(timespec="seconds")
    outcome = {"requeued": 0, "reversals": 0, "voided": 0, "skipped": 0}
    for pending in deps.ranges.pending_bills(cutoff):
        bill_id, purpose = pending.bill_id, pending.purpose
        if purpose == "reversal" and pending.reverses:
            deps.jobs.finish_reversal(bill_id, pending.reverses, pending.reversal_reason or "")
            outcome["reversals"] += 1
            continue
        if purpose not in ("note", "reversal"):
            log.warning("pending bill number %s is for %s: left for its own repair", bill_id,
                        purpose)
            outcome["skipped"] += 1
            continue
        reason = _repair_note_number(deps, pending) if purpose == "note" \
            else "red bill number without its original"
        if reason is None:
            outcome["requeued"] += 1
        elif deps.ranges.void_number(bill_id, reason):
            log.warning("bill number %s recorded void: %s", bill_id, reason)
            outcome["voided"] += 1
    return outcome


def _repair_note_number(deps: Ports, pending: PendingNumber) -> str | None:
    """Enqueue the note's issuance again if it still holds the number (None); else why not."""
    bill_id, payment_code = pending.bill_id, pending.payment_code
    note = deps.notes.get(payment_code)
    reservation = (note.extra or {}).get("reservation") if note else None
    if (note is not None and note.status is NoteStatus.PAID and reservation
            and reservation["bill_code"] + reservation["bill_number"] == bill_id):
        deps.jobs.issue_bill(payment_code)
        return None
    return "note not found" if note is None else \
        f"note {payment_code} is {note.status.value} and does not hold this number"
