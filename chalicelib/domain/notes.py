"""Payment notes (电子非税收入一般缴款书) and the rules of their life.

States and the moves between them::

    unpaid ──pay──▶ paid ──issue──▶ issued
      │  └─cancel─▶ cancelled        │
      └──(due date passed)─▶ expired paid/issued ──refund──▶ refunded

``expired`` is derived: an unpaid note whose ``expires_at`` has passed reads as expired and can no
longer open a channel order. A channel order opened before expiry may still complete (channels
close their orders at the note's expiry at the latest).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from chalicelib.domain import bill_templates
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.credit_code import credit_code_problem
from chalicelib.domain.errors import IllegalTransition, ValidationFailed
from chalicelib.domain.money import check_fen
from chalicelib.domain.text import clean_text

MAX_ITEMS = 50
_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_ITEM_CODE = re.compile(r"^[0-9A-Za-z]{1,20}$")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class NoteStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    ISSUED = "issued"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


_MOVES: dict[NoteStatus, frozenset[NoteStatus]] = {
    NoteStatus.UNPAID: frozenset({NoteStatus.PAID, NoteStatus.CANCELLED, NoteStatus.EXPIRED}),
    NoteStatus.PAID: frozenset({NoteStatus.ISSUED, NoteStatus.REFUNDED}),
    NoteStatus.ISSUED: frozenset({NoteStatus.REFUNDED}),
    NoteStatus.CANCELLED: frozenset(),
    NoteStatus.EXPIRED: frozenset(),
    NoteStatus.REFUNDED: frozenset(),
}


def china_time(iso: str) -> str:
    """An ISO 8601 time with an offset, re-expressed in Beijing time (+08:00), to the second.

    Text that is not such a time is returned unchanged (it is kept as the channel sent it).
    """
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    if moment.tzinfo is None:
        return iso
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def can_move(src: NoteStatus, dst: NoteStatus) -> bool:
    return dst in _MOVES[src]


@dataclass(frozen=True)
class Payer:
    name: str
    type: str  # individual | organization
    phone: str | None = None
    credit_code: str | None = None


@dataclass(frozen=True)
class Item:
    item_code: str
    name: str
    quantity: str  # a decimal in text, exactly as given ("1", "0.3")
    standard_fen: int
    amount_fen: int
    unit: str | None = None


@dataclass(frozen=True)
class PaymentRef:
    channel: str
    channel_txn_id: str
    amount_fen: int
    paid_at: str
    out_trade_no: str | None = None


@dataclass(frozen=True)
class BillRef:
    bill_code: str
    bill_number: str
    check_code: str
    issued_at: str


@dataclass(frozen=True)
class Note:
    payment_code: str
    unit_code: str
    region_code: str
    payer: Payer
    items: tuple[Item, ...]
    total_fen: int
    bill_kind: str
    created_at: str
    status: NoteStatus = NoteStatus.UNPAID
    due_date: str | None = None
    expires_at: str | None = None
    remark: str | None = None
    payment: PaymentRef | None = None
    bill: BillRef | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The bill template in force for its kind when the note was made, and the bill's extra
    # fields checked against it (bill_templates): the bill is drawn from this template.
    template_id: str = ""
    template_version: int = 0
    bill_extra: tuple[tuple[str, str], ...] = ()
    # The template itself when the finance department defined it (not built in), as it was
    # then: the note's bill is drawn from this copy, whatever is defined later.
    template_def: bill_templates.BillTemplate | None = field(default=None, compare=False,
                                                             repr=False)

    @property
    def template(self) -> bill_templates.BillTemplate:
        return bill_templates.template(self.template_id, self.template_version, self.template_def)

    def status_at(self, now: datetime) -> NoteStatus:
        """The status a reader sees at ``now``: an unpaid note past its expiry reads expired."""
        return _status_at(self.status, self.expires_at, now)

    def listed(self) -> ListedNote:
        """What a list shows of this note."""
        return ListedNote(payment_code=self.payment_code, unit_code=self.unit_code,
                          payer=self.payer, total_fen=self.total_fen, bill_kind=self.bill_kind,
                          created_at=self.created_at, status=self.status,
                          expires_at=self.expires_at, payment=self.payment, bill=self.bill)

    def cancelled(self, now: datetime) -> Note:
        current = self.status_at(now)
        if not can_move(current, NoteStatus.CANCELLED):
            raise IllegalTransition(f"只有未缴款的缴款书可以撤销（当前状态：{current.value}）",
                                    code="note_not_cancellable")
        return replace(self, status=NoteStatus.CANCELLED)

    def ensure_payable(self, now: datetime) -> None:
        current = self.status_at(now)
        if current is not NoteStatus.UNPAID:
            raise IllegalTransition(f"该缴款书当前不可缴款（状态：{current.value}）",
                                    code="note_not_payable")


@dataclass(frozen=True)
class ListedNote:
    """A note as a list shows it (``Note.listed()``): who pays, how much, its status, payment
    and bill, not its items. The payer search reads it from an index row, without the note."""

    payment_code: str
    unit_code: str
    payer: Payer
    total_fen: int
    bill_kind: str
    created_at: str
    status: NoteStatus
    expires_at: str | None = None
    payment: PaymentRef | None = None
    bill: BillRef | None = None

    def status_at(self, now: datetime) -> NoteStatus:
        """As ``Note.status_at``."""
        return _status_at(self.status, self.expires_at, now)


def _status_at(status: NoteStatus, expires_at: str | None, now: datetime) -> NoteStatus:
    if status is NoteStatus.UNPAID and expires_at and now >= datetime.fromisoformat(expires_at):
        return NoteStatus.EXPIRED
    return status


@dataclass(frozen=True)
class NoteDraft:
    """A validated request to create a note, before it has a payment code."""

    payer: Payer
    items: tuple[Item, ...]
    total_fen: int
    bill_kind: str | None
    due_date: str | None
    remark: str | None


def _text(body: dict, key: str, fields: dict, where: str, *, required: bool, limit: int):
    # One rule for every text field of every route (chalicelib.domain.text).
    value, problem = clean_text(body.get(key), limit=limit, required=required)
    if problem:
        fields[where] = problem
    return value


def _payer(raw: object, fields: dict) -> Payer | None:
    if not isinstance(raw, dict):
        fields["payer"] = "is required and must be an object"
        return None
    name = _text(raw, "name", fields, "payer.name", required=True, limit=100)
    ptype = raw.get("type")
    if ptype not in ("individual", "organization"):
        fields["payer.type"] = "must be individual or organization"
    phone = _text(raw, "phone", fields, "payer.phone", required=False, limit=20)
    if phone is not None:
        phone = phone.removeprefix("+86").replace(" ", "").replace("-", "")
        if not _CN_MOBILE.match(phone):
            fields["payer.phone"] = "must be a mainland China mobile number (11 digits, 1[3-9]…)"
    credit = _text(raw, "credit_code", fields, "payer.credit_code", required=False, limit=18)
    if credit is not None:
        credit = credit.upper()
        if problem := credit_code_problem(credit):  # GB 32100-2015, check character included
            fields["payer.credit_code"] = f"unified social credit code: {problem}"
    if ptype == "organization" and credit is None and "payer.credit_code" not in fields:
        fields["payer.credit_code"] = "is required for an organization"
    if name is None or ptype not in ("individual", "organization"):
        return None
    return Payer(name=name, type=str(ptype), phone=phone, credit_code=credit)


def _quantity(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        return None
    try:
        q = Decimal(str(value))
    except InvalidOperation:
        return None
    if not q.is_finite() or q <= 0 or q > 10**9 or q.as_tuple().exponent < -6:  # type: ignore[operator]
        return None
    return q


def _items(raw: object, fields: dict, known_items: Collection[str] | None) -> list[Item]:
    if not isinstance(raw, list) or not raw:
        fields["items"] = "must be a non-empty list"
        return []
    if len(raw) > MAX_ITEMS:
        fields["items"] = f"at most {MAX_ITEMS} items"
        return []
    out = []
    for i, entry in enumerate(raw):
        at = f"items[{i}]"
        if not isinstance(entry, dict):
            fields[at] = "must be an object"
            continue
        before = len(fields)
        code = entry.get("item_code")
        if not isinstance(code, str) or not _ITEM_CODE.match(code):
            fields[f"{at}.item_code"] = "must be 1-20 letters or digits"
        elif known_items is not None and code not in known_items:
            fields[f"{at}.item_code"] = "is not a fee item of this unit"
        name = _text(entry, "name", fields, f"{at}.name", required=True, limit=100)
        unit = _text(entry, "unit", fields, f"{at}.unit", required=False, limit=20)
        qty = _quantity(entry.get("quantity"))
        if qty is None:
            fields[f"{at}.quantity"] = "must be a positive number with at most 6 decimals"
        std = amount = None
        for key in ("standard_fen", "amount_fen"):
            try:
                value = check_fen(entry.get(key), f"{at}.{key}")
            except ValidationFailed as exc:
                fields.update(exc.fields)
                continue
            if key == "standard_fen":
                std = value
            else:
                amount = value
        if qty is not None and std is not None and amount is not None:
            expected = (qty * std).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            if expected != amount:
                fields[f"{at}.amount_fen"] = f"must equal quantity × standard_fen = {expected}"
        if len(fields) == before:
            assert name is not None and qty is not None and std is not None and amount is not None
            out.append(Item(item_code=str(code), name=name, unit=unit,
                            quantity=format(qty.normalize(), "f"),
                            standard_fen=std, amount_fen=amount))
    return out


def validate_new_note(body: object, *, today: date, known_items: Collection[str] | None,
                      bill_kinds: frozenset[str]) -> NoteDraft:
    """Check a create-note request field by field; raise one ``ValidationFailed`` naming all."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    fields: dict[str, str] = {}
    payer = _payer(body.get("payer"), fields)
    items = _items(body.get("items"), fields, known_items)
    total = body.get("total_fen")
    try:
        check_fen(total, "total_fen")
    except ValidationFailed as exc:
        fields.update(exc.fields)
    else:
        if items and len(items) == len(body["items"]) and sum(i.amount_fen for i in items) != total:
            fields["total_fen"] = "must equal the sum of the items' amount_fen"
    due = _text(body, "due_date", fields, "due_date", required=False, limit=10)
    if due is not None:
        try:
            if not _DATE.fullmatch(due):
                raise ValueError(due)
            if date.fromisoformat(due) < today:
                fields["due_date"] = "must be today or later (YYYY-MM-DD)"
        except ValueError:
            fields["due_date"] = "must be a date YYYY-MM-DD"
    remark = _text(body, "remark", fields, "remark", required=False, limit=200)
    kind = body.get("bill_kind")
    if kind is not None and (not isinstance(kind, str) or kind not in bill_kinds):
        fields["bill_kind"] = f"must be one of {', '.join(sorted(bill_kinds))}"
    if fields:
        raise ValidationFailed("请求参数有误", fields)
    assert payer is not None and isinstance(total, int)
    return NoteDraft(payer=payer, items=tuple(items), total_fen=total, bill_kind=kind,
                     due_date=due, remark=remark)


