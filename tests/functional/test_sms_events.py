"""Texts to payers per event: asked-for note texts, bills, reversals, refunds; each sent once."""

from __future__ import annotations

import json
import logging

from chalicelib.services.sms import request_refund_sms
from tests.functional.support import (
    NOTE,
    assert_error,
    create_note,
    issued_bill,
    queued,
)
from tests.lambda_events import run_sqs_message

PHONE = "13812345678"


def sent() -> dict[str, tuple[str, str]]:
    """moto's SMS: message id → (number, text)."""
    from moto.sns.models import sns_backends

    return dict(sns_backends["123456789012"]["cn-north-1"].sms_messages)


def texts() -> list[tuple[str, str]]:
    return list(sent().values())


def message_ids() -> list[str]:
    return list(sent())


def texts_to(phone: str) -> list[str]:
    return [text for number, text in texts() if number == "+86" + phone]


def note_body(phone: str = PHONE, **extra) -> dict:
    return {**NOTE, "payer": {"name": "张三", "type": "individual", "phone": phone}, **extra}


def duplicate_sms_jobs(world) -> int:
    """Put every waiting SMS job on the queue a second time (SQS delivers at least once)."""
    sqs = world.deps._client("sqs")
    bodies = [m["Body"] for m in sqs.receive_message(
        QueueUrl=world.sms_queue_url, MaxNumberOfMessages=10,
        VisibilityTimeout=0).get("Messages", [])]
    for body in bodies:
        sqs.send_message(QueueUrl=world.sms_queue_url, MessageBody=body)
    return len(bodies)


def test_a_note_is_texted_only_when_the_unit_asks(world, client):
    create_note(world, client, note_body())
    assert queued(world, world.sms_queue_url) == 0
    world.drain()
    assert texts() == []

    note = create_note(world, client, note_body("13912345678", notify_payer=True))
    code = note["payment_code"]
    world.drain()
    [text] = texts_to("13912345678")
    assert text.startswith("【财政电子票据】合肥市不动产登记中心向您开具了缴款通知，"
                           "应缴金额100.00元")
    assert f"缴款码{code}" in text and text.endswith(f"http://testserver/pay/{code}")
    record = world.deps.sms_log.get(f"note_created#{code}")
    assert record.status == "sent" and record.phone == "139****5678"
    assert record.provider == "sns" and record.message_id in message_ids()


def test_notify_payer_is_a_boolean_and_needs_a_phone(world, client):
    r = client.http.post("/v1/notes", headers=world.auth(),
                         body=json.dumps(note_body(notify_payer="yes")))
    assert_error(r, 400, "notify_payer")
    no_phone = {**NOTE, "payer": {"name": "张三", "type": "individual"}, "notify_payer": True}
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(no_phone))
    assert_error(r, 400, "payer.phone")


def test_a_job_run_twice_and_a_retried_request_still_send_one_text(world, client):
    headers = {**world.auth(), "Idempotency-Key": "note-2026-0001"}
    body = json.dumps(note_body(notify_payer=True))
    first = client.http.post("/v1/notes", headers=headers, body=body)
    again = client.http.post("/v1/notes", headers=headers, body=body)
    assert first.status_code == again.status_code == 201
    assert queued(world, world.sms_queue_url) == 2  # the retry enqueues again, on purpose
    assert duplicate_sms_jobs(world) == 2
    world.drain()
    assert len(texts_to(PHONE)) == 1


def test_a_note_cancelled_before_its_text_goes_out_is_not_texted(world, client):
    code = create_note(world, client, note_body(notify_payer=True))["payment_code"]
    client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth(), body="{}")
    world.drain()
    assert texts_to(PHONE) == []


def test_a_bill_is_texted_once_with_its_delivery_recorded(world, client):
    code, bill = issued_bill(world, client)
    [text] = texts_to(PHONE)
    assert "已开具电子票据" in text and bill["check_code"] in text
    world.deps.jobs.send_sms(bill["bill_code"], bill["bill_number"])
    world.deps.jobs.sms_event("bill_issued", {"bill_code": bill["bill_code"],
                                              "bill_number": bill["bill_number"]})
    world.drain()
    assert len(texts_to(PHONE)) == 1
    record = world.deps.sms_log.get(f"bill#{bill['bill_code']}{bill['bill_number']}")
    assert record.status == "sent" and record.event == "bill_issued" and record.message_id


