"""pynamodb models of the DynamoDB tables declared in ``infra/resources.json``.

The tables are defined once, in the CloudFormation template; these models name the attributes the
code reads and writes. ``configure`` binds each model to its table name and endpoint before first
use (pynamodb caches a connection per model class). Models never leave ``adapters/dynamo_*``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import base as pynamodb_connection
from pynamodb.exceptions import UpdateError
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib.adapters.aws import botocore_session
from chalicelib.config import Settings
from chalicelib.domain.errors import ServiceUnavailable

# pynamodb makes a botocore session for each connection (a model's, or an adapter's own for
# transactions) and thread: ≈ 10 MB and 110-180 ms of CPU each, to load the DynamoDB model again.
# Every connection makes its client from the process's one session instead (adapters/aws.py).
pynamodb_connection.get_session = botocore_session


class CompactJSONAttribute(JSONAttribute):
    """JSON as UTF-8 text without spaces: a Chinese character is 3 bytes, not the 6 of its
    ``\\uXXXX`` escape, and every byte of an item is paid for on each write (1 KB a unit, twice
    in a transaction). Reads take both this and pynamodb's spaced, escaped form, so rows written
    before read as they did."""

    def serialize(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class UnitsByKey(GlobalSecondaryIndex):
    class Meta:
        index_name = "api_key_hash-index"
        projection = AllProjection()

    api_key_hash = UnicodeAttribute(hash_key=True)


class UnitsByRegion(GlobalSecondaryIndex):
    """Every unit in one partition, sorted by region then code: a region's units are one
    ``begins_with`` query (``GET /v1/admin/units``). Units are few and rarely written."""

    class Meta:
        index_name = "listing-region_unit-index"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    region_unit = UnicodeAttribute(range_key=True)


class UnitModel(Model):
    class Meta:
        table_name = "units"

    unit_code = UnicodeAttribute(hash_key=True)
    api_key_hash = UnicodeAttribute(null=True)
    by_key = UnitsByKey()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    region_code = UnicodeAttribute(default="")
    bill_kind = UnicodeAttribute(default="0301")
    signing_kid = UnicodeAttribute(null=True)
    handling_person = UnicodeAttribute(default="")
    checker = UnicodeAttribute(default="")
    seal_key = UnicodeAttribute(null=True)
    credit_code = UnicodeAttribute(null=True)
    bill_kinds = ListAttribute(null=True)  # type: ignore[var-annotated]  # allowed kinds; absent: any
    seals = ListAttribute(null=True)  # type: ignore[var-annotated]  # [{key, since}], oldest first
    # The unit's own merchant numbers (domain/merchants), one attribute per channel so that
    # each is set or removed by one update: {merchant_id, app_id?, sealed_token?, since}.
    wechatpay_merchant = MapAttribute(null=True)  # type: ignore[var-annotated]
    alipay_merchant = MapAttribute(null=True)  # type: ignore[var-annotated]
    unionpay_merchant = MapAttribute(null=True)  # type: ignore[var-annotated]
    # The merchants it no longer collects into, kept while their payments may be refunded:
    # [{channel, merchant_id, …, retired, keep_until}], oldest first; and the count of merchant
    # changes, which each change's one conditional update checks and raises (no lost update).
    retired_merchants = ListAttribute(null=True)  # type: ignore[var-annotated]
    merchants_version = NumberAttribute(null=True)
    listing = UnicodeAttribute(null=True)  # "unit" (the index's one partition)
    region_unit = UnicodeAttribute(null=True)  # region_code#unit_code
    by_region = UnitsByRegion()


class FeeItemModel(Model):
    class Meta:
        table_name = "fee_items"

    unit_code = UnicodeAttribute(hash_key=True)
    item_code = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    bill_kind = UnicodeAttribute(null=True)  # the bill kind this item is billed on
    measure = UnicodeAttribute(null=True)  # 计量单位 (the API's "unit")
    standard_fen = NumberAttribute(null=True)  # a fixed standard …
    min_fen = NumberAttribute(null=True)  # … or a range of them
    max_fen = NumberAttribute(null=True)
    valid_from = UnicodeAttribute(null=True)  # YYYY-MM-DD, China time
    valid_to = UnicodeAttribute(null=True)


class NotesAwaitingBill(GlobalSecondaryIndex):
    """Sparse: paid notes whose bill is not issued yet, oldest payment first (the sweeper)."""

    class Meta:
        index_name = "awaiting_bill-awaiting_since-index"
        projection = KeysOnlyProjection()

    awaiting_bill = UnicodeAttribute(hash_key=True)
    awaiting_since = UnicodeAttribute(range_key=True)


class NotesByDay(GlobalSecondaryIndex):
    """Notes by the China date of their creation (the day page, the weekly report, the anomaly
    checks, the finance key's list of every unit's notes). It projects the keys and the note as
    made (``doc``), which its creation writes and nothing changes: a payment, a reservation or
    an issuance updates none of it, so the index is written once, with the note (1 write unit;
    with every attribute projected, each of those rewrote the entry too: 9 units a paid note,
    ``bench.cost``). Its readers need no more: a day's notes as made (``made_from_item``), and
    the finance list, which reads the notes it lists (status, payment, bill) by their keys. It
    replaces ``created_day-created_at-index`` (all attributes): a projection cannot change in
    place, so the index has a new name."""

    class Meta:
        index_name = "created_day-created_at-made-index"
        projection = IncludeProjection(["doc"])

    created_day = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotesByUnit(GlobalSecondaryIndex):
    """A unit's notes, newest first (``GET /v1/notes``, the unit console's list). What a list
    shows is projected beside the keys: the status, the note as made (``doc``, written once),
    its payment and its bill, each set in the same write as a status change, so the index is
    written when the status changes and only then (a reservation, the rest of a note's writes,
    does not write it); a page is one query, no read of the notes after it. It replaces
    ``unit_code-created_at-index`` (the status only, then a BatchGetItem of the page's notes):
    a projection cannot change in place, so the index has a new name."""

    class Meta:
        index_name = "unit_code-created_at-listed-index"
        projection = IncludeProjection(["status", "doc", "payment", "bill"])

    unit_code = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotesByUnitPayer(GlobalSecondaryIndex):
    """A unit's notes, newest first, with who paid (``payer_find``: the payer's name, phone
    and credit code, ``domain/payer_search.payer_text``) and what a list shows of a note besides
    (``note_brief``: the payer's type, the total, the bill kind and the expiry, written with the
    note and never changed; the status, the payment and the bill): the payer search filters
    on ``payer_find`` and lists what it found from the rows themselves, no read of the notes
    after (~0.3 KB a row against the ~1.6 KB of ``unit_code-created_at-listed-index``). The
    status, payment and bill are set together in a status change, which writes this index
    then (the rest of a note's writes do not). Notes made before it lack ``payer_find`` or
    ``note_brief`` until ``cli backfill-payer-search`` and are read in full when a search
    passes them. It replaces ``unit_code-created_at-payer-index`` (``payer_find`` only, then a
    BatchGetItem of the notes found): a projection cannot change in place, so a new name."""

    class Meta:
        index_name = "unit_code-created_at-payer-listed-index"
        projection = IncludeProjection(["payer_find", "note_brief", "status", "payment", "bill"])

    unit_code = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotesByPayerPhone(GlobalSecondaryIndex):
    """Sparse: a unit's notes of one payer's mobile phone (``payer_phone``: ``{unit}#{phone}``),
    newest first: the payer search looks a phone up here, in one query whatever the range.
    Keys only: written once, with the note; the page reads the notes it found."""

    class Meta:
        index_name = "payer_phone-created_at-index"
        projection = KeysOnlyProjection()

    payer_phone = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotesByPayerCredit(GlobalSecondaryIndex):
    """Sparse: as ``NotesByPayerPhone``, by the payer's unified social credit code
    (``payer_credit``: ``{unit}#{code}``)."""

    class Meta:
        index_name = "payer_credit-created_at-index"
        projection = KeysOnlyProjection()

    payer_credit = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NoteModel(Model):
    class Meta:
        table_name = "notes"

    payment_code = UnicodeAttribute(hash_key=True)
    unit_code = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute()
    total_fen = NumberAttribute(null=True)  # top level, so a condition can check an amount
    doc = CompactJSONAttribute()  # the note's content as created; never changes
    payment = MapAttribute(null=True)  # type: ignore[var-annotated]
    reservation = MapAttribute(null=True)  # type: ignore[var-annotated]
    bill = MapAttribute(null=True)  # type: ignore[var-annotated]
    # "paid" from the payment until the bill is issued (sparse index key), with the payment's
    # time in UTC: the sweeper finds notes whose issuance job was lost.
    awaiting_bill = UnicodeAttribute(null=True)
    awaiting_since = UnicodeAttribute(null=True)
    by_awaiting_bill = NotesAwaitingBill()
    created_day = UnicodeAttribute(null=True)  # YYYY-MM-DD, China time (rows before: none)
    by_day = NotesByDay()
    by_unit = NotesByUnit()
    payer_find = UnicodeAttribute(null=True)  # payer_search.payer_text (rows before: none)
    note_brief = UnicodeAttribute(null=True)  # dynamo_notes.note_brief (rows before: none)
    by_unit_payer = NotesByUnitPayer()
    payer_phone = UnicodeAttribute(null=True)  # {unit_code}#{phone}, when the payer has one
    by_payer_phone = NotesByPayerPhone()
    payer_credit = UnicodeAttribute(null=True)  # {unit_code}#{credit code}, when it has one
    by_payer_credit = NotesByPayerCredit()


class IdempotencyModel(Model):
    class Meta:
        table_name = "idempotency"

    idempotency_id = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    state = UnicodeAttribute()  # in_progress | completed
    result = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute()
    expires_epoch = NumberAttribute()


class OpenOrders(GlobalSecondaryIndex):
    """Sparse: orders not yet settled, oldest first, for the active query (主动查询)."""

    class Meta:
        index_name = "open_key-created_at-index"
        projection = AllProjection()

    open_key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ChannelOrderModel(Model):
    class Meta:
        table_name = "channel_orders"

    out_trade_no = UnicodeAttribute(hash_key=True)
    payment_code = UnicodeAttribute()
    channel = UnicodeAttribute()
    amount_fen = NumberAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    mode = UnicodeAttribute(null=True)  # h5 | jsapi | native | page; absent on older rows: h5
    merchant = UnicodeAttribute(null=True)  # a unit's own (WeChat sub_mchid); absent: ours
    merchant_app = UnicodeAttribute(null=True)  # WeChat sub_appid, when the unit has one
    open_key = UnicodeAttribute(null=True)  # "open" until settled; removed by the query job
    by_open = OpenOrders()


class PaymentsByNote(GlobalSecondaryIndex):
    class Meta:
        index_name = "payment_code-index"
        projection = AllProjection()

    payment_code = UnicodeAttribute(hash_key=True)


class ExceptionsByUnit(GlobalSecondaryIndex):
    """Sparse: only payment exceptions, by the collecting unit that must see them."""

    class Meta:
        index_name = "exception_unit-paid_at-index"
        projection = AllProjection()

    exception_unit = UnicodeAttribute(hash_key=True)
    paid_at = UnicodeAttribute(range_key=True)


class RefundsDue(GlobalSecondaryIndex):
    """Sparse: exception payments whose refund is pending or under way, oldest first."""

    class Meta:
        index_name = "refund_due-paid_at-index"
        projection = AllProjection()

    refund_due = UnicodeAttribute(hash_key=True)
    paid_at = UnicodeAttribute(range_key=True)


class PaymentsByDay(GlobalSecondaryIndex):
    """Every channel's payments of one day (the date of ``paid_at``, Beijing time): the day
    page and the weekly report read a day in one query, reconciliation (清算对账) one channel's
    with ``begins_with(payment_id, "{channel}#")``. It replaced ``channel_day-paid_at-index``
    (one partition per channel and day) so the day costs one query instead of one per channel,
    at the same write units: an applied payment is put once and never updated, so its entry
    costs one write whatever the projection; ALL, because reconciliation and the day page need
    an exception's refund state too. Rows written before it: ``cli backfill-payment-days``."""

    class Meta:
        index_name = "paid_day-payment_id-index"
        projection = AllProjection()

    paid_day = UnicodeAttribute(hash_key=True)  # 2026-06-15
    payment_id = UnicodeAttribute(range_key=True)  # wechatpay#4200…


class RefundsByDay(GlobalSecondaryIndex):
    """Sparse: refunds that succeeded, by their statement day (``{channel}#{YYYY-MM-DD}``,
    ``statements.clearing_day``: UnionPay's runs 23:00 to 23:00), for reconciliation."""

    class Meta:
        index_name = "refund_day-refunded_at-index"
        projection = AllProjection()

    refund_day = UnicodeAttribute(hash_key=True)
    refunded_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    class Meta:
        table_name = "payments"

    payment_id = UnicodeAttribute(hash_key=True)
    payment_code = UnicodeAttribute()
    by_note = PaymentsByNote()
    paid_day = UnicodeAttribute(null=True)  # YYYY-MM-DD of paid_at (Beijing)
    by_day = PaymentsByDay()
    by_exception_unit = ExceptionsByUnit()
    by_refund_due = RefundsDue()
    by_refund_day = RefundsByDay()
    exception_unit = UnicodeAttribute(null=True)
    # pending | requested | succeeded | failed | manual (agent bank: the unit refunds by hand)
    refund_status = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)  # the channel's refund id, once known
    refund_due = UnicodeAttribute(null=True)  # "due" while pending or requested (sparse key)
    out_refund_no = UnicodeAttribute(null=True)  # ours, derived from payment_id
    refund_requested_at = UnicodeAttribute(null=True)
    refund_checked_at = UnicodeAttribute(null=True)
    refund_detail = UnicodeAttribute(null=True)  # the channel's last word, for people
    refunded_at = UnicodeAttribute(null=True)  # when we learned it succeeded (China time)
    refund_day = UnicodeAttribute(null=True)  # "{channel}#{statement day}" once succeeded
    settle_date = UnicodeAttribute(null=True)  # UnionPay's 清算日期 (settleDate), when said
    merchant = UnicodeAttribute(null=True)  # a unit's own merchant it was paid to (sub_mchid)
    channel = UnicodeAttribute()
    channel_txn_id = UnicodeAttribute()
    out_trade_no = UnicodeAttribute()
    amount_fen = NumberAttribute()
    paid_at = UnicodeAttribute()
    notification_id = UnicodeAttribute(default="")
    status = UnicodeAttribute()  # applied | exception
    reason = UnicodeAttribute(null=True)


class PendingBills(GlobalSecondaryIndex):
    """Sparse: only bills whose number is taken but whose issuance has not finished."""

    class Meta:
        index_name = "pending-index"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    reserved_at = UnicodeAttribute(range_key=True)


class BillsByDay(GlobalSecondaryIndex):
    """Bills (blue and red) by the China date of their issue. Only the document is projected
    (what the day's readers use): an entry is written once, when the bill is complete, at the
    size of its document (one write unit for most bills, where the whole row cost two), and a
    verification's count, a status or a text never write it again."""

    class Meta:
        index_name = "issued_day-issued_at-index"
        projection = IncludeProjection(["doc"])

    issued_day = UnicodeAttribute(hash_key=True)
    issued_at = UnicodeAttribute(range_key=True)


class BillsByUnit(GlobalSecondaryIndex):
    """Bills (blue and red) by their issuing unit and time of issue (the unit console's list).
    The document, status and links are projected (what the list shows), as in "my bills": an
    entry costs what the document does, and only a void, a reversal or an exchange to paper
    writes it again, never a verification's count or a text."""

    class Meta:
        index_name = "issuing_unit-issued_at-index"
        projection = IncludeProjection(["doc", "status", "links"])

    issuing_unit = UnicodeAttribute(hash_key=True)
    issued_at = UnicodeAttribute(range_key=True)


class VoidsByDay(GlobalSecondaryIndex):
    """Sparse: voided bills by the China date of the void."""

    class Meta:
        index_name = "voided_day-voided_at-index"
        projection = AllProjection()

    voided_day = UnicodeAttribute(hash_key=True)
    voided_at = UnicodeAttribute(range_key=True)


class BillModel(Model):
    class Meta:
        table_name = "bills"

    bill_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # pending | normal | reversed | voided
    pending = UnicodeAttribute(null=True)  # "pending" while pending (sparse index key)
    reserved_at = UnicodeAttribute(null=True)
    range_pk = UnicodeAttribute(null=True)  # the number range the number came from
    range_sk = UnicodeAttribute(null=True)
    void_reason = UnicodeAttribute(null=True)
    # What a pending number was taken for, so the repair job can finish it: "note" (its note's
    # bill), "reversal" (the red bill of ``reverses``, for ``reversal_reason``) or "direct".
    purpose = UnicodeAttribute(null=True)
    reverses = UnicodeAttribute(null=True)
    reversal_reason = UnicodeAttribute(null=True)
    by_pending = PendingBills()
    links = MapAttribute(null=True)  # type: ignore[var-annotated]  # reversed_by / reverses
    reversal = MapAttribute(null=True)  # type: ignore[var-annotated]  # the red bill's number
    payment_code = UnicodeAttribute()
    doc = CompactJSONAttribute(null=True)
    payer_phone = UnicodeAttribute(null=True)
    files = MapAttribute(null=True)  # type: ignore[var-annotated]
    check_count = NumberAttribute(default=0)
    first_checked_at = UnicodeAttribute(null=True)
    last_checked_at = UnicodeAttribute(null=True)
    # Read only: texts were once claimed on the bill row; the SMS log holds them now.
    sms_status = UnicodeAttribute(null=True)
    sms_claimed_at = UnicodeAttribute(null=True)
    issued_day = UnicodeAttribute(null=True)  # YYYY-MM-DD, China time, once issued
    issued_at = UnicodeAttribute(null=True)
    by_day = BillsByDay()
    issuing_unit = UnicodeAttribute(null=True)  # the issuing unit's code, once issued
    by_unit = BillsByUnit()
    voided_day = UnicodeAttribute(null=True)  # once voided (sparse index key)
    voided_at = UnicodeAttribute(null=True)
    by_voided_day = VoidsByDay()

    class ByPayer(GlobalSecondaryIndex):
        """Sparse: a payer's bills by the HMAC of their phone, newest first ("my bills")."""

        class Meta:
            index_name = "payer-index"
            projection = IncludeProjection(["doc", "status", "links"])

        payer_phone_hash = UnicodeAttribute(hash_key=True)
        payer_sort = UnicodeAttribute(range_key=True)

    # HMAC-SHA256 of the payer's phone under PAYER_PEPPER; never the number itself.
    payer_phone_hash = UnicodeAttribute(null=True)
    payer_sort = UnicodeAttribute(null=True)  # issued_at (UTC) + "#" + bill_id
    by_payer = ByPayer()


class CounterModel(Model):
    class Meta:
        table_name = "counters"

    counter_id = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)
    expires_epoch = NumberAttribute(null=True)  # TTL: rate-limit windows clean themselves up


class SigningKeyModel(Model):
    class Meta:
        table_name = "signing_keys"

    kid = UnicodeAttribute(hash_key=True)
    alg = UnicodeAttribute()
    use = UnicodeAttribute()
    owner = UnicodeAttribute()
    public_key_pem = UnicodeAttribute()
    not_before = UnicodeAttribute()
    not_after = UnicodeAttribute(null=True)
    key_ref = UnicodeAttribute(default="")
    endorsement = UnicodeAttribute(null=True)  # the finance root key's signature (key_trust)


MODELS: dict[str, type[Model]] = {
    "UNITS": UnitModel, "FEE_ITEMS": FeeItemModel, "NOTES": NoteModel,
    "IDEMPOTENCY": IdempotencyModel, "CHANNEL_ORDERS": ChannelOrderModel,
    "PAYMENTS": PaymentModel, "BILLS": BillModel, "COUNTERS": CounterModel,
    "SIGNING_KEYS": SigningKeyModel,
}

# The CloudFormation logical id of each table (infra/resources.json).
LOGICAL_IDS = {name: "".join(p.title() for p in name.split("_")) + "Table" for name in MODELS}


def configure(settings: Settings) -> None:
    """Point every model at its table, region and (locally) endpoint. A model whose target
    changed drops its cached connection; one still pointed the same way keeps it (a connection
    is a botocore client, ~0.1 s to make)."""
    for name, model in MODELS.items():
        target = (settings.table(name), settings.region, settings.dynamodb_endpoint_url)
        meta = model.Meta
        if (meta.table_name, getattr(meta, "region", None), getattr(meta, "host", None)) != target:
            meta.table_name, meta.region, meta.host = target
            model._connection = None


MAX_BATCH_GET_ATTEMPTS = 5  # rounds for keys DynamoDB leaves unprocessed (throttled), then 503


def batch_get(client: Any, wanted: dict[str, list[dict[str, Any]]],
              what: str, consistent: bool = True) -> dict[str, list[dict[str, Any]]]:
    """The items of ``wanted`` (keys by table name, at most a hundred in all) that exist, by
    table, as raw items: one ``BatchGetItem``, consistent reads unless ``consistent`` is False
    (half the read units: keys found in an index, itself eventually consistent). Keys DynamoDB
    leaves unprocessed are asked for again, a bounded number of times, then
    ``ServiceUnavailable`` naming ``what``."""
    items: dict[str, list[dict[str, Any]]] = {table: [] for table in wanted}
    request = {table: {"Keys": keys, "ConsistentRead": consistent}
               for table, keys in wanted.items() if keys}
    for _ in range(MAX_BATCH_GET_ATTEMPTS):
        if not request:
            return items
        answer = client.batch_get_item(RequestItems=request)
        for table, found in answer.get("Responses", {}).items():
            items.setdefault(table, []).extend(found)
        request = answer.get("UnprocessedKeys") or {}
    if request:
        raise ServiceUnavailable(f"{what}: DynamoDB left keys unprocessed")
    return items


def is_conditional_failure(exc: Exception) -> bool:
    """True when a pynamodb write failed only because its condition did not hold."""
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def update_if(row: Model, actions: list[Any], condition: Any) -> bool:
    """Update ``row`` when ``condition`` holds: True if it was written, False if the condition
    did not hold (any other failure is raised)."""
    try:
        row.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if not is_conditional_failure(exc):
            raise
        return False
    return True


@dataclass(frozen=True)
class FillPage:
    """One page of a back-fill (``fill_paid_days``, ``fill_people_places``,
    ``fill_bill_listing``): rows the page read, rows found lacking the index's key, rows this
    call filled, and the key to resume after (None: the table is read through)."""

    scanned: int
    missing: int
    filled: int
    after: str | None


def fill_all(fill: Callable[[int, str | None], FillPage], page_size: int = 500,
             after: str | None = None,
             each: Callable[[int, FillPage], object] | None = None) -> FillPage:
    """Run the back-fill ``fill`` page after page from ``after`` to the table's end; the
    totals. ``each`` sees every page (its number, from 1) as it is done."""
    scanned = missing = filled = 0
    for number in itertools.count(1):
        page = fill(page_size, after)
        if each is not None:
            each(number, page)
        scanned, missing, filled = (scanned + page.scanned, missing + page.missing,
                                    filled + page.filled)
        if page.after is None:
            break
        after = page.after
    return FillPage(scanned, missing, filled, None)


def revoke_once(row: Model, revoked_at: Any, at: str) -> None:
    """Set a key row's ``revoked_at`` unless it is set already: the first revocation's time
    stands (the row is read back then)."""
    if not update_if(row, [revoked_at.set(at)], revoked_at.does_not_exist()):
        row.refresh()


class ReimbursementModel(Model):
    class Meta:
        table_name = "reimbursements"

    bill_id = UnicodeAttribute(hash_key=True)
    unit_code = UnicodeAttribute()
    unit_name = UnicodeAttribute()
    voucher_no = UnicodeAttribute(null=True)
    recorded_at = UnicodeAttribute()


class AuditByUnit(GlobalSecondaryIndex):
    class Meta:
        index_name = "unit_code-event_id-index"
        projection = AllProjection()

    unit_code = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)


class AuditByDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "day-event_id-index"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)


class AuditModel(Model):
    """One row per verification, reimbursement record or release: who, when, what, from where."""

    class Meta:
        table_name = "audit"

    bill_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)  # time + random: sorts by time
    unit_code = UnicodeAttribute()
    day = UnicodeAttribute()
    by_unit = AuditByUnit()
    by_day = AuditByDay()
    action = UnicodeAttribute()
    outcome = UnicodeAttribute()
    client = UnicodeAttribute()
    detail = CompactJSONAttribute(null=True)


MODELS.update({"REIMBURSEMENTS": ReimbursementModel, "AUDIT": AuditModel})
LOGICAL_IDS.update({name: "".join(p.title() for p in name.split("_")) + "Table"
                    for name in ("REIMBURSEMENTS", "AUDIT")})


class RangesByUnit(GlobalSecondaryIndex):
    """A unit's ranges of every kind, in one query (the finance console's unit page)."""

    class Meta:
        index_name = "unit_code-range_start-index"
        projection = AllProjection()

    unit_code = UnicodeAttribute(hash_key=True)
    range_start = UnicodeAttribute(range_key=True)


class NumberRangeModel(Model):
    class Meta:
        table_name = "number_ranges"

    range_key = UnicodeAttribute(hash_key=True)  # unit_code#kind_code
    range_start = UnicodeAttribute(range_key=True)  # bill_code#start: oldest code first
    unit_code = UnicodeAttribute()
    by_unit = RangesByUnit()
    kind_code = UnicodeAttribute()
    bill_code = UnicodeAttribute()
    start = NumberAttribute()
    end = NumberAttribute()
    next = NumberAttribute()
    voided = NumberAttribute(default=0)
    allocated_at = UnicodeAttribute()


