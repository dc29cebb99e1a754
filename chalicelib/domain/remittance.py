"""Remittance (划款): what a day's reconciled money owes the treasury or the special account.

Non-tax revenue is paid over whole (全额缴库, no 坐支): every fen a payer paid for a note, once
the channel's statement confirms it (reconciliation, ``domain/reconciliation.ReconLine.
in_remittance``), is owed, less what was given back for such a payment the same day. Channel
fees are not deducted: the finance department pays them apart, so they are reported, never
netted. Money no bill covers (an exception: paid twice, wrong amount) is refunded, never
remitted.

Each note's money goes to its unit and, item by item, to its fee items (``allocate``: exact to
the fen, every fen once); each (unit, fee item) to an account, ``treasury`` (国库) or
``special`` (财政专户), as the finance department set it for that fee item, else for the unit,
else the treasury (``account_for``). One remittance per (day, unit, account) carries its items.
The day's remittances must add up to its reconciled net exactly (``check_day``), or nothing is
instructed.

States of a day's remittances: ``pending`` (computed, not yet instructed) → ``instructed``
(the bank's instruction file made and kept; the amounts frozen) → ``confirmed`` (the bank
executed it: confirmed per remittance, with the bank's reference).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.domain.errors import Conflict, ValidationFailed

TREASURY, SPECIAL = "treasury", "special"
ACCOUNTS = (TREASURY, SPECIAL)
ACCOUNT_NAMES = {TREASURY: "国库", SPECIAL: "财政专户"}
UNIT_DEFAULT = "*"  # the setting of a unit as a whole, for items without their own
STATES = ("pending", "instructed", "confirmed")

def allocate[K: Hashable](amount_fen: int, weights: Sequence[tuple[K, int]]) -> dict[K, int]:
    """Split ``amount_fen`` over the keys in proportion to their weights, exactly.

    Largest remainder (Hamilton): each key gets the floor of its exact share, then the fen left
    over go one each to the largest remainders (ties: first listed). The shares add up to
    ``amount_fen``; each is within one fen of its exact share; a weight equal to the amount
    gives itself back. A negative amount (a refund) is split as its opposite, negated.
    Weights must be ≥ 0 with a positive sum, unless the amount is 0.
    """
    if amount_fen < 0:
        return {k: -v for k, v in allocate(-amount_fen, weights).items()}
    total = sum(w for _, w in weights)
    if any(w < 0 for _, w in weights) or (total <= 0 and amount_fen):
        raise ValueError("weights must be non-negative with a positive sum")
    shares: dict[K, int] = {}
    remainders: list[tuple[int, int, K]] = []
    for index, (key, weight) in enumerate(weights):
        whole, rest = divmod(amount_fen * weight, total) if total else (0, 0)
        shares[key] = shares.get(key, 0) + whole
        remainders.append((-rest, index, key))
    left = amount_fen - sum(shares.values())
    for _, _, key in sorted(remainders)[:left]:
        shares[key] += 1
    return shares


@dataclass(frozen=True)
class Contribution:
    """Money of one note that a day's reconciliation settled: a payment (positive) or a refund
    of it (negative), with the note's unit and items (item code, amount)."""

    payment_code: str
    unit_code: str
    amount_fen: int
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class RemittedItem:
    item_code: str
    total_fen: int


@dataclass(frozen=True)
class Remittance:
    """What one unit owes one account for one day, by fee item."""

    unit_code: str
    account: str
    total_fen: int
    items: tuple[RemittedItem, ...]
    status: str = "pending"
    bank_reference: str | None = None
    confirmed_at: str | None = None

    def view(self) -> dict:
        """The contract's object (CONTRACT v2 ``GET /v1/admin/remittances/{date}``)."""
        return {"unit_code": self.unit_code, "account": self.account,
                "total_fen": self.total_fen,
                "items": [{"item_code": i.item_code, "total_fen": i.total_fen}
                          for i in self.items],
                "status": self.status}


AccountOf = Callable[[str, str], str]


def account_for(settings: Mapping[str, Mapping[str, str]]) -> AccountOf:
    """The account of (unit, item): the item's setting, else the unit's, else the treasury.
    ``settings``: unit code → {item code or ``*``: account}."""
    def account(unit_code: str, item_code: str) -> str:
        unit = settings.get(unit_code, {})
        return unit.get(item_code) or unit.get(UNIT_DEFAULT) or TREASURY
    return account


def remittances_of(contributions: Iterable[Contribution], account_of: AccountOf,
                   ) -> list[Remittance]:
    """The day's remittances: each contribution split over its note's items (``allocate``,
    weighted by the items' amounts), summed per (unit, account, item)."""
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for c in contributions:
        weights = list(c.items) if sum(a for _, a in c.items) > 0 else [("", 1)]
        for item_code, fen in allocate(c.amount_fen, weights).items():
            key = (c.unit_code, account_of(c.unit_code, item_code))
            items = sums.setdefault(key, {})
            items[item_code] = items.get(item_code, 0) + fen
    return [Remittance(unit_code=unit, account=account,
                       total_fen=sum(items.values()),
                       items=tuple(RemittedItem(code, fen) for code, fen in sorted(items.items())))
            for (unit, account), items in sorted(sums.items())]


@dataclass
class DayNet:
    """A day's reconciled figures: what the remittances must add up to, and why."""

    payments_fen: int = 0  # payments applied to notes, settled by reconciliation
    refunds_fen: int = 0  # given back for such payments (positive)
    fees_fen: int = 0  # what the channels took of them: paid apart, never netted
    payment_count: int = 0
    pending_channels: list[str] = field(default_factory=list)
    open_lines: int = 0  # discrepancies without a resolution

    @property
    def net_fen(self) -> int:
        return self.payments_fen - self.refunds_fen


