"""The issuing queue's jobs: what one message of ``fiscal-issue-bill`` asks, done once.

Two kinds of message (``JobQueue.issue_bill`` and ``JobQueue.finish_reversal``):

- ``{"payment_code", "intake"?}``: issue the bill of a paid note. The notification that paid it
  rides along (``intake``, so the callback's acknowledgement stays at two AWS calls) and is
  archived before anything of the bill is written (in a batch, while the notes are read), then
  the bill is issued (``issuance.issue_bill``).
- ``{"reversal": {...}}``: finish a reversal the repair job found stopped after taking its red
  bill's number (``lifecycle.finish_reversal_job``); it signs, hence this queue.

Every step is idempotent, so SQS may deliver a message again; a job that fails is retried by
SQS after the queue's visibility timeout, then goes to the dead-letter queue.

SQS hands the function up to ten messages at once (``batch_size`` in ``app.py``), and their
bills are issued together (``issuance.issue_bills``: shared reads and writes, each bill's
guarantees its own). The handler answers which messages failed, as Lambda's partial batch
response (``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``; the event source
mapping has ``FunctionResponseTypes: ReportBatchItemFailures``, infra/): only those come back,
the others are deleted. When every message failed, it raises instead, so that a caller that
does not read the answer (the local worker, a mapping without the setting) retries them all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from chalicelib.domain.notes import BillRef, Note
from chalicelib.services.intake import keep
from chalicelib.services.issuance import Outcome, issue_bill, issue_bills
from chalicelib.services.lifecycle import finish_reversal_job
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


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


def handle_issue_batch(deps: Ports, records: Iterable[Any]) -> dict[str, list[dict[str, str]]]:
    """Run a batch of SQS records (Chalice's ``SQSRecord``s) and answer the partial batch
    response: the ids of the messages that failed. Raises when every message failed.

    Each message first does what only it needs (a reversal is finished alone; a payment's
    notification is kept), then the paid notes' bills are issued together. The notifications
    are kept while the notes are read (one round trip, not two: the read changes nothing, and
    nothing of a bill is written before its notification is kept); a message whose
    notification could not be kept fails, and its note is not issued by it. A message whose
    note appears twice in the batch shares that note's one issuance and its outcome.
    """
    ids: list[str] = []  # each record's message id, in the batch's order
    outcomes: dict[int, Outcome] = {}  # record's place → its outcome
    issuing: dict[int, str] = {}  # record's place → the payment code it asks to issue
    intakes: dict[int, dict[str, Any]] = {}  # record's place → the notification to keep
    for place, record in enumerate(records):
        ids.append(record.to_dict().get("messageId", ""))
        try:
            body = json.loads(record.body)
            if body.get("reversal"):
                outcomes[place] = run_issue_job(deps, body)
                continue
            issuing[place] = str(body["payment_code"])
            if body.get("intake"):
                intakes[place] = body["intake"]
        except Exception as exc:  # noqa: BLE001 - this message runs again, alone
            log.exception("issue job %s failed", ids[-1])
            outcomes[place] = exc
    if issuing:
        codes = list(dict.fromkeys(issuing.values()))
        notes, *kept = deps.gather(partial(_read_notes, deps, codes),
                                   *(partial(_kept, deps, intake) for intake in intakes.values()))
        for place, failure in zip(intakes, kept, strict=True):
            if failure is not None:  # this message runs again, alone
                log.error("issue job %s failed", ids[place], exc_info=failure)
                outcomes[place] = failure
                del issuing[place]
        bills = issue_bills(deps, list(issuing.values()), notes=notes)
        outcomes.update({place: bills[code] for place, code in issuing.items()})
    failed = [(ids[place], outcome) for place, outcome in sorted(outcomes.items())
              if isinstance(outcome, Exception)]
    if failed and len(failed) == len(outcomes):
        raise failed[0][1]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id, _ in failed]}


def _read_notes(deps: Ports, codes: list[str]) -> Mapping[str, Note] | None:
    """The notes to issue, or None when the read failed (``issue_bills`` then reads them and
    answers that read's failure for each)."""
    try:
        return deps.notes.get_many(codes)
    except Exception:  # noqa: BLE001 - issue_bills reads again and answers its failure
        log.warning("reading %d notes to issue failed", len(codes), exc_info=True)
        return None


def _kept(deps: Ports, intake: dict[str, Any]) -> Exception | None:
    """Keep a notification; what stopped it, if anything."""
    try:
        keep(deps, intake)
        return None
    except Exception as exc:  # noqa: BLE001 - its message fails; the batch's others go on
        return exc