MODELS["NUMBER_RANGES"] = NumberRangeModel
LOGICAL_IDS["NUMBER_RANGES"] = "NumberRangesTable"


class OtpModel(Model):
    """One-time codes for "my bills": one row per phone (HMAC), replaced by each new code."""

    class Meta:
        table_name = "otp"

    otp_id = UnicodeAttribute(hash_key=True)  # HMAC of the phone number
    code_hash = UnicodeAttribute()  # HMAC of the code; the code itself is never stored
    created_epoch = NumberAttribute()
    expires_epoch = NumberAttribute()  # TTL, and the code's own expiry
    attempts = NumberAttribute(default=0)


class SmsLogModel(Model):
    """One row per text message event: the dedup claim and its delivery status."""

    class Meta:
        table_name = "sms_log"

    event_id = UnicodeAttribute(hash_key=True)  # e.g. note_created#<payment_code>
    event = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)  # masked: 138****5678
    status = UnicodeAttribute()  # sending | sent | failed | skipped
    provider = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    claimed_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)  # numbers masked
    expires_epoch = NumberAttribute(null=True)  # TTL


MODELS.update({"OTP": OtpModel, "SMS_LOG": SmsLogModel})
LOGICAL_IDS.update({"OTP": "OtpTable", "SMS_LOG": "SmsLogTable"})


