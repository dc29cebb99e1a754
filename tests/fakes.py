"""In-memory implementations of every port in ``chalicelib/services/ports.py``.

Each fake mirrors one adapter (named in its docstring) closely enough that a service test against
the fake says something about the service against AWS: conditional writes become ``if`` checks on
a dict, and a failed condition has the same visible outcome as the adapter's. Nothing here reaches
the network. ``fake_deps`` wires them all into a ``Deps``, seeded like the local stack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.adapters.signers import LocalSigner
from chalicelib.bootstrap import Deps
from chalicelib.config import TABLES, Settings, load_settings
from chalicelib.domain.bills import Bill, BillStatus
from chalicelib.domain.codes import format_bill_number
from chalicelib.domain.errors import Conflict, IllegalTransition, NotFound, ServiceUnavailable
from chalicelib.domain.notes import BillRef, Note, NoteStatus, PaymentRef
from chalicelib.domain.payments import ChannelOrder, Payment, PaymentOutcome
from chalicelib.domain.units import SigningKey, Unit
from chalicelib.services.ports import ArchivedFile, BillRecord, Reservation

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


class FakeUnits:
    """UnitRepository; mirrors ``adapters/dynamo_units.DynamoUnits``."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.key_hashes: dict[str, str] = {}  # api key hash → unit code
        self.items: dict[str, dict[str, str]] = {}

    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        code = self.key_hashes.get(key_hash)
        return self.units.get(code) if code else None

    def get(self, unit_code: str) -> Unit | None:
        return self.units.get(unit_code)

    def fee_items(self, unit_code: str) -> dict[str, str]:
        return dict(self.items.get(unit_code, {}))

    def put(self, unit: Unit, api_key_hash: str | None) -> None:
        self.units[unit.unit_code] = unit
        self.key_hashes = {h: c for h, c in self.key_hashes.items() if c != unit.unit_code}
        if api_key_hash:
            self.key_hashes[api_key_hash] = unit.unit_code

    def put_fee_item(self, unit_code: str, item_code: str, name: str) -> None:
        self.items.setdefault(unit_code, {})[item_code] = name


