"""A channel's daily statement (对账单), as every channel's parser gives it: lines in fen.

Each channel serves its statement in its own format (``adapters/wechatpay/bill.py``,
``adapters/alipay/bill.py``, ``adapters/unionpay/bill.py``, ``adapters/bank.py``); each parser
is a pure function from the file's bytes to a ``Statement``, and checks the file's own totals
(WeChat's summary row, Alipay's 合计 comments, the bank's trailer) against its lines with
``check_declared``. What the statement says is then matched against what we recorded
(``domain/reconciliation.py``).

Money: yuan at the edge, converted exactly (``statement_fen``); a channel's fee may have more
decimals than a fen (WeChat writes 手续费 with five), and is rounded half up to the fen, as the
channels settle it. A refund is its own line with a positive ``amount_fen``; a fee given back
with a refund is a negative ``fee_fen``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import ServiceUnavailable

PAYMENT, REFUND = "payment", "refund"
# Bounds on what one run reads: a county's busiest day is a few thousand lines; a file far
# beyond these is not a statement of ours, and is refused before it costs memory.
MAX_STATEMENT_BYTES = 64 * 1024 * 1024  # decompressed
MAX_STATEMENT_LINES = 200_000
_MAX_YUAN_DIGITS = 18
# A channel whose statement day is not the calendar day: UnionPay's 清算日期 runs from 23:00 the
# day before to 23:00 (Beijing). Its file of 0718 holds txnTime 0717 23:02 to 0718 23:01
# (reference/statements.md §3, checked on a real ZM file); every other channel cuts at midnight.
CLEARING_CUTOFF_HOUR = {"unionpay": 23}


def clearing_day(channel: str, at: str, settle_date: str = "") -> str:
    """The statement day (YYYY-MM-DD) a payment or refund of ``channel`` made at ``at`` (ISO
    8601) falls on: the channel's own word when we have it (``settle_date``: UnionPay's
    settleDate), else the calendar day in Beijing, moved to the next day after the channel's
    cut-off (UnionPay: 23:00)."""
    if settle_date:
        return settle_date
    moment = datetime.fromisoformat(at).astimezone(CHINA_TZ)
    cutoff = CLEARING_CUTOFF_HOUR.get(channel)
    if cutoff is not None and moment.hour >= cutoff:
        moment += timedelta(days=1)
    return moment.date().isoformat()


def settle_date_of(mmdd: str, at: str) -> str:
    """UnionPay's ``settleDate`` (MMDD, no year) of a transaction made at ``at``, as a date:
    the year is the transaction's, or the next one when the clearing day has crossed New Year
    (txnTime 1231 23:30, settleDate 0101). "" unless it is a real day on or up to two days
    after the transaction's calendar day (else the cut-off rule decides)."""
    if len(mmdd) != 4 or not mmdd.isdigit():
        return ""
    day = datetime.fromisoformat(at).astimezone(CHINA_TZ).date()
    for year in (day.year, day.year + 1):
        try:
            found = date(year, int(mmdd[:2]), int(mmdd[2:]))
        except ValueError:
            continue
        if timedelta(0) <= found - day <= timedelta(days=2):
            return found.isoformat()
    return ""


class StatementInvalid(ServiceUnavailable):
    """A channel's statement is not as its channel documents it (format, totals, hash, size):
    refused whole, the day stays pending, and the next run fetches it again."""

    code = "statement_invalid"


@dataclass(frozen=True)
class StatementLine:
    """One line of a statement: a payment the channel took, or a refund it gave back."""

    kind: str  # PAYMENT | REFUND
    channel_txn_id: str  # the payment's id at the channel (of a refund: the payment refunded)
    out_trade_no: str  # ours (an agent bank's: the payment code itself)
    amount_fen: int  # > 0: paid, or given back
    fee_fen: int = 0  # the channel's fee: > 0 taken, < 0 given back with a refund
    at: str = ""  # when, ISO 8601 in Beijing time
    refund_id: str = ""  # the channel's refund id (refund lines)
    out_refund_no: str = ""  # ours (refund lines)
    state: str = ""  # the channel's own word for the line (SUCCESS, REFUND, 交易, S22, PAY…)
    # The unit's own merchant the line is of, when the statement says (WeChat Pay's 特约商户号
    # in a service provider's bill: the sub_mchid); "" for the deployment's merchant.
    merchant: str = ""

    @property
    def line_id(self) -> str:
        """The line's key within its day and channel: ``pay-<txn id>``, ``refund-<refund id>``."""
        if self.kind == PAYMENT:
            return f"pay-{self.channel_txn_id}"
        return f"refund-{self.refund_id or self.out_refund_no}"

    @property
    def payment_id(self) -> str:
        return self.channel_txn_id

    @property
    def net_fen(self) -> int:
        """What this line settles: a payment less its fee; a refund (and any fee given back)
        taken away."""
        return self.amount_fen - self.fee_fen if self.kind == PAYMENT \
            else -self.amount_fen - self.fee_fen


