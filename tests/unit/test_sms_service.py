"""Texting the payer their bill: exactly one message per bill, and no phone number in the logs."""

from __future__ import annotations

import logging

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.sms import SmsRejected
from chalicelib.services.issuance import issue_bill
from chalicelib.services.sms import send_bill_sms
from tests.fakes import FakeSms
from tests.unit.scenario import PHONE, paid_note


def issued(deps, **changes):
    ref = issue_bill(deps, paid_note(deps, **changes).payment_code)
    assert ref is not None
    return ref


def run_sms_jobs(deps) -> list[str]:
    """Run every queued SMS job once, as the SQS consumer would; return what each did."""
    return [send_bill_sms(deps, code, number) for code, number in deps.jobs.sms]


def unmasked_phones_in_logs(caplog) -> list[str]:
    formatter = logging.Formatter()
    leaks = []
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += formatter.formatException(record.exc_info)
        if PHONE in text:
            leaks.append(text)
    return leaks


def test_texts_the_payer_the_link_to_the_bill(deps):
    ref = issued(deps)
    assert run_sms_jobs(deps) == ["sent"]
    [(phone, text)] = deps.sms.sent
    assert phone == PHONE
    assert text == (
        "【财政电子票据】您缴纳的合肥市不动产登记中心款项80.00元已开具电子票据，"
        f"票据代码34010126，号码0000000001，校验码{ref.check_code}。查看下载："
        f"http://testserver/bills/34010126/0000000001?check_code={ref.check_code}")
    assert deps.sms_log.get(f"bill#{ref.bill_code}{ref.bill_number}").status == "sent"


def test_a_job_that_runs_twice_sends_one_text(deps):
    ref = issued(deps)
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "already"
    assert len(deps.sms.sent) == 1


def test_issuing_again_queues_the_sms_again_but_the_payer_gets_one_text(deps):
    ref = issued(deps)
    issue_bill(deps, deps.bills.rows[ref.bill_code + ref.bill_number].payment_code)
    assert run_sms_jobs(deps) == ["sent", "already"]
    assert len(deps.sms.sent) == 1


def test_a_failed_send_releases_the_claim_so_the_retry_sends_exactly_one(deps):
    ref = issued(deps)
    deps.sms.fail_next(1)
    with pytest.raises(ServiceUnavailable):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert deps.sms.sent == []
    assert deps.sms_log.get(f"bill#{ref.bill_code}{ref.bill_number}").status == "failed"
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "already"
    assert len(deps.sms.sent) == 1 and deps.sms.attempts == 2


def test_several_failed_sends_still_end_in_one_text(deps):
    ref = issued(deps)
    deps.sms.fail_next(3)
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert len(deps.sms.sent) == 1


def test_a_claim_left_by_a_crash_blocks_for_five_minutes_then_is_taken_over(deps, clock):
    ref = issued(deps)
    assert deps.sms_log.claim(f"bill#{ref.bill_code}{ref.bill_number}", "bill_issued",
                              "138****5678", clock()).taken  # then the job died
    clock.advance(minutes=4, seconds=59)
    # Not "already": the job must fail, so that SQS delivers it again after the claim expires.
    with pytest.raises(ServiceUnavailable, match="holds the claim"):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert deps.sms.sent == []
    clock.advance(seconds=2)
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert len(deps.sms.sent) == 1


def test_a_sent_text_is_never_sent_again_however_late(deps, clock):
    ref = issued(deps)
    send_bill_sms(deps, ref.bill_code, ref.bill_number)
    clock.advance(days=30)
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "already"
    assert len(deps.sms.sent) == 1


def test_a_payer_without_phone_gets_no_text(deps):
    ref = issued(deps, payer={"name": "张三", "type": "individual"})
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "no_phone"
    assert deps.sms.attempts == 0


def test_a_job_for_an_unknown_bill_does_nothing(deps):
    assert send_bill_sms(deps, "34010126", "0000000009") == "missing"
    assert deps.sms.attempts == 0


def test_phone_numbers_never_appear_unmasked_in_the_logs(deps, caplog):
    caplog.set_level(logging.DEBUG)
    ref = issued(deps)
    deps.sms.fail_next(1)
    with pytest.raises(ServiceUnavailable):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    send_bill_sms(deps, ref.bill_code, ref.bill_number)
    send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert caplog.records, "the flow is expected to log"
    assert any("138****5678" in r.getMessage() for r in caplog.records)
    assert unmasked_phones_in_logs(caplog) == []


def test_a_provider_error_naming_the_number_does_not_put_it_in_the_logs(deps, caplog):
    caplog.set_level(logging.DEBUG)
    ref = issued(deps)
    deps.sms.fail_next(1, ServiceUnavailable(
        f"Invalid parameter: PhoneNumber Reason: +86{PHONE} is not valid to publish to"))
    with pytest.raises(ServiceUnavailable):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert unmasked_phones_in_logs(caplog) == []


def test_the_sms_log_keeps_each_delivery_with_the_number_masked(deps):
    ref = issued(deps)
    deps.sms.fail_next(1)
    with pytest.raises(ServiceUnavailable) as exc:
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert PHONE not in str(exc.value)
    entry = deps.sms_log.get(f"bill#{ref.bill_code}{ref.bill_number}")
    assert (entry.status, entry.phone) == ("failed", "138****5678")
    send_bill_sms(deps, ref.bill_code, ref.bill_number)
    entry = deps.sms_log.get(f"bill#{ref.bill_code}{ref.bill_number}")
    assert (entry.status, entry.provider, entry.message_id) == (
        "sent", "fake", "fake-message-1")
    assert PHONE not in repr(deps.sms_log.rows)