class FinanceKeyModel(Model):
    """The finance department's API keys, by hash (domain/credentials.py). Only the operator's
    command writes them; the API reads them (GetItem), so no request can mint one."""

    class Meta:
        table_name = "finance_keys"

    key_hash = UnicodeAttribute(hash_key=True)  # SHA-256 of the key; the key is never stored
    key_id = UnicodeAttribute()
    scope = UnicodeAttribute(default="")  # region prefix ("" everywhere)
    label = UnicodeAttribute(default="")
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


MODELS.update({"FINANCE_KEYS": FinanceKeyModel})
LOGICAL_IDS.update({"FINANCE_KEYS": "FinanceKeysTable"})


class SessionsByPerson(GlobalSecondaryIndex):
    """Sparse: only session rows carry ``session_of`` (their person's username), so a person's
    live sessions are one query, to end them all when the account changes (locked, unlocked,
    reset, disabled, role changed). Keys only: the key is all that ending one needs."""

    class Meta:
        index_name = "session_of-index"
        projection = KeysOnlyProjection()

    session_of = UnicodeAttribute(hash_key=True)


class PeopleByPlace(GlobalSecondaryIndex):
    """Sparse: only person rows carry ``listing`` ("person"; sessions and units' settings do
    not), so the people pages query accounts, never sessions. One partition (accounts are few
    and rarely written), sorted by ``place``: ``{unit's region}#{unit}#{username}`` for a unit's
    person, ``~finance#{username}`` for a finance person. A unit's people, and the unit people of
    a region (``begins_with`` its prefix), are one query each. Only what the lists show is
    projected: a sign-in's ``totp_step`` does not write the index, a failure does (the lists
    show failures), and neither the password hash nor a pending secret is copied."""

    class Meta:
        index_name = "listing-place-index"
        projection = IncludeProjection(["username", "role", "unit_code", "scope", "display_name",
                                        "created_at", "disabled", "failures", "locked_until",
                                        "totp_sealed"])

    listing = UnicodeAttribute(hash_key=True)
    place = UnicodeAttribute(range_key=True)


