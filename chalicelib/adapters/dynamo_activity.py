"""DailyActivity over DynamoDB: what one China day recorded, through the tables' day indexes.

Each method is one ``Query`` of one index partition (the day), paged by pynamodb until read
through; payments of every channel (the four channels and the four ways a unit's own receipt
behind a direct bill came) are one partition of ``paid_day-payment_id-index``, which
reconciliation also reads, one channel at a time. A week's report costs 7 × 4 queries plus one
``BatchGetItem`` per 100 paid notes: it grows with what the week recorded, never with the
tables' size. The notes' day index holds each note as made (its keys and ``doc``, written once:
``NotesByDay``), which is what a day's notes are read for; the paid notes are read whole, by
their codes.

A day is one partition of each index: DynamoDB serves 3,000 reads and 1,000 writes a second
per partition, far above a county's day (thousands of notes), and a report reads it once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_bills import bill_from_doc
from chalicelib.adapters.dynamo_models import BillModel, NoteModel, PaymentModel
from chalicelib.adapters.dynamo_notes import made_from_item, note_from_model
from chalicelib.domain.bills import Bill
from chalicelib.domain.notes import Note
from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.reports import VoidedBill

BATCH = 100  # BatchGetItem's limit
MADE_READ = ["payment_code", "doc"]  # a note as made: what its creation wrote, never changed
BILL_READ = ["doc"]  # a bill is its document; its index keys and file names are not shown
VOIDED_READ = ["doc", "voided_at"]


@aws_boundary
class DynamoActivity:
    """DailyActivity."""

    @staticmethod
    def notes_made(day: str) -> list[Note]:
        # The day page's, the weekly report's and the anomaly checks' notes: raw items (a busy
        # day's hundreds of notes cost ~0.5 ms of CPU each through pynamodb's model), the code
        # and the ~430 bytes of document a note, all the index holds besides its keys.
        rows = NoteModel.by_day.query(day, attributes_to_get=MADE_READ)
        return [made_from_item(item) for item in _items(rows)]

    @staticmethod
    def payments(day: str) -> list[PaymentRecord]:
        found = [_payment(item) for item in _items(PaymentModel.by_day.query(day))]
        return sorted(found, key=lambda p: (p.paid_at, p.payment_id))

    @staticmethod
    def notes(payment_codes: Sequence[str]) -> list[Note]:
        codes = list(dict.fromkeys(payment_codes))
        found: list[Note] = []
        for start in range(0, len(codes), BATCH):
            found += [note_from_model(row)
                      for row in NoteModel.batch_get(codes[start:start + BATCH])]
        return found

    @staticmethod
    def bills_issued(day: str) -> list[Bill]:
        rows = BillModel.by_day.query(day, attributes_to_get=BILL_READ)
        return [bill_from_doc(json.loads(item["doc"]["S"])) for item in _items(rows)
                if "S" in item.get("doc", {})]

    @staticmethod
    def bills_voided(day: str) -> list[VoidedBill]:
        rows = BillModel.by_voided_day.query(day, attributes_to_get=VOIDED_READ)
        return [VoidedBill(bill=bill_from_doc(json.loads(item["doc"]["S"])),
                           voided_at=item.get("voided_at", {}).get("S") or day)
                for item in _items(rows) if "S" in item.get("doc", {})]


# A busy day's lists are read from the raw items, as ``notes_made`` reads its notes: building
# pynamodb's model of each row costs ~0.3-0.7 ms of CPU, which the day page pays on every request.

def _items(rows: Any) -> Iterable[dict[str, Any]]:
    """The raw items of every page of a pynamodb query."""
    return (item for page in rows.page_iter for item in page.get("Items", []))


def _payment(item: dict[str, Any]) -> PaymentRecord:
    """``PaymentRecord.of_row`` of a raw item: the payments table keeps only text and numbers;
    any other type is left to pynamodb's model."""
    row: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            row[name] = value["S"]
        elif "N" in value:
            row[name] = value["N"]
        else:
            return PaymentRecord.of_row(PaymentModel.from_raw_data(item).attribute_values)
    return PaymentRecord.of_row(row)
