"""In-memory implementations of every port in ``chalicelib/services/ports.py``.

Each fake mirrors one adapter (named in its docstring) closely enough that a service test against
the fake says something about the service against AWS: a conditional write becomes an ``if`` on a
dict, and a failed condition has the adapter's visible outcome. Adapters that write to the same
DynamoDB tables share one ``Tables``. Nothing here reaches the network. ``fake_deps`` wires them
all into a ``Deps``, seeded like the local stack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.adapters.signers import LocalSigner
from chalicelib.bootstrap import Deps
from chalicelib.config import Settings, load_settings
from chalicelib.domain.bill_templates import BillTemplate, TemplateChoice
from chalicelib.domain.bills import Bill, BillStatus
from chalicelib.domain.codes import format_bill_number, make_bill_code
from chalicelib.domain.credentials import FinanceKey, UnitKey, key_id_of
from chalicelib.domain.errors import (
    BillNotReimbursable,
    BillReimbursed,
    Conflict,
    IllegalTransition,
    NoNumberRange,
    NotFound,
    ServiceUnavailable,
)
from chalicelib.domain.merchants import UnitMerchant, after_change, still_kept
from chalicelib.domain.notes import CHINA_TZ, BillRef, ListedNote, Note, NoteStatus, PaymentRef
from chalicelib.domain.payments import ORDER_CHANNELS, ChannelOrder, Payment, PaymentOutcome
from chalicelib.domain.people import RECENT_SESSION_SECONDS, OperatorActions, Person, Session
from chalicelib.domain.ranges import NumberRange, check_allocation
from chalicelib.domain.reconciliation import ChannelDay, ReconLine
from chalicelib.domain.records import (
    ArchivedFile,
    AuditEvent,
    BillLookup,
    BillRecord,
    IdempotencyClaim,
    NoteLookup,
    OtpCheck,
    PayerBill,
    PaymentRecord,
    PendingNumber,
    Reimbursement,
    Reservation,
    SmsClaim,
    SmsDelivery,
)
from chalicelib.domain.remittance import RemittanceDay
from chalicelib.domain.reports import VoidedBill
from chalicelib.domain.template_data import StoredTemplate
from chalicelib.domain.units import FeeItem, Seal, SigningKey, Unit
from tests.fakes_channels import FakeChannelApi, FakePayerIdentity, FakeRefunds, FakeStatements

# The same windows as the adapters (dynamo_notes.py, dynamo_bills.py).
IN_PROGRESS_TIMEOUT = timedelta(seconds=60)
SMS_CLAIM_TIMEOUT = timedelta(minutes=5)
DEFAULT_NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China, keys valid since January


class FakeClock:
    """A clock tests can set and move; ``Deps.clock`` calls it."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class BillRow:
    """One row of the bills table: the number is reserved first, the bill written later."""

    status: str  # pending | normal | reversed | voided
    payment_code: str
    reserved_at: str  # UTC, as the pending index sorts it
    range_key: tuple[str, str] | None = None
    bill: Bill | None = None
    payer_phone: str | None = None
    xml: ArchivedFile | None = None
    pdf: ArchivedFile | None = None
    check_count: int = 0
    first_checked_at: str | None = None
    last_checked_at: str | None = None
    sms_status: str | None = None
    sms_claimed_at: datetime | None = None
    void_reason: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # reversed_by / reverses
    reversal: Reservation | None = None  # the red bill's number, once taken
    purpose: str | None = None  # what the number was taken for: note | reversal | direct
    reverses: str | None = None  # a red bill's original
    reversal_reason: str | None = None
    voided_at: str | None = None  # China time, once voided (the adapter's voided_at)

    def record(self) -> BillRecord:
        assert self.bill is not None and self.xml is not None and self.pdf is not None
        return BillRecord(bill=self.bill, status=BillStatus(self.status),
                          payer_phone=self.payer_phone, xml=self.xml, pdf=self.pdf,
                          check_count=self.check_count, first_checked_at=self.first_checked_at,
                          last_checked_at=self.last_checked_at, sms_status=self.sms_status,
                          sms_claimed_at=self.sms_claimed_at.isoformat()
                          if self.sms_claimed_at else None,
                          links=dict(self.links), void_reason=self.void_reason)


@dataclass
class Tables:
    """The DynamoDB tables that several adapters write to, as dicts the fakes share."""

    notes: dict[str, Note] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)  # on the note row
    orders: dict[str, ChannelOrder] = field(default_factory=dict)
    payments: dict[str, dict] = field(default_factory=dict)
    bills: dict[str, BillRow] = field(default_factory=dict)
    # the bill rows' payer-index keys: bill id → (phone key, sort key)
    payer_index: dict[str, tuple[str, str]] = field(default_factory=dict)
    ranges: dict[tuple[str, str], NumberRange] = field(default_factory=dict)  # (pk, sk) → range
    marks: dict[str, int] = field(default_factory=dict)  # bill code → last number allocated
    reimbursements: dict[str, Reimbursement] = field(default_factory=dict)  # bill id → holder
    counters: dict[str, int] = field(default_factory=dict)  # counter id → value
    audit: list[AuditEvent] = field(default_factory=list)


def _range_key(r: NumberRange) -> tuple[str, str]:
    return f"{r.unit_code}#{r.kind_code}", f"{r.bill_code}#{r.start:010d}"


