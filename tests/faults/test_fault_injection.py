"""Faults: AWS failing a fifth of its calls, and crashes between the steps of issuance.

The whole app runs on moto in-process (the functional tier's world). The harness plays what is
outside the product and keeps its promises: a channel sends a notification again until it gets
its acknowledgement; SQS delivers a message again until its handler succeeds; EventBridge runs
the scheduled jobs. Its own AWS calls (receiving and deleting messages, reading state to check)
are never faulted: only the product's are.

What must hold afterwards: every note paid is issued exactly once, with a bill number of its
own, the numbers of each bill code consecutive (none skipped, none repeated, none void), every
archived file intact, and one text per bill.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamo_notes import IN_PROGRESS_TIMEOUT
from devstack.notifications import (
    alipay_notification,
    bank_notification,
    unionpay_notification,
    wechatpay_notification,
)
from tests.faults.injector import (
    Crash,
    CrashAt,
    Faults,
    moto_honours_refusals,
    skip_sdk_backoff,
)
from tests.functional.channel_support import run_job
from tests.functional.support import JSON, NOTE, body_of, botocore_hooks
from tests.lambda_events import handler_client, run_sqs_message

CHANNELS = ("wechatpay", "alipay", "unionpay", "bank")
NOTES = int(os.environ.get("FAULT_NOTES", "200"))
ACKS = {"wechatpay": lambda r: r.status_code in (200, 204),
        "alipay": lambda r: r.status_code == 200 and r.body == b"success",
        "unionpay": lambda r: r.status_code == 200 and r.body == b"ok",
        "bank": lambda r: r.status_code == 200}
NOTIFIERS: dict[str, Callable[..., tuple[bytes, dict]]] = {
    "wechatpay": wechatpay_notification, "alipay": alipay_notification,
    "unionpay": unionpay_notification}
MAX_TRIES = 80  # a fifth of calls failing: eight calls in a row all succeed one time in six
SQS_RETRY_DELAY = timedelta(seconds=30)  # a failed message comes back after its visibility timeout
JOB_TRIES = 300  # issuance makes about twelve calls: all succeed one time in fifteen


def phone_of(i: int) -> str:
    return f"139{i:08d}"


def with_faults(faults: Any, call: Callable[[], Any]) -> Any:
    faults.active = True
    try:
        return call()
    finally:
        faults.active = False


def until(world, faults: Any, call: Callable[[], Any], done: Callable[[Any], bool],
          what: str) -> Any:
    """Call the product until ``done``, as a careful client does: a 5xx is tried again; a 409
    "request in progress" (an attempt that failed midway holds the idempotency key) is tried
    again once the claim has gone stale; anything else ends the test."""
    for _ in range(MAX_TRIES):
        response = with_faults(faults, call)
        if done(response):
            return response
        if response.status_code == 409 and b"request_in_progress" in response.body:
            world.clock.now += IN_PROGRESS_TIMEOUT + timedelta(seconds=1)
            faults.waited_for_claims += 1
            continue
        assert response.status_code >= 500, (what, response.status_code, response.body)
    raise AssertionError(f"{what}: no success in {MAX_TRIES} tries")


def create_note(world, client, faults, i: int) -> str:
    body = json.dumps({**NOTE, "payer": {**NOTE["payer"], "phone": phone_of(i)}})
    headers = {**world.auth(), "Idempotency-Key": f"fault-note-{i}"}
    r = until(world, faults, lambda: client.http.post("/v1/notes", headers=headers, body=body),
              lambda r: r.status_code == 201, f"note {i}")
    return body_of(r)["payment_code"]


def pay(world, client, faults, code: str, channel: str) -> None:
    """The payer opens an order; the channel notifies until acknowledged (one body, resent)."""
    if channel == "bank":
        body, headers = bank_notification(world.stack, code, NOTE["total_fen"], now=world.clock())
    else:
        order = body_of(until(world, faults, lambda: client.http.post(
            f"/v1/public/notes/{code}/pay", headers=JSON, body=json.dumps({"channel": channel})),
            lambda r: r.status_code == 201, f"order {code}"))
        body, headers = NOTIFIERS[channel](world.stack, order["out_trade_no"],
                                           order["amount_fen"], now=world.clock())
    until(world, faults, lambda: client.http.post(f"/callbacks/{channel}", headers=headers, body=body),
          ACKS[channel], f"{channel} notification {code}")


def deliver_jobs(world, faults) -> Counter:
    """SQS's promise: each message is delivered again until its handler succeeds."""
    handlers = handler_client()
    sqs = world.deps._client("sqs")
    received: Counter = Counter()
    last_error: dict[str, str] = {}
    while True:
        progressed = False
        for url, name in ((world.issue_queue_url, "issue_bill"),
                          (world.sms_queue_url, "send_sms")):
            for msg in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           AttributeNames=["All"]).get("Messages", []):
                progressed = True
                received[msg["MessageId"]] += 1
                assert received[msg["MessageId"]] <= JOB_TRIES, \
                    f"{name} never succeeds: {last_error.get(msg['MessageId'])}"
                try:
                    with_faults(faults, lambda name=name, msg=msg:
                                run_sqs_message(handlers, name, msg))
                except Exception as exc:  # noqa: BLE001 - any failure: SQS delivers it again
                    last_error[msg["MessageId"]] = repr(exc)
                    world.clock.now += SQS_RETRY_DELAY  # the message is hidden for a while
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"],
                                                  VisibilityTimeout=0)
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        if not progressed:
            return received


def texts_by_phone() -> Counter:
    from moto.sns.models import sns_backends

    return Counter(number for number, _ in
                   sns_backends["123456789012"]["cn-north-1"].sms_messages.values())