class FakeCounters:
    """CounterRepository; mirrors ``DynamoCounters`` (an atomic ADD 1 that starts from 0)."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.expires: dict[str, int] = {}

    def next_value(self, counter_id: str, expires_epoch: int | None = None) -> int:
        self.values[counter_id] = self.values.get(counter_id, 0) + 1
        if expires_epoch is not None:
            self.expires[counter_id] = expires_epoch
        return self.values[counter_id]


class FakeIdempotency:
    """IdempotencyStore; mirrors ``DynamoIdempotency``.

    A claim succeeds when no record exists or an ``in_progress`` one is older than 60 s;
    otherwise the earlier record comes back and nothing changes.
    """

    def __init__(self) -> None:
        self.records: dict[str, dict] = {}

    def claim(self, idempotency_id: str, request_hash: str, now: datetime) -> dict | None:
        existing = self.records.get(idempotency_id)
        stale = existing is not None and existing["state"] == "in_progress" \
            and existing["claimed_at"] < now - IN_PROGRESS_TIMEOUT
        if existing is None or stale:
            self.records[idempotency_id] = {"state": "in_progress", "request_hash": request_hash,
                                            "result": None, "claimed_at": now}
            return None
        return {k: existing[k] for k in ("state", "request_hash", "result")}

    def complete(self, idempotency_id: str, result: str) -> None:
        record = self.records.setdefault(idempotency_id, {"request_hash": "", "claimed_at": None})
        record.update(state="completed", result=result)

    def release(self, idempotency_id: str) -> None:
        record = self.records.get(idempotency_id)
        if record is None or record["state"] != "in_progress":
            raise Conflict("only an in-progress claim can be released")
        del self.records[idempotency_id]


class FakeNotes:
    """NoteRepository (with ``get_order``); mirrors ``DynamoNotes`` over notes and orders.

    Holds the note rows the payment recorder and the bill repository also write to, as the
    adapters share DynamoDB tables: a note's payment and its bill-number reservation.
    """

    def __init__(self) -> None:
        self.rows: dict[str, Note] = {}
        self.reservations: dict[str, Reservation] = {}
        self.orders: dict[str, ChannelOrder] = {}

    def add(self, note: Note) -> None:
        if note.payment_code in self.rows:
            raise Conflict("payment code already in use", code="duplicate_payment_code")
        self.rows[note.payment_code] = replace(note, extra={})

    def get(self, payment_code: str) -> Note | None:
        note = self.rows.get(payment_code)
        if note is None:
            return None
        reservation = self.reservations.get(payment_code)
        return replace(note, extra={"reservation": dataclasses.asdict(reservation)
                                    if reservation else None})

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

    def get_order(self, out_trade_no: str) -> ChannelOrder | None:
        return self.orders.get(out_trade_no)


class FakePayments:
    """PaymentRecorder; mirrors ``adapters/dynamo_payments.DynamoPaymentRecorder``.

    The adapter's transaction (order check, payment put, note unpaid → paid) either applies
    whole or not at all. When it does not, the outcome is chosen in the adapter's order: a known
    payment id is DUPLICATE; an order that is missing or names another note or channel is
    ORDER_UNKNOWN (nothing written); a wrong amount is AMOUNT_MISMATCH and a note that is not
    unpaid is NOTE_NOT_PAYABLE, both kept as ``exception`` payments for a refund.
    """

    def __init__(self, notes: FakeNotes) -> None:
        self._notes = notes
        self.rows: dict[str, dict] = {}  # payment id → the stored payment

    def record(self, payment: Payment) -> PaymentOutcome:
        if payment.payment_id in self.rows:
            return PaymentOutcome.DUPLICATE
        order = self._notes.get_order(payment.out_trade_no)
        if order is None or order.payment_code != payment.payment_code \
                or order.channel != payment.channel:
            return PaymentOutcome.ORDER_UNKNOWN
        if order.amount_fen != payment.amount_fen:
            return self._exception(payment, PaymentOutcome.AMOUNT_MISMATCH)
        note = self._notes.rows.get(payment.payment_code)
        if note is None or note.status is not NoteStatus.UNPAID:  # stored status, not status_at
            return self._exception(payment, PaymentOutcome.NOTE_NOT_PAYABLE)
        self.rows[payment.payment_id] = self._row(payment, status="applied")
        self._notes.rows[note.payment_code] = replace(
            note, status=NoteStatus.PAID,
            payment=PaymentRef(channel=payment.channel, channel_txn_id=payment.channel_txn_id,
                               amount_fen=payment.amount_fen, paid_at=payment.paid_at,
                               out_trade_no=payment.out_trade_no))
        return PaymentOutcome.RECORDED

    def _exception(self, payment: Payment, outcome: PaymentOutcome) -> PaymentOutcome:
        self.rows[payment.payment_id] = self._row(payment, status="exception",
                                                  reason=outcome.value)
        return outcome

    @staticmethod
    def _row(payment: Payment, *, status: str, reason: str | None = None) -> dict:
        return {**dataclasses.asdict(payment), "payment_id": payment.payment_id,
                "payment_code": payment.payment_code, "status": status, "reason": reason}

    def get(self, payment_id: str) -> dict | None:
        return self.rows.get(payment_id)


@dataclass
class _BillRow:
    """One row of the bills table: the number is reserved first, the bill written later."""

    status: str  # pending | normal | reversed | voided
    payment_code: str
    bill: Bill | None = None
    payer_phone: str | None = None
    xml: ArchivedFile | None = None
    pdf: ArchivedFile | None = None
    check_count: int = 0
    first_checked_at: str | None = None
    last_checked_at: str | None = None
    sms_status: str | None = None
    sms_claimed_at: datetime | None = None

    def record(self) -> BillRecord:
        assert self.bill is not None and self.xml is not None and self.pdf is not None
        return BillRecord(bill=self.bill, status=BillStatus(self.status),
                          payer_phone=self.payer_phone, xml=self.xml, pdf=self.pdf,
                          check_count=self.check_count, first_checked_at=self.first_checked_at,
                          last_checked_at=self.last_checked_at, sms_status=self.sms_status)


class FakeBills:
    """BillRepository; mirrors ``adapters/dynamo_bills.DynamoBills``.

    ``reserve`` moves the number counter, writes the reservation onto the note and creates the
    pending bill together, so a number is taken only with its note: never twice, never skipped.
    A note that already has a reservation gets it back; a note that is not paid gets None.
    """

    def __init__(self, notes: FakeNotes) -> None:
        self._notes = notes
        self.counters: dict[str, int] = {}  # bill code → last number taken
        self.rows: dict[str, _BillRow] = {}  # bill id → row

    def reserve(self, note: Note, *, bill_code: str, check_code: str,
                issued_at: str) -> Reservation | None:
        if note.payment_code in self._notes.reservations:
            return self._notes.reservations[note.payment_code]
        stored = self._notes.rows.get(note.payment_code)
        if stored is None or stored.status is not NoteStatus.PAID:
            return None
        number = self.counters.get(bill_code, 0) + 1
        reservation = Reservation(bill_code=bill_code, bill_number=format_bill_number(number),
                                  check_code=check_code, issued_at=issued_at)
        bill_id = bill_code + reservation.bill_number
        if bill_id in self.rows:
            raise Conflict(f"bill {bill_id} exists already")
        self.counters[bill_code] = number
        self._notes.reservations[note.payment_code] = reservation
        self.rows[bill_id] = _BillRow(status="pending", payment_code=note.payment_code)
        return reservation

    def save_issued(self, record: BillRecord) -> None:
        row = self.rows.get(record.bill.bill_id)
        if row is None or row.status not in ("pending", record.status.value):
            raise Conflict(f"bill {record.bill.bill_id} is not pending")
        row.status, row.bill, row.payer_phone = record.status.value, record.bill, record.payer_phone
        row.xml, row.pdf = record.xml, record.pdf

    def _written(self, bill_code: str, bill_number: str) -> _BillRow | None:
        row = self.rows.get(bill_code + bill_number)
        return row if row is not None and row.bill is not None else None

    def get(self, bill_code: str, bill_number: str) -> BillRecord | None:
        row = self._written(bill_code, bill_number)
        return row.record() if row is not None else None

    def count_check(self, bill_code: str, bill_number: str, now: str) -> BillRecord:
        row = self._written(bill_code, bill_number)
        if row is None:
            raise NotFound("票据不存在")
        row.check_count += 1
        row.first_checked_at = row.first_checked_at or now
        row.last_checked_at = now
        return row.record()

    def claim_sms(self, bill_code: str, bill_number: str, now: datetime) -> bool:
        row = self._written(bill_code, bill_number)
        if row is None:
            return False
        abandoned = row.sms_status == "sending" and row.sms_claimed_at is not None \
            and row.sms_claimed_at < now - SMS_CLAIM_TIMEOUT
        if row.sms_status is not None and not abandoned:
            return False
        row.sms_status, row.sms_claimed_at = "sending", now
        return True

    def finish_sms(self, bill_code: str, bill_number: str, status: str) -> None:
        row = self.rows[bill_code + bill_number]
        if status == "released":
            if row.sms_status != "sending":
                raise Conflict("only a claim in progress can be released")
            row.sms_status = None
        else:
            row.sms_status = status


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

    def get(self, key: str) -> bytes:
        if key not in self.files:
            raise NotFound(f"archived file missing: {key}")
        return self.files[key][0]


class FakeJobs:
    """JobQueue; mirrors ``adapters/sqs_jobs.SqsJobs`` by recording each message in a list."""

    def __init__(self) -> None:
        self.issue: list[str] = []  # payment codes
        self.sms: list[tuple[str, str]] = []  # (bill code, bill number)

    def issue_bill(self, payment_code: str) -> None:
        self.issue.append(payment_code)

    def send_sms(self, bill_code: str, bill_number: str) -> None:
        self.sms.append((bill_code, bill_number))


class FakeSms:
    """SmsSender; mirrors ``adapters/sns_sms.SnsSms`` by recording ``(phone, text)``.

    ``fail_next(n)`` makes the next ``n`` sends raise ``error`` (by default a provider error).
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.attempts = 0
        self._failures: list[Exception] = []

    def fail_next(self, n: int = 1, error: Exception | None = None) -> None:
        self._failures.extend([error or ServiceUnavailable("sms provider failed")] * n)

    def send(self, phone: str, text: str) -> str:
        self.attempts += 1
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append((phone, text))
        return f"fake-message-{len(self.sent)}"


