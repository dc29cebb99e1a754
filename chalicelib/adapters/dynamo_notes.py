"""Notes, channel orders, idempotency records and counters in DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    ChannelOrderModel,
    CounterModel,
    FillPage,
    IdempotencyModel,
    NoteModel,
    batch_get,
    is_conditional_failure,
    update_if,
)
from chalicelib.domain.errors import Conflict, IllegalTransition, NotFound
from chalicelib.domain.notes import BillRef, Item, ListedNote, Note, NoteStatus, Payer, PaymentRef
from chalicelib.domain.payer_search import payer_from_text, payer_text
from chalicelib.domain.payments import ChannelOrder
from chalicelib.domain.records import IdempotencyClaim, NoteLookup
from chalicelib.domain.template_data import template_from_stored, template_to_data

IDEMPOTENCY_TTL = timedelta(hours=24)
BATCH_GET_KEYS = 100  # DynamoDB's limit of keys in one BatchGetItem
IN_PROGRESS_TIMEOUT = timedelta(seconds=60)


def note_to_doc(note: Note) -> dict:
    return {
        "unit_code": note.unit_code, "region_code": note.region_code,
        "payer": asdict(note.payer), "items": [asdict(i) for i in note.items],
        "total_fen": note.total_fen, "bill_kind": note.bill_kind, "due_date": note.due_date,
        "expires_at": note.expires_at, "remark": note.remark, "created_at": note.created_at,
        # Only when there is a template: older notes' documents stay as they were.
        **({"template_id": note.template_id, "template_version": note.template_version,
            "bill_extra": [list(p) for p in note.bill_extra]} if note.template_id else {}),
        # A template the finance department defined travels with the note, as it was then.
        **({"template": template_to_data(note.template_def)} if note.template_def else {}),
    }


def payer_keys(unit_code: str, payer: Payer, doc: dict[str, Any]) -> dict[str, Any]:
    """The keys of the notes' search indexes, from the note's document: ``payer_find`` and
    ``note_brief`` (the payer index) and, when the payer has them, ``payer_phone`` and
    ``payer_credit`` (the sparse exact ones)."""
    return {"payer_find": payer_text(payer), "note_brief": note_brief(doc),
            "payer_phone": f"{unit_code}#{payer.phone}" if payer.phone else None,
            "payer_credit": f"{unit_code}#{payer.credit_code}" if payer.credit_code else None}


def note_brief(doc: dict[str, Any]) -> str:
    """What a list shows of a note that only its document holds and that never changes (the
    payer's type, the total, the bill kind, the expiry), as compact JSON: the payer index
    projects it, so the payer search lists a note from its index row."""
    return json.dumps([doc["payer"]["type"], int(doc["total_fen"]), doc["bill_kind"],
                       doc.get("expires_at")], ensure_ascii=False, separators=(",", ":"))


def note_row(note: Note) -> NoteModel:
    """The row of a new note: its document, and the keys of the search indexes."""
    doc = note_to_doc(note)
    return NoteModel(note.payment_code, unit_code=note.unit_code, created_at=note.created_at,
                     status=note.status.value, total_fen=note.total_fen, doc=doc,
                     created_day=note.created_at[:10],
                     **payer_keys(note.unit_code, note.payer, doc))


def fill_payer_search(page_size: int = 500, after: str | None = None) -> FillPage:
    """Back-fill of the search indexes' keys (``payer_keys``) on notes created before the payer
    indexes, or before ``note_brief``: one page of a Scan of the notes table (``page_size`` rows
    read, after the payment code ``after``) returning only notes lacking ``note_brief``, with
    their document, then one conditional update each setting what ``note_row`` sets from the
    note's own document (the payer's keys again when it has them: the same values, a payer never
    changes). Until then such a note is found by name only by the search's full read and never
    by phone or credit code. Idempotent as ``fill_bill_listing``: a note that has its keys is
    neither returned nor changed (the condition holds against a parallel run too), so a run can
    be repeated or resumed from any page."""
    start = {"payment_code": {"S": after}} if after else None
    rows = NoteModel.scan(filter_condition=NoteModel.note_brief.does_not_exist()
                          & NoteModel.doc.exists(), page_size=page_size,
                          last_evaluated_key=start, attributes_to_get=["payment_code", "doc"])
    page = next(rows.page_iter)
    items = page.get("Items", [])
    filled = 0
    for item in items:
        row = NoteModel.from_raw_data(item)
        keys = payer_keys(row.doc["unit_code"], Payer(**row.doc["payer"]), row.doc)
        filled += update_if(
            NoteModel(row.payment_code),
            [getattr(NoteModel, name).set(value) for name, value in keys.items() if value],
            NoteModel.payment_code.exists() & NoteModel.note_brief.does_not_exist())
    last = rows.page_iter.last_evaluated_key
    return FillPage(scanned=int(page.get("ScannedCount", 0)), missing=len(items),
                    filled=filled, after=last["payment_code"]["S"] if last else None)


def note_from_model(row: NoteModel) -> Note:
    return _note(row.payment_code, row.status, row.doc,
                 row.payment.as_dict() if row.payment is not None else None,
                 row.bill.as_dict() if row.bill is not None else None,
                 row.reservation.as_dict() if row.reservation is not None else None)


def note_from_item(item: dict[str, Any]) -> Note:
    """``note_from_model`` of a raw item (a Query's or BatchGetItem's), the same note, without
    building pynamodb's model first: that costs ~0.3-0.7 ms of CPU a note, which a list of a
    hundred (the day page, a search) pays on every request; this is a ``json.loads`` of the
    document and a walk of three small maps. A value of a type the notes table does not use
    there falls back to pynamodb."""
    try:
        maps = [_plain_map(item.get(name)) for name in ("payment", "bill", "reservation")]
    except _NotPlain:
        return note_from_model(NoteModel.from_raw_data(item))
    return _note(item["payment_code"]["S"], item["status"]["S"], json.loads(item["doc"]["S"]),
                 *maps)


def made_from_item(item: dict[str, Any]) -> Note:
    """A note as it was made, from a raw item's ``payment_code`` and ``doc`` alone (the two
    attributes its creation writes and nothing changes): ``note_from_item`` of the item with
    its status unpaid and no payment, bill or reservation. A day's list needs no more, and
    reading those three maps too is half as many bytes again to send and decode."""
    return _note(item["payment_code"]["S"], NoteStatus.UNPAID.value,
                 json.loads(item["doc"]["S"]), None, None, None)


def listed_from_item(item: dict[str, Any]) -> ListedNote | None:
    """The note a payer index row shows (``NotesByUnitPayer``: keys, ``payer_find``,
    ``note_brief``, status, payment, bill), from the row alone: ``note.listed()`` of the note
    it indexes. None when the row lacks the payer's text or the brief (a note made before
    them), or holds a value ``note_from_item`` would leave to pynamodb: read the note then."""
    if "payer_find" not in item or "note_brief" not in item:
        return None
    try:
        payment, bill = _plain_map(item.get("payment")), _plain_map(item.get("bill"))
    except _NotPlain:
        return None
    name, phone, credit = payer_from_text(item["payer_find"]["S"])
    kind, total_fen, bill_kind, expires_at = json.loads(item["note_brief"]["S"])
    return ListedNote(
        payment_code=item["payment_code"]["S"], unit_code=item["unit_code"]["S"],
        payer=Payer(name, kind, phone or None, credit or None), total_fen=total_fen,
        bill_kind=bill_kind, created_at=item["created_at"]["S"],
        status=NoteStatus(item["status"]["S"]), expires_at=expires_at,
        payment=PaymentRef(**{**payment, "amount_fen": int(payment["amount_fen"])})
        if payment else None,
        bill=BillRef(**bill) if bill else None)


class _NotPlain(Exception):
    """A raw value ``note_from_item`` leaves to pynamodb."""


def _plain_map(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None or value.get("NULL"):
        return None
    if "M" not in value:
        raise _NotPlain(value)
    return {key: _plain(raw) for key, raw in value["M"].items()}


def _plain(raw: dict[str, Any]) -> Any:
    # as pynamodb deserializes a raw map's values (NumberAttribute: json.loads)
    if "S" in raw:
        return raw["S"]
    if "N" in raw:
        return json.loads(raw["N"])
    if "NULL" in raw:
        return None
    if "BOOL" in raw:
        return raw["BOOL"]
    if "M" in raw:
        return _plain_map(raw)
    raise _NotPlain(raw)


def _note(payment_code: str, status: str, doc: dict[str, Any], payment: dict | None,
          bill: dict | None, reservation: dict | None) -> Note:
    return Note(
        payment_code=payment_code, unit_code=doc["unit_code"],
        region_code=doc["region_code"], payer=Payer(**doc["payer"]),
        items=tuple(Item(**i) for i in doc["items"]), total_fen=int(doc["total_fen"]),
        bill_kind=doc["bill_kind"], created_at=doc["created_at"], status=NoteStatus(status),
        due_date=doc.get("due_date"), expires_at=doc.get("expires_at"), remark=doc.get("remark"),
        payment=PaymentRef(**{**payment, "amount_fen": int(payment["amount_fen"])})
        if payment else None,
        bill=BillRef(**bill) if bill else None,
        extra={"reservation": reservation},
        template_id=doc.get("template_id", ""),
        template_version=int(doc.get("template_version", 0)),
        bill_extra=tuple((str(k), str(v)) for k, v in doc.get("bill_extra", ())),
        template_def=template_from_stored(doc["template"]) if doc.get("template") else None,
    )


@aws_boundary
class DynamoNotes:
    """NoteRepository over the notes and channel-orders tables."""

    def add(self, note: Note) -> None:
        row = note_row(note)
        try:
            row.save(condition=NoteModel.payment_code.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict("payment code already in use", code="duplicate_payment_code") from exc
            raise

    def get(self, payment_code: str) -> Note | None:
        try:
            return note_from_model(NoteModel.get(payment_code, consistent_read=True))
        except DoesNotExist:
            return None

    def lookup(self, payment_code: str, counter_ids: Sequence[str] = ()) -> NoteLookup:
        """The note and the counters in one ``BatchGetItem`` (two tables, consistent reads):
        what a payer's page polls, one request instead of two."""
        wanted = {NoteModel.Meta.table_name: [{"payment_code": {"S": payment_code}}],
                  CounterModel.Meta.table_name: [{"counter_id": {"S": c}}
                                                 for c in dict.fromkeys(counter_ids)]}
        items = batch_get(NoteModel._get_connection().connection.client, wanted, "note lookup")
        notes = items[NoteModel.Meta.table_name]
        return NoteLookup(
            note=note_from_item(notes[0]) if notes else None,
            counters={i["counter_id"]["S"]: int(i.get("value", {}).get("N", "0"))
                      for i in items[CounterModel.Meta.table_name]})

    def get_many(self, payment_codes: Sequence[str]) -> dict[str, Note]:
        """The notes of ``payment_codes`` that exist, by payment code: consistent reads, one
        ``BatchGetItem`` per hundred codes. Keys DynamoDB leaves unprocessed are asked for
        again, a bounded number of times (then ``ServiceUnavailable``)."""
        client = NoteModel._get_connection().connection.client
        table = NoteModel.Meta.table_name
        codes = list(dict.fromkeys(payment_codes))
        found: dict[str, Note] = {}
        for start in range(0, len(codes), BATCH_GET_KEYS):
            wanted = {table: [{"payment_code": {"S": c}}
                              for c in codes[start:start + BATCH_GET_KEYS]]}
            for item in batch_get(client, wanted, "notes")[table]:
                note = note_from_item(item)
                found[note.payment_code] = note
        return found

    def cancel(self, payment_code: str) -> Note:
        row = NoteModel(payment_code)
        try:
            row.update(actions=[NoteModel.status.set(NoteStatus.CANCELLED.value)],
                       condition=NoteModel.status == NoteStatus.UNPAID.value)
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
            current = self.get(payment_code)
            if current is None:
                raise NotFound("缴款书不存在") from exc
            raise IllegalTransition(f"只有未缴款的缴款书可以撤销（当前状态：{current.status}）",
                                    code="note_not_cancellable") from exc
        note = self.get(payment_code)
        assert note is not None
        return note

    def mark_issued(self, payment_code: str, bill: BillRef) -> None:
        row = NoteModel(payment_code)
        try:
            row.update(actions=[NoteModel.status.set(NoteStatus.ISSUED.value),
                                NoteModel.bill.set(asdict(bill)),
                                NoteModel.awaiting_bill.remove(),
                                NoteModel.awaiting_since.remove()],
                       condition=NoteModel.status.is_in(NoteStatus.PAID.value,
                                                        NoteStatus.ISSUED.value))
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise IllegalTransition("note is not paid", code="note_not_paid") from exc
            raise

    def add_order(self, order: ChannelOrder) -> None:
        row = ChannelOrderModel(order.out_trade_no, payment_code=order.payment_code,
                                channel=order.channel, amount_fen=order.amount_fen,
                                created_at=order.created_at, expires_at=order.expires_at,
                                mode=order.mode, open_key="open",
                                merchant=order.merchant or None,
                                merchant_app=order.merchant_app or None)
        try:
            row.save(condition=ChannelOrderModel.out_trade_no.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict("out_trade_no already in use") from exc
            raise

    def get_order(self, out_trade_no: str) -> ChannelOrder | None:
        try:
            row = ChannelOrderModel.get(out_trade_no, consistent_read=True)
        except DoesNotExist:
            return None
        return _order(row)

    @staticmethod
    def open_orders(created_before: str, limit: int = 100,
                    after: ChannelOrder | None = None) -> list[ChannelOrder]:
        """Orders still open (the sparse index), oldest first, opened before ``created_before``;
        one page, after ``after`` (the index's exclusive start key: it need not be open still)."""
        start = None
        if after is not None:
            start = {"open_key": {"S": "open"}, "created_at": {"S": after.created_at},
                     "out_trade_no": {"S": after.out_trade_no}}
        return [_order(row) for row in ChannelOrderModel.by_open.query(
            "open", ChannelOrderModel.created_at < created_before, limit=limit,
            last_evaluated_key=start)]

    @staticmethod
    def awaiting_bill(paid_before: str, limit: int = 500) -> list[str]:
        """Payment codes of paid notes still without a bill, paid before ``paid_before`` (UTC
        ISO), oldest first: one query of a sparse, keys-only index."""
        return [row.payment_code for row in NoteModel.by_awaiting_bill.query(
            "paid", NoteModel.awaiting_since < paid_before, limit=limit)]

    @staticmethod
    def close_order(out_trade_no: str) -> None:
        """Take the order out of the open index (settled, or past querying); an unknown order
        is left alone (the condition keeps the update from creating one)."""
        try:
            ChannelOrderModel(out_trade_no).update(
                actions=[ChannelOrderModel.open_key.remove()],
                condition=ChannelOrderModel.out_trade_no.exists())
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise


def _order(row: ChannelOrderModel) -> ChannelOrder:
    return ChannelOrder(out_trade_no=row.out_trade_no, payment_code=row.payment_code,
                        channel=row.channel, amount_fen=int(row.amount_fen),
                        created_at=row.created_at, expires_at=row.expires_at,
                        mode=row.mode or "h5", merchant=row.merchant or "",
                        merchant_app=row.merchant_app or "")


@aws_boundary
class DynamoCounters:
    def value(self, counter_id: str) -> int:
        """The counter as it stands (0 when it was never counted); a consistent read."""
        try:
            return int(CounterModel.get(counter_id, consistent_read=True).value)
        except DoesNotExist:
            return 0

    def next_value(self, counter_id: str, expires_epoch: int | None = None) -> int:
        row = CounterModel(counter_id)
        actions: list[Any] = [CounterModel.value.add(1)]
        if expires_epoch is not None:
            actions.append(CounterModel.expires_epoch.set(expires_epoch))
        row.update(actions=actions)
        return int(row.value)

    @staticmethod
    def hold(counter_id: str, now_epoch: int, until_epoch: int) -> int:
        """A lease on a counter row: taken when absent or expired (``expires_epoch``)."""
        row = CounterModel(counter_id, value=1, expires_epoch=until_epoch)
        try:
            row.save(condition=CounterModel.counter_id.does_not_exist()
                     | (CounterModel.expires_epoch <= now_epoch))
            return 0
        except PutError as exc:
            if not is_conditional_failure(exc):
                raise
        try:
            held = CounterModel.get(counter_id, consistent_read=True)
        except DoesNotExist:  # expired and removed between the write and the read
            return now_epoch + 1
        return max(now_epoch + 1, int(held.expires_epoch or now_epoch + 1))


@aws_boundary
class DynamoIdempotency:
    """IdempotencyStore by conditional writes: claim (in progress) → attach the result about to
    be created → complete; release on failure. A stale or released claim is taken over by an
    update that keeps the attached result (see the port)."""

    def claim(self, idempotency_id: str, request_hash: str,
              now: datetime) -> IdempotencyClaim | None:
        expires = int((now + IDEMPOTENCY_TTL).timestamp())
        row = IdempotencyModel(idempotency_id, request_hash=request_hash, state="in_progress",
                               claimed_at=now.isoformat(), expires_epoch=expires)
        try:
            row.save(condition=IdempotencyModel.idempotency_id.does_not_exist())
            return None
        except PutError as exc:
            if not is_conditional_failure(exc):
                raise
        stale = (now - IN_PROGRESS_TIMEOUT).isoformat()
        taken = IdempotencyModel(idempotency_id)
        try:
            taken.update(actions=[IdempotencyModel.state.set("in_progress"),
                                  IdempotencyModel.claimed_at.set(now.isoformat()),
                                  IdempotencyModel.expires_epoch.set(expires)],
                         condition=(IdempotencyModel.request_hash == request_hash)
                         & ((IdempotencyModel.state == "released")
                            | ((IdempotencyModel.state == "in_progress")
                               & (IdempotencyModel.claimed_at < stale))))
            return IdempotencyClaim("taken_over", request_hash, taken.result)
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
        try:
            existing = IdempotencyModel.get(idempotency_id, consistent_read=True)
        except DoesNotExist:  # released between our write and read: let the caller retry
            return IdempotencyClaim("in_progress", request_hash)
        return IdempotencyClaim(existing.state, existing.request_hash, existing.result)

    def attach(self, idempotency_id: str, result: str, claimed_at: datetime) -> bool:
        try:
            IdempotencyModel(idempotency_id).update(
                actions=[IdempotencyModel.result.set(result)],
                condition=(IdempotencyModel.state == "in_progress")
                & (IdempotencyModel.claimed_at == claimed_at.isoformat()))
            return True
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise

    def complete(self, idempotency_id: str, result: str) -> None:
        IdempotencyModel(idempotency_id).update(actions=[
            IdempotencyModel.state.set("completed"), IdempotencyModel.result.set(result)])

    def release(self, idempotency_id: str, claimed_at: datetime) -> None:
        mine = (IdempotencyModel.state == "in_progress") \
            & (IdempotencyModel.claimed_at == claimed_at.isoformat())
        try:
            IdempotencyModel(idempotency_id).delete(
                condition=mine & IdempotencyModel.result.does_not_exist())
            return
        except DeleteError as exc:
            if not is_conditional_failure(exc):
                raise
        try:  # a result is attached: it may exist; the next attempt looks for it first
            IdempotencyModel(idempotency_id).update(
                actions=[IdempotencyModel.state.set("released")], condition=mine)
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