def assert_billed_and_texted_once(world, client, codes: list[str]) -> None:
    """Each note (``codes[i]`` the note of payer i) has one bill, numbers consecutive, none void,
    one payment, both files archived intact, and its payer got exactly one text."""
    bills: dict[str, list[int]] = {}
    for code in codes:
        note = body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth()))
        assert note["status"] == "issued", note
        bills.setdefault(note["bill"]["bill_code"], []).append(int(note["bill"]["bill_number"]))
    for bill_code, numbers in bills.items():
        assert len(set(numbers)) == len(numbers), f"{bill_code}: a number used twice"
        assert max(numbers) - min(numbers) + 1 == len(numbers), f"{bill_code}: a number skipped"
    ddb = world.deps._client("dynamodb")
    rows = ddb.scan(TableName=world.deps.settings.table("BILLS"), Select="COUNT")["Count"]
    assert rows == len(codes)  # no void numbers, no second bill
    payments = ddb.scan(TableName=world.deps.settings.table("PAYMENTS"), Select="COUNT")["Count"]
    assert payments == len(codes)  # one payment per note, no exception
    assert all(r.voided == 0 for r in world.deps.ranges.all()), "a number recorded void"
    from chalicelib.services.integrity import check_archive

    report = check_archive(world.deps)
    assert report.ok and report.checked >= 2 * len(codes), report
    texts = texts_by_phone()
    assert all(texts["+86" + phone_of(i)] == 1 for i in range(len(codes))), texts.most_common(3)


def test_two_hundred_notes_paid_through_every_channel_while_a_fifth_of_aws_calls_fail(
        world, client, monkeypatch):
    faults = Faults(rate=0.2)
    moto_honours_refusals(monkeypatch)
    backoff = skip_sdk_backoff(monkeypatch)
    with botocore_hooks(monkeypatch, faults.hooks()):
        codes = [create_note(world, client, faults, i) for i in range(NOTES)]
        for i, code in enumerate(codes):
            pay(world, client, faults, code, CHANNELS[i % len(CHANNELS)])
        deliver_jobs(world, faults)
        world.clock.now += timedelta(minutes=15)  # the scheduled jobs run, faulted too
        for job in ("repair_pending_bills", "sweep_unissued_notes"):
            run_until_done(faults, job)
        deliver_jobs(world, faults)

    print(f"\nfault storm: {faults.requests} AWS requests by the product, injected "
          f"{faults.injected}, {faults.waited_for_claims} waits for a stale idempotency claim, "
          f"{backoff.slept:.0f} s of SDK back-off not slept; faults by call: "
          f"{sorted(faults.points.items())}")
    assert sum(faults.injected.values()) > 0.15 * faults.requests  # the storm really happened
    assert set(faults.injected) == {"refusal", "connect_timeout", "read_timeout_after_work"}
    assert len(set(codes)) == NOTES
    assert_billed_and_texted_once(world, client, codes)


def run_until_done(faults: Faults, job: str) -> None:
    """EventBridge runs the job again at its next tick when a run fails."""
    for _ in range(MAX_TRIES):
        try:
            with_faults(faults, lambda: run_job(job))
            return
        except Exception:  # noqa: BLE001, S112 - a failed run: the next tick runs it again
            continue
    raise AssertionError(f"{job} never completed")


def _paid(world, client, i: int) -> str:
    code = create_note(world, client, Faults(rate=0), i)
    pay(world, client, Faults(rate=0), code, CHANNELS[i % len(CHANNELS)])
    return code


def run_issue_job(world, hook: CrashAt) -> str | None:
    """Run the issue queue's one message with ``hook`` active.

    When the process crashes, the message is taken off the queue and its body returned, so the
    harness can deliver it again later, as SQS would once its visibility timeout ends.
    """
    sqs = world.deps._client("sqs")
    [msg] = sqs.receive_message(QueueUrl=world.issue_queue_url,
                                MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=world.issue_queue_url, ReceiptHandle=msg["ReceiptHandle"])
    handlers = handler_client()
    hook.active = True
    try:
        run_sqs_message(handlers, "issue_bill", msg)
    except Crash:
        return msg["Body"]
    finally:
        hook.active = False
    return None


@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-the-call"])
def test_a_crash_at_any_step_of_issuance_still_gives_one_bill_and_one_text(
        world, client, monkeypatch, after):
    current: list[CrashAt] = [CrashAt(at=0)]
    hooks = {"before-call": lambda **kw: current[0].before_call(**kw),
             "after-call": lambda **kw: current[0].after_call(**kw)}
    with botocore_hooks(monkeypatch, hooks):
        codes = [_paid(world, client, 0)]
        assert run_issue_job(world, current[0]) is None  # warms the caches (keys, secrets)
        codes.append(_paid(world, client, 1))
        current[0] = CrashAt(at=0)
        assert run_issue_job(world, current[0]) is None  # a warm run, to learn its steps
        steps = current[0].calls
        assert len(steps) >= 4, steps
        crashed: list[str] = []
        for at in range(1, len(steps) + 1):
            codes.append(_paid(world, client, 1 + at))
            current[0] = CrashAt(at=at, after=after)
            body = run_issue_job(world, current[0])
            assert body is not None, f"no crash at step {at} ({steps[at - 1]})"
            crashed.append(body)
        sqs = world.deps._client("sqs")
        for body in crashed:  # SQS delivers each crashed job again
            sqs.send_message(QueueUrl=world.issue_queue_url, MessageBody=body)
        world.drain()
        world.clock.now += timedelta(minutes=15)
        run_job("repair_pending_bills")
        world.drain()

    print(f"\nissuance steps: {steps}")
    assert_billed_and_texted_once(world, client, codes)