def make_settings(keys_dir: Path | str | None = None) -> Settings:
    """Settings that read nothing from the environment but the CJK font's location."""
    return Settings(
        stage="test", region="cn-north-1", aws_endpoint_url=None, dynamodb_endpoint_url=None,
        public_base_url="http://testserver",
        tables={name: f"test-{name.lower().replace('_', '-')}" for name in TABLES},
        archive_bucket="test-archive", issue_queue_url="test-issue", sms_queue_url="test-sms",
        signer="local", local_keys_dir=str(keys_dir) if keys_dir else None,
        wechatpay_secret_id="test/wechatpay", wechatpay_h5_base="https://wx.example.invalid/h5",
        font_path=load_settings().font_path, region_name="安徽省", supervisor_name="安徽省财政厅")


def fake_deps(tmp_path: Path, now: datetime = DEFAULT_NOW, *, seed_from: Path | None = None,
              **settings: object) -> Deps:
    """A ``Deps`` wired with fakes and seeded like the local stack (``chalicelib.local.seed``):
    two collecting units with fee items and signing keys, the finance key, reimbursing units.

    ``deps.clock`` is a ``FakeClock``; ``settings`` replace fields of the test settings.
    ``seed_from`` is the ``tmp_path`` of an earlier ``fake_deps``: its key files and seed state
    are copied, so the keys are not generated again (seeding is idempotent over them).
    """
    from chalicelib.local.seed import seed

    if seed_from is not None:
        for folder in ("keys", "state"):
            shutil.copytree(seed_from / folder, tmp_path / folder, dirs_exist_ok=True)
    keys_dir = tmp_path / "keys"
    notes = FakeNotes()
    overrides = {"units": FakeUnits(), "notes": notes, "counters": FakeCounters(),
                 "idempotency": FakeIdempotency(), "payments": FakePayments(notes),
                 "bills": FakeBills(notes), "keys": FakeKeys(), "archive": FakeArchive(),
                 "jobs": FakeJobs(), "sms": FakeSms(), "signer": LocalSigner(keys_dir)}
    deps = Deps(settings=replace(make_settings(keys_dir), **settings),  # type: ignore[arg-type]
                clock=FakeClock(now), overrides=overrides)
    seed(deps, tmp_path / "state", keys_dir)
    return deps