class FakeUnits:
    """UnitRepository; mirrors ``adapters/dynamo_units.DynamoUnits``: keys of their own rows
    (``row_keys``) beside the one key a unit's row may hold (``key_hashes``)."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.key_hashes: dict[str, str] = {}  # api key hash → unit code (the unit's row)
        self.row_keys: dict[str, UnitKey] = {}  # api key hash → key (unit_keys)
        self.items: dict[str, dict[str, FeeItem]] = {}

    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        key = self.row_keys.get(key_hash)
        if key is not None:
            return self.units.get(key.unit_code) if key.active else None
        code = self.key_hashes.get(key_hash)
        return self.units.get(code) if code else None

    def get(self, unit_code: str) -> Unit | None:
        return self.units.get(unit_code)

    def in_region(self, scope: str, limit: int, after: str | None = None) -> tuple[list[Unit],
                                                                           str | None]:
        ordered = sorted((f"{u.region_code}#{u.unit_code}", u) for u in self.units.values()
                         if u.region_code.startswith(scope))
        page = [u for position, u in ordered if after is None or position > after][:limit]
        if len(page) < limit:
            return page, None
        return page, f"{page[-1].region_code}#{page[-1].unit_code}"

    def fee_items(self, unit_code: str, fresh: bool = False) -> dict[str, FeeItem]:
        return dict(self.items.get(unit_code, {}))

    def put(self, unit: Unit, api_key_hash: str | None) -> None:
        self.units[unit.unit_code] = unit
        self.key_hashes = {h: c for h, c in self.key_hashes.items() if c != unit.unit_code}
        if api_key_hash:
            self.key_hashes[api_key_hash] = unit.unit_code

    def add(self, unit: Unit) -> None:
        if unit.unit_code in self.units:
            raise Conflict(f"单位 {unit.unit_code} 已存在", code="unit_exists")
        self.put(unit, None)

    def put_fee_item(self, unit_code: str, item_code: str, item: FeeItem) -> FeeItem | None:
        items = self.items.setdefault(unit_code, {})
        previous = items.get(item_code)
        items[item_code] = item
        return previous

    def add_api_key(self, key: UnitKey, key_hash: str) -> None:
        if key_hash in self.row_keys:
            raise Conflict("API key exists", code="key_exists")
        self.row_keys[key_hash] = key

    def api_keys(self, unit_code: str) -> list[UnitKey]:
        keys = sorted((k for k in self.row_keys.values() if k.unit_code == unit_code),
                      key=lambda k: k.created_at)
        legacy = [UnitKey(key_id=key_id_of(h), unit_code=unit_code, created_at="")
                  for h, code in self.key_hashes.items() if code == unit_code]
        return legacy + keys

    def revoke_api_key(self, unit_code: str, key_id: str, at: str) -> UnitKey:
        for key_hash, code in list(self.key_hashes.items()):
            if code == unit_code and key_id_of(key_hash) == key_id:
                del self.key_hashes[key_hash]
                return UnitKey(key_id=key_id, unit_code=unit_code, created_at="",
                               revoked_at=at)
        for key_hash, key in self.row_keys.items():
            if key.unit_code == unit_code and key.key_id == key_id:
                if key.active:
                    self.row_keys[key_hash] = key = replace(key, revoked_at=at)
                return key
        raise NotFound("API 密钥不存在", code="key_not_found")

    def add_seal(self, unit_code: str, seal: Seal) -> None:
        unit = self.units.get(unit_code)
        if unit is None:
            raise NotFound(f"unknown unit {unit_code}")
        history = unit.seals or ((Seal(unit.seal_key, ""),) if unit.seal_key else ())
        self.units[unit_code] = replace(unit, seal_key=seal.key, seals=(*history, seal))

    def set_bill_kinds(self, unit_code: str, default: str, kinds: tuple[str, ...]) -> None:
        if unit_code not in self.units:
            raise NotFound(f"unknown unit {unit_code}")
        self.units[unit_code] = replace(self.units[unit_code], bill_kind=default,
                                        bill_kinds=tuple(kinds))

    def set_signing_kid(self, unit_code: str, kid: str) -> None:
        if unit_code not in self.units:
            raise NotFound(f"unknown unit {unit_code}")
        self.units[unit_code] = replace(self.units[unit_code], signing_kid=kid)

    def set_merchant(self, unit_code: str, merchant: UnitMerchant,
                     at: datetime) -> tuple[UnitMerchant | None, Unit]:
        return self._change_merchant(unit_code, merchant.channel, merchant, at)

    def remove_merchant(self, unit_code: str, channel: str,
                        at: datetime) -> tuple[UnitMerchant | None, Unit]:
        return self._change_merchant(unit_code, channel, None, at)

    def _change_merchant(self, unit_code: str, channel: str, merchant: UnitMerchant | None,
                         at: datetime) -> tuple[UnitMerchant | None, Unit]:
        if unit_code not in self.units:
            raise NotFound(f"unknown unit {unit_code}")
        unit = self.units[unit_code]
        previous = unit.merchant(channel)
        retired = after_change(unit.retired_merchants, previous, merchant,
                               at)
        kept = tuple(m for m in unit.merchants if m.channel != channel)
        self.units[unit_code] = replace(unit, merchants=(*kept, merchant) if merchant else kept,
                                        retired_merchants=retired)
        return previous, self.units[unit_code]

    def replace_merchant(self, unit_code: str, merchant: UnitMerchant,
                         sealed_token: str) -> bool:
        unit = self.units.get(unit_code)
        mine = unit.merchant(merchant.channel) if unit is not None else None
        if mine is None or mine.sealed_token != sealed_token:
            return False
        assert unit is not None and mine.merchant_id == merchant.merchant_id  # nothing retired
        self.units[unit_code] = replace(unit, merchants=tuple(
            merchant if m.channel == merchant.channel else m for m in unit.merchants))
        return True

    def drop_retired(self, unit_code: str, at: datetime) -> tuple[UnitMerchant, ...]:
        unit = self.units.get(unit_code)
        if unit is None:
            return ()
        kept = still_kept(unit.retired_merchants, at)
        self.units[unit_code] = replace(unit, retired_merchants=kept)
        return tuple(m for m in unit.retired_merchants if m not in kept)


class FakeMetrics:
    """Metrics: each datapoint published, as (name, value), in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, int]] = []

    def put_count(self, name: str, value: int) -> None:
        self.published.append((name, value))


class FakeNoteIndex:
    """NoteIndex; mirrors ``adapters/dynamo_note_index.DynamoNoteIndex`` over the notes table:
    a position is the last note's keys, and a full page always has one."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()

    def for_unit(self, unit_code: str, since: str, until: str, status: str | None,
                 limit: int, after: dict[str, str] | None) -> tuple[list[Note],
                                                                    dict[str, str] | None]:
        return self._page([n for n in self.tables.notes.values() if n.unit_code == unit_code],
                          since, until, status, limit, after, "unit_code")

    def search_unit(self, unit_code: str, since: str, until: str, search: Any, match: Any,
                    limit: int, budget: int, after: dict[str, str] | None
                    ) -> tuple[list[ListedNote], dict[str, str] | None, int]:
        ordered, _ = self._page([n for n in self.tables.notes.values()
                                 if n.unit_code == unit_code], since, until, None,
                                len(self.tables.notes) + 1, after, "unit_code")
        found: list[ListedNote] = []
        for read, note in enumerate(ordered[:budget], start=1):
            if search.finds_payer(note.payment_code, note.payer) and match(note.listed()):
                found.append(note.listed())
                if len(found) == limit:
                    return found, self._position(note), read
        if len(ordered) >= budget:  # as DynamoDB's Limit: a spent budget has a position
            return found, self._position(ordered[budget - 1]), budget
        return found, None, len(ordered)

    def of_payer(self, unit_code: str, kind: str, value: str, since: str, until: str,
                 match: Any, limit: int, after: dict[str, str] | None
                 ) -> tuple[list[Note], dict[str, str] | None]:
        ordered, _ = self._page([n for n in self.tables.notes.values()
                                 if n.unit_code == unit_code
                                 and getattr(n.payer, kind) == value], since, until, None,
                                len(self.tables.notes) + 1, after, "unit_code")
        found = [n for n in ordered if match(n)]
        if len(found) < limit:
            return found, None
        return found[:limit], {**self._position(found[limit - 1]),
                               f"payer_{'phone' if kind == 'phone' else 'credit'}":
                               f"{unit_code}#{value}"}

    @staticmethod
    def _position(note: Note) -> dict[str, str]:
        return {"payment_code": note.payment_code, "created_at": note.created_at,
                "unit_code": note.unit_code}

    def of_day(self, day: str, since: str, until: str, status: str | None, limit: int,
               after: dict[str, str] | None) -> tuple[list[Note], dict[str, str] | None]:
        return self._page([n for n in self.tables.notes.values() if n.created_at[:10] == day],
                          since, until, status, limit, after, "created_day")

    def _page(self, notes: list[Note], since: str, until: str, status: str | None, limit: int,
              after: dict[str, str] | None, partition: str) -> tuple[list[Note],
                                                                     dict[str, str] | None]:
        ordered = sorted((n for n in notes if since <= n.created_at <= until
                          and (status is None or n.status.value == status)),
                         key=lambda n: (n.created_at, n.payment_code), reverse=True)
        if after is not None:
            mark = (after["created_at"], after["payment_code"])
            ordered = [n for n in ordered if (n.created_at, n.payment_code) < mark]
        page = [NoteRepositoryView.of(self.tables, n) for n in ordered[:limit]]
        if len(page) < limit:
            return page, None
        last = page[-1]
        return page, {"payment_code": last.payment_code, "created_at": last.created_at,
                      partition: last.unit_code if partition == "unit_code"
                      else last.created_at[:10]}


class NoteRepositoryView:
    """A note as ``FakeNotes.get`` shows it (the reservation in ``extra``)."""

    @staticmethod
    def of(tables: Tables, note: Note) -> Note:
        reservation = tables.reservations.get(note.payment_code)
        return replace(note, extra={"reservation": dataclasses.asdict(reservation)
                                    if reservation else None})


class FakeFinanceKeys:
    """FinanceKeyRepository; mirrors ``adapters/dynamo_finance_keys.DynamoFinanceKeys``."""

    def __init__(self) -> None:
        self.keys: dict[str, FinanceKey] = {}  # key hash → key

    def get(self, key_hash: str) -> FinanceKey | None:
        return self.keys.get(key_hash)

    def add(self, key: FinanceKey, key_hash: str) -> None:
        if key_hash in self.keys:
            raise Conflict("finance key exists", code="key_exists")
        self.keys[key_hash] = key

    def all(self) -> list[FinanceKey]:
        return sorted(self.keys.values(), key=lambda k: (k.created_at, k.key_id))

    def revoke(self, key_id: str, at: str) -> FinanceKey:
        for key_hash, key in self.keys.items():
            if key.key_id == key_id:
                if key.revoked_at is None:
                    self.keys[key_hash] = key = replace(key, revoked_at=at)
                return key
        raise NotFound(f"unknown finance key {key_id}")


class FakeTemplateChoices:
    """TemplateChoices; mirrors ``DynamoTemplateChoices``: one record a kind, replaced."""

    def __init__(self) -> None:
        self.rows: dict[str, TemplateChoice] = {}

    def get(self, kind_code: str) -> TemplateChoice | None:
        return self.rows.get(kind_code)

    def all(self) -> list[TemplateChoice]:
        return [self.rows[k] for k in sorted(self.rows)]

    def put(self, choice: TemplateChoice) -> None:
        self.rows[choice.kind_code] = choice


class FakeBillTemplates:
    """BillTemplateStore; mirrors ``DynamoBillTemplates``: a version is written once."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], StoredTemplate] = {}

    def add(self, stored: StoredTemplate) -> None:
        key = (stored.template.template_id, stored.template.version)
        if key in self.rows:
            raise Conflict(f"template {key} exists", code="template_version_exists")
        self.rows[key] = stored

    def get(self, template_id: str, version: int) -> BillTemplate | None:
        stored = self.rows.get((template_id, version))
        return stored.template if stored else None

    def versions(self, template_id: str) -> list[StoredTemplate]:
        return [self.rows[k] for k in sorted(self.rows) if k[0] == template_id]

    def newest(self) -> list[StoredTemplate]:
        newest: dict[str, StoredTemplate] = {}
        for (tid, _), stored in sorted(self.rows.items()):
            newest[tid] = stored
        return list(newest.values())


