"""Agent-bank counter payments (银行柜台缴款): verify the notification; fetch the daily statement.

No national standard exists, so the contract is ours (CONTRACT.md, ``POST /callbacks/bank``): a
JSON body ``{bank_code, payment_code, amount_fen, bank_txn_id, paid_at}`` with the headers
``X-Bank-Code``, ``X-Timestamp`` (epoch seconds) and ``X-Signature`` = base64 HMAC-SHA256 with
the bank's secret over ``timestamp + "\\n" + raw body``; a ±300 s window stops replays.

The seam: ``verify_notification(raw_body, headers, config, now)`` is a pure function. It checks
the headers, the timestamp window and the HMAC over the *raw bytes received* (constant-time) first
and only then parses the JSON. Authenticity failures raise ``SignatureInvalid`` with a message
naming the check; a correctly signed but malformed body raises ``ValidationFailed``. The local
stack builds notifications with ``signature_for`` (``devstack.builders.bank``).

The daily statement (our design, as the notification is): ``GET {base}/statements/{bank_code}/
{YYYY-MM-DD}`` with the same three headers, the HMAC over ``timestamp + "\n" + "GET " + path``;
the answer is signed the same way over its raw body (``X-Bank-Code``, ``X-Timestamp`` within
±300 s, ``X-Signature``) and verified before it is parsed. The body is UTF-8 CSV, amounts in
integer fen, times ISO 8601 with offset::

    BANKSTMT,1,<bank_code>,<YYYY-MM-DD>
    record,bank_txn_id,payment_code,amount_fen,fee_fen,time,orig_bank_txn_id
    PAY,<bank_txn_id>,<payment_code>,<amount_fen>,<fee_fen>,<time>,
    REFUND,<refund txn id>,<payment_code>,<amount_fen>,<fee_fen>,<time>,<paid bank_txn_id>
    TOTAL,<lines>,<paid_fen>,<refunded_fen>,<fee_fen>

A day without a counter payment is the first two lines and ``TOTAL,0,0,0,0``. A line's
channel transaction id is ``<bank_code>-<bank_txn_id>``, as a notification's.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from chalicelib.adapters.channel_http import Transport
from chalicelib.domain.codes import check_payment_code
from chalicelib.domain.errors import (
    DomainError,
    ServiceUnavailable,
    SignatureInvalid,
    ValidationFailed,
)
from chalicelib.domain.json_text import parse_json
from chalicelib.domain.money import check_fen
from chalicelib.domain.statements import (
    PAYMENT,
    REFUND,
    Statement,
    StatementFile,
    StatementInvalid,
    StatementLine,
    check_declared,
    check_lines,
    check_size,
)

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



STATEMENT_HEADER = "record,bank_txn_id,payment_code,amount_fen,fee_fen,time,orig_bank_txn_id"


def statement_path(bank_code: str, date: str) -> str:
    return f"/statements/{bank_code}/{date}"


def verify_signed(raw_body: bytes, headers: Mapping[str, str], config: BankConfig, now: int,
                  bank_code: str) -> None:
    """A bank's signed answer: its headers, the window, the HMAC over the raw body."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in _REQUIRED_HEADERS if not lowered.get(name.lower())]
    if missing:
        raise SignatureInvalid(f"missing header(s): {', '.join(missing)}")
    timestamp = lowered["x-timestamp"]
    if lowered["x-bank-code"] != bank_code:
        raise SignatureInvalid(f"X-Bank-Code {lowered['x-bank-code'][:20]!r} is not {bank_code!r}")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS \
            or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureInvalid(f"X-Timestamp {timestamp[:20]!r} is not within "
                               f"{TOLERANCE_SECONDS} s of now")
    try:
        given = base64.b64decode(lowered["x-signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("X-Signature is not valid base64") from None
    if not hmac.compare_digest(given, signature_for(config.banks[bank_code], timestamp,
                                                    raw_body)):
        raise SignatureInvalid(f"X-Signature does not match the statement of {bank_code!r}")


def parse_statement(raw: bytes, bank_code: str, date: str) -> Statement:
    """A verified statement's lines; its first line must name this bank and day, its TOTAL
    line must sum its lines."""
    check_size(raw, "bank statement")
    try:
        rows = [row for row in csv.reader(io.StringIO(raw.decode("utf-8"), newline="")) if row]
    except (UnicodeDecodeError, csv.Error):
        raise StatementInvalid(f"bank {bank_code} statement: not UTF-8 CSV") from None
    if len(rows) < 3 or rows[0] != ["BANKSTMT", "1", bank_code, date] \
            or ",".join(rows[1]) != STATEMENT_HEADER or rows[-1][:1] != ["TOTAL"]:
        raise StatementInvalid(f"bank {bank_code} statement of {date}: not a BANKSTMT 1 file "
                               f"of that bank and day, or cut short")
    lines = []
    for number, row in enumerate(rows[2:-1], 3):
        lines.append(_statement_line(row, bank_code, number))
        check_lines(len(lines), "bank statement")
    statement = Statement("bank", date, tuple(lines), f"{bank_code} {date}")
    total = rows[-1]
    if len(total) != 5 or not all(v.isdigit() for v in total[1:4]) \
            or not total[4].lstrip("-").isdigit():
        raise StatementInvalid(f"bank {bank_code} statement: a malformed TOTAL line")
    if int(total[1]) != len(lines):
        raise StatementInvalid(f"bank {bank_code} statement: TOTAL says {total[1]} lines, "
                               f"found {len(lines)}")
    check_declared(statement, total_fen=int(total[2]), refund_fen=int(total[3]),
                   fee_fen=int(total[4]), what="TOTAL line")
    return statement


def _statement_line(row: list[str], bank_code: str, number: int) -> StatementLine:
    if len(row) != 7 or row[0] not in ("PAY", "REFUND") or not row[1] \
            or not row[3].isdigit() or not row[4].lstrip("-").isdigit():
        raise StatementInvalid(f"bank {bank_code} statement line {number}: malformed")
    code = row[2]  # matched by the bank's transaction id; a mistyped code is not refused here
    if len(code) != 20 or not code.isdigit():
        raise StatementInvalid(f"bank {bank_code} statement line {number}: payment_code")
    try:
        at = _check_paid_at(row[5])
    except ValidationFailed as exc:
        raise StatementInvalid(f"bank {bank_code} statement line {number}: {exc.message}"
                               ) from None
    if row[0] == "PAY":
        return StatementLine(PAYMENT, f"{bank_code}-{row[1]}", code, int(row[3]), int(row[4]),
                             at, state="PAY")
    if not row[6]:
        raise StatementInvalid(f"bank {bank_code} statement line {number}: a refund of nothing")
    return StatementLine(REFUND, f"{bank_code}-{row[6]}", code, int(row[3]), int(row[4]), at,
                         refund_id=f"{bank_code}-{row[1]}", state="REFUND")


class BankStatements:
    """Every configured bank's statement of a day, as one statement of the ``bank`` channel."""

    channel = "bank"

    def __init__(self, config: BankConfig, base_url: str, transport: Transport,
                 clock: Callable[[], datetime]) -> None:
        if not base_url:
            raise ServiceUnavailable("no agent bank statement URL is configured "
                                     "(BANK_STATEMENT_BASE)")
        self.config, self.base_url = config, base_url.rstrip("/")
        self.transport, self.clock = transport, clock

    def statement(self, date: str) -> Statement:
        lines: list[StatementLine] = []
        sources: list[str] = []
        files: list[StatementFile] = []
        for bank_code in sorted(self.config.banks):
            one = self.fetch(bank_code, date)
            lines.extend(one.lines)
            sources.append(one.source)
            files.extend(one.files)
            check_lines(len(lines), "bank statements")
        return Statement(self.channel, date, tuple(lines), "; ".join(sources),
                         files=tuple(files))

    def fetch(self, bank_code: str, date: str) -> Statement:
        path = statement_path(bank_code, date)
        timestamp = str(int(self.clock().timestamp()))
        signature = signature_for(self.config.banks[bank_code], timestamp,
                                  f"GET {path}".encode("ascii"))
        reply = self.transport("GET", self.base_url + path, {
            "X-Bank-Code": bank_code, "X-Timestamp": timestamp,
            "X-Signature": base64.b64encode(signature).decode("ascii")}, None)
        if reply.status != 200:
            raise ServiceUnavailable(f"bank {bank_code} statement of {date}: HTTP {reply.status}")
        try:
            verify_signed(reply.body, reply.headers, self.config, int(self.clock().timestamp()),
                          bank_code)
        except DomainError as exc:
            raise StatementInvalid(f"bank {bank_code} statement: {exc.message}") from None
        lowered = {name.lower(): value for name, value in reply.headers.items()}
        signed = " ".join(f"{name} {lowered.get(name.lower(), '')[:100]}"
                          for name in ("X-Timestamp", "X-Signature"))
        return replace(parse_statement(reply.body, bank_code, date), files=(StatementFile(
            f"bank-{date}-{bank_code}.csv", reply.body, "text/csv; charset=utf-8",
            f"{signed} (HMAC-SHA256 of timestamp + LF + body, checked)"),))
