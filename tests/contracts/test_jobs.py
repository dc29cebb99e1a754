"""JobQueue: FakeJobs against SqsJobs on moto's queues (with their dead-letter queues, as
``infra/resources.json`` declares them). Each side reads back what was queued as the job
handlers see it: the message bodies of the issuing and SMS queues."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.contracts.conftest import client


@dataclass
class Queues:
    jobs: Any
    queued: Any  # () → (issue bodies, sms bodies), oldest first, taking them off the queue
    kill: Any  # (payment code) → an issuing job in the dead-letter queue


def fake_queues() -> Queues:
    from tests.fakes import FakeJobs

    jobs = FakeJobs()

    def queued() -> tuple[list[dict], list[dict]]:
        issue = [{"payment_code": c, **({"intake": i} if i is not None else {})}
                 for c, i in zip(jobs.issue, jobs.intakes, strict=True)]
        issue += [{"reversal": r} for r in jobs.reversals]
        sms = [{"bill_code": c, "bill_number": n} for c, n in jobs.sms] + jobs.events
        jobs.issue, jobs.intakes, jobs.reversals, jobs.sms, jobs.events = [], [], [], [], []
        return issue, sms

    return Queues(jobs, queued, jobs.dead.append)


def sqs_queues() -> Queues:
    from chalicelib.adapters.sqs_jobs import SqsJobs

    sqs = client("sqs")
    urls = {}
    for name in ("fiscal-issue-bill", "fiscal-send-sms"):
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        urls[name] = sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": "180", "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": 5})})["QueueUrl"]
        urls[f"{name}-dlq"] = dlq

    def bodies(url: str) -> list[dict]:
        out = []
        while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out

    def kill(payment_code: str) -> None:
        sqs.send_message(QueueUrl=urls["fiscal-issue-bill-dlq"],
                         MessageBody=json.dumps({"payment_code": payment_code}))

    jobs = SqsJobs(sqs, urls["fiscal-issue-bill"], urls["fiscal-send-sms"])
    return Queues(jobs, lambda: (bodies(urls["fiscal-issue-bill"]),
                                 bodies(urls["fiscal-send-sms"])), kill)


@pytest.fixture(params=["fake", "sqs"])
def queues(request: pytest.FixtureRequest) -> Queues:
    if request.param == "fake":
        return fake_queues()
    request.getfixturevalue("aws")
    return sqs_queues()


def ordered(bodies: list[dict]) -> list[str]:
    return sorted(json.dumps(b, ensure_ascii=False, sort_keys=True) for b in bodies)


class TestJobQueue:
    def test_issuing_jobs_carry_the_payment_code_and_the_intake_record_if_any(self, queues):
        queues.jobs.issue_bill("34010026000000000001")
        queues.jobs.issue_bill("34010026000000000002", {"key": "intake/2.json", "sha256": "ab"})
        queues.jobs.finish_reversal("R1", "B1", "退费")
        issue, sms = queues.queued()
        assert ordered(issue) == ordered([
            {"payment_code": "34010026000000000001"},
            {"payment_code": "34010026000000000002",
             "intake": {"key": "intake/2.json", "sha256": "ab"}},
            {"reversal": {"red_bill_id": "R1", "original": "B1", "reason": "退费"}}])
        assert sms == []

    def test_sms_jobs_name_a_bill_or_an_event_with_its_data(self, queues):
        queues.jobs.send_sms("34030126", "0000000001")
        queues.jobs.sms_event("refund", {"payment_id": "wechatpay#T1", "event": "ignored"})
        issue, sms = queues.queued()
        assert issue == []
        assert ordered(sms) == ordered([
            {"bill_code": "34030126", "bill_number": "0000000001"},
            {"event": "refund", "payment_id": "wechatpay#T1"}])

    def test_texts_of_many_bills_are_queued_as_one_job_each(self, queues):
        bills = [("34030126", f"{n:010d}") for n in range(1, 13)]  # more than one request
        assert queues.jobs.send_sms_many(bills) == []
        issue, sms = queues.queued()
        assert issue == []
        assert ordered(sms) == ordered([{"bill_code": c, "bill_number": n} for c, n in bills])

    def test_dead_letters_go_back_to_their_queue_and_are_counted_by_queue(self, queues):
        for code in ("34010026000000000001", "34010026000000000002", "34010026000000000003"):
            queues.kill(code)
        assert queues.jobs.redrive_dead_letters(limit=2) == {
            "fiscal-issue-bill": 2, "fiscal-send-sms": 0}
        assert len(queues.queued()[0]) == 2
        assert queues.jobs.redrive_dead_letters() == {"fiscal-issue-bill": 1,
                                                      "fiscal-send-sms": 0}
        issue, _ = queues.queued()
        assert issue == [{"payment_code": "34010026000000000003"}]
        assert queues.jobs.redrive_dead_letters() == {"fiscal-issue-bill": 0,
                                                      "fiscal-send-sms": 0}

    def test_delaying_an_sms_job_with_a_stale_receipt_does_not_raise(self, queues):
        queues.jobs.retry_sms_later("not-a-receipt-handle", 60)
        assert queues.queued() == ([], [])