class FakeCounters:
    """CounterRepository; mirrors ``DynamoCounters`` (an atomic ADD 1 that starts from 0)."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.values: dict[str, int] = (tables or Tables()).counters
        self.expires: dict[str, int] = {}

    def value(self, counter_id: str) -> int:
        return self.values.get(counter_id, 0)

    def next_value(self, counter_id: str, expires_epoch: int | None = None) -> int:
        self.values[counter_id] = self.values.get(counter_id, 0) + 1
        if expires_epoch is not None:
            self.expires[counter_id] = expires_epoch
        return self.values[counter_id]

    def hold(self, counter_id: str, now_epoch: int, until_epoch: int) -> int:
        if counter_id in self.values and self.expires.get(counter_id, 0) > now_epoch:
            return self.expires[counter_id]
        self.values[counter_id], self.expires[counter_id] = 1, until_epoch
        return 0


class FakeIdempotency:
    """IdempotencyStore; mirrors ``DynamoIdempotency``.

    A claim succeeds when no record exists; a record of the same request hash that is
    ``released``, or ``in_progress`` for more than 60 s, is taken over keeping its attached
    result (``taken_over``); otherwise the earlier record comes back and nothing changes.
    """

    def __init__(self) -> None:
        self.records: dict[str, dict] = {}

    def claim(self, idempotency_id: str, request_hash: str,
              now: datetime) -> IdempotencyClaim | None:
        existing = self.records.get(idempotency_id)
        if existing is None:
            self.records[idempotency_id] = {"state": "in_progress", "request_hash": request_hash,
                                            "result": None, "claimed_at": now}
            return None
        stale = existing["state"] == "in_progress" \
            and existing["claimed_at"] < now - IN_PROGRESS_TIMEOUT
        if existing["request_hash"] == request_hash and (stale or existing["state"] == "released"):
            existing.update(state="in_progress", claimed_at=now)
            return IdempotencyClaim("taken_over", request_hash, existing["result"])
        return IdempotencyClaim(existing["state"], existing["request_hash"], existing["result"])

    def attach(self, idempotency_id: str, result: str, claimed_at: datetime) -> bool:
        record = self.records.get(idempotency_id)
        if record is None or record["state"] != "in_progress" \
                or record["claimed_at"] != claimed_at:
            return False
        record["result"] = result
        return True

    def complete(self, idempotency_id: str, result: str) -> None:
        record = self.records.setdefault(idempotency_id, {"request_hash": "", "claimed_at": None})
        record.update(state="completed", result=result)

    def release(self, idempotency_id: str, claimed_at: datetime) -> None:
        record = self.records.get(idempotency_id)
        if record is None or record["state"] != "in_progress" \
                or record["claimed_at"] != claimed_at:
            return
        if record["result"] is None:
            del self.records[idempotency_id]
        else:
            record["state"] = "released"


class FakeNotes:
    """NoteRepository (with ``get_order``); mirrors ``DynamoNotes`` over notes and orders.

    ``get`` shows the bill-number reservation in ``extra`` as the adapter does.
    """

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()
        self.rows, self.orders = self.tables.notes, self.tables.orders
        self.open: set[str] = set()  # the sparse "open" index of channel orders

    def add(self, note: Note) -> None:
        if note.payment_code in self.rows:
            raise Conflict("payment code already in use", code="duplicate_payment_code")
        self.rows[note.payment_code] = replace(note, extra={})

    def get(self, payment_code: str) -> Note | None:
        note = self.rows.get(payment_code)
        if note is None:
            return None
        reservation = self.tables.reservations.get(payment_code)
        return replace(note, extra={"reservation": dataclasses.asdict(reservation)
                                    if reservation else None})

    def lookup(self, payment_code: str, counter_ids: Sequence[str] = ()) -> NoteLookup:
        counters = self.tables.counters
        return NoteLookup(note=self.get(payment_code),
                          counters={c: counters[c] for c in counter_ids if c in counters})

    def get_many(self, payment_codes: Sequence[str]) -> dict[str, Note]:
        found = {code: self.get(code) for code in payment_codes}
        return {code: note for code, note in found.items() if note is not None}

    def cancel(self, payment_code: str) -> Note:
        note = self.rows.get(payment_code)
        if note is None:
            raise NotFound("缴款书不存在")
        if note.status is not NoteStatus.UNPAID:  # the stored status, as the condition sees it
            raise IllegalTransition(f"只有未缴款的缴款书可以撤销（当前状态：{note.status}）",
                                    code="note_not_cancellable")
        self.rows[payment_code] = replace(note, status=NoteStatus.CANCELLED)
        return self.get(payment_code)  # type: ignore[return-value]

    def mark_issued(self, payment_code: str, bill: BillRef) -> None:
        note = self.rows.get(payment_code)
        if note is None or note.status not in (NoteStatus.PAID, NoteStatus.ISSUED):
            raise IllegalTransition("note is not paid", code="note_not_paid")
        self.rows[payment_code] = replace(note, status=NoteStatus.ISSUED, bill=bill)

    def add_order(self, order: ChannelOrder) -> None:
        if order.out_trade_no in self.orders:
            raise Conflict("out_trade_no already in use")
        self.orders[order.out_trade_no] = order
        self.open.add(order.out_trade_no)

    def get_order(self, out_trade_no: str) -> ChannelOrder | None:
        return self.orders.get(out_trade_no)

    def open_orders(self, created_before: str, limit: int = 100,
                    after: ChannelOrder | None = None) -> list[ChannelOrder]:
        self.open_order_pages = getattr(self, "open_order_pages", 0) + 1
        found = sorted((self.orders[n] for n in self.open
                        if self.orders[n].created_at < created_before),
                       key=lambda o: (o.created_at, o.out_trade_no))
        if after is not None:
            found = [o for o in found
                     if (o.created_at, o.out_trade_no) > (after.created_at, after.out_trade_no)]
        return found[:limit]

    def close_order(self, out_trade_no: str) -> None:
        self.open.discard(out_trade_no)

    def awaiting_bill(self, paid_before: str, limit: int = 500) -> list[str]:
        """As the adapter's sparse index: paid (not yet issued) notes by the payment's UTC time."""
        def utc(iso: str) -> str:
            return datetime.fromisoformat(iso).astimezone(UTC).isoformat(timespec="seconds")

        paid = sorted((utc(n.payment.paid_at), code) for code, n in self.rows.items()
                      if n.status is NoteStatus.PAID and n.payment is not None)
        return [code for since, code in paid if since < paid_before][:limit]


class FakePayments:
    """PaymentRecorder; mirrors ``adapters/dynamo_payments.DynamoPaymentRecorder``.

    The adapter's transaction (order check, payment put, note unpaid → paid) applies whole or not
    at all. When it does not, the outcome is chosen in the adapter's order: a known payment id is
    DUPLICATE; an order that is missing or names another note or channel is ORDER_UNKNOWN
    (nothing written); a wrong amount is AMOUNT_MISMATCH and a note that is not unpaid is
    NOTE_NOT_PAYABLE, both kept as ``exception`` payments of the note's unit, for a refund.
    An agent bank's payment, and a unit's own receipt behind a directly issued bill, have no
    order: they name the note, whose total they must equal.
    """

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()
        self.rows = self.tables.payments  # payment id → the stored payment

    def record(self, payment: Payment) -> PaymentOutcome:
        if payment.payment_id in self.rows:
            return PaymentOutcome.DUPLICATE
        note = self.tables.notes.get(payment.payment_code)
        unpaid = note is not None and note.status is NoteStatus.UNPAID  # stored, not status_at
        if payment.channel not in ORDER_CHANNELS:  # no order: the note's total is the condition
            if note is None:
                return PaymentOutcome.ORDER_UNKNOWN
            wrong_amount = unpaid and payment.amount_fen != note.total_fen
        else:
            order = self.tables.orders.get(payment.out_trade_no)
            if order is None or order.payment_code != payment.payment_code \
                    or order.channel != payment.channel:
                return PaymentOutcome.ORDER_UNKNOWN
            if order.merchant != payment.merchant or (
                    payment.merchant_app and order.merchant_app != payment.merchant_app):
                return PaymentOutcome.MERCHANT_MISMATCH
            wrong_amount = payment.amount_fen != order.amount_fen
        if wrong_amount:
            return self._exception(payment, PaymentOutcome.AMOUNT_MISMATCH)
        if note is None or not unpaid:
            return self._exception(payment, PaymentOutcome.NOTE_NOT_PAYABLE)
        self.rows[payment.payment_id] = self._row(payment, status="applied")
        self.tables.notes[note.payment_code] = replace(
            note, status=NoteStatus.PAID,
            payment=PaymentRef(channel=payment.channel, channel_txn_id=payment.channel_txn_id,
                               amount_fen=payment.amount_fen, paid_at=payment.paid_at,
                               out_trade_no=payment.out_trade_no))
        return PaymentOutcome.RECORDED

    def _exception(self, payment: Payment, outcome: PaymentOutcome) -> PaymentOutcome:
        note = self.tables.notes.get(payment.payment_code)
        self.rows[payment.payment_id] = {
            **self._row(payment, status="exception", reason=outcome.value),
            "exception_unit": note.unit_code if note else "unknown", "refund_status": "pending",
            "refund_due": "due"}
        return outcome

    @staticmethod
    def _row(payment: Payment, *, status: str, reason: str | None = None) -> dict:
        """The stored attributes; as in DynamoDB, an applied payment has no ``reason`` at all."""
        row = {**dataclasses.asdict(payment), "payment_id": payment.payment_id,
               "payment_code": payment.payment_code, "status": status,
               **({"reason": reason} if reason else {})}
        del row["merchant_app"]  # checked against the order, not kept (as in DynamoDB)
        for name in ("settle_date", "merchant"):  # as DynamoDB: an absent attribute, not ""
            if not row[name]:
                del row[name]
        return row

    def get(self, payment_id: str) -> dict | None:
        return self.rows.get(payment_id)

    def for_note(self, payment_code: str) -> list[PaymentRecord]:
        return [PaymentRecord.of_row(r) for r in sorted(
            (r for r in self.rows.values() if r["payment_code"] == payment_code),
            key=lambda r: r["paid_at"])]

    def exceptions_for_unit(self, unit_code: str, limit: int = 200) -> list[PaymentRecord]:
        mine = [r for r in self.rows.values() if r.get("exception_unit") == unit_code]
        return [PaymentRecord.of_row(r)
                for r in sorted(mine, key=lambda r: r["paid_at"], reverse=True)[:limit]]

    def exceptions_page(self, unit_code: str, since: str, until: str,
                        refund_status: str | None, limit: int, after: dict[str, str] | None
                        ) -> tuple[list[PaymentRecord], dict[str, str] | None]:
        mine = sorted((r for r in self.rows.values() if r.get("exception_unit") == unit_code
                       and since <= r["paid_at"] <= until
                       and (not refund_status or r.get("refund_status") == refund_status)),
                      key=lambda r: (r["paid_at"], r["payment_id"]), reverse=True)
        if after is not None:
            mine = [r for r in mine
                    if (r["paid_at"], r["payment_id"]) < (after["paid_at"], after["payment_id"])]
        page = mine[:limit]  # as DynamoDB's Limit: a full page always has a position
        if len(page) < limit:
            return [PaymentRecord.of_row(r) for r in page], None
        last = page[-1]
        return [PaymentRecord.of_row(r) for r in page], {
            "payment_id": last["payment_id"], "paid_at": last["paid_at"],
            "exception_unit": unit_code}

    def of_day(self, channel: str, date: str) -> list[PaymentRecord]:
        return [PaymentRecord.of_row(r) for r in sorted(
            (r for r in self.rows.values()
             if r["channel"] == channel and r["paid_at"][:10] == date),
            key=lambda r: r["paid_at"])]

    def find(self, payment_id: str) -> PaymentRecord | None:
        row = self.rows.get(payment_id)
        return PaymentRecord.of_row(row) if row is not None else None


class FakeBills:
    """BillRepository; mirrors ``adapters/dynamo_bills.DynamoBills``.

    ``reserve`` moves the ``next`` of the unit's oldest open range for the note's kind, writes
    the reservation onto the note and creates the pending bill together, so a number is taken
    only with its note: never twice, never skipped. A note that already has a reservation gets it
    back; a note that is not paid gets None; a unit without an open range gets ``NoNumberRange``.
    """

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()
        self.rows = self.tables.bills  # bill id → row

    def reserve(self, note: Note, *, check_code: str, issued_at: str) -> Reservation | None:
        # The adapter trusts the caller's copy of the note first (it saves a read): a copy that
        # holds a reservation gets it back, a copy that is not paid gets None.
        held = (note.extra or {}).get("reservation")
        if held is not None:
            return Reservation(**held)
        if note.status is not NoteStatus.PAID:
            return None
        if note.payment_code in self.tables.reservations:
            return self.tables.reservations[note.payment_code]
        stored = self.tables.notes.get(note.payment_code)
        if stored is None or stored.status is not NoteStatus.PAID:
            return None
        reservation = self._take(note.unit_code, note.bill_kind, note.payment_code,
                                 check_code=check_code, issued_at=issued_at)
        self.tables.reservations[note.payment_code] = reservation
        self.rows[reservation.bill_code + reservation.bill_number].purpose = "note"
        return reservation

    def reserve_many(self, notes: Sequence[tuple[Note, str]], *,
                     issued_at: str) -> list[Reservation | None]:
        """As the adapter: one ``reserve`` after another gives the same consecutive numbers
        in the notes' order (nothing else runs between them here)."""
        return [self.reserve(note, check_code=check_code, issued_at=issued_at)
                for note, check_code in notes]

    def reserve_reversal(self, original: BillRecord, *, check_code: str, issued_at: str,
                         reason: str = "") -> Reservation | None:
        bill = original.bill
        row = self.rows[bill.bill_id]
        if row.reversal is not None:
            return row.reversal
        if row.status != BillStatus.NORMAL.value:
            return None
        row.reversal = self._take(bill.issuing_unit_code, bill.kind_code, bill.payment_code,
                                  check_code=check_code, issued_at=issued_at)
        red = self.rows[row.reversal.bill_code + row.reversal.bill_number]
        red.purpose, red.reverses, red.reversal_reason = "reversal", bill.bill_id, reason or None
        return row.reversal

    def _take(self, unit_code: str, kind_code: str, payment_code: str, *, check_code: str,
              issued_at: str) -> Reservation:
        """The next number of the oldest open range, and its pending bill row."""
        pk = f"{unit_code}#{kind_code}"
        open_ranges = sorted(k for k, r in self.tables.ranges.items()
                             if k[0] == pk and r.next <= r.end)
        if not open_ranges:
            raise NoNumberRange(f"unit {unit_code} has no open number range for bill kind "
                                f"{kind_code}")
        taken = self.tables.ranges[open_ranges[0]]
        reservation = Reservation(bill_code=taken.bill_code,
                                  bill_number=format_bill_number(taken.next),
                                  check_code=check_code, issued_at=issued_at)
        bill_id = taken.bill_code + reservation.bill_number
        if bill_id in self.rows:
            raise Conflict(f"bill {bill_id} exists already")
        self.tables.ranges[open_ranges[0]] = replace(taken, next=taken.next + 1)
        self.rows[bill_id] = BillRow(
            status="pending", payment_code=payment_code, range_key=open_ranges[0],
            reserved_at=datetime.fromisoformat(issued_at).astimezone(UTC)
            .isoformat(timespec="seconds"))
        return reservation

    def set_status(self, bill_id: str, status: BillStatus, *, expected: BillStatus,
                   links: dict | None = None, reason: str | None = None,
                   unreimbursed: bool = False, unlinked: bool = False,
                   at: str | None = None) -> bool:
        """As the adapter's transaction: a held reimbursement refuses first (``BillReimbursed``),
        then a status other than ``expected`` (or links, with ``unlinked``) gives False."""
        if unreimbursed and bill_id in self.tables.reimbursements:
            raise BillReimbursed("该票据已报销入账")
        row = self.rows.get(bill_id)
        if row is None or row.status != expected.value or (unlinked and row.links):
            return False
        row.status = status.value
        if links:
            row.links = dict(links)
        if reason:
            row.void_reason = reason
        if status is BillStatus.VOIDED and at:
            row.voided_at = at
        return True

    def save_issued(self, record: BillRecord) -> None:
        row = self._pending_or_same(record)
        row.status, row.bill, row.payer_phone = record.status.value, record.bill, record.payer_phone
        row.xml, row.pdf = record.xml, record.pdf
        if record.links:
            row.links = dict(record.links)

    def complete_issue(self, record: BillRecord, ref: BillRef,
                       payer_index: tuple[str, str] | None = None) -> None:
        """Save the bill and mark its note issued (and index it for its payer): all or
        nothing, as the transaction."""
        self._pending_or_same(record)
        note = self.tables.notes.get(record.bill.payment_code)
        if note is None or note.status not in (NoteStatus.PAID, NoteStatus.ISSUED):
            raise IllegalTransition("note is not paid", code="note_not_paid")
        self.save_issued(record)
        self.tables.notes[note.payment_code] = replace(note, status=NoteStatus.ISSUED, bill=ref)
        if payer_index is not None:
            self.tables.payer_index[record.bill.bill_id] = payer_index

    def complete_many(self, issued: Sequence[tuple[BillRecord, BillRef,
                                                    tuple[str, str] | None]]) -> None:
        """All or nothing, as the adapter's transaction: every condition is checked first."""
        for record, _, _ in issued:
            try:
                self._pending_or_same(record)
            except Conflict as exc:
                raise Conflict("a bill of the batch could not be completed") from exc
            note = self.tables.notes.get(record.bill.payment_code)
            if note is None or note.status not in (NoteStatus.PAID, NoteStatus.ISSUED):
                raise Conflict("a bill of the batch could not be completed")
        for record, ref, payer_index in issued:
            self.complete_issue(record, ref, payer_index)

    def _pending_or_same(self, record: BillRecord) -> BillRow:
        row = self.rows.get(record.bill.bill_id)
        if row is None or row.status not in ("pending", record.status.value):
            raise Conflict(f"bill {record.bill.bill_id} is not pending")
        return row

    def _written(self, bill_code: str, bill_number: str) -> BillRow | None:
        row = self.rows.get(bill_code + bill_number)
        return row if row is not None and row.bill is not None else None

    def get(self, bill_code: str, bill_number: str) -> BillRecord | None:
        row = self._written(bill_code, bill_number)
        return row.record() if row is not None else None

    def of_unit(self, unit_code: str, first: str, last: str, limit: int,
                after: str | None = None) -> tuple[list[BillRecord], str | None]:
        rows = sorted(((r.bill.issued_at, r.bill.bill_id, r) for r in self.rows.values()
                       if r.bill is not None and r.bill.issuing_unit_code == unit_code
                       and first <= r.bill.issued_at <= last), key=lambda t: t[:2], reverse=True)
        if after:
            at, _, bill_id = after.partition("|")
            rows = [t for t in rows if t[:2] < (at, bill_id)]
        # as the unit index holds them: the bill, its status and links, nothing else
        page = [BillRecord(bill=record.bill, status=record.status, payer_phone=None,
                           xml=ArchivedFile("", "", 0), pdf=ArchivedFile("", "", 0),
                           links=record.links)
                for record in (r.record() for _, _, r in rows[:limit])]
        if len(page) < limit:
            return page, None
        return page, f"{page[-1].bill.issued_at}|{page[-1].bill.bill_id}"

    def lookup(self, bill_code: str, bill_number: str, counter_ids: Sequence[str] = (), *,
               reimbursement: bool = False) -> BillLookup:
        counters = self.tables.counters
        return BillLookup(
            record=self.get(bill_code, bill_number),
            counters={c: counters[c] for c in counter_ids if c in counters},
            reimbursement=self.tables.reimbursements.get(bill_code + bill_number)
            if reimbursement else None)

    def count_check(self, record: BillRecord, now: str, event: AuditEvent) -> BillRecord:
        row = self._written(record.bill.bill_code, record.bill.bill_number)
        if row is None:
            raise NotFound("票据不存在")
        row.check_count += 1
        row.first_checked_at = row.first_checked_at or now
        row.last_checked_at = now
        self.tables.audit.append(event)
        return dataclasses.replace(record, check_count=record.check_count + 1,
                                   first_checked_at=record.first_checked_at or now,
                                   last_checked_at=now)

    def archived_files_page(self, after: str | None, limit: int,
                            ) -> tuple[list[tuple[str, dict[str, ArchivedFile]]], str | None]:
        """In bill id order (the adapter's scan order is DynamoDB's; any order that resumes
        after ``after`` serves)."""
        ids = sorted(i for i, row in self.rows.items()
                     if row.xml is not None and row.pdf is not None and (after is None or i > after))
        page = ids[:limit]
        files = [(i, {"xml": self.rows[i].xml, "pdf": self.rows[i].pdf}) for i in page]
        return files, (page[-1] if len(ids) > limit else None)


