"""Records: what the stores keep about bills, files, reimbursements, audits, payers and codes.

They are what the ports (``chalicelib/services/ports.py``) take and give: plain data that the
adapters build from their rows and the services read, with no behaviour of their own beyond a
public view. They sit in the domain so that adapters and services share them without either
importing the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.bills import Bill, BillStatus
from chalicelib.domain.notes import Note


@dataclass(frozen=True)
class Reservation:
    """A bill number taken for a note, with the check code and time the bill will carry."""

    bill_code: str
    bill_number: str
    check_code: str
    issued_at: str


@dataclass(frozen=True)
class ArchivedFile:
    key: str
    sha256: str
    size: int
    version_id: str = ""  # the S3 version written first: what is served, whatever came later


@dataclass
class BillRecord:
    """A bill as stored: its content, where its files are, and what happened to it since."""

    bill: Bill
    status: BillStatus
    payer_phone: str | None
    xml: ArchivedFile
    pdf: ArchivedFile
    check_count: int = 0
    first_checked_at: str | None = None
    last_checked_at: str | None = None
    # A text claim left on the bill row by code before the SMS log held bills' claims (read
    # only: "sending", "sent", "rejected"; nothing writes it any more) and when it was taken.
    sms_status: str | None = None
    sms_claimed_at: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # reversed_by / reverses: bill ids
    void_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reimbursement:
    bill_id: str
    unit_code: str
    unit_name: str
    voucher_no: str | None
    recorded_at: str

    def public(self) -> dict[str, Any]:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name,
                "voucher_no": self.voucher_no, "recorded_at": self.recorded_at}


@dataclass(frozen=True)
class AuditEvent:
    """One verification, reimbursement or release, as appended; read back (``AuditLog.query``)
    it also carries ``event_id``, the log's key of it (``at`` + ``#`` + a random suffix)."""

    bill_id: str
    unit_code: str
    action: str  # verify | reimburse | release
    outcome: str
    client: str
    at: str  # ISO 8601, China time
    detail: dict[str, Any] | None = None
    event_id: str | None = None  # set by the log when read back

    def row(self) -> dict[str, Any]:
        """As the audit table holds it (what ``issue audit`` prints): the time only inside
        ``event_id``, the day, and ``detail`` only when there is one."""
        row = {"bill_id": self.bill_id, "event_id": self.event_id, "unit_code": self.unit_code,
               "day": self.at[:10], "action": self.action, "outcome": self.outcome,
               "client": self.client}
        return {**row, "detail": self.detail} if self.detail is not None else row


@dataclass(frozen=True)
class BillLookup:
    """What a lookup by code reads in one request: the bill, the guessing counters, and the
    bill's reimbursement when it was asked for."""

    record: BillRecord | None
    counters: dict[str, int] = field(default_factory=dict)
    reimbursement: Reimbursement | None = None


@dataclass(frozen=True)
class NoteLookup:
    """What a public lookup by payment code reads in one request: the note (None when the code
    is unknown) and the guessing counters (those never counted are absent: 0)."""

    note: Note | None
    counters: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PayerBill:
    """A bill as "my bills" lists it: content, status and links to its red bill or original."""

    bill: Bill
    status: BillStatus
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OtpCheck:
    """What one verification attempt found: ``ok`` (counted; compare ``code_hash``),
    ``missing``, ``expired`` or ``locked`` (no attempts left)."""

    state: str
    code_hash: str | None = None
    attempts_left: int = 0


@dataclass(frozen=True)
class IdempotencyClaim:
    """What claiming an idempotency key found instead of a free key: the earlier record
    (``in_progress``, ``completed`` or ``released``, with the hash of the request that made it)
    or ``taken_over`` (this claim now holds a key whose holder died or gave up)."""

    state: str
    request_hash: str
    result: str | None = None  # what the holder created (a payment code), once attached


@dataclass(frozen=True)
class PendingNumber:
    """A bill number taken whose bill never finished, and what it was taken for: ``note`` (the
    note ``payment_code``'s bill; also rows older than ``purpose``), ``reversal`` (the red bill
    of ``reverses``, for ``reversal_reason``) or ``direct``."""

    bill_id: str
    payment_code: str
    reserved_at: str  # UTC
    purpose: str = "note"
    reverses: str | None = None
    reversal_reason: str | None = None


@dataclass(frozen=True)
class SmsDelivery:
    """The record of one SMS event (``bill#…``, ``note_created#…``, ``refund#…``): its claim,
    its outcome (sending | sent | failed | rejected | skipped) and the provider's answer."""

    event_id: str
    event: str | None = None
    phone: str | None = None  # masked: 138****5678
    status: str | None = None
    provider: str | None = None
    message_id: str | None = None
    attempts: int = 0
    claimed_at: str | None = None  # ISO 8601
    updated_at: str | None = None
    error: str | None = None  # numbers masked


@dataclass(frozen=True)
class SmsClaim:
    """The answer to a claim of an SMS event: whether this attempt took it, and, when it did,
    the event's record as it stood just before (None on a first attempt): what an earlier,
    failed or abandoned attempt left, read by the claim's own write."""

    taken: bool
    earlier: SmsDelivery | None = None


@dataclass(frozen=True)
class PaymentRecord:
    """A payment as the payments table keeps it: ``applied`` to its note, or an ``exception``
    (money no bill covers, ``reason`` says why) with the state of its refund (pending →
    requested → succeeded | failed; pending → manual) while ``refund_due`` is ``due``."""

    payment_id: str  # channel#channel_txn_id
    payment_code: str
    channel: str
    channel_txn_id: str
    out_trade_no: str
    amount_fen: int
    paid_at: str
    status: str  # applied | exception
    notification_id: str = ""
    reason: str | None = None
    exception_unit: str | None = None
    refund_status: str | None = None
    refund_due: str | None = None
    refund_id: str | None = None
    out_refund_no: str | None = None
    refund_requested_at: str | None = None
    refund_checked_at: str | None = None
    refund_detail: str | None = None
    refunded_at: str | None = None  # when we learned the refund succeeded (China time)
    settle_date: str | None = None  # UnionPay's 清算日期 of the payment, when it said one
    merchant: str | None = None  # the unit's own merchant it was paid to (WeChat sub_mchid)

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> PaymentRecord:
        """From a stored row's attributes (others, such as index keys, are left out)."""
        known = {k: v for k, v in row.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "amount_fen": int(row["amount_fen"])})
