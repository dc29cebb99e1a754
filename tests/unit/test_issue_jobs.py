"""The issuing queue's jobs (``services/issue_jobs.py``): what ``app.issue_bill`` hands over."""

from __future__ import annotations

import json
from types import SimpleNamespace

from chalicelib.domain.notes import NoteStatus
from chalicelib.services.intake import key_of
from chalicelib.services.issue_jobs import handle_issue_record, run_issue_job
from tests.unit.scenario import numbers_taken, paid_note


def intake_record(payment_code: str) -> dict:
    return {"channel": "wechatpay", "received_at": "2026-03-02T10:05:00.000000+08:00",
            "headers": {}, "body_b64": "e30=", "outcome": "recorded", "detail": None,
            "payment_code": payment_code, "client": "203.0.113.9"}


def test_an_issue_job_keeps_the_notification_that_paid_then_issues_the_bill(deps):
    note = paid_note(deps)
    record = intake_record(note.payment_code)
    ref = run_issue_job(deps, {"payment_code": note.payment_code, "intake": record})
    assert ref is not None
    assert json.loads(deps.archive.get(key_of(record)))["payment_code"] == note.payment_code
    stored = deps.notes.get(note.payment_code)
    assert stored is not None and stored.status is NoteStatus.ISSUED


def test_an_sqs_record_is_read_as_the_job_it_carries(deps):
    note = paid_note(deps)
    record = SimpleNamespace(body=json.dumps({"payment_code": note.payment_code}))
    ref = handle_issue_record(deps, record)
    assert ref is not None and handle_issue_record(deps, record) == ref  # delivered again


def test_a_reversal_job_goes_to_the_reversal_service_and_issues_no_bill(deps):
    taken = numbers_taken(deps)
    assert run_issue_job(deps, {"reversal": {"red_bill_id": "340101260000000009",
                                             "original": "340101260000000001",
                                             "reason": "退费"}}) is None
    assert numbers_taken(deps) == taken and deps.jobs.sms == []
