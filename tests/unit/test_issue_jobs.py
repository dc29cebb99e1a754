"""The issuing queue's jobs (``services/issue_jobs.py``): what ``app.issue_bill`` hands over."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.notes import NoteStatus
from chalicelib.services.intake import key_of
from chalicelib.services.issue_jobs import handle_issue_batch, handle_issue_record, run_issue_job
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


def record_of(body: dict, message_id: str) -> SimpleNamespace:
    """An SQS record as Chalice hands it: its body, and its message id in the raw record."""
    raw = {"messageId": message_id, "body": json.dumps(body)}
    return SimpleNamespace(body=raw["body"], to_dict=lambda: raw)


def test_a_batch_answers_only_the_messages_that_failed_and_issues_the_others(deps):
    notes = [paid_note(deps, f"42000000012026030200000{i:05d}") for i in range(3)]
    records = [record_of({"payment_code": notes[0].payment_code}, "m0"),
               record_of({"no_payment_code": True}, "m1"),
               record_of({"payment_code": notes[1].payment_code,
                          "intake": intake_record(notes[1].payment_code)}, "m2"),
               record_of({"payment_code": notes[2].payment_code}, "m3")]
    assert handle_issue_batch(deps, records) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]}
    issued = [deps.notes.get(n.payment_code) for n in notes]
    assert [n.bill.bill_number for n in issued] == ["0000000001", "0000000002", "0000000003"]
    assert deps.jobs.sms == [(n.bill.bill_code, n.bill.bill_number) for n in issued]


def test_two_messages_for_one_note_in_a_batch_share_its_one_bill(deps):
    note = paid_note(deps)
    records = [record_of({"payment_code": note.payment_code}, "m0"),
               record_of({"payment_code": note.payment_code}, "m1")]
    assert handle_issue_batch(deps, records) == {"batchItemFailures": []}
    assert numbers_taken(deps) == 1 and len(deps.jobs.sms) == 1


def test_a_bill_failing_in_a_batch_fails_its_message_alone_and_its_retry_keeps_its_number(deps):
    notes = [paid_note(deps, f"42000000012026030200000{i:05d}") for i in range(3)]
    deps.archive.fail_next_put(".pdf")  # the first bill's PDF
    records = [record_of({"payment_code": n.payment_code}, f"m{i}") for i, n in enumerate(notes)]
    assert handle_issue_batch(deps, records) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert deps.notes.get(notes[0].payment_code).status is NoteStatus.PAID
    assert handle_issue_batch(deps, records[:1]) == {"batchItemFailures": []}
    assert [deps.notes.get(n.payment_code).bill.bill_number for n in notes] == [
        "0000000001", "0000000002", "0000000003"]
    assert numbers_taken(deps) == 3 and len(deps.jobs.sms) == 3


def test_a_batch_whose_every_message_failed_raises_so_that_all_come_back(deps):
    note = paid_note(deps)
    deps.archive.fail_next_put(".xml")
    with pytest.raises(ServiceUnavailable):
        handle_issue_batch(deps, [record_of({"payment_code": note.payment_code}, "m0"),
                                  record_of({}, "m1")])
    assert deps.notes.get(note.payment_code).status is NoteStatus.PAID


class TextsRefusedFor:
    """FakeJobs, but the queue refuses the text job of the bills numbered ``refused``."""

    def __init__(self, jobs, refused: set[str]) -> None:
        self._jobs, self._refused = jobs, refused

    def send_sms_many(self, bills):
        self._jobs.send_sms_many([b for b in bills if b[1] not in self._refused])
        return [b for b in bills if b[1] in self._refused]

    def __getattr__(self, name):
        return getattr(self._jobs, name)


def test_a_bill_whose_text_was_not_queued_fails_its_message_and_its_retry_queues_it(deps):
    notes = [paid_note(deps, f"42000000012026030200000{i:05d}") for i in range(2)]
    fake_jobs = deps.jobs
    deps.overrides["jobs"] = TextsRefusedFor(fake_jobs, {"0000000002"})
    records = [record_of({"payment_code": n.payment_code}, f"m{i}") for i, n in enumerate(notes)]
    assert handle_issue_batch(deps, records) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert deps.notes.get(notes[1].payment_code).status is NoteStatus.ISSUED  # the bill stands
    deps.overrides["jobs"] = fake_jobs
    assert handle_issue_batch(deps, records[1:]) == {"batchItemFailures": []}
    assert sorted(n for _, n in fake_jobs.sms) == ["0000000001", "0000000002"]
    assert numbers_taken(deps) == 2


def own_intake(payment_code: str) -> dict:
    """A notification of its own (its own archive key) for ``payment_code``."""
    return {**intake_record(payment_code),
            "body_b64": base64.b64encode(payment_code.encode()).decode()}


def test_a_batch_keeps_its_notifications_while_its_notes_are_read_and_writes_after_both(deps):
    import threading

    notes = [paid_note(deps, f"42000000012026030200000{i:05d}") for i in range(2)]
    together = threading.Barrier(3, timeout=5)  # broken unless the read and both keeps overlap
    events: list[str] = []
    read, put = deps.notes.get_many, deps.archive.put_once

    def reading(codes):
        together.wait()
        events.append("read")
        return read(codes)

    def putting(key, body, content_type):
        if key.endswith(".json"):
            together.wait()
            events.append("kept")
        else:
            events.append("bill archived")
        return put(key, body, content_type)

    deps.notes.get_many, deps.archive.put_once = reading, putting
    records = [record_of({"payment_code": n.payment_code,
                          "intake": own_intake(n.payment_code)}, f"m{i}")
               for i, n in enumerate(notes)]
    assert handle_issue_batch(deps, records) == {"batchItemFailures": []}
    assert not together.broken
    assert sorted(events[:3]) == ["kept", "kept", "read"] and "kept" not in events[3:]
    assert all(deps.notes.get(n.payment_code).status is NoteStatus.ISSUED for n in notes)


def test_a_notification_that_cannot_be_kept_fails_its_message_and_issues_nothing_for_it(deps):
    notes = [paid_note(deps, f"42000000012026030200000{i:05d}") for i in range(2)]
    deps.archive.fail_next_put(".json")
    records = [record_of({"payment_code": n.payment_code,
                          "intake": own_intake(n.payment_code)}, f"m{i}")
               for i, n in enumerate(notes)]
    answer = handle_issue_batch(deps, records)
    (failed,) = answer["batchItemFailures"]
    kept_failed = notes[int(failed["itemIdentifier"][1])]
    assert deps.notes.get(kept_failed.payment_code).status is NoteStatus.PAID
    assert numbers_taken(deps) == 1
    assert handle_issue_batch(deps, records) == {"batchItemFailures": []}  # its retry
    assert all(deps.notes.get(n.payment_code).status is NoteStatus.ISSUED for n in notes)