def check_day(remittances: Sequence[Remittance], net: DayNet) -> None:
    """Refuse (``Conflict``) a day that cannot be instructed: a channel not reconciled, an
    open discrepancy, remittances that do not add up to the reconciled net to the fen, or a
    remittance below zero."""
    if net.pending_channels:
        raise Conflict(f"以下渠道尚未完成对账：{'、'.join(net.pending_channels)}",
                       code="day_not_reconciled")
    if net.open_lines:
        raise Conflict(f"当日仍有 {net.open_lines} 笔对账差异未处理", code="day_not_reconciled")
    total = sum(r.total_fen for r in remittances)
    if total != net.net_fen:
        raise Conflict(f"划款合计 {total} 分与对账净额 {net.net_fen} 分不符",
                       code="remittance_mismatch")
    for r in remittances:
        if r.total_fen < 0 or any(i.total_fen < 0 for i in r.items):
            raise Conflict(f"{r.unit_code} 当日退款多于收款，不能划款", code="remittance_negative")


def check_account(value: object) -> str:
    if value not in ACCOUNTS:
        raise ValidationFailed("账户应为 treasury（国库）或 special（财政专户）",
                               {"account": "treasury | special"})
    return str(value)


@dataclass(frozen=True)
class BankAccount:
    """An account money moves from or to: its holder's name, number and bank."""

    name: str
    number: str
    bank: str


@dataclass(frozen=True)
class RemittanceDay:
    """A day's remittances once instructed: frozen amounts, the kept instruction file."""

    date: str
    status: str  # instructed | confirmed (every remittance confirmed)
    remittances: tuple[Remittance, ...]
    net_fen: int
    instruction_key: str
    instruction_sha256: str
    instructed_at: str
    instructed_by: str
    version: int = 1

    def to_doc(self) -> dict:
        return {"date": self.date, "status": self.status, "net_fen": self.net_fen,
                "instruction_key": self.instruction_key,
                "instruction_sha256": self.instruction_sha256,
                "instructed_at": self.instructed_at, "instructed_by": self.instructed_by,
                "remittances": [{**r.view(), "bank_reference": r.bank_reference,
                                 "confirmed_at": r.confirmed_at} for r in self.remittances]}

    @classmethod
    def of_doc(cls, doc: Mapping, version: int) -> RemittanceDay:
        return cls(
            date=doc["date"], status=doc["status"], net_fen=int(doc["net_fen"]),
            instruction_key=doc["instruction_key"], instruction_sha256=doc["instruction_sha256"],
            instructed_at=doc["instructed_at"], instructed_by=doc["instructed_by"],
            version=version,
            remittances=tuple(Remittance(
                unit_code=r["unit_code"], account=r["account"], total_fen=int(r["total_fen"]),
                items=tuple(RemittedItem(i["item_code"], int(i["total_fen"]))
                            for i in r["items"]),
                status=r["status"], bank_reference=r.get("bank_reference"),
                confirmed_at=r.get("confirmed_at")) for r in doc["remittances"]))


INSTRUCTION_COLUMNS = ("seq", "batch_id", "value_date", "payer_account", "payer_name",
                       "payer_bank", "payee_account", "payee_name", "payee_bank",
                       "amount", "currency", "unit_code", "account_kind", "purpose")


def instruction_csv(date: str, remittances: Sequence[Remittance],
                    accounts: Mapping[str, BankAccount], unit_names: Mapping[str, str]) -> bytes:
    """The bank's instruction file (批量划款指令) of a day: GB 18030 text, CRLF lines.

    Line 1 names the columns (``INSTRUCTION_COLUMNS``); then one line per remittance with an
    amount above zero: from the collection account (``accounts["collection"]``, 非税收入汇缴
    结算户) to the treasury's or the special account's (``accounts[account]``), the amount in
    yuan with two decimals (exact: from the fen), ``CNY``; last, the control line
    ``TOTAL,<lines>,<sum in yuan>,<sum in fen>,SHA256:<hex>``, the hash over every byte before
    that line. The same remittances always give the same bytes (``batch_id`` = ``R`` + date).
    """
    import csv
    import hashlib
    import io

    from chalicelib.domain.money import fen_to_yuan

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INSTRUCTION_COLUMNS)
    source = accounts["collection"]
    lines = [r for r in remittances if r.total_fen > 0]
    for seq, r in enumerate(lines, start=1):
        payee = accounts[r.account]
        name = unit_names.get(r.unit_code, r.unit_code)
        writer.writerow((seq, f"R{date.replace('-', '')}", date, source.number, source.name,
                         source.bank, payee.number, payee.name, payee.bank,
                         fen_to_yuan(r.total_fen), "CNY", r.unit_code, r.account,
                         f"{date} 非税收入划缴{ACCOUNT_NAMES[r.account]} {name}"))
    body = out.getvalue().encode("gb18030")
    total = sum(r.total_fen for r in lines)
    trailer = (f"TOTAL,{len(lines)},{fen_to_yuan(total)},{total},"
               f"SHA256:{hashlib.sha256(body).hexdigest()}\r\n")
    return body + trailer.encode("ascii")


def parse_day(text: object) -> str:
    """``YYYY-MM-DD``, a real date from 2000 on; else ``ValidationFailed`` naming ``date``."""
    import re
    from datetime import date

    problem = {"date": "a date YYYY-MM-DD"}
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", problem)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("日期不存在", problem) from None
    if day.year < 2000:
        raise ValidationFailed("日期过早", problem)
    return text