@dataclass(frozen=True)
class StatementFile:
    """A statement file as the channel served it, the parser's input: what the archive keeps
    so that an auditor can parse it again and find the same lines."""

    name: str  # ours, ASCII: ``wechatpay-2026-06-15-tradebill-ALL.csv.gz``
    body: bytes = field(repr=False)
    media_type: str = "application/octet-stream"
    note: str = ""  # what else vouches for it: WeChat's declared hash, the bank's signature


@dataclass(frozen=True)
class Statement:
    """A channel's statement of one day: every line, and where it came from."""

    channel: str
    date: str  # YYYY-MM-DD, the statement's day (UnionPay: its 清算日期)
    lines: tuple[StatementLine, ...] = ()
    source: str = ""  # the file's name, for people
    notes: tuple[str, ...] = field(default=())  # what the parser noticed (e.g. "empty day")
    files: tuple[StatementFile, ...] = field(default=())  # as fetched (none on an empty day)

    @property
    def payments(self) -> list[StatementLine]:
        return [line for line in self.lines if line.kind == PAYMENT]

    @property
    def refunds(self) -> list[StatementLine]:
        return [line for line in self.lines if line.kind == REFUND]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.payments)

    @property
    def refund_fen(self) -> int:
        return sum(line.amount_fen for line in self.refunds)

    @property
    def fee_fen(self) -> int:
        return sum(line.fee_fen for line in self.lines)

    @property
    def net_fen(self) -> int:
        return sum(line.net_fen for line in self.lines)


def combined(first: Statement, *others: Statement) -> Statement:
    """One day's statement of a channel made of several merchants' own (Alipay: the
    deployment's trade bill and each authorised merchant's, each line naming its merchant):
    every line, file and note of each, in turn. A line two of them list is
    ``StatementInvalid`` (a channel transaction belongs to one merchant)."""
    lines = list(first.lines)
    seen = {line.line_id for line in lines}
    sources, notes, files = [first.source], list(first.notes), list(first.files)
    for other in others:
        if (other.channel, other.date) != (first.channel, first.date):
            raise StatementInvalid(f"cannot combine {other.channel} {other.date} with "
                                   f"{first.channel} {first.date}")
        for line in other.lines:
            if line.line_id in seen:
                raise StatementInvalid(f"{line.line_id} is on two merchants' statements")
            seen.add(line.line_id)
            lines.append(line)
        sources.append(other.source)
        notes += other.notes
        files += other.files
    check_lines(len(lines), f"{first.channel} statements")
    return replace(first, lines=tuple(lines), source=" + ".join(s for s in sources if s),
                   notes=tuple(notes), files=tuple(files))


def statement_fen(text: str, what: str, *, negative: bool = False, fee: bool = False) -> int:
    """A statement's yuan amount as fen, exactly: ``"80.00"`` → 8000. With ``negative`` a
    leading minus is allowed (Alipay writes refunds and its 服务费 negative); with ``fee`` more
    than two decimals are allowed and rounded half up (WeChat's ``0.48000``). Anything else —
    a third decimal on an amount, an exponent, a blank — refuses the statement."""
    text = text.strip()
    body = text[1:] if negative and text.startswith("-") else text
    if not body or len(body) > _MAX_YUAN_DIGITS or not body.replace(".", "", 1).isdigit():
        raise StatementInvalid(f"statement: {what} is not a yuan amount: {text[:20]!r}")
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        raise StatementInvalid(f"statement: {what} is not a yuan amount: {text[:20]!r}") from None
    if value != value.to_integral_value():
        if not fee:
            raise StatementInvalid(f"statement: {what} has fractions of a fen: {text!r}")
        value = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(value)


def check_declared(statement: Statement, *, count: int | None = None,
                   total_fen: int | None = None, refund_fen: int | None = None,
                   fee_fen: int | None = None, what: str = "summary") -> None:
    """The file's own totals must be its lines' totals: else the file is cut or altered."""
    found = {"count": len(statement.payments), "total_fen": statement.total_fen,
             "refund_fen": statement.refund_fen, "fee_fen": statement.fee_fen}
    declared = {"count": count, "total_fen": total_fen, "refund_fen": refund_fen,
                "fee_fen": fee_fen}
    for name, value in declared.items():
        if value is not None and value != found[name]:
            raise StatementInvalid(f"statement {statement.source or statement.channel}: the "
                                   f"{what} says {name} {value}, its lines {found[name]}")


def check_size(data: bytes | int, what: str = "statement") -> None:
    size = data if isinstance(data, int) else len(data)
    if size > MAX_STATEMENT_BYTES:
        raise StatementInvalid(f"{what} of {size} bytes: more than {MAX_STATEMENT_BYTES}")


def check_lines(count: int, what: str = "statement") -> None:
    if count > MAX_STATEMENT_LINES:
        raise StatementInvalid(f"{what} has more than {MAX_STATEMENT_LINES} lines")
