"""SmsLog: FakeSmsLog against DynamoSmsLog (an exactly-once claim per event, then its outcome)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.records import SmsClaim, SmsDelivery
from tests.contracts.builders import T0

LATER = T0 + timedelta(minutes=1)
ABANDONED = T0 + timedelta(minutes=5, seconds=1)


class TestSmsLog:
    def test_an_event_is_claimed_once_while_it_is_being_sent_or_was_sent(self, stores):
        assert stores.sms_log.claim("note#1", "note_created", "138****8000", T0).taken is True
        assert stores.sms_log.claim("note#1", "note_created", "138****8000", LATER).taken is False
        stores.sms_log.finish("note#1", "sent", LATER, provider="sns", message_id="m-1")
        assert stores.sms_log.claim("note#1", "note_created", "138****8000", ABANDONED).taken is False

    def test_a_claim_answers_what_the_attempt_before_it_left_and_nothing_on_a_first(
            self, stores):
        first = stores.sms_log.claim("note#1", "note_created", "138****8000", T0)
        assert first == SmsClaim(taken=True, earlier=None)
        stores.sms_log.finish("note#1", "failed", LATER, provider="aliyun", error="timeout")
        failed = stores.sms_log.get("note#1")
        again = stores.sms_log.claim("note#1", "note_created", "138****8000", ABANDONED)
        assert again == SmsClaim(taken=True, earlier=failed)
        assert failed is not None and (failed.status, failed.attempts) == ("failed", 1)
        assert stores.sms_log.claim("note#1", "note_created", "138****8000",
                                    ABANDONED) == SmsClaim(taken=False)
        abandoned = stores.sms_log.get("note#1")
        later = ABANDONED + timedelta(minutes=5, seconds=1)
        taken_over = stores.sms_log.claim("note#1", "note_created", "138****8000", later)
        assert taken_over == SmsClaim(taken=True, earlier=abandoned)
        assert abandoned is not None and abandoned.status == "sending"

    def test_a_claimed_event_reads_back_with_every_field_in_text(self, stores):
        stores.sms_log.claim("note#1", "note_created", "138****8000", T0)
        assert stores.sms_log.get("note#1") == SmsDelivery(
            event_id="note#1", event="note_created", phone="138****8000",
            status="sending", provider=None, message_id=None, attempts=1,
            claimed_at=T0.isoformat(), updated_at=T0.isoformat(), error=None)
        assert stores.sms_log.get("note#2") is None

    def test_the_outcome_of_a_send_is_recorded_on_the_claim(self, stores):
        stores.sms_log.claim("note#1", "note_created", "138****8000", T0)
        stores.sms_log.finish("note#1", "sent", LATER, provider="aliyun", message_id="m-1")
        assert stores.sms_log.get("note#1") == SmsDelivery(
            event_id="note#1", event="note_created", phone="138****8000", status="sent",
            provider="aliyun", message_id="m-1", attempts=1, claimed_at=T0.isoformat(),
            updated_at=LATER.isoformat(), error=None)

    def test_a_failed_send_may_be_claimed_again_and_counts_its_attempts(self, stores):
        stores.sms_log.claim("note#1", "note_created", "138****8000", T0)
        stores.sms_log.finish("note#1", "failed", T0, provider="sns", error="timeout")
        assert stores.sms_log.get("note#1").error == "timeout"
        assert stores.sms_log.claim("note#1", "note_created", "138****8000", LATER).taken is True
        row = stores.sms_log.get("note#1")
        assert (row.status, row.attempts, row.claimed_at) == (
            "sending", 2, LATER.isoformat())
        stores.sms_log.finish("note#1", "sent", LATER, message_id="m-2")
        row = stores.sms_log.get("note#1")
        assert (row.status, row.error, row.provider, row.message_id) == (
            "sent", None, "sns", "m-2")

    def test_an_abandoned_claim_is_taken_over_after_five_minutes(self, stores):
        stores.sms_log.claim("note#1", "note_created", "138****8000", T0)
        assert stores.sms_log.claim("note#1", "note_created", "138****8000",
                                    T0 + timedelta(minutes=5)).taken is False
        assert stores.sms_log.claim("note#1", "note_created", "138****8000", ABANDONED).taken is True

    def test_a_text_sent_under_another_claim_is_recorded_with_its_event(self, stores):
        stores.sms_log.record("bill#1", "bill_issued", "138****8000", "sent", T0,
                              provider="sns", message_id="m-1")
        assert stores.sms_log.get("bill#1") == SmsDelivery(
            event_id="bill#1", event="bill_issued", phone="138****8000", status="sent",
            provider="sns", message_id="m-1", attempts=1, claimed_at=None,
            updated_at=T0.isoformat(), error=None)
        stores.sms_log.record("bill#1", "bill_issued", "138****8000", "failed", LATER,
                              error="throttled")
        row = stores.sms_log.get("bill#1")
        assert (row.status, row.attempts, row.error, row.message_id) == (
            "failed", 2, "throttled", "m-1")