class PeopleModel(Model):
    """People who sign in to the consoles (``person#<username>``, never expiring), their
    sessions (``session#<SHA-256 of the token>``, expiring at the session's absolute end) and
    each unit's console settings (``unit#<unit_code>``)."""

    class Meta:
        table_name = "people"

    person_key = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    role = UnicodeAttribute()
    unit_code = UnicodeAttribute(null=True)
    scope = UnicodeAttribute(null=True)  # a finance person's region prefix ("" or none: all)
    # a person
    display_name = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)  # argon2id, encoded with its parameters
    created_at = UnicodeAttribute(null=True)
    totp_sealed = UnicodeAttribute(null=True)  # the TOTP secret, AES-GCM under our key
    totp_step = NumberAttribute(default=0)
    failures = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    disabled = NumberAttribute(default=0)  # 1: the account may not sign in
    totp_pending = UnicodeAttribute(null=True)  # a secret being enrolled (sealed), unconfirmed
    totp_pending_epoch = NumberAttribute(null=True)  # when it was offered
    generation = NumberAttribute(null=True)  # credential generation (none: 0)
    recent_sessions = MapAttribute(null=True)  # type: ignore[var-annotated]  # hash → epoch
    # a unit's row (unit#<code>): what its operators may do (domain/people.UnitAction);
    # ``may_cancel`` is the set's first form (cancel only), read when the set was never written
    may_cancel = NumberAttribute(default=0)
    operator_actions = UnicodeSetAttribute(null=True)
    # an operator's own set, replacing the default for them: {username: "cancel,reverse"}
    person_actions = MapAttribute(null=True)  # type: ignore[var-annotated]
    listing = UnicodeAttribute(null=True)  # "person" on a person's row only (sparse key)
    place = UnicodeAttribute(null=True)  # where the lists sort it (PeopleByPlace)
    by_place = PeopleByPlace()
    # a session
    session_of = UnicodeAttribute(null=True)  # its person's username (the index's key)
    by_person = SessionsByPerson()
    created_epoch = NumberAttribute(null=True)
    seen_epoch = NumberAttribute(null=True)
    client = UnicodeAttribute(null=True)
    expires_epoch = NumberAttribute(null=True)  # TTL: sessions only


