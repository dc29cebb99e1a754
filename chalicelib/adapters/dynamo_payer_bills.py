"""The bills table as payers see it: the sparse ``payer-index`` (HMAC of the phone → bills).

Only the keyed hash of the number is written to the index; the bill's content, status and links
are projected, so listing a payer's bills is one query.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_bills import bill_from_doc
from chalicelib.adapters.dynamo_models import BillModel, is_conditional_failure
from chalicelib.domain.bills import BillStatus
from chalicelib.domain.records import PayerBill


@aws_boundary
class DynamoPayerBills:
    """PayerBillIndex."""

    def index(self, bill_id: str, phone_key: str, sort_key: str) -> None:
        try:
            BillModel(bill_id).update(
                actions=[BillModel.payer_phone_hash.set(phone_key),
                         BillModel.payer_sort.set(sort_key)],
                condition=BillModel.doc.exists())
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise  # a bill not yet written (or gone) has nothing to index

    def bills_of(self, phone_key: str, limit: int = 100) -> list[PayerBill]:
        rows = BillModel.by_payer.query(phone_key, scan_index_forward=False, limit=limit)
        return [PayerBill(bill=bill_from_doc(row.doc), status=BillStatus(row.status),
                          links=row.links.as_dict() if row.links is not None else {})
                for row in rows if row.doc is not None and row.status != "pending"]
