"""The issuing queue's jobs: what one message of ``fiscal-issue-bill`` asks, done once.

Two kinds of message (``JobQueue.issue_bill`` and ``JobQueue.finish_reversal``):

- ``{"payment_code", "intake"?}``: issue the bill of a paid note. The notification that paid it
  rides along (``intake``, so the callback's acknowledgement stays at two AWS calls) and is
  archived first, then the bill is issued (``issuance.issue_bill``).
- ``{"reversal": {...}}``: finish a reversal the repair job found stopped after taking its red
  bill's number (``lifecycle.finish_reversal_job``); it signs, hence this queue.

Every step is idempotent, so SQS may deliver a message again; a job that raises is retried by
SQS after the queue's visibility timeout, then goes to the dead-letter queue.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.notes import BillRef
from chalicelib.services.intake import keep
from chalicelib.services.issuance import issue_bill
from chalicelib.services.lifecycle import finish_reversal_job
from chalicelib.services.ports import Ports


def run_issue_job(deps: Ports, body: dict[str, Any]) -> BillRef | None:
    """One message of the issuing queue; the bill issued (None for a reversal or nothing)."""
    if body.get("reversal"):
        finish_reversal_job(deps, body["reversal"])
        return None
    if body.get("intake"):
        keep(deps, body["intake"])  # the notification that paid the note, kept first
    return issue_bill(deps, body["payment_code"])


def handle_issue_record(deps: Ports, record: Any) -> BillRef | None:
    """Run one SQS record (Chalice's ``SQSRecord``: its ``body`` is the job's JSON)."""
    return run_issue_job(deps, json.loads(record.body))
