"""Bills, bill numbers and signing keys in DynamoDB.

Taking a bill number is one transaction that moves the range's next number from n to n+1, writes the
reservation onto the note and creates the bill as ``pending``: a number is consumed only together
with the note it belongs to, so numbers are neither used twice nor skipped. Concurrent issuers
retry on conflict; a second issuer for the same note finds the reservation and reuses it.

Which range and which number: the unit's ranges of the bill kind are read (one ``Query``) and the
oldest open one is used. A process that has just taken number n of a range tries n+1 of the same
range next time without reading the ranges again, for up to ``RANGE_MEMORY_SECONDS`` after it
last read them (as the signing keys are cached, so a range allocated meanwhile is seen within
that time). The transaction's condition (next is still n+1, n+1 is within the range) makes the
guess safe: if another process took a number meanwhile, it is cancelled, the memory forgotten,
and the ranges read as before. One request fewer per bill while one process issues for a range;
under contention at most one cancelled transaction for each time the memory goes stale.

Bills issued before the unit index (``issuing_unit-issued_at-index``) have no ``issuing_unit``;
``fill_bill_listing`` gives them theirs (``cli backfill-bill-listing``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    BillModel,
    FillPage,
    NoteModel,
    NumberRangeModel,
    SigningKeyModel,
    batch_get,
    is_conditional_failure,
    update_if,
)
from chalicelib.adapters.dynamo_reimbursements import audit_row, reimbursement_record
from chalicelib.domain.bills import Bill, BillStatus
from chalicelib.domain.codes import format_bill_number
from chalicelib.domain.errors import (
    BillReimbursed,
    Conflict,
    IllegalTransition,
    NoNumberRange,
    NotFound,
    ServiceUnavailable,
)
from chalicelib.domain.notes import BillRef, Item, Note, NoteStatus
from chalicelib.domain.records import (
    ArchivedFile,
    AuditEvent,
    BillLookup,
    BillRecord,
    Reservation,
)
from chalicelib.domain.template_data import template_from_stored, template_to_data
from chalicelib.domain.units import KEY_CACHE_SECONDS, SigningKey

MAX_RESERVE_ATTEMPTS = 200
MAX_NUMBERS_PER_TAKE = 49  # a transaction holds 100 items: the range, and two per number
MAX_BILLS_PER_SAVE = 50  # a transaction holds 100 items: the bill and its note, per bill
RANGE_MEMORY_SECONDS = 60  # how long a process may go on from a range without reading the ranges


@dataclass(frozen=True)
class _RangeMemory:
    """A range this process took a number from: where it is and its next number, as of ``read_at``
    (monotonic seconds; when the unit's ranges were last read)."""

    range_key: str
    range_start: str
    bill_code: str
    end: int
    next: int
    read_at: float


def utc_text(iso: str) -> str:
    """An ISO time in UTC, so that index keys compare as times whatever offset they came in."""
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat(timespec="seconds")


def _check_failed(reasons: list, index: int) -> bool:
    """Whether item ``index`` of a cancelled transaction failed its condition."""
    return (index < len(reasons) and reasons[index] is not None
            and reasons[index].code == "ConditionalCheckFailed")


def bill_to_doc(bill: Bill) -> dict:
    doc = asdict(replace(bill, template_def=None))
    doc.pop("template_def")
    if bill.template_def is not None:  # a finance-defined template travels with the bill
        doc["template"] = template_to_data(bill.template_def)
    doc["items"] = [asdict(i) for i in bill.items]
    if not bill.template_id:  # a bill without a template is stored as before templates
        for name in ("template_id", "template_version", "extra"):
            doc.pop(name)
    else:
        doc["extra"] = [list(pair) for pair in bill.extra]
    return doc


def bill_from_doc(doc: dict) -> Bill:
    doc = dict(doc)
    stored = doc.pop("template", None)
    return Bill(**{**doc, "template_def": template_from_stored(stored) if stored else None,
                   "items": tuple(Item(**i) for i in doc["items"]),
                   "total_fen": int(doc["total_fen"]),
                   "template_version": int(doc.get("template_version", 0)),
                   "extra": tuple((str(k), str(v)) for k, v in doc.get("extra", ()))})


def _archived_file(f: dict | None) -> ArchivedFile:
    f = f or {"key": "", "sha256": "", "size": 0}
    return ArchivedFile(key=f["key"], sha256=f["sha256"], size=int(f["size"]),
                        version_id=f.get("version_id", "") or "")


def _record(row: BillModel) -> BillRecord:
    files = row.files.as_dict() if row.files is not None else {}

    def archived(name: str) -> ArchivedFile:
        return _archived_file(files.get(name))

    return BillRecord(bill=bill_from_doc(row.doc), status=BillStatus(row.status),
                      payer_phone=row.payer_phone, xml=archived("xml"), pdf=archived("pdf"),
                      check_count=int(row.check_count or 0),
                      first_checked_at=row.first_checked_at, last_checked_at=row.last_checked_at,
                      sms_status=row.sms_status, sms_claimed_at=row.sms_claimed_at,
                      links=row.links.as_dict() if row.links is not None else {},
                      void_reason=row.void_reason)


@aws_boundary
class DynamoBills:
    """BillRepository."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._connection: Connection | None = None
        self._monotonic = monotonic
        self._ranges: dict[str, _RangeMemory] = {}  # unit_code#kind_code → the range in use

    def archived_files_page(self, after: str | None, limit: int,
                            ) -> tuple[list[tuple[str, dict[str, ArchivedFile]]], str | None]:
        page, next_after = archived_files_page(after, limit)
        return [(bill_id, {kind: _archived_file(meta) for kind, meta in files.items()})
                for bill_id, files in page], next_after

    def _conn(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=getattr(BillModel.Meta, 'region', None),
                                          host=getattr(BillModel.Meta, 'host', None))
        return self._connection

    def reserve(self, note: Note, *, check_code: str, issued_at: str) -> Reservation | None:
        """Take the next number of the unit's oldest open range for the note's bill kind."""
        first = (note.extra or {}).get("reservation"), note.status.value

        def owner_state(attempt: int) -> tuple[dict | None, bool]:
            if not attempt:  # the caller's copy of the note is fresh for the first try only
                return first[0], first[1] == NoteStatus.PAID.value
            row = NoteModel.get(note.payment_code, consistent_read=True)
            held = row.reservation.as_dict() if row.reservation is not None else None
            return held, row.status == NoteStatus.PAID.value

        def claim(tx: TransactWrite, reservation: Reservation) -> None:
            tx.update(NoteModel(note.payment_code),
                      actions=[NoteModel.reservation.set(asdict(reservation))],
                      condition=(NoteModel.status == NoteStatus.PAID.value)
                      & NoteModel.reservation.does_not_exist())

        return self._take_number(note.unit_code, note.bill_kind, note.payment_code,
                                 check_code, issued_at, owner_state, claim, {"purpose": "note"})

    def reserve_reversal(self, original: BillRecord, *, check_code: str, issued_at: str,
                         reason: str = "") -> Reservation | None:
        """Take a number for the red bill of ``original``, once; None if it is not normal.

        The pending row records that it is the red bill of ``original`` and why, so the repair
        job can finish a reversal that stopped after this."""
        bill = original.bill

        def owner_state(_attempt: int) -> tuple[dict | None, bool]:
            row = BillModel.get(bill.bill_id, consistent_read=True)
            held = row.reversal.as_dict() if row.reversal is not None else None
            return held, row.status == BillStatus.NORMAL.value

        def claim(tx: TransactWrite, reservation: Reservation) -> None:
            tx.update(BillModel(bill.bill_id),
                      actions=[BillModel.reversal.set(asdict(reservation))],
                      condition=(BillModel.status == BillStatus.NORMAL.value)
                      & BillModel.reversal.does_not_exist())

        return self._take_number(bill.issuing_unit_code, bill.kind_code, bill.payment_code,
                                 check_code, issued_at, owner_state, claim,
                                 {"purpose": "reversal", "reverses": bill.bill_id,
                                  "reversal_reason": reason or None})

    def _take_number(self, unit_code: str, kind_code: str, payment_code: str, check_code: str,
                     issued_at: str, owner_state, claim,
                     purpose: dict[str, Any]) -> Reservation | None:
        """The one transaction that takes a number: the range moves on by one, the owner (a note,
        or the bill a red bill reverses) records the reservation, the bill is created pending.

        ``owner_state(attempt)`` gives (the reservation it already holds, whether it may take
        one); ``claim(tx, reservation)`` adds the owner's conditional update.
        """
        key = f"{unit_code}#{kind_code}"
        for attempt in range(MAX_RESERVE_ATTEMPTS):
            held, may_take = owner_state(attempt)
            if held is not None:
                return Reservation(**held)
            if not may_take:
                return None
            taken = self._range_in_use(unit_code, kind_code)
            current = taken.next
            reservation = Reservation(bill_code=taken.bill_code,
                                      bill_number=format_bill_number(current),
                                      check_code=check_code, issued_at=issued_at)
            try:
                with TransactWrite(connection=self._conn()) as tx:
                    self._move_range(tx, taken, 1)
                    claim(tx, reservation)
                    self._put_pending(tx, taken, reservation, payment_code, purpose)
                self._ranges[key] = replace(taken, next=current + 1)
                return reservation
            except TransactWriteError as exc:
                if not exc.cancellation_reasons:
                    raise
                # another issuer took this number or reserved for this owner: look again
        raise ServiceUnavailable("could not take a bill number: too much contention")

    def reserve_many(self, notes: Sequence[tuple[Note, str]], *,
                     issued_at: str) -> list[Reservation | None]:
        """``reserve`` for each (note, check code) of distinct notes, in order; the numbers of
        notes of one unit and bill kind are taken together: one transaction per range moves
        its next number on by k and writes the k reservations and pending bills (at most
        ``MAX_NUMBERS_PER_TAKE``, as a transaction holds 100 items). The numbers are consecutive
        and in the order of the notes. If that transaction is cancelled (another issuer moved
        the range, or one of the notes was reserved meanwhile), the notes it was for are taken
        one by one, as ``reserve`` takes them: each finds its own reservation or a number. A
        cancellation by the range alone (another process took numbers of it: this process's
        memory of it was stale) reads the range again and takes them together again."""
        results: list[Reservation | None] = [None] * len(notes)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, (note, _) in enumerate(notes):
            held = (note.extra or {}).get("reservation")
            if held is not None:
                results[i] = Reservation(**held)
            elif note.status is NoteStatus.PAID:
                groups.setdefault((note.unit_code, note.bill_kind), []).append(i)
        for (unit_code, kind_code), todo in groups.items():
            attempts = 0
            while todo:
                taken = self._range_in_use(unit_code, kind_code)
                count = min(len(todo), taken.end - taken.next + 1, MAX_NUMBERS_PER_TAKE)
                chunk, todo = todo[:count], todo[count:]
                taking = [Reservation(bill_code=taken.bill_code,
                                      bill_number=format_bill_number(taken.next + j),
                                      check_code=notes[i][1], issued_at=issued_at)
                          for j, i in enumerate(chunk)]
                try:
                    with TransactWrite(connection=self._conn()) as tx:
                        self._move_range(tx, taken, count)
                        for i, reservation in zip(chunk, taking, strict=True):
                            note = notes[i][0]
                            tx.update(NoteModel(note.payment_code),
                                      actions=[NoteModel.reservation.set(asdict(reservation))],
                                      condition=(NoteModel.status == NoteStatus.PAID.value)
                                      & NoteModel.reservation.does_not_exist())
                            self._put_pending(tx, taken, reservation, note.payment_code,
                                              {"purpose": "note"})
                except TransactWriteError as exc:
                    reasons = list(exc.cancellation_reasons or [])
                    if not reasons:
                        raise
                    attempts += 1
                    if (attempts < MAX_RESERVE_ATTEMPTS and _check_failed(reasons, 0)
                            and not any(_check_failed(reasons, k)
                                        for k in range(1, len(reasons)))):
                        todo = chunk + todo  # only the range had moved on: read it again
                        continue
                    for i in chunk + todo:  # one by one, as a lone job would
                        results[i] = self.reserve(notes[i][0], check_code=notes[i][1],
                                                  issued_at=issued_at)
                    break
                self._ranges[f"{unit_code}#{kind_code}"] = replace(taken,
                                                                   next=taken.next + count)
                for i, reservation in zip(chunk, taking, strict=True):
                    results[i] = reservation
        return results

    def _range_in_use(self, unit_code: str, kind_code: str) -> _RangeMemory:
        """The range this process remembers taking from, if still fresh and open; else the
        oldest open one, read now. Forgotten until a take from it succeeds."""
        taken = self._ranges.pop(f"{unit_code}#{kind_code}", None)
        if (taken is None or taken.next > taken.end
                or self._monotonic() - taken.read_at > RANGE_MEMORY_SECONDS):
            taken = self._open_range(unit_code, kind_code)
        return taken

    @staticmethod
    def _move_range(tx: TransactWrite, taken: _RangeMemory, count: int) -> None:
        """The range's next number from ``taken.next`` to ``taken.next + count``, only if it is
        still ``taken.next`` and the range holds all ``count`` numbers."""
        tx.update(NumberRangeModel(taken.range_key, taken.range_start),
                  actions=[NumberRangeModel.next.set(taken.next + count)],
                  condition=(NumberRangeModel.next == taken.next)
                  & (NumberRangeModel.end >= taken.next + count - 1))

    @staticmethod
    def _put_pending(tx: TransactWrite, taken: _RangeMemory, reservation: Reservation,
                     payment_code: str, purpose: dict[str, Any]) -> None:
        tx.save(BillModel(reservation.bill_code + reservation.bill_number,
                          status="pending", pending="pending",
                          reserved_at=utc_text(reservation.issued_at), range_pk=taken.range_key,
                          range_sk=taken.range_start, payment_code=payment_code, **purpose),
                condition=BillModel.bill_id.does_not_exist())

    def _open_range(self, unit_code: str, kind_code: str) -> _RangeMemory:
        """The unit's oldest open range of the bill kind, read now (consistently)."""
        read_at = self._monotonic()
        for row in NumberRangeModel.query(f"{unit_code}#{kind_code}", consistent_read=True):
            if int(row.next) <= int(row.end):
                return _RangeMemory(range_key=row.range_key, range_start=row.range_start,
                                    bill_code=row.bill_code, end=int(row.end),
                                    next=int(row.next), read_at=read_at)
        raise NoNumberRange(f"unit {unit_code} has no open number range for bill kind "
                            f"{kind_code}: the finance department must allocate one")

    def set_status(self, bill_id: str, status: BillStatus, *, expected: BillStatus,
                   links: dict | None = None, reason: str | None = None,
                   unreimbursed: bool = False, unlinked: bool = False,
                   at: str | None = None) -> bool:
        """Move a bill from ``expected`` to ``status``; False if it was not ``expected`` (or,
        with ``unlinked``, has links already).

        With ``unreimbursed`` it is one transaction with a condition check that no
        reimbursement record exists (``BillReimbursed`` if one does): recording a
        reimbursement checks the bill in its own transaction, so only one of the two wins.
        """
        actions: list[Any] = [BillModel.status.set(status.value)]
        if links:
            actions.append(BillModel.links.set(links))
        if reason:
            actions.append(BillModel.void_reason.set(reason))
        if status is BillStatus.VOIDED and at:
            actions += [BillModel.voided_day.set(at[:10]), BillModel.voided_at.set(at)]
        condition = BillModel.status == expected.value
        if unlinked:
            condition = condition & BillModel.links.does_not_exist()
        if unreimbursed:
            return self._set_status_unreimbursed(bill_id, actions, condition)
        try:
            BillModel(bill_id).update(actions=actions, condition=condition)
            return True
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise

    def _set_status_unreimbursed(self, bill_id: str, actions: list[Any], condition) -> bool:
        from chalicelib.adapters.dynamo_models import ReimbursementModel

        try:
            with TransactWrite(connection=self._conn()) as tx:
                tx.condition_check(ReimbursementModel, bill_id,
                                   condition=ReimbursementModel.bill_id.does_not_exist())
                tx.update(BillModel(bill_id), actions=actions, condition=condition)
            return True
        except TransactWriteError as exc:
            reasons = list(exc.cancellation_reasons or [])
            if not reasons:
                raise
            if _check_failed(reasons, 0):  # condition checks come first in the request
                raise BillReimbursed("该票据已报销入账") from exc
            if _check_failed(reasons, 1):
                return False
            raise

    def complete_issue(self, record: BillRecord, ref: BillRef,
                       payer_index: tuple[str, str] | None = None) -> None:
        """Save the issued bill and mark its note issued, in one transaction; with
        ``payer_index`` (phone key, sort key) the bill's payer-index keys are set in the same
        update (what ``DynamoPayerBills.index`` writes), not in a write of their own."""
        bill = record.bill
        try:
            with TransactWrite(connection=self._conn()) as tx:
                self._complete(tx, record, ref, payer_index)
        except TransactWriteError as exc:
            reasons = list(exc.cancellation_reasons or [])
            if _check_failed(reasons, 0):  # the bill's update was sent first
                raise Conflict(f"bill {bill.bill_id} is not pending") from exc
            if _check_failed(reasons, 1):
                raise IllegalTransition("note is not paid", code="note_not_paid") from exc
            raise

    def complete_many(self, issued: Sequence[tuple[BillRecord, BillRef,
                                                    tuple[str, str] | None]]) -> None:
        """``complete_issue`` for several bills of distinct notes, in one transaction for up to
        ``MAX_BILLS_PER_SAVE`` of them: all of those or none. ``Conflict`` if a condition
        failed for any of them (which one is not said: complete them one by one to learn)."""
        for start in range(0, len(issued), MAX_BILLS_PER_SAVE):
            try:
                with TransactWrite(connection=self._conn()) as tx:
                    for record, ref, payer_index in issued[start:start + MAX_BILLS_PER_SAVE]:
                        self._complete(tx, record, ref, payer_index)
            except TransactWriteError as exc:
                if not exc.cancellation_reasons:
                    raise
                raise Conflict("a bill of the batch could not be completed") from exc

    def _complete(self, tx: TransactWrite, record: BillRecord, ref: BillRef,
                  payer_index: tuple[str, str] | None) -> None:
        """The bill's update, then its note's (in that order: callers read the reasons)."""
        bill = record.bill
        actions = self._issued_actions(record)
        if payer_index is not None:
            actions += [BillModel.payer_phone_hash.set(payer_index[0]),
                        BillModel.payer_sort.set(payer_index[1])]
        tx.update(BillModel(bill.bill_id), actions=actions,
                  condition=BillModel.status.is_in("pending", record.status.value))
        tx.update(NoteModel(bill.payment_code), actions=[
            NoteModel.status.set(NoteStatus.ISSUED.value),
            NoteModel.bill.set(asdict(ref)),
            NoteModel.awaiting_bill.remove(), NoteModel.awaiting_since.remove()],
            condition=NoteModel.status.is_in(NoteStatus.PAID.value, NoteStatus.ISSUED.value))

    @staticmethod
    def _issued_actions(record: BillRecord) -> list[Any]:
        files = {"xml": asdict(record.xml), "pdf": asdict(record.pdf)}
        actions: list[Any] = [
            BillModel.status.set(record.status.value),
            BillModel.doc.set(bill_to_doc(record.bill)), BillModel.files.set(files),
            BillModel.payer_phone.set(record.payer_phone) if record.payer_phone
            else BillModel.payer_phone.remove(), BillModel.pending.remove(),
            BillModel.issued_day.set(record.bill.issued_at[:10]),
            BillModel.issuing_unit.set(record.bill.issuing_unit_code),
            BillModel.issued_at.set(record.bill.issued_at)]
        if record.links:
            actions.append(BillModel.links.set(record.links))
        return actions

    def save_issued(self, record: BillRecord) -> None:
        """Write the bill onto its pending number (or over itself); Conflict if no number was
        taken for it, or it has moved on to another status."""
        try:
            BillModel(record.bill.bill_id).update(
                actions=self._issued_actions(record),
                condition=BillModel.status.is_in("pending", record.status.value))
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise Conflict(f"bill {record.bill.bill_id} is not pending") from exc
            raise

    def get(self, bill_code: str, bill_number: str) -> BillRecord | None:
        try:
            row = BillModel.get(bill_code + bill_number, consistent_read=True)
        except DoesNotExist:
            return None
        if row.doc is None:  # number reserved, bill not finished yet
            return None
        return _record(row)

    @staticmethod
    def of_unit(unit_code: str, first: str, last: str, limit: int,
                after: str | None = None) -> tuple[list[BillRecord], str | None]:
        """One query of the unit index; a position is ``issued_at|bill_id``. The index holds
        each bill's document, status and links: the records carry no files, counts or phone."""
        start = None
        if after:
            at, _, bill_id = after.partition("|")
            start = {"bill_id": {"S": bill_id}, "issuing_unit": {"S": unit_code},
                     "issued_at": {"S": at}}
        rows = BillModel.by_unit.query(unit_code, BillModel.issued_at.between(first, last),
                                       scan_index_forward=False, limit=limit, page_size=limit,
                                       last_evaluated_key=start)
        records = [_record(row) for row in rows if row.doc is not None]
        if len(records) < limit:
            return records, None
        last_bill = records[-1].bill
        return records, f"{last_bill.issued_at}|{last_bill.bill_id}"

    def lookup(self, bill_code: str, bill_number: str, counter_ids: Sequence[str] = (), *,
               reimbursement: bool = False) -> BillLookup:
        """The bill, the counters and the reimbursement in one ``BatchGetItem`` (three
        tables, consistent reads); keys DynamoDB leaves unprocessed are asked for again."""
        from chalicelib.adapters.dynamo_models import CounterModel, ReimbursementModel

        bill_id = bill_code + bill_number
        wanted = {BillModel.Meta.table_name: [{"bill_id": {"S": bill_id}}],
                  CounterModel.Meta.table_name: [{"counter_id": {"S": c}}
                                                 for c in dict.fromkeys(counter_ids)],
                  ReimbursementModel.Meta.table_name: [{"bill_id": {"S": bill_id}}]
                  if reimbursement else []}
        items = batch_get(self._conn().client, wanted, "bill lookup")
        bills = [BillModel.from_raw_data(i) for i in items.get(BillModel.Meta.table_name, [])]
        held = items.get(ReimbursementModel.Meta.table_name, [])
        return BillLookup(
            record=_record(bills[0]) if bills and bills[0].doc is not None else None,
            counters={i["counter_id"]["S"]: int(i.get("value", {}).get("N", "0"))
                      for i in items.get(CounterModel.Meta.table_name, [])},
            reimbursement=reimbursement_record(ReimbursementModel.from_raw_data(held[0]))
            if held else None)

    def count_check(self, record: BillRecord, now: str, event: AuditEvent) -> BillRecord:
        """One transaction: the bill's check count and times, and the audit row."""
        bill_id = record.bill.bill_id
        try:
            with TransactWrite(connection=self._conn()) as tx:
                tx.update(BillModel(bill_id), actions=[
                    BillModel.check_count.add(1), BillModel.last_checked_at.set(now),
                    BillModel.first_checked_at.set(BillModel.first_checked_at | now)],
                    condition=BillModel.doc.exists())
                tx.save(audit_row(event))
        except TransactWriteError as exc:
            reasons = list(exc.cancellation_reasons or [])
            if any(_check_failed(reasons, k) for k in range(len(reasons))):
                raise NotFound("票据不存在") from exc
            raise
        return replace(record, check_count=record.check_count + 1,
                       first_checked_at=record.first_checked_at or now, last_checked_at=now)


@aws_boundary
def archived_files(limit: int | None = None):
    """(bill_id, {"xml": {...}, "pdf": {...}}) of every issued bill, as the table holds them."""
    for row in BillModel.scan(BillModel.files.exists(), limit=limit):
        yield row.bill_id, row.files.as_dict()


@aws_boundary
def archived_files_page(after: str | None, limit: int) -> tuple[list[tuple[str, dict]], str | None]:
    """Up to ``limit`` of ``archived_files``, resuming after the bill id ``after``; returns them
    and the bill id to resume after next time (None once the table has been read through)."""
    rows = BillModel.scan(BillModel.files.exists(), limit=limit, page_size=limit,
                          last_evaluated_key={"bill_id": {"S": after}} if after else None)
    page = [(row.bill_id, row.files.as_dict()) for row in rows]
    key = rows.last_evaluated_key
    return page, (key["bill_id"]["S"] if key else None)


@aws_boundary
class DynamoKeys:
    """KeyRegistry: public keys (and where their private halves are) by key id.

    The list is read once a minute per process, not once per bill: keys change only by rotation,
    which keeps the old key valid long enough for every process to have seen the new one.
    """

    def __init__(self) -> None:
        self._cache: tuple[float, list[SigningKey]] | None = None

    def all(self) -> list[SigningKey]:
        if self._cache is None or time.monotonic() - self._cache[0] > KEY_CACHE_SECONDS:
            keys = sorted((self._key(r) for r in SigningKeyModel.scan()), key=lambda k: k.kid)
            self._cache = (time.monotonic(), keys)
        return self._cache[1]

    def get(self, kid: str) -> SigningKey | None:
        cached = next((k for k in self.all() if k.kid == kid), None)
        if cached is not None:
            return cached
        try:
            return self._key(SigningKeyModel.get(kid))
        except DoesNotExist:
            return None

    def put(self, key: SigningKey) -> None:
        SigningKeyModel(key.kid, alg=key.alg, use=key.use, owner=key.owner,
                        public_key_pem=key.public_key_pem, not_before=key.not_before,
                        not_after=key.not_after, key_ref=key.key_ref,
                        endorsement=key.endorsement).save()
        self._cache = None

    @staticmethod
    def _key(row: SigningKeyModel) -> SigningKey:
        return SigningKey(kid=row.kid, alg=row.alg, use=row.use, owner=row.owner,
                          public_key_pem=row.public_key_pem, not_before=row.not_before,
                          not_after=row.not_after, key_ref=row.key_ref,
                          endorsement=row.endorsement)


def fill_bill_listing(page_size: int = 500, after: str | None = None) -> FillPage:
    """Back-fill of ``issuing_unit`` (the key of ``issuing_unit-issued_at-index``, the unit
    console's bill list) on bills issued before it: one page of a Scan of the bills table
    (``page_size`` rows read, after the bill id ``after``) returning only issued bills (with a
    document) lacking it, with their id, document and time, then one conditional update each
    setting what the write path sets (the document's issuing unit, and ``issued_at`` where it
    is missing too). Idempotent as ``dynamo_payments.fill_paid_days``: a listed bill is neither
    returned nor changed (the condition holds against the write path or a parallel run too),
    so a run can be repeated or resumed from any page; a pending number is left to its
    issuance, which sets both."""
    start = {"bill_id": {"S": after}} if after else None
    rows = BillModel.scan(filter_condition=BillModel.issuing_unit.does_not_exist()
                          & BillModel.doc.exists(), page_size=page_size,
                          last_evaluated_key=start,
                          attributes_to_get=["bill_id", "doc", "issued_at"])
    page = next(rows.page_iter)
    items = page.get("Items", [])
    listed = 0
    for item in items:
        row = BillModel.from_raw_data(item)
        bill = bill_from_doc(row.doc)
        if not bill.issuing_unit_code or not bill.issued_at:
            continue  # not a bill the list could show: left as it is
        listed += update_if(
            BillModel(row.bill_id),
            [BillModel.issuing_unit.set(bill.issuing_unit_code),
             BillModel.issued_at.set(BillModel.issued_at | bill.issued_at)],
            BillModel.bill_id.exists() & BillModel.issuing_unit.does_not_exist()
            & BillModel.doc.exists())
    last = rows.page_iter.last_evaluated_key
    return FillPage(scanned=int(page.get("ScannedCount", 0)), missing=len(items),
                    filled=listed, after=last["bill_id"]["S"] if last else None)