class FakeRanges:
    """RangeRepository; mirrors ``adapters/dynamo_ranges.DynamoRanges``.

    Allocation moves a per-bill-code high-water mark, so ranges of one code never overlap.
    """

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()

    def allocate(self, unit_code: str, kind_code: str, bill_code: str, count: int,
                 now: str) -> NumberRange:
        check_allocation(count)
        high = self.tables.marks.get(bill_code, 0)
        if high + count >= 10**10:
            raise ValueError(f"bill code {bill_code} has no {count} numbers left")
        allocated = NumberRange(unit_code=unit_code, kind_code=kind_code, bill_code=bill_code,
                                start=high + 1, end=high + count, next=high + 1,
                                allocated_at=now)
        self.tables.marks[bill_code] = high + count
        self.tables.ranges[_range_key(allocated)] = allocated
        return allocated

    def for_unit(self, unit_code: str, kind_code: str) -> list[NumberRange]:
        return [r for k, r in sorted(self.tables.ranges.items())
                if k[0] == f"{unit_code}#{kind_code}"]

    def of_unit(self, unit_code: str) -> list[NumberRange]:
        return sorted((r for r in self.tables.ranges.values() if r.unit_code == unit_code),
                      key=lambda r: (r.kind_code, r.bill_code, r.start))

    def all(self) -> list[NumberRange]:
        return sorted(self.tables.ranges.values(), key=lambda r: (r.bill_code, r.start))

    def pending_bills(self, reserved_before: str) -> list[PendingNumber]:
        return [PendingNumber(bill_id=bill_id, payment_code=row.payment_code,
                              reserved_at=row.reserved_at, purpose=row.purpose or "note",
                              reverses=row.reverses, reversal_reason=row.reversal_reason)
                for bill_id, row in sorted(self.tables.bills.items(),
                                           key=lambda kv: kv[1].reserved_at)
                if row.status == "pending" and row.reserved_at < reserved_before]

    def void_number(self, bill_id: str, reason: str) -> bool:
        row = self.tables.bills.get(bill_id)
        if row is None or row.status != "pending" or row.range_key is None:
            return False
        row.status, row.void_reason = "voided", reason
        taken = self.tables.ranges[row.range_key]
        self.tables.ranges[row.range_key] = replace(taken, voided=taken.voided + 1)
        return True


