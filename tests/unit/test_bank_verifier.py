"""Agent-bank verify_notification: one test per failure message, then the happy paths.

Notifications are built with ``sign_notification`` (the simulator's helper) or, when a test
needs a validly signed but odd body, signed here with ``signature_for``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.adapters.bank import (
    BankConfig,
    BankPayment,
    signature_for,
    verify_notification,
)
from chalicelib.domain.codes import make_payment_code
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from devstack.builders.bank import sign_notification

NOW = 1_760_000_000
BANK = "ICBC5301"
SECRET = b"s3cr3t-of-the-icbc-kunming-branch"
OTHER_BANK = "CCB5301"
OTHER_SECRET = b"another-bank-secret-32-bytes-long"
PAYMENT_CODE = make_payment_code("530100", 2025, 17)
WRONG_CHECK_DIGIT = PAYMENT_CODE[:-1] + str((int(PAYMENT_CODE[-1]) + 1) % 10)
CONFIG = BankConfig(banks={BANK: SECRET, OTHER_BANK: OTHER_SECRET})


def payment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"bank_code": BANK, "payment_code": PAYMENT_CODE, "amount_fen": 15000,
                            "bank_txn_id": "ICBC20251009165320000123",
                            "paid_at": "2025-10-09T16:53:20+08:00"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def notify(body: dict[str, Any] | None = None, *, at: int = NOW, bank: str = BANK,
           secret: bytes = SECRET) -> tuple[bytes, dict[str, str]]:
    return sign_notification(payment() if body is None else body, bank, secret, at)


def raw(raw_body: bytes, *, at: int = NOW, bank: str = BANK) -> tuple[bytes, dict[str, str]]:
    """Sign arbitrary bytes, for bodies that are authentic but malformed."""
    signature = base64.b64encode(signature_for(SECRET, str(at), raw_body)).decode()
    return raw_body, {"X-Bank-Code": bank, "X-Timestamp": str(at), "X-Signature": signature}


# --- each failure, in the order the verifier checks them --------------------------------


@pytest.mark.parametrize("header", ["X-Bank-Code", "X-Timestamp", "X-Signature"])
def test_rejects_a_notification_missing_a_required_header(header):
    body, headers = notify()
    del headers[header]
    with pytest.raises(SignatureInvalid, match=rf"missing header\(s\): {header}$"):
        verify_notification(body, headers, CONFIG, NOW)


@pytest.mark.parametrize("timestamp", ["abc", "1760000000.0", "-1", "１２"])
def test_rejects_a_timestamp_that_is_not_an_integer(timestamp):
    body, headers = notify()
    headers["X-Timestamp"] = timestamp
    with pytest.raises(SignatureInvalid, match="X-Timestamp .* is not an integer"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_a_timestamp_older_than_five_minutes():
    body, headers = notify(at=NOW - 301)
    with pytest.raises(SignatureInvalid, match=r"X-Timestamp is too old \(301 s > 300 s\)"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_a_timestamp_more_than_five_minutes_in_the_future():
    body, headers = notify(at=NOW + 301)
    with pytest.raises(SignatureInvalid, match=r"X-Timestamp is in the future \(301 s > 300 s\)"):
        verify_notification(body, headers, CONFIG, NOW)


def test_accepts_a_timestamp_exactly_five_minutes_either_way():
    for at in (NOW - 300, NOW + 300):
        body, headers = notify(at=at)
        assert verify_notification(body, headers, CONFIG, NOW).amount_fen == 15000


def test_rejects_a_replay_of_an_authentic_notification_an_hour_later():
    body, headers = notify()
    assert verify_notification(body, headers, CONFIG, NOW).bank_txn_id
    with pytest.raises(SignatureInvalid, match="too old"):
        verify_notification(body, headers, CONFIG, NOW + 3600)


def test_rejects_an_unknown_bank():
    body, headers = notify(payment(bank_code="BOC5301"), bank="BOC5301")
    with pytest.raises(SignatureInvalid, match="unknown bank 'BOC5301'"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_a_signature_that_is_not_base64():
    body, headers = notify()
    headers["X-Signature"] = "not*base64!"
    with pytest.raises(SignatureInvalid, match="X-Signature is not valid base64"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_a_signature_made_with_the_wrong_secret():
    body, headers = notify(secret=b"a-guessed-secret-of-enough-length")
    with pytest.raises(SignatureInvalid, match="X-Signature does not match the body for bank "
                                               "'ICBC5301'"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_another_banks_secret_under_our_code():
    body, headers = notify(secret=OTHER_SECRET)
    with pytest.raises(SignatureInvalid, match="X-Signature does not match"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_a_body_with_the_amount_changed():
    body, headers = notify()
    tampered = body.replace(b'"amount_fen":15000', b'"amount_fen":15')
    assert tampered != body
    with pytest.raises(SignatureInvalid, match="X-Signature does not match"):
        verify_notification(tampered, headers, CONFIG, NOW)


def test_rejects_a_timestamp_header_changed_after_signing():
    body, headers = notify()
    headers["X-Timestamp"] = str(NOW - 1)
    with pytest.raises(SignatureInvalid, match="X-Signature does not match"):
        verify_notification(body, headers, CONFIG, NOW)


def test_rejects_a_body_naming_another_bank_than_the_header():
    body, headers = notify(payment(bank_code=OTHER_BANK))
    with pytest.raises(SignatureInvalid, match="bank_code 'CCB5301' in the body is not the "
                                               "X-Bank-Code 'ICBC5301'"):
        verify_notification(body, headers, CONFIG, NOW)


def test_a_signed_body_that_is_not_json_is_a_validation_failure():
    with pytest.raises(ValidationFailed, match="body is not JSON"):
        verify_notification(*raw(b"bank_code=ICBC5301"), CONFIG, NOW)


def test_a_signed_json_array_is_a_validation_failure():
    with pytest.raises(ValidationFailed, match="body is not a JSON object"):
        verify_notification(*raw(b"[]"), CONFIG, NOW)


@pytest.mark.parametrize("amount", [0, -100, True, 150.0, "15000", None])
def test_a_signed_amount_that_is_not_a_positive_integer_is_a_validation_failure(amount):
    body, headers = notify(payment(amount_fen=amount))  # None: the field is left out
    with pytest.raises(ValidationFailed) as err:
        verify_notification(body, headers, CONFIG, NOW)
    assert "amount_fen" in err.value.fields


@pytest.mark.parametrize("code", ["5301002500000000001", WRONG_CHECK_DIGIT, 123])
def test_a_signed_malformed_payment_code_is_a_validation_failure(code):
    body, headers = notify(payment(payment_code=code))
    with pytest.raises(ValidationFailed, match="缴款码") as err:
        verify_notification(body, headers, CONFIG, NOW)
    assert err.value.code == "invalid_payment_code"


@pytest.mark.parametrize("txn_id", ["", "   ", 42, "x" * 65])
def test_a_signed_bad_bank_txn_id_is_a_validation_failure(txn_id):
    with pytest.raises(ValidationFailed, match="bank_txn_id"):
        verify_notification(*notify(payment(bank_txn_id=txn_id)), CONFIG, NOW)


@pytest.mark.parametrize(("paid_at", "why"), [("2025-10-09T16:53:20", "has no offset"),
                                              ("2025-10-09 下午", "is not ISO 8601"),
                                              (1760000000, "is missing or not a string")])
def test_a_signed_bad_paid_at_is_a_validation_failure(paid_at, why):
    with pytest.raises(ValidationFailed, match=f"paid_at .*{why}"):
        verify_notification(*notify(payment(paid_at=paid_at)), CONFIG, NOW)


# --- happy paths ---------------------------------------------------------------------------


def test_accepts_a_counter_payment():
    body, headers = notify()
    assert headers["Content-Type"] == "application/json"
    assert verify_notification(body, headers, CONFIG, NOW) == BankPayment(
        bank_code=BANK, payment_code=PAYMENT_CODE, amount_fen=15000,
        bank_txn_id="ICBC20251009165320000123", paid_at="2025-10-09T16:53:20+08:00")


def test_accepts_lower_case_header_names_and_a_utc_paid_at():
    body, headers = notify(payment(paid_at="2025-10-09T08:53:20Z"))
    lowered = {name.lower(): value for name, value in headers.items()}
    assert verify_notification(body, lowered, CONFIG, NOW).paid_at == "2025-10-09T08:53:20Z"


def test_signs_the_exact_bytes_it_sends():
    body, headers = notify(payment(bank_txn_id="柜台-0001"))
    assert "柜台".encode() in body and json.loads(body)["bank_txn_id"] == "柜台-0001"
    expected = base64.b64encode(signature_for(SECRET, str(NOW), body)).decode()
    assert headers["X-Signature"] == expected
    assert verify_notification(body, headers, CONFIG, NOW).bank_txn_id == "柜台-0001"


def test_each_bank_verifies_with_its_own_secret():
    body, headers = notify(payment(bank_code=OTHER_BANK), bank=OTHER_BANK, secret=OTHER_SECRET)
    assert verify_notification(body, headers, CONFIG, NOW).bank_code == OTHER_BANK


# --- configuration -------------------------------------------------------------------------


def test_config_from_secret_and_a_repr_without_secrets():
    config = BankConfig.from_secret({"banks": {BANK: SECRET.decode()}})
    assert config.banks[BANK] == SECRET
    assert repr(config) == "BankConfig(banks=['ICBC5301'], secrets=<redacted>)"
    assert SECRET.decode() not in repr(config)


def test_config_refuses_a_short_secret():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        BankConfig(banks={BANK: b"short"})


# --- hostile sizes: each a refusal the bank is told about, never an unexpected exception ----


@pytest.mark.parametrize("digits", [13, 4_301, 5_000])
def test_rejects_a_timestamp_of_too_many_digits_signed_or_not(digits):
    body, _ = notify()
    timestamp = "1" * digits
    signature = base64.b64encode(signature_for(SECRET, timestamp, body)).decode()
    for_signature = {"X-Bank-Code": BANK, "X-Timestamp": timestamp, "X-Signature": signature}
    unsigned = {**for_signature, "X-Signature": "AAAA"}
    for headers in (for_signature, unsigned):
        with pytest.raises(SignatureInvalid, match="is not an integer of at most 12 digits"):
            verify_notification(body, headers, CONFIG, NOW)


@pytest.mark.parametrize("amount", ["1" + "0" * 14, "9" * 30, "9" * 5_000])
def test_a_signed_amount_beyond_the_bound_is_a_validation_failure(amount):
    body = json.dumps(payment(amount_fen=0)).replace('"amount_fen": 0', f'"amount_fen": {amount}')
    with pytest.raises(ValidationFailed) as refused:
        verify_notification(*raw(body.encode()), CONFIG, NOW)
    assert set(refused.value.fields) <= {"amount_fen", "body"}


def test_a_signed_deeply_nested_body_is_a_validation_failure():
    deep = json.dumps(payment())[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValidationFailed, match="body is not JSON: invalid JSON: nested"):
        verify_notification(*raw(deep.encode()), CONFIG, NOW)
