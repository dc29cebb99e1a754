"""Agent-bank counter payments (银行柜台缴款): verify the notification.

No national standard exists, so the contract is ours (CONTRACT.md, ``POST /callbacks/bank``): a
JSON body ``{bank_code, payment_code, amount_fen, bank_txn_id, paid_at}`` with the headers
``X-Bank-Code``, ``X-Timestamp`` (epoch seconds) and ``X-Signature`` = base64 HMAC-SHA256 with
the bank's secret over ``timestamp + "\\n" + raw body``; a ±300 s window stops replays.

The seam: ``verify_notification(raw_body, headers, config, now)`` is a pure function. It checks
the headers, the timestamp window and the HMAC over the *raw bytes received* (constant-time) first
and only then parses the JSON. Authenticity failures raise ``SignatureInvalid`` with a message
naming the check; a correctly signed but malformed body raises ``ValidationFailed``. The local
stack builds notifications with ``signature_for`` (``devstack.builders.bank``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from chalicelib.domain.codes import check_payment_code
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.json_text import parse_json
from chalicelib.domain.money import check_fen

TOLERANCE_SECONDS = 300
_REQUIRED_HEADERS = ("X-Bank-Code", "X-Timestamp", "X-Signature")
_MAX_TXN_ID = 64
_MAX_TIMESTAMP_DIGITS = 12  # epoch seconds: 10 digits until the year 2286


@dataclass(frozen=True, repr=False)
class BankConfig:
    """Each agent bank's HMAC secret, by bank code."""

    banks: Mapping[str, bytes]

    def __post_init__(self) -> None:
        for code, secret in self.banks.items():
            if not isinstance(secret, bytes) or len(secret) < 16:
                raise ValueError(f"the secret of bank {code!r} must be at least 16 bytes")
        object.__setattr__(self, "banks", MappingProxyType(dict(self.banks)))

    def __repr__(self) -> str:
        return f"BankConfig(banks={sorted(self.banks)!r}, secrets=<redacted>)"

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> BankConfig:
        """Build from the secret's JSON: ``{"banks": {bank_code: secret}}``."""
        return cls(banks={code: secret.encode("utf-8")
                          for code, secret in data["banks"].items()})


@dataclass(frozen=True)
class BankPayment:
    """A verified counter payment; ``paid_at`` is ISO 8601 with an offset, as the bank sent it."""

    bank_code: str
    payment_code: str
    amount_fen: int
    bank_txn_id: str
    paid_at: str


def signature_for(secret: bytes, timestamp: str, raw_body: bytes) -> bytes:
    """HMAC-SHA256 over ``timestamp + "\\n" + raw body`` (the raw digest, not base64)."""
    return hmac.new(secret, timestamp.encode("ascii") + b"\n" + raw_body, hashlib.sha256).digest()


def verify_notification(raw_body: bytes, headers: Mapping[str, str], config: BankConfig,
                        now: int) -> BankPayment:
    """Verify a bank's notification over ``raw_body``, then parse and check it."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in _REQUIRED_HEADERS if not lowered.get(name.lower())]
    if missing:
        raise SignatureInvalid(f"missing header(s): {', '.join(missing)}")
    bank_code = lowered["x-bank-code"]
    timestamp = lowered["x-timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise SignatureInvalid(f"X-Timestamp {timestamp[:20]!r} is not an integer of at most "
                               f"{_MAX_TIMESTAMP_DIGITS} digits")
    age = now - int(timestamp)
    if age > TOLERANCE_SECONDS:
        raise SignatureInvalid(f"X-Timestamp is too old ({age} s > {TOLERANCE_SECONDS} s)")
    if -age > TOLERANCE_SECONDS:
        raise SignatureInvalid(f"X-Timestamp is in the future ({-age} s > "
                               f"{TOLERANCE_SECONDS} s)")
    secret = config.banks.get(bank_code)
    if secret is None:
        raise SignatureInvalid(f"unknown bank {bank_code!r}")
    try:
        given = base64.b64decode(lowered["x-signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("X-Signature is not valid base64") from None
    if not hmac.compare_digest(given, signature_for(secret, timestamp, raw_body)):
        raise SignatureInvalid(f"X-Signature does not match the body for bank {bank_code!r}")
    # Authentic from here on: the bank said it; is it well formed and about itself?
    try:
        body = parse_json(raw_body, "body")
    except ValidationFailed as exc:  # also: too long a number, too deep
        raise ValidationFailed(f"body is not JSON: {exc.fields['body']}",
                               {"body": "not JSON"}) from None
    if not isinstance(body, dict):
        raise ValidationFailed("body is not a JSON object", {"body": "not an object"})
    if body.get("bank_code") != bank_code:
        raise SignatureInvalid(f"bank_code {body.get('bank_code')!r} in the body is not the "
                               f"X-Bank-Code {bank_code!r}")
    amount = body.get("amount_fen")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("amount_fen is missing or not an integer",
                               {"amount_fen": "must be an integer number of fen"})
    txn_id = body.get("bank_txn_id")
    if not isinstance(txn_id, str) or not txn_id.strip() or len(txn_id) > _MAX_TXN_ID:
        raise ValidationFailed("bank_txn_id is missing or not a string of 1-64 characters",
                               {"bank_txn_id": "1-64 characters"})
    return BankPayment(bank_code=bank_code, payment_code=check_payment_code(
                           body.get("payment_code")),
                       amount_fen=check_fen(amount, "amount_fen"), bank_txn_id=txn_id,
                       paid_at=_check_paid_at(body.get("paid_at")))


def _check_paid_at(value: object) -> str:
    problem = "must be ISO 8601 with an offset, e.g. 2025-10-09T16:53:20+08:00"
    if not isinstance(value, str):
        raise ValidationFailed("paid_at is missing or not a string", {"paid_at": problem})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"paid_at {value!r} is not ISO 8601", {"paid_at": problem}) from None
    if moment.tzinfo is None:
        raise ValidationFailed(f"paid_at {value!r} has no offset", {"paid_at": problem})
    return value