class FakeReimbursements:
    """ReimbursementRepository; mirrors ``DynamoReimbursements``: the first unit holds a bill,
    and only a bill that is normal, not exchanged to paper and not being reversed (the
    transaction's condition on the bill row). A holder answers before the bill's condition."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()
        self.records = self.tables.reimbursements

    def add(self, record: Reimbursement) -> Reimbursement | None:
        if record.bill_id in self.records:
            return self.records[record.bill_id]
        row = self.tables.bills.get(record.bill_id)
        if row is None or row.status != BillStatus.NORMAL.value or "paper" in row.links \
                or row.reversal is not None:
            raise BillNotReimbursable("该票据当前不能报销入账")
        self.records[record.bill_id] = record
        return None

    def get(self, bill_id: str) -> Reimbursement | None:
        return self.records.get(bill_id)

    def release(self, bill_id: str, unit_code: str) -> bool:
        holder = self.records.get(bill_id)
        if holder is None or holder.unit_code != unit_code:
            return False
        del self.records[bill_id]
        return True


class FakeAudit:
    """AuditLog; mirrors ``DynamoAudit``: append-only, queried newest first."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.events: list[AuditEvent] = (tables or Tables()).audit

    def append(self, event: AuditEvent) -> None:
        self.events.append(event)

    def query(self, *, bill_id: str | None = None, unit_code: str | None = None,
              day: str | None = None, limit: int = 200) -> list[AuditEvent]:
        if bill_id:
            found = [e for e in self.events if e.bill_id == bill_id]
        elif unit_code:
            found = [e for e in self.events if e.unit_code == unit_code
                     and (not day or e.at.startswith(day))]
        elif day:
            found = [e for e in self.events if e.at[:10] == day]
        else:
            raise ValueError("query the audit log by bill, unit or day")
        newest_first = sorted(found, key=lambda e: e.at, reverse=True)[:limit]
        return [replace(e, event_id=f"{e.at}#{n:08x}") for n, e in enumerate(newest_first)]

    def page(self, *, bill_id: str | None = None, unit_code: str | None = None,
             day: str | None = None, limit: int = 100, after: dict[str, str] | None = None
             ) -> tuple[list[tuple[AuditEvent, dict[str, str]]], dict[str, str] | None]:
        """As DynamoDB pages: positions are the rows' places in the newest-first order
        (events are appended, so an older place never moves)."""
        if bill_id:
            found = [e for e in self.events if e.bill_id == bill_id
                     and (not day or e.at.startswith(day))]
        elif unit_code or day:
            found = [e for e in self.events if e.unit_code == unit_code
                     and (not day or e.at.startswith(day))] if unit_code else [
                e for e in self.events if e.at[:10] == day]
        else:
            raise ValueError("query the audit log by bill, unit or day")
        ordered = sorted(range(len(self.events)), key=lambda i: (self.events[i].at, i),
                         reverse=True)
        wanted = {id(e) for e in found}
        rows = [i for i in ordered if id(self.events[i]) in wanted]
        start = 0
        if after:
            start = next(n + 1 for n, i in enumerate(rows) if str(i) == after["row"])
        taken = rows[start:start + limit]
        page = [(replace(self.events[i], event_id=f"{self.events[i].at}#{i:08x}"),
                 {"row": str(i)}) for i in taken]
        more = start + limit < len(rows)
        return page, ({"row": str(taken[-1])} if more and taken else None)


