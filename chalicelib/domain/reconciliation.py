"""Reconciliation (清算对账): a channel's statement of a day against the payments we recorded.

Every statement line is matched to a recorded payment (or a refund of one) by the channel's
transaction id, then by amount; every payment we recorded for that day and channel must be in
the statement. What does not match is a discrepancy, of one kind:

    matched          the line and our record agree (no discrepancy)
    channel_only     the channel has the payment, we never recorded it (a lost notification:
                     confirmed by active query, then recorded, so the note is billed)
    recorded_only    we recorded a payment the channel's statement does not have
    amount_mismatch  both have it, with different amounts
    status_mismatch  both have it, and disagree on whether it is paid (the statement says paid,
                     the channel's own query says not; or a line that is not a success)
    refund_mismatch  the channel gave money back that we have no finished refund for, or
                     another amount than we asked; or a refund we recorded as succeeded
                     that the channel's statement of its day does not have

This module is pure: ``match`` classifies, the service (``services/reconciliation.py``)
confirms, records and keeps. A ``ReconLine`` is kept per line (and per recorded-only payment),
keyed by ``line_id`` within ``(date, channel)``; a ``ChannelDay`` sums a day up. Once matched or
resolved a line never changes (``is_settled``): a later run leaves it alone.

Days are statement days: UnionPay's runs 23:00 to 23:00 (``statements.clearing_day``), so our
UnionPay payments and refunds are judged against the file of their clearing day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.statements import PAYMENT, REFUND, Statement, StatementLine, clearing_day

MATCHED = "matched"
CHANNEL_ONLY, RECORDED_ONLY = "channel_only", "recorded_only"
AMOUNT_MISMATCH, STATUS_MISMATCH, REFUND_MISMATCH = (
    "amount_mismatch", "status_mismatch", "refund_mismatch")
KINDS = (MATCHED, CHANNEL_ONLY, RECORDED_ONLY, AMOUNT_MISMATCH, STATUS_MISMATCH, REFUND_MISMATCH)
# Each kind of difference as the finance department reads it (report, console).
KIND_NAMES = {CHANNEL_ONLY: "渠道有、本系统无", RECORDED_ONLY: "本系统有、渠道无",
              AMOUNT_MISMATCH: "金额不符", STATUS_MISMATCH: "状态不符",
              REFUND_MISMATCH: "退款不符"}
DAY_STATUSES = ("pending", "balanced", "discrepancies")
RECONCILER = "reconciliation"  # who resolved what the job resolved itself
# A channel's word for a payment that is not a success (a revoked WeChat order: 交易状态 REVOKED).
_PAID_STATES = {"", "SUCCESS", "REFUND", "交易", "PAY", "S22"}
_REFUNDED = ("succeeded", "requested")


@dataclass(frozen=True)
class ReconLine:
    """One statement line (or one recorded payment missing from the statement), as judged."""

    date: str
    channel: str
    line_id: str  # pay-<channel_txn_id> | refund-<refund id>
    kind: str  # payment | refund
    status: str  # one of KINDS
    channel_txn_id: str
    out_trade_no: str = ""
    payment_code: str = ""
    amount_fen: int = 0  # the channel's amount (recorded_only: ours)
    recorded_fen: int | None = None  # ours, when we have it
    fee_fen: int = 0  # what the channel took (refund: < 0 when given back)
    net_fen: int = 0  # what settles: amount less fee; a refund negative
    recorded_status: str | None = None  # applied | exception (money no bill covers, refunded)
    refund_id: str = ""
    at: str = ""
    detail: str = ""
    resolution: str | None = None  # recorded | already_recorded | a person's words
    resolved_by: str | None = None
    resolved_at: str | None = None
    on_statement: bool = True  # False: one of our records the statement does not have
    run: int = 0  # the run that judged it last: its statement file is the day's file of that run

    @property
    def is_settled(self) -> bool:
        """Matched, or a discrepancy someone (or the job) resolved: a re-run keeps it."""
        return self.status == MATCHED or self.resolution is not None

    @property
    def in_remittance(self) -> bool:
        """Money that settles to a note's unit: a payment applied to its note (an exception
        is given back, not remitted) whose line is matched, or a channel-only payment recorded
        by the job; refunds of exceptions never count (their payments did not either)."""
        return (self.kind == PAYMENT and self.recorded_status == "applied"
                and (self.status == MATCHED or self.resolution in ("recorded", "already_recorded")))

    def view(self) -> dict[str, Any]:
        """The contract's discrepancy object, with our extra fields."""
        out: dict[str, Any] = {"kind": self.status, "line_id": self.line_id,
                               "line_kind": self.kind, "amount_fen": self.amount_fen,
                               "fee_fen": self.fee_fen}
        for name in ("out_trade_no", "channel_txn_id", "payment_code", "refund_id", "at",
                     "detail"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.recorded_fen is not None:
            out["recorded_fen"] = self.recorded_fen
        out["on_statement"], out["run"] = self.on_statement, self.run
        out["resolution"] = self.resolution
        if self.resolution is not None:
            out["resolved_by"], out["resolved_at"] = self.resolved_by, self.resolved_at
        return out

    def as_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> ReconLine:
        known = {k: v for k, v in row.items() if k in cls.__dataclass_fields__}
        for name in ("amount_fen", "fee_fen", "net_fen"):
            known[name] = int(known.get(name) or 0)
        if known.get("recorded_fen") is not None:
            known["recorded_fen"] = int(known["recorded_fen"])
        return cls(**known)


@dataclass(frozen=True)
class ChannelDay:
    """One channel's reconciliation of one day: the statement's and our figures, the status."""

    date: str
    channel: str
    status: str  # pending | balanced | discrepancies
    statement_count: int = 0
    statement_total_fen: int = 0
    statement_refund_fen: int = 0
    statement_fee_fen: int = 0
    statement_net_fen: int = 0
    recorded_count: int = 0
    recorded_total_fen: int = 0
    runs: int = 0
    run_at: str = ""
    detail: str = ""  # why pending (statement not ready, refused…), the statement's source
    # Every distinct statement file a run fetched, as archived: {name, key, sha256, size,
    # version_id, run, fetched_at, note}; the first copy of a file is never replaced.
    files: tuple[dict[str, Any], ...] = ()

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["files"] = [dict(f) for f in self.files]
        return row

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> ChannelDay:
        known = {k: v for k, v in row.items() if k in cls.__dataclass_fields__}
        for name, kind in cls.__annotations__.items():
            if kind == "int" and name in known:
                known[name] = int(known[name])
        known["files"] = tuple({k: int(v) if k in ("size", "run") else v for k, v in f.items()}
                               for f in known.get("files") or ())
        return cls(**known)

    def view(self, lines: Iterable[ReconLine]) -> dict[str, Any]:
        """The contract's object for this channel: figures and every discrepancy."""
        return {"status": self.status, "statement_count": self.statement_count,
                "statement_total_fen": self.statement_total_fen,
                "statement_refund_fen": self.statement_refund_fen,
                "statement_fee_fen": self.statement_fee_fen,
                "statement_net_fen": self.statement_net_fen,
                "recorded_count": self.recorded_count,
                "recorded_total_fen": self.recorded_total_fen, "runs": self.runs,
                "run_at": self.run_at or None, "detail": self.detail or None,
                "statement_files": [dict(f) for f in self.files],
                "discrepancies": [line.view() for line in lines if line.status != MATCHED]}


def _payment_line(date: str, channel: str, line: StatementLine,
                  record: PaymentRecord | None) -> ReconLine:
    base = ReconLine(date=date, channel=channel, line_id=line.line_id, kind=PAYMENT,
                     status=MATCHED, channel_txn_id=line.channel_txn_id,
                     out_trade_no=line.out_trade_no, payment_code=line.out_trade_no[:20],
                     amount_fen=line.amount_fen, fee_fen=line.fee_fen, net_fen=line.net_fen,
                     at=line.at)
    if record is None:
        return replace(base, status=CHANNEL_ONLY, detail="the channel has it; we never "
                                                         "recorded it")
    base = replace(base, recorded_fen=record.amount_fen, recorded_status=record.status,
                   payment_code=record.payment_code, out_trade_no=record.out_trade_no)
    if record.amount_fen != line.amount_fen:
        return replace(base, status=AMOUNT_MISMATCH,
                       detail=f"the channel says {line.amount_fen} fen, we recorded "
                              f"{record.amount_fen}")
    if line.state not in _PAID_STATES:
        return replace(base, status=STATUS_MISMATCH,
                       detail=f"the channel's line says {line.state!r}; we recorded it paid")
    if line.merchant != (record.merchant or ""):
        return replace(base, status=STATUS_MISMATCH,
                       detail=f"商户号不符: the channel's line is of merchant "
                              f"{line.merchant or 'ours'}, we recorded "
                              f"{record.merchant or 'ours'}")
    return base


def _refund_line(date: str, channel: str, line: StatementLine,
                 record: PaymentRecord | None) -> ReconLine:
    base = ReconLine(date=date, channel=channel, line_id=line.line_id, kind=REFUND,
                     status=MATCHED, channel_txn_id=line.channel_txn_id,
                     out_trade_no=line.out_trade_no, payment_code=line.out_trade_no[:20],
                     amount_fen=line.amount_fen, fee_fen=line.fee_fen, net_fen=line.net_fen,
                     refund_id=line.refund_id or line.out_refund_no, at=line.at)
    if record is None:
        return replace(base, status=REFUND_MISMATCH,
                       detail="a refund of a payment we never recorded")
    base = replace(base, payment_code=record.payment_code, recorded_status=record.status,
                   recorded_fen=record.amount_fen if record.refund_status in _REFUNDED else 0)
    if record.refund_status not in _REFUNDED:
        return replace(base, status=REFUND_MISMATCH,
                       detail=f"we asked for no refund of this payment "
                              f"(refund status {record.refund_status or 'none'})")
    if record.amount_fen != line.amount_fen:  # we always give back the whole payment
        return replace(base, status=REFUND_MISMATCH,
                       detail=f"the channel gave back {line.amount_fen} fen of "
                              f"{record.amount_fen}")
    return base


def refund_line_id(record: PaymentRecord) -> str:
    """The line id under which a refund of ours the statement lacks is kept."""
    return f"refund-{record.refund_id or record.out_refund_no or record.channel_txn_id}"


def refund_day(record: PaymentRecord) -> str:
    """The statement day a succeeded refund of ours belongs to ("" if it has none)."""
    return clearing_day(record.channel, record.refunded_at) if record.refunded_at else ""


def match(statement: Statement, recorded_day: Iterable[PaymentRecord],
          known: Mapping[str, PaymentRecord],
          refunded_day: Iterable[PaymentRecord] = ()) -> list[ReconLine]:
    """Judge every line of ``statement``, every payment of ``recorded_day`` and every refund of
    ``refunded_day`` (ours, of that statement day and channel: payments received, refunds that
    succeeded). ``known``: our payments by channel transaction id, the day's and any other a
    line names (a payment recorded the day before, the payment a refund gives back)."""
    date, channel = statement.date, statement.channel
    out: list[ReconLine] = []
    seen: set[str] = set()
    given_back: set[str] = set()
    for line in statement.lines:
        record = known.get(line.channel_txn_id)
        if line.kind == PAYMENT:
            seen.add(line.channel_txn_id)
            out.append(_payment_line(date, channel, line, record))
        else:
            given_back.add(line.channel_txn_id)
            out.append(_refund_line(date, channel, line, record))
    for record in refunded_day:
        if record.channel_txn_id not in given_back:
            out.append(ReconLine(
                date=date, channel=channel, line_id=refund_line_id(record), kind=REFUND,
                status=REFUND_MISMATCH, channel_txn_id=record.channel_txn_id,
                out_trade_no=record.out_trade_no, payment_code=record.payment_code,
                amount_fen=record.amount_fen, recorded_fen=record.amount_fen,
                recorded_status=record.status,
                refund_id=record.refund_id or record.out_refund_no or "",
                at=record.refunded_at or "", on_statement=False,
                detail="we recorded this refund as succeeded; the channel's statement of its "
                       "day does not have it"))
    for record in recorded_day:
        if record.channel_txn_id not in seen:
            out.append(ReconLine(
                date=date, channel=channel, line_id=f"pay-{record.channel_txn_id}",
                kind=PAYMENT, status=RECORDED_ONLY, channel_txn_id=record.channel_txn_id,
                out_trade_no=record.out_trade_no, payment_code=record.payment_code,
                amount_fen=record.amount_fen, recorded_fen=record.amount_fen,
                recorded_status=record.status, at=record.paid_at, on_statement=False,
                detail="we recorded it; the channel's statement does not have it"))
    return out


def day_status(lines: Iterable[ReconLine]) -> str:
    """balanced when every line is matched or resolved; else discrepancies."""
    return "balanced" if all(line.is_settled for line in lines) else "discrepancies"