MODELS["PEOPLE"] = PeopleModel
LOGICAL_IDS["PEOPLE"] = "PeopleTable"


class ReconciliationModel(Model):
    """Reconciliation (清算对账) results: per day and channel, one ``#day`` row (the figures and
    status) and one row per statement line or recorded-only payment (``pay-…``, ``refund-…``).
    ``settled`` is set once a line is matched or resolved: a re-run writes only where it is
    absent (a condition), so nothing settled ever changes."""

    class Meta:
        table_name = "reconciliations"

    recon_key = UnicodeAttribute(hash_key=True)  # "{YYYY-MM-DD}#{channel}"
    line_id = UnicodeAttribute(range_key=True)  # "#day" | pay-<txn id> | refund-<refund id>
    status = UnicodeAttribute()
    settled = UnicodeAttribute(null=True)  # "yes" once matched or resolved
    doc = CompactJSONAttribute()  # the ReconLine or ChannelDay


MODELS.update({"RECONCILIATIONS": ReconciliationModel})
LOGICAL_IDS.update({"RECONCILIATIONS": "ReconciliationsTable"})


class TemplateChoiceModel(Model):
    """The bill template the finance department chose for a bill kind: one row a kind."""

    class Meta:
        table_name = "template_choices"

    kind_code = UnicodeAttribute(hash_key=True)  # 分类 + 种类, e.g. 0601
    template_id = UnicodeAttribute()
    template_version = NumberAttribute()
    chosen_at = UnicodeAttribute()
    chosen_by = UnicodeAttribute()