class FakePeople:
    """PeopleStore; mirrors ``adapters/dynamo_people.DynamoPeople``."""

    FIELDS = ("display_name", "password_hash", "totp_sealed", "totp_step", "failures",
              "locked_until", "role", "scope", "disabled", "totp_pending", "totp_pending_epoch")

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.regions: dict[str, str] = {}  # username → the unit's region it was created with
        self.sessions: dict[str, Session] = {}
        self.actions: dict[str, frozenset] = {}
        self.own_actions: dict[str, dict[str, frozenset]] = {}  # unit → username → own set

    def get(self, username: str) -> Person | None:
        return self.people.get(username)

    def create(self, person: Person, region: str = "") -> None:
        if person.username in self.people:
            raise Conflict(f"用户名 {person.username} 已存在", code="person_exists")
        self.people[person.username] = replace(person, totp_step=0, failures=0,
                                               locked_until=0)
        self.regions[person.username] = region

    def update(self, username: str, changes: dict[str, Any]) -> Person:
        if username not in self.people:
            raise NotFound("没有这个用户", code="person_not_found")
        for name in changes:
            if name not in self.FIELDS:
                raise ValueError(f"not a field a person's update may set: {name}")
        defaults = {"scope": "", "disabled": False, "totp_pending_epoch": 0}
        self.people[username] = replace(self.people[username], **{
            k: defaults.get(k) if v is None else v for k, v in changes.items()})
        return self.people[username]

    def list(self, unit_code: str | None = None, region: str = "") -> list[Person]:
        def listed(p: Person) -> bool:
            if unit_code:
                return p.unit_code == unit_code and self.regions[p.username] == region
            if region:
                return (p.scope.startswith(region) if p.role.is_finance
                        else self.regions[p.username].startswith(region))
            return True

        return sorted((replace(p, password_hash="", totp_step=0, totp_pending=None,
                               totp_pending_epoch=0)
                       for p in self.people.values() if listed(p)), key=lambda p: p.username)

    def page(self, unit_code: str | None = None, region: str = "", limit: int = 100,
             after: str | None = None) -> tuple[list[Person], str | None]:
        def place(p: Person) -> str:  # as the index sorts: a unit's people, then finance's
            if p.role.is_finance or not p.unit_code:
                return f"~finance#{p.username}"
            return f"{self.regions[p.username]}#{p.unit_code}#{p.username}"

        placed = sorted((place(p), p) for p in self.list(unit_code, region))
        rest = [(at, p) for at, p in placed if after is None or at > after]
        taken = rest[:limit]
        more = len(rest) > limit
        return [p for _, p in taken], taken[-1][0] if more else None

    def record_failure(self, username: str, now_epoch: int, most: int,
                       lock_seconds: int) -> Person:
        person = self.people.get(username)
        if person is None:
            raise NotFound("没有这个用户", code="person_not_found")
        person = replace(person, failures=person.failures + 1)
        if person.failures >= most:
            person = replace(person, failures=0, locked_until=now_epoch + lock_seconds)
        self.people[username] = person
        return person

    def use_totp_step(self, username: str, step: int) -> bool:
        person = self.people.get(username)
        if person is None or person.totp_step >= step:
            return False
        self.people[username] = replace(person, totp_step=step)
        return True

    def operator_actions(self, unit_code: str) -> frozenset:
        return self.actions.get(unit_code, frozenset())

    def set_operator_actions(self, unit_code: str, actions: frozenset) -> None:
        self.actions[unit_code] = frozenset(actions)

    def operator_settings(self, unit_code: str) -> OperatorActions:
        return OperatorActions(self.operator_actions(unit_code),
                               dict(self.own_actions.get(unit_code, {})))

    def set_person_actions(self, unit_code: str, username: str, actions: frozenset | None,
                           before: frozenset | None) -> bool:
        own = self.own_actions.setdefault(unit_code, {})
        if own.get(username) != before:
            return False
        if actions is None:
            own.pop(username, None)
        else:
            own[username] = frozenset(actions)
        return True

    def put_session(self, session: Session, person: Person | None = None) -> bool:
        if person is not None:
            now = self.people.get(person.username)
            if now is None or now.generation != person.generation:
                return False
            self.people[person.username] = replace(now, recent_sessions={
                **{h: e for h, e in now.recent_sessions.items()
                   if session.created_epoch - e <= RECENT_SESSION_SECONDS},
                session.token_hash: session.created_epoch})
        self.sessions[session.token_hash] = session
        return True

    def session(self, token_hash: str) -> Session | None:
        return self.sessions.get(token_hash)

    def touch_session(self, token_hash: str, seen_epoch: int) -> None:
        if token_hash in self.sessions:
            self.sessions[token_hash] = replace(self.sessions[token_hash],
                                                seen_epoch=seen_epoch)

    def end_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    def sessions_of(self, username: str) -> list[str]:
        return sorted(h for h, s in self.sessions.items() if s.username == username)

    def end_sessions(self, username: str, keep: str | None = None) -> int:
        recent: set[str] = set()
        person = self.people.get(username)
        if person is not None:
            recent = set(person.recent_sessions)
            self.people[username] = replace(person, generation=person.generation + 1,
                                            recent_sessions={})
        ended = [h for h in sorted({*self.sessions_of(username), *recent})
                 if h != keep and h in self.sessions]
        for token_hash in ended:
            self.end_session(token_hash)
        return len(ended)


class FakeKeys:
    """KeyRegistry; mirrors ``adapters/dynamo_bills.DynamoKeys`` (``all`` sorted by kid)."""

    def __init__(self) -> None:
        self.keys: dict[str, SigningKey] = {}

    def all(self) -> list[SigningKey]:
        return [self.keys[kid] for kid in sorted(self.keys)]

    def get(self, kid: str) -> SigningKey | None:
        return self.keys.get(kid)

    def put(self, key: SigningKey) -> None:
        self.keys[key.kid] = key

    def public(self) -> dict[str, dict]:
        """kid → public entry, the shape ``verify_bill_file`` takes."""
        return {k.kid: k.public() for k in self.all()}


