"""Texts in the China regions: SMS_PROVIDER=aliyun sends each event as an approved Alibaba Cloud
SMS template with its parameters, to the provider's simulator in-process, which checks our V3
signature with the AccessKey secret the stack holds in Secrets Manager."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.services.my_bills import send_login_code
from chalicelib.services.sms import request_refund_sms
from tests.functional.support import create_note, issued_bill, queued
from tests.functional.test_sms_events import PHONE, note_body, texts
from tests.lambda_events import handler_client, run_sqs_message
from tests.world import CHANNELS_URL


@pytest.fixture
def sms(world):
    """The provider's simulator, with the app switched to it as a China deployment would be."""
    world.deps.settings = replace(world.deps.settings, sms_provider="aliyun",
                                  sms_api_url=f"{CHANNELS_URL}/dysmsapi")
    world.deps.overrides.pop("sms", None)
    return world.channels.sms


def codes(world) -> dict[str, str]:
    return world.seeded.state["aliyun_sms"]["template_codes"]


def test_a_bill_goes_out_as_its_approved_template_and_its_short_link_opens_the_bill(
        world, client, sms):
    _, bill = issued_bill(world, client)
    [message] = sms.messages
    ref = f"{bill['bill_code']}{bill['bill_number']}{bill['check_code']}"
    assert (message["phone"], message["template_code"]) == (PHONE, codes(world)["bill_issued"])
    assert message["params"] == {"unit": "合肥市不动产登记中心", "amount": "100.00",
                                 "bill_code": bill["bill_code"],
                                 "bill_number": bill["bill_number"],
                                 "check_code": bill["check_code"], "path": f"b/{ref}"}
    assert message["text"].endswith(f"校验码{bill['check_code']}。查看下载：http://testserver/b/{ref}")
    assert message["out_id"] == f"bill#{bill['bill_code']}{bill['bill_number']}"
    assert texts() == []  # nothing through SNS
    record = world.deps.sms_log.get(f"bill#{bill['bill_code']}{bill['bill_number']}")
    assert (record.status, record.provider, record.message_id) == (
        "sent", "aliyun", message["biz_id"])
    r = client.http.get(f"/b/{ref}")
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location == (f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={bill['check_code']}")
    assert client.http.get(location).status_code == 200


def test_a_short_link_that_is_not_a_bill_reference_is_refused_without_a_lookup(world, client):
    for ref in ("3401012600000000011234", "34010126000000000112345!"):
        r = client.http.get(f"/b/{ref}")
        assert r.status_code == 404 and "链接不完整或有误".encode() in r.body
    r = client.http.get(f"/b/{'x' * 500}")
    assert 400 <= r.status_code < 500 and b"Traceback" not in r.body


def test_a_note_text_reads_the_same_as_through_sns_with_or_without_a_due_date(
        world, client, sms):
    plain = create_note(world, client, note_body(notify_payer=True))["payment_code"]
    due = create_note(world, client, note_body("13912345678", notify_payer=True,
                                               due_date="2026-06-30"))["payment_code"]
    world.drain()
    by_phone = {m["phone"]: m for m in sms.messages}
    assert by_phone[PHONE]["template_code"] == codes(world)["note_created_no_due"]
    assert by_phone[PHONE]["text"] == (
        f"【财政电子票据】合肥市不动产登记中心向您开具了缴款通知，应缴金额100.00元，缴款码{plain}。"
        f"缴款：http://testserver/pay/{plain}")
    assert by_phone["13912345678"]["template_code"] == codes(world)["note_created"]
    assert by_phone["13912345678"]["text"] == (
        f"【财政电子票据】合肥市不动产登记中心向您开具了缴款通知，应缴金额100.00元，缴款码{due}，"
        f"请于2026-06-30前缴款。缴款：http://testserver/pay/{due}")


def test_a_refund_job_run_twice_sends_one_text(world, client, sms):
    code, _ = issued_bill(world, client)
    for _ in range(2):
        request_refund_sms(world.deps, code, "RF20260001", 10000)
    world.drain()
    refunds = [m for m in sms.messages if m["template"] == "refund"]
    assert len(refunds) == 1 and refunds[0]["params"]["amount"] == "100.00"


def test_a_login_code_uses_the_verification_template(world, sms):
    send_login_code(world.deps, PHONE, "203.0.113.9")
    [message] = sms.messages
    assert message["template_code"] == codes(world)["login_code"]
    assert set(message["params"]) == {"code"} and len(message["params"]["code"]) == 6


def run_sms_job(world, attempt: int) -> None:
    sqs = world.deps._client("sqs")
    [msg] = sqs.receive_message(QueueUrl=world.sms_queue_url, VisibilityTimeout=0)["Messages"]
    run_sqs_message(handler_client(), "send_sms",
                    {**msg, "Attributes": {"ApproximateReceiveCount": str(attempt)}})
    sqs.delete_message(QueueUrl=world.sms_queue_url, ReceiptHandle=msg["ReceiptHandle"])


def test_flow_control_fails_the_job_for_a_later_retry_which_sends_once(world, client, sms):
    code = create_note(world, client, note_body(notify_payer=True))["payment_code"]
    sms.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    with pytest.raises(Exception, match="BUSINESS_LIMIT_CONTROL") as exc:
        run_sms_job(world, 1)
    assert PHONE not in str(exc.value)
    assert world.deps.sms_log.get(f"note_created#{code}").status == "failed"
    world.deps.jobs.sms_event("note_created", {"payment_code": code})
    run_sms_job(world, 2)
    assert len(sms.messages) == 1
    assert world.deps.sms_log.get(f"note_created#{code}").status == "sent"


def test_a_number_the_provider_refuses_is_recorded_once_and_the_job_ends(world, client, sms):
    code = create_note(world, client, note_body(notify_payer=True))["payment_code"]
    sms.fail_next("isv.MOBILE_NUMBER_ILLEGAL")
    world.drain()
    assert queued(world, world.sms_queue_url) == 0
    record = world.deps.sms_log.get(f"note_created#{code}")
    assert record.status == "rejected" and "MOBILE_NUMBER_ILLEGAL" in record.error
    assert sms.messages == []


def test_a_wrong_access_key_secret_is_refused_by_the_provider_and_nothing_is_sent(
        world, client, sms):
    sm = world.deps._client("secretsmanager")
    secret = json.loads(sm.get_secret_value(SecretId="fiscal/sms/aliyun")["SecretString"])
    sm.put_secret_value(SecretId="fiscal/sms/aliyun", SecretString=json.dumps(
        {**secret, "access_key_secret": "not-the-secret"}))
    world.deps.overrides.pop("secrets", None)
    create_note(world, client, note_body(notify_payer=True))
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        run_sms_job(world, 1)
    assert sms.messages == []


def test_a_text_whose_answer_was_lost_is_found_on_the_retry_and_not_sent_twice(
        world, client, sms):
    code = create_note(world, client, note_body(notify_payer=True))["payment_code"]
    sms.lose_next_answer()  # the provider sends it, but we see a 504
    with pytest.raises(Exception, match="HTTP 504"):
        run_sms_job(world, 1)
    assert len(sms.messages) == 1
    world.deps.jobs.sms_event("note_created", {"payment_code": code})
    run_sms_job(world, 2)
    assert len(sms.messages) == 1
    record = world.deps.sms_log.get(f"note_created#{code}")
    assert (record.status, record.message_id) == ("sent", f"outid:note_created#{code}")