def bill_kind_for(draft: NoteDraft, item_kinds: dict[str, str | None], default: str) -> str:
    """The note's bill kind: as asked; else the kind its fee items map to; else the unit's.

    Items of two different kinds cannot share one bill: that is a field error.
    """
    if draft.bill_kind:
        return draft.bill_kind
    kinds = {kind for i in draft.items if (kind := item_kinds.get(i.item_code))}
    if len(kinds) > 1:
        raise ValidationFailed("收费项目属于不同的票据种类，请分开开具",
                               {"items": f"items map to different bill kinds: {sorted(kinds)}"})
    return kinds.pop() if kinds else default


def expiry_of(due_date: str | None) -> str | None:
    """A note is payable until the end of its due date, China time."""
    if due_date is None:
        return None
    end = datetime.combine(date.fromisoformat(due_date) + timedelta(days=1), time(), CHINA_TZ)
    return end.isoformat()


def new_note(draft: NoteDraft, *, payment_code: str, unit_code: str, region_code: str,
             bill_kind: str, now: datetime, template: tuple[str, int] = ("", 0),
             bill_extra: tuple[tuple[str, str], ...] = (),
             template_def: bill_templates.BillTemplate | None = None) -> Note:
    """The note of ``draft``; ``template`` (id, version) and ``bill_extra`` are the bill
    template of its kind and the extra fields checked against it (``bill_templates``)."""
    return Note(payment_code=payment_code, unit_code=unit_code, region_code=region_code,
                payer=draft.payer, items=draft.items, total_fen=draft.total_fen,
                bill_kind=bill_kind,
                created_at=now.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                due_date=draft.due_date, expires_at=expiry_of(draft.due_date),
                remark=draft.remark, template_id=template[0], template_version=template[1],
                bill_extra=bill_extra,
                template_def=None if template_def in bill_templates.BUILT_IN else template_def)