class FakeArchive:
    """Archive; mirrors ``adapters/s3_archive.S3Archive``: write once, never overwrite.

    ``fail_next_put(suffix)`` makes the next write of a key ending in ``suffix`` raise
    ``ServiceUnavailable``, as the adapter does when S3 fails.
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}  # key → (body, content type)
        self.writes: list[str] = []  # keys actually written, in order
        self._failures: list[str] = []

    def fail_next_put(self, suffix: str = "") -> None:
        self._failures.append(suffix)

    def put_once(self, key: str, body: bytes, content_type: str) -> ArchivedFile:
        for suffix in self._failures:
            if key.endswith(suffix):
                self._failures.remove(suffix)
                raise ServiceUnavailable(f"archive write failed: {key}")
        if key not in self.files:
            self.files[key] = (bytes(body), content_type)
            self.writes.append(key)
        stored = self.files[key][0]
        return ArchivedFile(key=key, sha256=hashlib.sha256(stored).hexdigest(), size=len(stored))

    def ping(self) -> None:
        """Always reachable (the health check)."""

    def get(self, key: str, version_id: str = "") -> bytes:
        """Keys are never overwritten here, so every version asked for is the only one."""
        if key not in self.files:
            raise NotFound(f"archived file missing: {key}")
        return self.files[key][0]


class FakeJobs:
    """JobQueue; mirrors ``adapters/sqs_jobs.SqsJobs`` by recording each message in a list."""

    def __init__(self) -> None:
        self.issue: list[str] = []  # payment codes
        self.intakes: list[dict | None] = []  # the intake record riding on each issue job
        self.sms: list[tuple[str, str]] = []  # (bill code, bill number)
        self.reversals: list[dict] = []  # reversals to finish: {red_bill_id, original, reason}
        self.dead: list[str] = []  # the issue queue's dead letters (payment codes)
        self.events: list[dict] = []  # SMS event jobs: {"event": ..., ...}
        self.delays: list[tuple[str, int]] = []  # (receipt handle, seconds) of failed SMS jobs

    def issue_bill(self, payment_code: str, intake: dict | None = None) -> None:
        self.issue.append(payment_code)
        self.intakes.append(intake)

    def finish_reversal(self, red_bill_id: str, original_id: str, reason: str) -> None:
        self.reversals.append({"red_bill_id": red_bill_id, "original": original_id,
                               "reason": reason})

    def send_sms(self, bill_code: str, bill_number: str) -> None:
        self.sms.append((bill_code, bill_number))

    def send_sms_many(self, bills: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        self.sms.extend(bills)
        return []

    def sms_event(self, event: str, data: dict[str, Any]) -> None:
        self.events.append({**data, "event": event})

    def retry_sms_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self.delays.append((receipt_handle, delay_seconds))

    def redrive_dead_letters(self, limit: int = 10_000) -> dict[str, int]:
        """Move ``dead`` (payment codes whose issue job failed five times) back to ``issue``."""
        moved, self.dead = self.dead[:limit], self.dead[limit:]
        self.issue.extend(moved)
        self.intakes.extend([None] * len(moved))
        return {"fiscal-issue-bill": len(moved), "fiscal-send-sms": 0}


class FakeSms:
    """SmsSender; mirrors ``adapters/sns_sms.SnsSms`` by recording ``(phone, text)``, and keeps
    each ``SmsMessage`` (template, parameters, reference) in ``messages``.

    ``fail_next(n)`` makes the next ``n`` sends raise ``error`` (by default a provider error).
    """

    name = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.messages: list[Any] = []
        self.attempts = 0
        self._failures: list[Exception] = []

    def fail_next(self, n: int = 1, error: Exception | None = None) -> None:
        self._failures.extend([error or ServiceUnavailable("sms provider failed")] * n)

    def send(self, phone: str, message: Any) -> str:
        self.attempts += 1
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append((phone, message.text))
        self.messages.append(message)
        return f"fake-message-{len(self.sent)}"


class FakeSmsLog:
    """SmsLog; mirrors ``adapters/dynamo_sms_log.DynamoSmsLog`` (claims are taken over after
    five minutes, or after a failure). Rows hold what the table holds: times as ISO text, a
    provider or message id kept until a later outcome names another, and ``get`` answers the
    adapter's fields (None where the row has nothing)."""

    FIELDS = ("event_id", "event", "phone", "status", "provider", "message_id", "attempts",
              "claimed_at", "updated_at", "error")

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def claim(self, event_id: str, event: str, phone_masked: str, now: datetime) -> SmsClaim:
        row = self.rows.get(event_id)
        stale = (now - SMS_CLAIM_TIMEOUT).isoformat()
        if row is not None and not (row.get("status") == "failed" or (
                row.get("status") == "sending" and (row.get("claimed_at") or "") < stale)):
            return SmsClaim(taken=False)
        earlier = self.get(event_id)
        row = self.rows.setdefault(event_id, {"event_id": event_id})
        row.update(event=event, phone=phone_masked, status="sending",
                   claimed_at=now.isoformat(), updated_at=now.isoformat(),
                   attempts=row.get("attempts", 0) + 1)
        return SmsClaim(taken=True, earlier=earlier)

    def finish(self, event_id: str, status: str, now: datetime, *, provider: str | None = None,
               message_id: str | None = None, error: str | None = None) -> None:
        row = self.rows.setdefault(event_id, {"event_id": event_id})
        row.update(status=status, updated_at=now.isoformat(), error=error[:500] if error else None)
        if provider:
            row["provider"] = provider
        if message_id:
            row["message_id"] = message_id

    def record(self, event_id: str, event: str, phone_masked: str, status: str, now: datetime, *,
               provider: str | None = None, message_id: str | None = None,
               error: str | None = None) -> None:
        self.finish(event_id, status, now, provider=provider, message_id=message_id,
                    error=error)
        row = self.rows[event_id]
        row.update(event=event, phone=phone_masked, attempts=row.get("attempts", 0) + 1)

    def get(self, event_id: str) -> SmsDelivery | None:
        row = self.rows.get(event_id)
        if row is None:
            return None
        return SmsDelivery(**{k: row.get(k) for k in self.FIELDS} | {
            "attempts": int(row.get("attempts") or 0)})


class FakeOtp:
    """OtpStore; mirrors ``adapters/dynamo_otp.DynamoOtp``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def issue(self, phone_key: str, code_hash: str, now_epoch: int, expires_epoch: int,
              cooldown: int) -> int:
        row = self.rows.get(phone_key)
        if row is not None and row["created_epoch"] > now_epoch - cooldown:
            return max(1, row["created_epoch"] + cooldown - now_epoch)
        self.rows[phone_key] = {"code_hash": code_hash, "created_epoch": now_epoch,
                                "expires_epoch": expires_epoch, "attempts": 0}
        return 0

    def attempt(self, phone_key: str, now_epoch: int, max_attempts: int) -> OtpCheck:
        row = self.rows.get(phone_key)
        if row is None:
            return OtpCheck("missing")
        if row["expires_epoch"] <= now_epoch:
            return OtpCheck("expired")
        if row["attempts"] >= max_attempts:
            return OtpCheck("locked")
        row["attempts"] += 1
        return OtpCheck("ok", row["code_hash"], max_attempts - row["attempts"])

    def consume(self, phone_key: str, code_hash: str) -> bool:
        row = self.rows.get(phone_key)
        if row is None or row["code_hash"] != code_hash:
            return False
        del self.rows[phone_key]
        return True


class FakePayerBills:
    """PayerBillIndex; mirrors ``adapters/dynamo_payer_bills.DynamoPayerBills`` over the bills
    the fake bill repository holds (status read live, as the index projects it)."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()
        self.keys = self.tables.payer_index  # bill id → (phone key, sort key), on the bill row

    def index(self, bill_id: str, phone_key: str, sort_key: str) -> None:
        row = self.tables.bills.get(bill_id)
        if row is not None and row.bill is not None:
            self.keys[bill_id] = (phone_key, sort_key)

    def bills_of(self, phone_key: str, limit: int = 100) -> list[PayerBill]:
        mine = sorted(((sort, bill_id) for bill_id, (key, sort) in self.keys.items()
                       if key == phone_key), reverse=True)[:limit]
        out = []
        for _, bill_id in mine:
            row = self.tables.bills[bill_id]
            assert row.bill is not None
            out.append(PayerBill(bill=row.bill, status=BillStatus(row.status),
                                 links=dict(row.links)))
        return out