def test_the_provider_gets_the_approved_template_its_parameters_and_our_reference(deps):
    ref = issued(deps)
    send_bill_sms(deps, ref.bill_code, ref.bill_number)
    [message] = deps.sms.messages
    assert message.template == "bill_issued"
    assert message.reference == f"bill#{ref.bill_code}{ref.bill_number}"
    assert message.params == {
        "unit": "合肥市不动产登记中心", "amount": "80.00", "bill_code": "34010126",
        "bill_number": "0000000001", "check_code": ref.check_code,
        "path": f"b/340101260000000001{ref.check_code}"}


def test_a_message_the_provider_refuses_for_good_is_recorded_and_never_sent_again(deps, caplog):
    caplog.set_level(logging.DEBUG)
    ref = issued(deps)
    deps.sms.fail_next(1, SmsRejected(f"isv.MOBILE_NUMBER_ILLEGAL: +86{PHONE}"))
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "rejected"
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "already"
    assert deps.sms.attempts == 1 and deps.sms.sent == []
    assert deps.bills.rows[ref.bill_code + ref.bill_number].sms_status is None
    entry = deps.sms_log.get(f"bill#{ref.bill_code}{ref.bill_number}")
    assert entry.status == "rejected" and "MOBILE_NUMBER_ILLEGAL" in entry.error
    assert unmasked_phones_in_logs(caplog) == []


def test_a_refused_event_text_is_not_retried_either(deps):
    from chalicelib.services.sms import send_event

    ref = issued(deps)
    code = deps.bills.get(ref.bill_code, ref.bill_number).bill.payment_code
    job = {"event": "refund", "payment_code": code, "refund_id": "RF1", "amount_fen": 100}
    deps.sms.fail_next(1, SmsRejected("isv.TEMPLATE_PARAMS_ILLEGAL"))
    assert send_event(deps, job) == "rejected"
    assert send_event(deps, job) == "already"
    assert deps.sms_log.get("refund#RF1").status == "rejected"
    assert deps.sms.attempts == 1


class AskingSms(FakeSms):
    """A provider that can say whether an earlier attempt went out (like QuerySendDetails)."""

    def __init__(self, went_out: set[str]) -> None:
        super().__init__()
        self.went_out, self.asked = went_out, []

    def find_sent(self, phone, reference, days):
        self.asked.append((reference, [d.isoformat() for d in days]))
        return f"outid:{reference}" if reference in self.went_out else None


def test_a_retry_asks_the_provider_first_and_does_not_send_a_text_that_went_out(deps):
    ref = issued(deps)
    log_id = f"bill#{ref.bill_code}{ref.bill_number}"
    deps.overrides["sms"] = sms = AskingSms({log_id})
    sms.fail_next(1)  # e.g. a timeout after the provider had accepted the message
    with pytest.raises(ServiceUnavailable):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    assert sms.asked == []  # a first attempt asks nobody
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert [reference for reference, _ in sms.asked] == [log_id]
    assert sms.sent == [] and sms.attempts == 1
    assert deps.sms_log.get(log_id).message_id == f"outid:{log_id}"


def test_a_retry_sends_when_the_provider_has_no_record_of_the_earlier_attempt(deps):
    from chalicelib.services.sms import send_event

    ref = issued(deps)
    code = deps.bills.get(ref.bill_code, ref.bill_number).bill.payment_code
    deps.overrides["sms"] = sms = AskingSms(set())
    job = {"event": "refund", "payment_code": code, "refund_id": "RF9", "amount_fen": 100}
    sms.fail_next(1)
    with pytest.raises(ServiceUnavailable):
        send_event(deps, job)
    assert send_event(deps, job) == "sent"
    assert [reference for reference, _ in sms.asked] == ["refund#RF9"]
    assert len(sms.sent) == 1


def test_a_bill_text_writes_only_the_sms_log_never_the_bill_row(deps):
    ref = issued(deps)
    before = repr(deps.bills.rows[ref.bill_code + ref.bill_number])
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert repr(deps.bills.rows[ref.bill_code + ref.bill_number]) == before
    assert deps.sms_log.get(f"bill#{ref.bill_code}{ref.bill_number}").attempts == 1


@pytest.mark.parametrize("status", ["sent", "rejected"])
def test_a_text_settled_on_the_bill_row_by_older_code_is_not_sent_again(deps, clock, status):
    ref = issued(deps)
    row = deps.bills.rows[ref.bill_code + ref.bill_number]
    row.sms_status, row.sms_claimed_at = status, clock()
    clock.advance(days=1)
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "already"
    assert deps.sms.attempts == 0


def test_a_claim_on_the_bill_row_by_older_code_blocks_five_minutes_then_asks_first(deps, clock):
    ref = issued(deps)
    log_id = f"bill#{ref.bill_code}{ref.bill_number}"
    row = deps.bills.rows[ref.bill_code + ref.bill_number]
    row.sms_status, row.sms_claimed_at = "sending", clock()  # then that job died
    deps.overrides["sms"] = sms = AskingSms({log_id})
    clock.advance(minutes=4, seconds=59)
    with pytest.raises(ServiceUnavailable, match="holds the claim"):
        send_bill_sms(deps, ref.bill_code, ref.bill_number)
    clock.advance(seconds=2)
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "sent"
    assert [reference for reference, _ in sms.asked] == [log_id]  # it had gone out: not resent
    assert sms.attempts == 0
    assert send_bill_sms(deps, ref.bill_code, ref.bill_number) == "already"
