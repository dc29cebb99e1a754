"""Faults in a batch: the issuing function takes up to ten messages at once and answers which
failed (Lambda's partial batch response). One bill failing must neither lose nor duplicate the
others, nor its own: whatever fails, and wherever the process stops, every note paid is issued
exactly once, the numbers of its bill code consecutive, each text sent once.

The harness plays SQS with partial batch responses: messages the handler names as failed come
back later, the others are deleted; when the handler raises (or the process stops), the whole
batch comes back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.faults.injector import Crash, CrashAt, Faults, moto_honours_refusals, skip_sdk_backoff
from tests.faults.test_fault_injection import (
    SQS_RETRY_DELAY,
    _paid,
    assert_billed_and_texted_once,
    run_until_done,
    with_faults,
)
from tests.functional.channel_support import run_job
from tests.functional.support import botocore_hooks
from tests.lambda_events import handler_client, run_sqs_batch

BATCH = 10  # as app.py's issue_bill takes them


def waiting(world, count: int) -> list[dict]:
    """The issuing queue's next ``count`` messages (SQS hands out at most ten at a time)."""
    sqs = world.deps._client("sqs")
    messages: list[dict] = []
    for _ in range(20):
        if len(messages) >= count:
            break
        messages += sqs.receive_message(QueueUrl=world.issue_queue_url,
                                        MaxNumberOfMessages=min(10, count - len(messages)),
                                        AttributeNames=["All"]).get("Messages", [])
    return messages


def settle(world, messages: list[dict], failed: set[str]) -> None:
    """SQS after a batch: the failed messages come back once their visibility ends, the rest
    are deleted."""
    sqs = world.deps._client("sqs")
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(QueueUrl=world.issue_queue_url,
                                          ReceiptHandle=message["ReceiptHandle"],
                                          VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=world.issue_queue_url,
                               ReceiptHandle=message["ReceiptHandle"])
    if failed:
        world.clock.now += SQS_RETRY_DELAY


def deliver_batches(world, run: Any) -> int:
    """Deliver the issuing queue's messages in batches until it is empty, ``run(messages)``
    playing the function; returns how many batches were delivered."""
    batches = 0
    while messages := waiting(world, BATCH):
        batches += 1
        assert batches < 400, "the issuing jobs never all succeed"
        ids = {m["MessageId"] for m in messages}
        try:
            answer = run(messages)
        except Exception:  # noqa: BLE001 - the whole batch comes back
            settle(world, messages, ids)
            continue
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        assert failed < ids  # all failed: the handler raises instead
        settle(world, messages, failed)
    return batches


def test_a_bill_failing_in_the_middle_of_a_batch_comes_back_alone_and_each_bill_is_issued_once(
        world, client, monkeypatch):
    codes = [_paid(world, client, i) for i in range(5)]
    messages = waiting(world, 5)
    assert len(messages) == 5
    third_bill: list[str] = []  # its archive key without the extension, once its XML is kept

    def third_bills_pdf(model, params: dict, **_: Any) -> None:
        # A bill's XML is archived before its PDF's upload starts; the PDFs upload on threads,
        # so the third note's bill is found by its XML (its PayCode), not by counting uploads.
        if model.name != "PutObject":
            return
        key, ext = params["url_path"].rsplit(".", 1)
        body = params["body"]
        body = body.getvalue() if hasattr(body, "getvalue") else body  # botocore: a BytesIO
        if ext == "xml" and f"<PayCode>{codes[2]}</PayCode>".encode() in body:
            third_bill.append(key)
        elif ext == "pdf" and key in third_bill:
            raise RuntimeError("the archive failed for this one")

    with botocore_hooks(monkeypatch, {"before-call": third_bills_pdf}):
        answer = run_sqs_batch(handler_client(), "issue_bill", messages)

    by_code = {m["Body"]: m["MessageId"] for m in messages}
    [third] = [message_id for body, message_id in by_code.items() if codes[2] in body]
    assert answer == {"batchItemFailures": [{"itemIdentifier": third}]}
    assert len(third_bill) == 1  # the failure was the third note's bill's PDF, found by its XML
    settle(world, messages, {third})
    world.drain()  # the third comes back alone, and the texts go
    assert_billed_and_texted_once(world, client, codes)


def test_batches_of_ten_while_a_fifth_of_aws_calls_fail_issue_every_note_once(
        world, client, monkeypatch):
    notes = 40
    codes = [_paid(world, client, i) for i in range(notes)]
    faults = Faults(rate=0.2, seed=20261202)
    moto_honours_refusals(monkeypatch)
    skip_sdk_backoff(monkeypatch)
    handlers = handler_client()
    with botocore_hooks(monkeypatch, faults.hooks()):
        batches = deliver_batches(world, lambda messages: with_faults(
            faults, lambda: run_sqs_batch(handlers, "issue_bill", messages)))
        world.clock.now += timedelta(minutes=15)  # the scheduled jobs run, faulted too
        for job in ("repair_pending_bills", "sweep_unissued_notes"):
            run_until_done(faults, job)
        batches += deliver_batches(world, lambda messages: with_faults(
            faults, lambda: run_sqs_batch(handlers, "issue_bill", messages)))
    world.drain()  # the texts, unfaulted (the fault storm test faults them)

    print(f"\nbatch fault storm: {batches} batches, {faults.requests} AWS requests, "
          f"injected {faults.injected}")
    assert sum(faults.injected.values()) > 0.1 * faults.requests
    assert_billed_and_texted_once(world, client, codes)


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-the-call"])
def test_a_crash_at_any_step_of_a_batch_still_gives_one_bill_and_one_text_each(
        world, client, monkeypatch, after):
    current: list[CrashAt] = [CrashAt(at=0)]
    hooks = {"before-call": lambda **kw: current[0].before_call(**kw),
             "after-call": lambda **kw: current[0].after_call(**kw)}
    handlers = handler_client()

    def crashing(messages: list[dict]) -> dict:
        current[0].active = True
        try:
            return run_sqs_batch(handlers, "issue_bill", messages)
        finally:
            current[0].active = False

    with botocore_hooks(monkeypatch, hooks):
        codes = [_paid(world, client, 0)]
        deliver_batches(world, crashing)  # warms the caches (keys, secrets, the range)
        codes += [_paid(world, client, i) for i in (1, 2)]
        current[0] = CrashAt(at=0)
        deliver_batches(world, crashing)  # a warm batch of two, to learn its steps
        steps = current[0].calls
        assert len(steps) >= 8, steps
        for at in range(1, len(steps) + 1):
            first = len(codes)
            codes += [_paid(world, client, i) for i in (first, first + 1)]
            current[0] = CrashAt(at=at, after=after)
            messages = waiting(world, 2)
            with pytest.raises(Crash):
                crashing(messages)
            settle(world, messages, {m["MessageId"] for m in messages})  # all come back
        current[0] = CrashAt(at=0)
        deliver_batches(world, crashing)
        world.clock.now += timedelta(minutes=15)
        run_job("repair_pending_bills")
        world.drain()

    print(f"\nbatch issuance steps: {steps}")
    assert_billed_and_texted_once(world, client, codes)