MODELS.update({"TEMPLATE_CHOICES": TemplateChoiceModel})
LOGICAL_IDS.update({"TEMPLATE_CHOICES": "TemplateChoicesTable"})


class BillTemplateModel(Model):
    """A bill template the finance department defined: one row a version, never changed."""

    class Meta:
        table_name = "bill_templates"

    template_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    name = UnicodeAttribute()
    doc = CompactJSONAttribute()  # template_data.template_to_data
    made_at = UnicodeAttribute()
    made_by = UnicodeAttribute()


MODELS.update({"BILL_TEMPLATES": BillTemplateModel})
LOGICAL_IDS.update({"BILL_TEMPLATES": "BillTemplatesTable"})


class UnitKeysByUnit(GlobalSecondaryIndex):
    class Meta:
        index_name = "unit_code-created_at-index"
        projection = AllProjection()

    unit_code = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class UnitKeyModel(Model):
    """Units' API keys, by hash (domain/credentials.UnitKey): a unit may hold several, so
    that it can move to a new one before the old one is revoked."""

    class Meta:
        table_name = "unit_keys"

    key_hash = UnicodeAttribute(hash_key=True)  # SHA-256 of the key; the key is never stored
    key_id = UnicodeAttribute()
    unit_code = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
    by_unit = UnitKeysByUnit()


MODELS.update({"UNIT_KEYS": UnitKeyModel})
LOGICAL_IDS.update({"UNIT_KEYS": "UnitKeysTable"})


class RemittanceModel(Model):
    """Remittance (划款): ``day#<date>`` rows (a day's remittances once instructed, a compact
    JSON ``doc`` and a ``version``) and ``accounts#<unit_code>`` rows (the unit's settings:
    fee item or ``*`` → treasury | special)."""

    class Meta:
        table_name = "remittances"

    pk = UnicodeAttribute(hash_key=True)
    doc = CompactJSONAttribute()
    version = NumberAttribute(default=1)


MODELS.update({"REMITTANCES": RemittanceModel})
LOGICAL_IDS.update({"REMITTANCES": "RemittancesTable"})