def test_a_bills_text_reads_the_bill_claims_sends_and_records_and_reads_nothing_else(
        world, client, monkeypatch):
    """Four requests: whatever an earlier attempt left in the SMS log comes back with the
    claim's own write (``ALL_OLD``), not from a read of the log before it."""
    from chalicelib.services import issuance
    from chalicelib.services.sms import run_sms_job
    from tests.functional.support import counting_aws_calls, paid_note

    code, _ = paid_note(world, client)
    ref = issuance.issue_bill(world.deps, code)
    assert ref is not None
    with counting_aws_calls(monkeypatch) as calls:
        outcome = run_sms_job(world.deps, {"bill_code": ref.bill_code,
                                           "bill_number": ref.bill_number})
    assert outcome == "sent" and len(texts_to(PHONE)) == 1
    assert calls.calls == ["dynamodb.GetItem", "dynamodb.UpdateItem", "sns.Publish",
                           "dynamodb.UpdateItem"]


def test_a_red_bill_gets_the_reversal_text_once(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.post(f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/reversal",
                         headers=world.auth(), body=json.dumps({"reason": "缴款人申请退费"}))
    red = json.loads(r.body)
    duplicate_sms_jobs(world)
    world.drain()
    reversal = [t for t in texts_to(PHONE) if "已冲红" in t]
    assert len(reversal) == 1 and len(texts_to(PHONE)) == 2
    assert reversal[0] == (
        f"【财政电子票据】您在合肥市不动产登记中心的票据（代码{bill['bill_code']}，号码"
        f"{bill['bill_number']}）已冲红，红字票据代码{red['bill_code']}，号码{red['bill_number']}，"
        f"校验码{red['check_code']}。查看：http://testserver/bills/{red['bill_code']}/"
        f"{red['bill_number']}?check_code={red['check_code']}")
    record = world.deps.sms_log.get(f"bill#{red['bill_code']}{red['bill_number']}")
    assert record.event == "bill_reversed" and record.status == "sent"


def test_a_refund_is_texted_once_per_refund(world, client):
    code, _ = issued_bill(world, client)
    for _ in range(2):
        request_refund_sms(world.deps, code, "RF20260001", 10000)
    request_refund_sms(world.deps, code, "RF20260002", 2000)
    world.drain()
    refunds = [t for t in texts_to(PHONE) if "已退款" in t]
    assert sorted(refunds) == sorted([
        f"【财政电子票据】您向合肥市不动产登记中心缴纳的款项（缴款码{code}）已退款100.00元，"
        "将按原支付方式退回，请注意查收。",
        f"【财政电子票据】您向合肥市不动产登记中心缴纳的款项（缴款码{code}）已退款20.00元，"
        "将按原支付方式退回，请注意查收。"])


class FailingOnce:
    """An SMS sender that fails its first send the way SNS does, naming the number."""

    name = "sns"

    def __init__(self, real) -> None:
        self.real, self.failed = real, False

    def send(self, phone: str, text: str) -> str:
        if not self.failed:
            self.failed = True
            from chalicelib.domain.errors import ServiceUnavailable

            raise ServiceUnavailable(f"Invalid parameter: PhoneNumber Reason: +86{phone} is "
                                     "not valid to publish to")
        return self.real.send(phone, text)


class RecordingJobs:
    """The real SQS jobs, recording the retry delays asked for."""

    def __init__(self, real) -> None:
        self.real, self.delays = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def retry_sms_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self.delays.append(delay_seconds)
        self.real.retry_sms_later(receipt_handle, delay_seconds)


def test_a_failed_send_backs_off_then_sends_once_and_logs_no_number(world, client, caplog):
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    code = create_note(world, client, note_body(notify_payer=True))["payment_code"]
    world.deps.overrides["sms"] = FailingOnce(world.deps.sms)
    world.deps.overrides["jobs"] = jobs = RecordingJobs(world.deps.jobs)
    sqs = world.deps._client("sqs")
    [message] = sqs.receive_message(QueueUrl=world.sms_queue_url,
                                    AttributeNames=["ApproximateReceiveCount"])["Messages"]
    try:
        run_sqs_message(client, "send_sms", message)
        raise AssertionError("the failed send should fail the job")
    except Exception as exc:  # noqa: BLE001 - whatever Lambda would see
        assert PHONE not in str(exc)
    assert jobs.delays == [30]
    assert world.deps.sms_log.get(f"note_created#{code}").status == "failed"
    run_sqs_message(client, "send_sms",
                    {**message, "Attributes": {"ApproximateReceiveCount": "2"}})
    run_sqs_message(client, "send_sms", message)
    assert len(texts_to(PHONE)) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if r.name.startswith("chalicelib"))
    assert "138****5678" in logged and PHONE not in logged
