"""Recovering lost work: paid notes whose issuance job never ran, and dead-letter queues.

A payment commits, then its issuance is enqueued. If the enqueue fails after the commit (or the
job ends in the dead-letter queue after five failures), the note would stay paid and unissued:
the channel does not resend a notification it saw acknowledged. The sweeper, a scheduled job,
finds paid notes still without a bill some minutes after their payment (a sparse index of the
notes table) and enqueues their issuance again; issuance is idempotent, so a job that was only
slow costs a duplicate message and nothing else. ``redrive-dlq`` moves dead letters back to
their queues once the cause is fixed.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=5)  # an issuance normally finishes within seconds of payment
SWEEP_LIMIT = 500  # notes per run: a bounded cost even after a long outage (oldest first)


def sweep_unissued_notes(deps: Ports, limit: int = SWEEP_LIMIT) -> list[str]:
    """Enqueue the issuance of every note paid more than ``SWEEP_AFTER`` ago without a bill."""
    cutoff = (deps.clock() - SWEEP_AFTER).astimezone(UTC).isoformat(timespec="seconds")
    codes = deps.notes.awaiting_bill(cutoff, limit)
    for code in codes:
        deps.jobs.issue_bill(code)
    if codes:
        log.warning("sweeper: %d paid notes without a bill re-enqueued (oldest %s)",
                    len(codes), codes[0])
    return codes


def redrive_dead_letters(deps: Ports, limit: int = 10_000) -> dict[str, int]:
    """Move every queue's dead letters back to the queue; how many, by queue name."""
    moved = deps.jobs.redrive_dead_letters(limit)
    log.info("dead letters redriven: %s", moved)
    return moved