class FakeJobState:
    """JobState; mirrors ``adapters/dynamo_job_state.DynamoJobState``: a save must name the
    version it loaded, and the state is kept as JSON (what is saved is read back, not shared)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, int]] = {}  # job → (state as JSON, version)

    def load(self, job: str) -> tuple[dict[str, Any], int]:
        text, version = self.rows.get(job, ("{}", 0))
        return json.loads(text), version

    def save(self, job: str, state: dict[str, Any], version: int) -> None:
        if self.rows.get(job, ("{}", 0))[1] != version:
            raise Conflict(f"job {job} state moved under us", code="job_state_moved")
        self.rows[job] = (json.dumps(state, sort_keys=True), version + 1)


class FakeReconciliations:
    """ReconciliationStore; mirrors ``adapters/dynamo_reconciliations.DynamoReconciliations``:
    a settled line (matched or resolved) is never written again."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, str], ChannelDay] = {}
        self.rows: dict[tuple[str, str], dict[str, ReconLine]] = {}

    def day(self, date: str, channel: str) -> ChannelDay | None:
        return self.days.get((date, channel))

    def put_day(self, day: ChannelDay) -> None:
        self.days[(day.date, day.channel)] = day

    def lines(self, date: str, channel: str) -> Iterator[ReconLine]:
        rows = self.rows.get((date, channel), {})
        yield from (rows[k] for k in sorted(rows))

    def get_line(self, date: str, channel: str, line_id: str) -> ReconLine | None:
        return self.rows.get((date, channel), {}).get(line_id)

    def put_line(self, line: ReconLine) -> bool:
        rows = self.rows.setdefault((line.date, line.channel), {})
        known = rows.get(line.line_id)
        if known is not None and known.is_settled:
            return False
        rows[line.line_id] = line
        return True

    def resolve(self, line: ReconLine) -> bool:
        rows = self.rows.get((line.date, line.channel), {})
        known = rows.get(line.line_id)
        if known is None or known.is_settled:
            return False
        rows[line.line_id] = line
        return True


class FakeRemittances:
    """RemittanceStore; mirrors ``adapters/dynamo_remittances.DynamoRemittances``."""

    def __init__(self) -> None:
        self.settings: dict[str, dict[str, str]] = {}
        self.days: dict[str, RemittanceDay] = {}

    def account_settings(self, unit_code: str) -> dict[str, str]:
        return dict(self.settings.get(unit_code, {}))

    def set_account(self, unit_code: str, item_code: str, account: str) -> None:
        self.settings.setdefault(unit_code, {})[item_code] = account

    def get_day(self, date: str) -> RemittanceDay | None:
        return self.days.get(date)

    def put_day(self, day: RemittanceDay) -> bool:
        held = self.days.get(day.date)
        if (held.version if held else 0) != day.version - 1:
            return False
        self.days[day.date] = day
        return True


class FakeActivity:
    """DailyActivity over the shared tables: what the adapter's day indexes would hold (a day
    is the first ten characters of the China time the row carries)."""

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables or Tables()

    def notes_made(self, day: str) -> list[Note]:
        return [replace(n, status=NoteStatus.UNPAID, payment=None, bill=None,
                        extra={"reservation": None})
                for n in sorted((n for n in self.tables.notes.values()
                                 if n.created_at[:10] == day), key=lambda n: n.created_at)]

    def payments(self, day: str) -> list[PaymentRecord]:
        return [PaymentRecord.of_row(r) for r in sorted(
            (r for r in self.tables.payments.values() if r["paid_at"][:10] == day),
            key=lambda r: (r["paid_at"], r["payment_id"]))]

    def notes(self, payment_codes: Sequence[str]) -> list[Note]:
        return [self.tables.notes[c] for c in dict.fromkeys(payment_codes)
                if c in self.tables.notes]

    def bills_issued(self, day: str) -> list[Bill]:
        return sorted((r.bill for r in self.tables.bills.values()
                       if r.bill is not None and r.bill.issued_at[:10] == day),
                      key=lambda b: b.issued_at)

    def bills_voided(self, day: str) -> list[VoidedBill]:
        return sorted((VoidedBill(bill=r.bill, voided_at=r.voided_at)
                       for r in self.tables.bills.values()
                       if r.bill is not None and r.voided_at and r.voided_at[:10] == day),
                      key=lambda v: v.voided_at)


def make_settings(keys_dir: Path | str | None = None) -> Settings:
    """The settings ``load_settings`` gives, with everything a unit test depends on pinned."""
    return replace(
        load_settings({**os.environ, "STAGE": "test"}), stage="test", aws_endpoint_url=None, dynamodb_endpoint_url=None,
        public_base_url="http://testserver", signer="local",
        local_keys_dir=str(keys_dir) if keys_dir else None, region_name="安徽省",
        supervisor_name="安徽省财政厅", sms_sender="财政电子票据",
        enabled_channels=("wechatpay", "alipay", "unionpay", "bank"))


def fake_overrides(keys_dir: Path) -> dict[str, Any]:
    """A fresh fake behind every port, sharing one set of tables; the signer is ``LocalSigner``."""
    tables = Tables()
    return {"units": FakeUnits(), "finance_keys": FakeFinanceKeys(),
            "note_index": FakeNoteIndex(tables), "notes": FakeNotes(tables), "counters": FakeCounters(tables),
            "idempotency": FakeIdempotency(), "template_choices": FakeTemplateChoices(), "bill_templates": FakeBillTemplates(), "payments": FakePayments(tables),
            "bills": FakeBills(tables), "ranges": FakeRanges(tables), "keys": FakeKeys(),
            "reimbursements": FakeReimbursements(tables), "audit": FakeAudit(tables),
            "people": FakePeople(),
            "archive": FakeArchive(), "rejected_intake": FakeArchive(),
            "jobs": FakeJobs(), "sms": FakeSms(),
            "sms_log": FakeSmsLog(), "otp": FakeOtp(), "payer_bills": FakePayerBills(tables),
            "signer": LocalSigner(keys_dir), "refunds": FakeRefunds(tables.payments),
            "job_state": FakeJobState(), "reconciliations": FakeReconciliations(),
            "activity": FakeActivity(tables), "remittances": FakeRemittances(),
            "metrics": FakeMetrics(),
            "wechat_oauth": FakePayerIdentity(),
            **{f"{c}_api": FakeChannelApi(c) for c in ("wechatpay", "alipay", "unionpay")},
            **{f"{c}_statements": FakeStatements(c)
               for c in ("wechatpay", "alipay", "unionpay", "bank")}}


def fake_deps(tmp_path: Path, now: datetime = DEFAULT_NOW, *, seed_from: Path | None = None,
              **settings: object) -> Deps:
    """A ``Deps`` wired with fakes and seeded like the local stack (``devstack.seed``):
    two collecting units with fee items, signing keys and number ranges, the hospital and the
    charity of ``KIND_UNITS`` with their template choices, the finance key, and
    the reimbursing units.

    ``deps.clock`` is a ``FakeClock``; ``settings`` replace fields of the test settings.
    ``seed_from`` is the ``tmp_path`` of an earlier ``fake_deps``: its key files and seed state
    are copied, so keys are not generated again (seeding is idempotent over them).
    """
    from devstack.seed import COLLECTING, KIND_UNITS, RANGE_SIZE, kind_unit_kinds, seed

    if seed_from is not None:
        for folder in ("keys", "state"):
            shutil.copytree(seed_from / folder, tmp_path / folder, dirs_exist_ok=True)
    keys_dir = tmp_path / "keys"
    deps = Deps(settings=replace(make_settings(keys_dir), **settings),  # type: ignore[arg-type]
                clock=FakeClock(now), overrides=fake_overrides(keys_dir))
    # The ranges seed() would allocate, but in the year of the injected clock, not the wall's.
    china_now = now.astimezone(CHINA_TZ)
    for unit, kinds in [(u, sorted({u.bill_kind, "0301"})) for u, _ in COLLECTING] + [
            (u, kind_unit_kinds(items)) for u, items in KIND_UNITS]:
        for kind in kinds:
            deps.ranges.allocate(unit.unit_code, kind,
                                 make_bill_code(unit.region_code, kind, china_now.year),
                                 RANGE_SIZE, china_now.isoformat(timespec="seconds"))
    seed(deps, tmp_path / "state", keys_dir)
    return deps
