"""The intake log's two stores: verified notifications in the write-once archive, refused ones in
the short-lived store, bounded per client, per channel and in size (services/intake.py)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.bank import BankConfig
from chalicelib.domain.errors import PayloadTooLarge, SignatureInvalid
from chalicelib.domain.payments import PaymentOutcome
from chalicelib.services import intake as intake_service
from chalicelib.services.intake import (
    MAX_BODY_BYTES,
    REJECTED_BODY_PREFIX,
    REJECTED_PER_CHANNEL_PER_HOUR,
    REJECTED_PER_CLIENT_PER_HOUR,
    Intake,
    client_key,
    keep,
    keep_rejected,
)
from chalicelib.services.payments import (
    record_alipay,
    record_bank,
    record_unionpay,
    record_wechatpay,
    replay,
)
from devstack.builders.bank import sign_notification
from tests.unit.scenario import create_note

BANK, SECRET = "ABC34010001", b"s" * 32
CLIENT = "203.0.113.7"


@pytest.fixture
def bank(deps):
    deps.overrides["bank"] = BankConfig(banks={BANK: SECRET})
    return deps


def counter_payment(deps, payment_code="34010026000000000017", amount_fen=8000, secret=SECRET,
                    bank_txn_id="TXN-1"):
    body = {"bank_code": BANK, "payment_code": payment_code, "amount_fen": amount_fen,
            "bank_txn_id": bank_txn_id, "paid_at": "2026-03-02T10:05:00+08:00"}
    return sign_notification(body, BANK, secret, int(deps.clock().timestamp()))


def forged(deps, n=0):
    return counter_payment(deps, secret=b"f" * 32, bank_txn_id=f"FORGED-{n}")


def refuse(deps, body, headers, client=CLIENT):
    with pytest.raises(SignatureInvalid):
        record_bank(deps, body, headers, client)


def archived_intake(deps):
    return [k for k in deps.archive.files if k.startswith("intake/")]


def kept_rejected(deps):
    return [json.loads(body) for body, _ in deps.rejected_intake.files.values()]


def test_a_forged_notification_is_kept_in_the_short_lived_store_not_the_archive(bank):
    refuse(bank, *forged(bank))
    assert archived_intake(bank) == [] and bank.archive.writes == []
    [key] = bank.rejected_intake.files
    assert key.startswith("rejected/bank/")
    [record] = kept_rejected(bank)
    assert record["outcome"] == "rejected" and record["client"] == CLIENT
    assert record["detail"].startswith("SignatureInvalid: X-Signature does not match")
    assert base64.b64decode(record["body_b64"]) == forged(bank)[0]
    assert record["body_truncated"] is False
    assert bank.payments.rows == {} and bank.jobs.issue == []


def test_the_21st_refusal_from_one_client_within_the_hour_is_counted_not_kept(bank):
    for n in range(REJECTED_PER_CLIENT_PER_HOUR + 1):
        refuse(bank, *forged(bank, n))
    assert len(bank.rejected_intake.files) == REJECTED_PER_CLIENT_PER_HOUR == 20
    refuse(bank, *forged(bank, 99), client="198.51.100.1")  # another client: its own cap
    assert len(bank.rejected_intake.files) == 21
    bank.clock.now += timedelta(hours=1)  # the next hour: a fresh cap
    refuse(bank, *forged(bank, 100))
    assert len(bank.rejected_intake.files) == 22


def test_a_client_is_counted_by_its_ipv4_address_or_its_ipv6_slash_64():
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("x" * 500) == "x" * 64 and client_key("") == "unknown"


def test_an_ipv6_client_cannot_escape_its_cap_by_changing_address_in_its_slash_64(bank):
    for n in range(REJECTED_PER_CLIENT_PER_HOUR + 5):
        refuse(bank, *forged(bank, n), client=f"2001:db8:1:2::{n + 1:x}")
    assert len(bank.rejected_intake.files) == REJECTED_PER_CLIENT_PER_HOUR


def test_the_channel_cap_bounds_refusals_kept_from_many_clients(bank):
    hour = f"{bank.clock().astimezone(UTC):%Y%m%d%H}"
    bank.counters.values[f"rejected-intake#channel#bank#{hour}"] = REJECTED_PER_CHANNEL_PER_HOUR
    refuse(bank, *forged(bank), client="198.51.100.2")  # a fresh client, but bank's hour is full
    assert bank.rejected_intake.files == {}
    other = Intake.receive(bank, "wechatpay", b"{}", {}, "198.51.100.2")
    assert keep_rejected(bank, other, "SignatureInvalid: no") is not None  # its own cap
    bank.clock.now += timedelta(hours=1)
    refuse(bank, *forged(bank), client="198.51.100.2")
    assert len(bank.rejected_intake.files) == 2


@pytest.mark.parametrize("channel", sorted(MAX_BODY_BYTES))
def test_an_oversize_body_is_refused_before_any_verification_work(deps, channel):
    class Untouchable:  # the channel's configuration: reading it at all fails the test
        def __getattr__(self, name):
            raise AssertionError(f"{channel} configuration read for an oversize body")

    deps.overrides[channel] = Untouchable()
    body = b"a=" + b"x" * MAX_BODY_BYTES[channel]  # one byte over the cap
    record = {"wechatpay": lambda: record_wechatpay(deps, body, {}, CLIENT),
              "alipay": lambda: record_alipay(deps, body, "application/x-www-form-urlencoded",
                                              CLIENT),
              "unionpay": lambda: record_unionpay(deps, body,
                                                  "application/x-www-form-urlencoded", CLIENT),
              "bank": lambda: record_bank(deps, body, {}, CLIENT)}[channel]
    with pytest.raises(PayloadTooLarge) as refused:
        record()
    assert refused.value.code == "payload_too_large"
    assert deps.archive.writes == [] and deps.payments.rows == {} and deps.jobs.issue == []
    [kept] = kept_rejected(deps)
    assert kept["detail"].startswith("PayloadTooLarge: ")
    assert kept["body_size"] == len(body) and kept["body_truncated"] is True
    assert base64.b64decode(kept["body_b64"]) == body[:REJECTED_BODY_PREFIX]


def test_a_body_exactly_at_the_cap_goes_on_to_verification(bank):
    body = b"x" * MAX_BODY_BYTES["bank"]
    with pytest.raises(SignatureInvalid, match="missing header"):
        record_bank(bank, body, {}, CLIENT)


def test_an_oversize_body_is_never_copied_whole():
    class Deps:
        @staticmethod
        def clock():
            return datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    huge = b"x" * (5 * 1024 * 1024)
    received = Intake.receive(Deps(), "alipay", huge, {}, CLIENT)  # type: ignore[arg-type]
    assert len(received.raw_body) == REJECTED_BODY_PREFIX and received.size == len(huge)


def test_what_a_refusal_keeps_is_bounded_in_every_part(bank):
    headers = {f"X-Junk-{n}": "v" * 5000 for n in range(100)}
    refused = Intake.receive(bank, "bank", b"y" * 10_000, headers, "z" * 300)
    key = keep_rejected(bank, refused, "SignatureInvalid: " + "w" * 5000)
    record = json.loads(bank.rejected_intake.get(key))
    assert all(len(v) == 1024 for v in record["headers"].values())
    assert sum(len(k) + len(v) for k, v in record["headers"].items()) <= 4096
    assert len(record["headers"]) == 3  # 3 x (10 + 1024) characters fit in 4096
    assert len(record["detail"]) == 500 and len(record["client"]) == 64
    assert len(base64.b64decode(record["body_b64"])) == REJECTED_BODY_PREFIX
    assert record["body_size"] == 10_000 and record["body_truncated"] is True
    assert len(bank.rejected_intake.get(key)) < 17 * 1024
    many = Intake.receive(bank, "bank", b"", {f"X-{n}": "v" for n in range(100)}, CLIENT)
    assert len(many.rejected_record("no")["headers"]) == 32


def test_a_failing_short_lived_store_does_not_change_the_refusal(bank):
    bank.rejected_intake.fail_next_put(".json")
    refuse(bank, *forged(bank))  # still SignatureInvalid (401), not ServiceUnavailable (503)
    assert bank.rejected_intake.files == {} and bank.archive.writes == []

    class BrokenCounters:
        def next_value(self, counter_id, expires_epoch=None):
            raise RuntimeError("DynamoDB is down")

    bank.overrides["counters"] = BrokenCounters()
    refuse(bank, *forged(bank, 1))
    assert bank.rejected_intake.files == {}


def test_a_refused_record_cannot_be_written_to_the_archive(bank):
    refused = Intake.receive(bank, "bank", b"{}", {}, CLIENT)
    with pytest.raises(ValueError, match="keep_rejected"):
        keep(bank, refused.record("rejected", "SignatureInvalid: no"))
    assert bank.archive.writes == []


def test_an_accepted_notification_rides_to_the_archive_and_nothing_is_kept_as_refused(bank):
    note = create_note(bank)
    body, headers = counter_payment(bank, note.payment_code, 8000)
    assert record_bank(bank, body, headers, CLIENT) is PaymentOutcome.RECORDED
    [record] = bank.jobs.intakes
    assert record["outcome"] == "recorded" and record["client"] == CLIENT
    assert base64.b64decode(record["body_b64"]) == body
    key = keep(bank, record)  # what the issuance job does first
    assert key.startswith("intake/bank/") and bank.archive.writes == [key]
    assert bank.rejected_intake.files == {}


def test_a_verified_exception_is_archived_at_once_not_kept_as_refused(bank):
    note = create_note(bank)
    body, headers = counter_payment(bank, note.payment_code, 7999)
    assert record_bank(bank, body, headers, CLIENT) is PaymentOutcome.AMOUNT_MISMATCH
    [key] = archived_intake(bank)
    assert json.loads(bank.archive.get(key))["outcome"] == "amount_mismatch"
    assert bank.rejected_intake.files == {}


def test_a_refusal_replays_from_the_short_lived_store_once_the_channel_is_configured(bank):
    note = create_note(bank)
    body, headers = counter_payment(bank, note.payment_code, 8000)
    bank.overrides["bank"] = BankConfig(banks={"OTHER0000001": SECRET})  # not yet configured
    refuse(bank, body, headers)
    [key] = bank.rejected_intake.files
    assert replay(bank, key) == "rejected"  # still not configured: refused again, no change
    assert bank.payments.rows == {}
    bank.overrides["bank"] = BankConfig(banks={BANK: SECRET})
    bank.clock.now += timedelta(days=2)  # replayed as of its arrival: the ±300 s window holds
    assert replay(bank, key) == "recorded"
    assert bank.jobs.issue == [note.payment_code]


def test_a_truncated_refusal_is_not_replayed(bank):
    refused = Intake.receive(bank, "bank", b"x" * (MAX_BODY_BYTES["bank"] + 1), {}, CLIENT)
    key = keep_rejected(bank, refused, "PayloadTooLarge: too big")
    assert replay(bank, key) == "rejected"


def test_the_template_expires_refusals_after_seven_days_and_locks_only_the_archive():
    from pathlib import Path

    template = json.loads((Path(__file__).parents[2] / "infra" / "resources.json").read_text())
    resources = template["Resources"]
    short = resources["RejectedIntakeBucket"]
    assert short["Type"] == "AWS::S3::Bucket"
    [rule] = short["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and "Prefix" not in rule
    assert rule["ExpirationInDays"] == intake_service.REJECTED_RETENTION_DAYS == 7
    # No Object Lock and no versioning: an expired object is gone, not kept as a version.
    assert not {"ObjectLockEnabled", "ObjectLockConfiguration",
                "VersioningConfiguration"} & set(short["Properties"])
    archive = resources["ArchiveBucket"]["Properties"]
    assert archive["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    # The function that answers /callbacks/* (its own, or the API handler) may write there.
    serving = "Callbacks" if "Callbacks" in resources else "APIHandler"
    env = resources[serving]["Properties"]["Environment"]["Variables"]
    assert env["REJECTED_INTAKE_BUCKET"] == {"Ref": "RejectedIntakeBucket"}
    role = resources[f"{serving}Role" if serving == "Callbacks" else "ApiHandlerRole"]
    statements = [s for p in role["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    assert any("s3:PutObject" in s["Action"] and any(
        "${RejectedIntakeBucket.Arn}/" in json.dumps(r) for r in s["Resource"])
        for s in statements)
