"""Records: what the stores keep about bills, files, reimbursements, audits, payers and codes.

They are what the ports (``chalicelib/services/ports.py``) take and give: plain data that the
adapters build from their rows and the services read, with no behaviour of their own beyond a
public view. They sit in the domain so that adapters and services share them without either
importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.bills import Bill, BillStatus


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
    sms_status: str | None = None
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
    bill_id: str
    unit_code: str
    action: str  # verify | reimburse | release
    outcome: str
    client: str
    at: str  # ISO 8601, China time
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class BillLookup:
    """What a lookup by code reads in one request: the bill, the guessing counters, and the
    bill's reimbursement when it was asked for."""

    record: BillRecord | None
    counters: dict[str, int] = field(default_factory=dict)
    reimbursement: Reimbursement | None = None


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
