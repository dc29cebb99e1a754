"""The ports: what the services need from the outside world, as protocols.

Adapters in ``chalicelib/adapters`` implement them against AWS; ``tests/fakes.py`` implements
them in memory. Services see only domain objects: what the ports take and give is defined in the
domain (``chalicelib/domain/records.py`` and the domain modules), never here, so an adapter
needs nothing from this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.bill_files import FileReport
from chalicelib.domain.bill_templates import BillTemplate, TemplateChoice
from chalicelib.domain.bills import Bill, BillStatus
from chalicelib.domain.credentials import FinanceKey, UnitKey
from chalicelib.domain.key_trust import KeyTrust
from chalicelib.domain.merchants import Authorisation, ChannelMessage, UnitMerchant
from chalicelib.domain.notes import BillRef, ListedNote, Note
from chalicelib.domain.payer_search import PayerSearch
from chalicelib.domain.payments import (
    ChannelNotice,
    ChannelOrder,
    Checkout,
    Payment,
    PaymentOutcome,
    RefundRequest,
    RefundResult,
)
from chalicelib.domain.people import OperatorActions, Person, Session, UnitAction
from chalicelib.domain.ranges import NumberRange
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
from chalicelib.domain.sms import SmsMessage
from chalicelib.domain.statements import Statement
from chalicelib.domain.template_data import StoredTemplate
from chalicelib.domain.units import FeeItem, OfdSealing, Seal, SigningKey, Unit

if TYPE_CHECKING:
    from chalicelib.config import Settings

Clock = Callable[[], datetime]


class PeopleStore(Protocol):
    """The people who sign in to the consoles, and their sessions (one table: a person's row
    never expires; a session's row carries its absolute end as the table's TTL)."""

    def get(self, username: str) -> Person | None: ...
    def create(self, person: Person, region: str = "") -> None:
        """Add ``person`` (``region``: their unit's, where the lists place them); ``Conflict``
        (``person_exists``) if the username is taken."""

    def update(self, username: str, changes: Mapping[str, Any]) -> Person:
        """Set fields of ``Person`` (by name; never ``username`` or ``unit_code``) on an
        existing account; ``NotFound`` if none."""

    def page(self, unit_code: str | None = None, region: str = "", limit: int = 100,
             after: str | None = None) -> tuple[list[Person], str | None]:
        """The accounts ``list`` finds, a page at a time, in the lists' order (a unit's people
        by username; a region's unit people by region, unit and username, then its finance
        people by username): up to ``limit`` from after the position ``after``, and the
        position to go on from (None: nothing more). A few reads at most: a page may be short
        and still have a position after it."""

    def list(self, unit_code: str | None = None, region: str = "") -> list[Person]:
        """Accounts by username, as the lists show them (no password hash, TOTP step or
        pending secret): of the unit ``unit_code`` (``region``: that unit's region); else
        within ``region`` (a prefix: unit people whose unit's region, finance people whose
        scope lies within it); else every account. Never a scan: sessions are not read."""

    def record_failure(self, username: str, now_epoch: int, most: int,
                       lock_seconds: int) -> Person:
        """Count one failed sign-in (atomically); the ``most``-th in a row locks the account
        until ``now_epoch + lock_seconds`` and starts the count again."""

    def use_totp_step(self, username: str, step: int) -> bool:
        """Accept the TOTP code of ``step`` once: True only if no code of this step or a later
        one was accepted before (one conditional write)."""

    def operator_actions(self, unit_code: str) -> frozenset[UnitAction]:
        """What the unit's admin allows its operators (``UnitAction``; default: nothing)."""

    def set_operator_actions(self, unit_code: str, actions: frozenset[UnitAction]) -> None:
        """Replace the unit's whole default set (one write; operators' own sets stay)."""

    def operator_settings(self, unit_code: str) -> OperatorActions:
        """The unit's default set and each operator's own set (one consistent read)."""

    def set_person_actions(self, unit_code: str, username: str,
                           actions: frozenset[UnitAction] | None,
                           before: frozenset[UnitAction] | None) -> bool:
        """Give the operator ``username`` their own set (``None``: back to the unit's
        default), only if their own set is still ``before`` (``None``: they had none): one
        conditional write; False, and nothing written, when it changed meanwhile."""
    def put_session(self, session: Session, person: Person | None = None) -> bool:
        """Store a session; with ``person`` (the account as the sign-in read it), only while
        the account's ``generation`` is still that one, and named among the account's recent
        sessions (one transaction): False, nothing stored, when a change to the account came
        between the read and this write."""
    def session(self, token_hash: str) -> Session | None: ...
    def touch_session(self, token_hash: str, seen_epoch: int) -> None: ...
    def end_session(self, token_hash: str) -> None: ...
    def sessions_of(self, username: str) -> Sequence[str]:
        """The token hashes of ``username``'s sessions still stored (an index: a session
        begun a moment ago may be missing for about a second, as DynamoDB's indexes lag)."""

    def end_sessions(self, username: str, keep: str | None = None) -> int:
        """End every stored session of ``username`` but ``keep``'s; how many ended. The
        account's generation moves on first (a sign-in that read the old one stores nothing),
        and the sessions begun lately are ended by name, not only those the index shows."""


class ReimbursementRepository(Protocol):
    def add(self, record: Reimbursement) -> Reimbursement | None:
        """Record; None when new, else the record that already holds the bill.

        One transaction with a condition on the bill too (normal, not exchanged to paper, no
        reversal begun): else ``BillNotReimbursable`` and nothing is written. A void or an
        exchange to paper conditions on the record's absence in the same way, so the two can
        never both succeed."""

    def get(self, bill_id: str) -> Reimbursement | None: ...
    def release(self, bill_id: str, unit_code: str) -> bool: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> None: ...
    def query(self, *, bill_id: str | None = None, unit_code: str | None = None,
              day: str | None = None, limit: int = 200) -> list[AuditEvent]:
        """Newest first, by bill, by unit (optionally of one day) or by day."""
    def page(self, *, bill_id: str | None = None, unit_code: str | None = None,
             day: str | None = None, limit: int = 100, after: dict[str, str] | None = None
             ) -> tuple[list[tuple[AuditEvent, dict[str, str]]], dict[str, str] | None]:
        """One read of what ``query`` finds (a bill's or a unit's optionally of one day),
        newest first, from after the position ``after``: up to ``limit`` events, each with
        its own position (to go on from just after it), and the position after the last row
        read (None: nothing more)."""


class UnitRepository(Protocol):
    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        """The unit holding this active key (a revoked key finds none)."""
    def get(self, unit_code: str) -> Unit | None: ...
    def in_region(self, scope: str, limit: int, after: str | None = None) -> tuple[list[Unit],
                                                                           str | None]:
        """Up to ``limit`` units whose region lies within ``scope`` (a region prefix), by
        region then code, from after the position ``after``; and the position to go on from
        (None at the end)."""
    def fee_items(self, unit_code: str, fresh: bool = False) -> dict[str, FeeItem]:
        """The unit's fee items by code; unless ``fresh``, a copy up to a minute old may
        answer (``adapters/cached_units``)."""
    def put(self, unit: Unit, api_key_hash: str | None) -> None:
        """Write the unit whole, with the key on its own row (``None``: that key retired)."""
    def add(self, unit: Unit) -> None:
        """Create a unit (with no key of its own row); ``Conflict`` (``unit_exists``) when
        its code is taken, and nothing is written."""
    def put_fee_item(self, unit_code: str, item_code: str, item: FeeItem) -> FeeItem | None:
        """Create or replace a fee item; the item it replaced, None when it is new."""
    def add_api_key(self, key: UnitKey, key_hash: str) -> None:
        """Give a unit one more key; ``Conflict`` if the hash is stored already."""
    def api_keys(self, unit_code: str) -> list[UnitKey]:
        """Every key of the unit, revoked ones too, oldest first."""
    def revoke_api_key(self, unit_code: str, key_id: str, at: str) -> UnitKey:
        """Revoke the unit's key ``key_id`` from ``at`` on (a second revocation changes
        nothing); ``NotFound`` (``key_not_found``) when the unit holds no such key."""
    def set_signing_kid(self, unit_code: str, kid: str) -> None: ...
    def add_seal(self, unit_code: str, seal: Seal) -> None:
        """Make ``seal`` the unit's seal from ``seal.since`` on, appended to its history (a
        seal set before the history existed goes in first, ``since`` ""); NotFound when there
        is no such unit."""
    def set_bill_kinds(self, unit_code: str, default: str, kinds: tuple[str, ...]) -> None:
        """The unit's default bill kind and the kinds it is allowed (the default among them);
        NotFound when there is no such unit."""
    def set_merchant(self, unit_code: str, merchant: UnitMerchant,
                     at: datetime) -> tuple[UnitMerchant | None, Unit]:
        """The unit's own merchant number at ``merchant.channel``, replacing any it had there
        (its token only sealed), which is retired at ``at`` unless it is the same merchant_id
        (``domain/merchants.after_change``, retired ones past their keep dropped): one
        conditional write on the row as read, redone when another merchant change came
        between. The merchant it replaced (None: none) and the unit as written; NotFound when
        there is no such unit."""
    def remove_merchant(self, unit_code: str, channel: str,
                        at: datetime) -> tuple[UnitMerchant | None, Unit]:
        """The unit collects into the deployment's merchant at ``channel`` again, the one it
        had there retired at ``at`` (as ``set_merchant``); that merchant (None: none) and the
        unit as written; NotFound when there is no such unit."""

    def replace_merchant(self, unit_code: str, merchant: UnitMerchant,
                         sealed_token: str) -> bool:
        """Store ``merchant`` as the unit's at its channel only if the merchant stored there
        still has the secret ``sealed_token`` (one conditional write: a merchant set again,
        even with the same token, is sealed anew, and one removed has none): False, and
        nothing written, when it changed meanwhile."""
    def drop_retired(self, unit_code: str, at: datetime) -> tuple[UnitMerchant, ...]:
        """Drop the unit's retired merchants whose keep has ended at ``at``
        (``domain/merchants.still_kept``), by the same conditional write as a merchant change
        (on ``merchants_version``, which it raises): a change landing between its read and
        its write wins, and the drop is redone on the row as that change left it. The entries
        dropped (none written when none had ended, or the unit is gone); ``Conflict``
        (``merchant_change_conflict``) when other changes kept landing first."""


class NoteIndex(Protocol):
    """Notes listed newest first, a page at a time: a unit's, or those created on one day.

    ``since``/``until``: bounds of ``created_at`` (ISO 8601, China time, both included);
    ``status``: the stored status only; ``after``: the position a previous page returned. The
    answer is the notes and the position to go on from (None at the end). A page reads at most
    a few requests' worth, so it may hold fewer than ``limit`` notes and still go on."""

    def for_unit(self, unit_code: str, since: str, until: str, status: str | None,
                 limit: int, after: dict[str, str] | None) -> tuple[list[Note],
                                                                    dict[str, str] | None]: ...
    def of_day(self, day: str, since: str, until: str, status: str | None, limit: int,
               after: dict[str, str] | None) -> tuple[list[Note], dict[str, str] | None]: ...
    def search_unit(self, unit_code: str, since: str, until: str, search: PayerSearch,
                    match: Callable[[ListedNote], bool], limit: int, budget: int,
                    after: dict[str, str] | None
                    ) -> tuple[list[ListedNote], dict[str, str] | None, int]:
        """The unit's notes that ``search`` finds (part of a payer's name, which no index can
        look up; ``domain/payer_search``) and that ``match``, newest first, from after
        ``after``, as a list shows them (``Note.listed()``): the notes are looked at in order
        until ``limit`` match or ``budget`` notes were looked at. Returns the matches, the
        position after the last note looked at (None: the range is read through) and how many
        notes were looked at."""
    def of_payer(self, unit_code: str, kind: str, value: str, since: str, until: str,
                 match: Callable[[Note], bool], limit: int, after: dict[str, str] | None
                 ) -> tuple[list[Note], dict[str, str] | None]:
        """The unit's notes whose payer's ``phone`` or ``credit_code`` (``kind``) is
        ``value`` (as the note holds it, normalised) and that ``match``, newest first, a page
        at a time as ``for_unit``."""


class FinanceKeyRepository(Protocol):
    """The finance department's API keys, by the SHA-256 of each (``domain/credentials``)."""

    def get(self, key_hash: str) -> FinanceKey | None:
        """The key with this hash, revoked or not; None when there is none."""
    def add(self, key: FinanceKey, key_hash: str) -> None:
        """Store a new key; ``Conflict`` (``key_exists``) if its hash is stored already."""
    def all(self) -> list[FinanceKey]:
        """Every key, revoked ones too, oldest first."""
    def revoke(self, key_id: str, at: str) -> FinanceKey:
        """Revoke the key named ``key_id`` from ``at`` on (a second revocation changes
        nothing); ``NotFound`` when there is no such key."""


class TemplateChoices(Protocol):
    """The bill template the finance department chose for each bill kind: one record a kind,
    replaced by each new choice (the audit log keeps the history)."""

    def get(self, kind_code: str) -> TemplateChoice | None: ...
    def all(self) -> list[TemplateChoice]: ...
    def put(self, choice: TemplateChoice) -> None: ...


class BillTemplateStore(Protocol):
    """Bill templates the finance department defined: every version kept, none ever changed
    (a bill records the version it was made from)."""

    def add(self, stored: StoredTemplate) -> None:
        """Store a new version; ``Conflict`` (``template_version_exists``) if that version of
        that template is stored already (two edits of the same version at once)."""
    def get(self, template_id: str, version: int) -> BillTemplate | None: ...
    def versions(self, template_id: str) -> list[StoredTemplate]:
        """Every version of the template, oldest first (empty: no such template)."""
    def newest(self) -> list[StoredTemplate]:
        """The newest version of every template, by id."""


class CounterRepository(Protocol):
    def next_value(self, counter_id: str, expires_epoch: int | None = None) -> int: ...
    def value(self, counter_id: str) -> int: ...
    def hold(self, counter_id: str, now_epoch: int, until_epoch: int) -> int:
        """Take the lease ``counter_id`` until ``until_epoch`` if nobody holds it at
        ``now_epoch`` (one conditional write): 0 if taken, else when the holder's lease ends."""


class IdempotencyStore(Protocol):
    """Claims of idempotency keys: in_progress → completed; released on failure.

    A claim that is in progress for more than 60 s (its holder died), or was released after its
    holder attached a result, is taken over by a request with the same body: the claim answers
    ``IdempotencyClaim("taken_over", request_hash, result)`` with the result the earlier holder
    attached (None if it attached none), so the new holder finishes that result, not another.
    """

    def claim(self, idempotency_id: str, request_hash: str,
              now: datetime) -> IdempotencyClaim | None:
        """Claim the key (None); else the earlier record, or ``taken_over`` as above."""

    def attach(self, idempotency_id: str, result: str, claimed_at: datetime) -> bool:
        """Record the result the claim taken at ``claimed_at`` is about to create, before it
        creates it; False if that claim is no longer held (taken over)."""

    def complete(self, idempotency_id: str, result: str) -> None: ...
    def release(self, idempotency_id: str, claimed_at: datetime) -> None:
        """Give up the claim taken at ``claimed_at``: deleted if it has no result attached,
        else marked ``released`` (the retry looks for that result first); no-op otherwise."""


class NoteRepository(Protocol):
    def add(self, note: Note) -> None: ...
    def get(self, payment_code: str) -> Note | None: ...
    def lookup(self, payment_code: str, counter_ids: Sequence[str] = ()) -> NoteLookup:
        """The note as ``get`` reads it (None when unknown), with the values of
        ``counter_ids`` (absent when never counted): all read at once (one request)."""

    def get_many(self, payment_codes: Sequence[str]) -> dict[str, Note]:
        """The notes of ``payment_codes`` that exist, by payment code (as ``get`` reads each:
        consistently, the reservation in ``extra``), in one request per hundred."""

    def cancel(self, payment_code: str) -> Note: ...
    def mark_issued(self, payment_code: str, bill: BillRef) -> None: ...
    def add_order(self, order: ChannelOrder) -> None:
        """Keep a channel order, open; ``Conflict`` if its ``out_trade_no`` is in use."""
    def get_order(self, out_trade_no: str) -> ChannelOrder | None: ...
    def open_orders(self, created_before: str, limit: int = 100,
                    after: ChannelOrder | None = None) -> list[ChannelOrder]:
        """Orders not yet settled (sparse index), oldest first, opened before the time; one
        page of ``limit``, starting after the order ``after`` (the last of the previous page)."""
    def close_order(self, out_trade_no: str) -> None: ...
    def awaiting_bill(self, paid_before: str, limit: int = 500) -> list[str]:
        """Payment codes of paid notes without a bill yet, paid before ``paid_before`` (an ISO
        time in UTC), oldest first."""


class PaymentRecorder(Protocol):
    def record(self, payment: Payment) -> PaymentOutcome:
        """Record a channel's payment exactly once, and mark its note paid when it applies."""

    def for_note(self, payment_code: str) -> list[PaymentRecord]:
        """Every payment recorded for a note (applied and exceptions), oldest first."""
    def exceptions_for_unit(self, unit_code: str, limit: int = 200) -> list[PaymentRecord]:
        """A unit's payment exceptions, newest first."""
    def exceptions_page(self, unit_code: str, since: str, until: str,
                        refund_status: str | None, limit: int, after: dict[str, str] | None
                        ) -> tuple[list[PaymentRecord], dict[str, str] | None]:
        """A page of the unit's exceptions paid between ``since`` and ``until`` (ISO, China
        time, both included), newest first, of one refund state when given, from after the
        position ``after``: up to ``limit`` rows and the position after the last row read
        (None: nothing more). At most a few reads, so a page may be short and still go on."""
    def of_day(self, channel: str, date: str) -> list[PaymentRecord]:
        """A channel's payments (applied and exceptions) whose ``paid_at`` falls on ``date``
        (YYYY-MM-DD, Beijing time), oldest first: what reconciliation matches a statement to."""
    def find(self, payment_id: str) -> PaymentRecord | None:
        """One payment by its id (``{channel}#{channel_txn_id}``), read consistently."""


class ReconciliationStore(Protocol):
    """Reconciliation results (清算对账), per day and channel: a ``ChannelDay`` and its
    ``ReconLine``s. A line once settled (matched or resolved) is never written again."""

    def day(self, date: str, channel: str) -> ChannelDay | None: ...
    def put_day(self, day: ChannelDay) -> None: ...
    def lines(self, date: str, channel: str) -> Iterator[ReconLine]:
        """Every line of the day and channel (paged underneath), in ``line_id`` order."""
    def get_line(self, date: str, channel: str, line_id: str) -> ReconLine | None: ...
    def put_line(self, line: ReconLine) -> bool:
        """Write the line unless a settled one is stored under its id (one conditional
        write); False when one was, and nothing changed."""
    def resolve(self, line: ReconLine) -> bool:
        """Store ``line``, resolved, only if the stored line exists and is not settled;
        False otherwise (another resolved it first)."""


class BillRepository(Protocol):
    def reserve(self, note: Note, *, check_code: str, issued_at: str) -> Reservation | None:
        """Take the next number of the unit's number range for the note, once; None if unpaid."""

    def reserve_many(self, notes: Sequence[tuple[Note, str]], *,
                     issued_at: str) -> list[Reservation | None]:
        """``reserve`` for each (note, check code) of distinct notes, in order; the numbers of
        one unit and kind taken together (consecutive, in the notes' order) when no other
        issuer interferes."""

    def save_issued(self, record: BillRecord) -> None: ...
    def complete_many(self, issued: Sequence[tuple[BillRecord, BillRef,
                                                    tuple[str, str] | None]]) -> None:
        """``complete_issue`` for several bills (record, ref, payer index) of distinct notes,
        all or nothing; ``Conflict`` when any of them cannot be completed (complete them one by
        one to learn which)."""

    def complete_issue(self, record: BillRecord, ref: BillRef,
                       payer_index: tuple[str, str] | None = None) -> None:
        """Save the issued bill and mark its note issued, together; with ``payer_index``
        (phone key, sort key) the bill is put under its payer's key in the same write, as
        ``PayerBillIndex.index`` would."""
    def reserve_reversal(self, original: BillRecord, *, check_code: str, issued_at: str,
                         reason: str = "") -> Reservation | None:
        """The red bill's number, taken once (the same one again after); None if the bill is
        not normal. The pending row says ``purpose: reversal``, ``reverses`` and ``reason``."""
    def set_status(self, bill_id: str, status: BillStatus, *, expected: BillStatus,
                   links: dict | None = None, reason: str | None = None,
                   unreimbursed: bool = False, unlinked: bool = False,
                   at: str | None = None) -> bool:
        """Move a bill from ``expected`` to ``status``; False if it was not ``expected`` (or,
        with ``unlinked``, it has links already). With ``unreimbursed``, one transaction that
        also requires no reimbursement record: else ``BillReimbursed``. A void is dated ``at``
        (China time; the day index of voids, ``DailyActivity.bills_voided``)."""

    def get(self, bill_code: str, bill_number: str) -> BillRecord | None: ...

    def of_unit(self, unit_code: str, first: str, last: str, limit: int,
                after: str | None = None) -> tuple[list[BillRecord], str | None]:
        """Up to ``limit`` of the unit's bills (blue and red) issued between ``first`` and
        ``last`` (China ISO times, both included), newest first, resuming after the position
        ``after``; and the position to resume after next (None once read through). As a list
        shows them: each record's bill, status and links (not its files, counts or phone)."""

    def lookup(self, bill_code: str, bill_number: str, counter_ids: Sequence[str] = (), *,
               reimbursement: bool = False) -> BillLookup:
        """The bill (None until issued), with the values of ``counter_ids`` (0 when never
        counted) and, when asked, its reimbursement: all read at once (one request)."""

    def count_check(self, record: BillRecord, now: str, event: AuditEvent) -> BillRecord:
        """Count one check of ``record`` at ``now`` and append ``event`` to the audit log, in
        one write; ``NotFound`` if the bill is gone. Returns ``record`` as counted (from the
        record read, so a concurrent check may be missing from the count it shows)."""

    def archived_files_page(self, after: str | None, limit: int,
                            ) -> tuple[list[tuple[str, dict[str, ArchivedFile]]], str | None]:
        """Up to ``limit`` bills' archived files (bill id → {kind: file}), resuming after the
        bill id ``after``; and the bill id to resume after next (None once read through)."""


class RangeRepository(Protocol):
    def allocate(self, unit_code: str, kind_code: str, bill_code: str, count: int,
                 now: str) -> NumberRange: ...
    def for_unit(self, unit_code: str, kind_code: str) -> list[NumberRange]: ...
    def of_unit(self, unit_code: str) -> list[NumberRange]:
        """The unit's ranges of every kind, by kind then oldest code first: one read of an
        index, which may miss a range allocated an instant before (``for_unit`` does not)."""
    def all(self) -> list[NumberRange]: ...
    def pending_bills(self, reserved_before: str) -> list[PendingNumber]:
        """Numbers taken before the time (UTC) whose bill is unfinished, oldest first."""
    def void_number(self, bill_id: str, reason: str) -> bool: ...


class KeyRegistry(Protocol):
    def all(self) -> list[SigningKey]: ...
    def get(self, kid: str) -> SigningKey | None: ...
    def put(self, key: SigningKey) -> None: ...


class Archive(Protocol):
    def put_once(self, key: str, body: bytes, content_type: str) -> ArchivedFile:
        """Store ``body`` under ``key`` unless something is there already; return what is."""

    def get(self, key: str, version_id: str = "") -> bytes: ...
    def ping(self) -> None:
        """Raise unless the store can be reached (the health check)."""


class JobQueue(Protocol):
    def issue_bill(self, payment_code: str, intake: dict | None = None) -> None: ...
    def send_sms(self, bill_code: str, bill_number: str) -> None: ...
    def send_sms_many(self, bills: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """``send_sms`` for each (bill code, bill number), in as few requests as the queue
        allows; returns the bills whose job was not queued (the others were)."""

    def finish_reversal(self, red_bill_id: str, original_id: str, reason: str) -> None:
        """Queue the completion of a reversal that stopped after taking its red bill's number
        (on the issuing queue: its function may sign)."""

    def sms_event(self, event: str, data: dict[str, Any]) -> None:
        """Queue a text for an event: ``{"event": event, **data}`` on the SMS queue."""

    def retry_sms_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """Hide a failed SMS job for ``delay_seconds`` before SQS delivers it again."""

    def redrive_dead_letters(self, limit: int = 10_000) -> dict[str, int]:
        """Move the messages of each queue's dead-letter queue back to the queue (at most
        ``limit`` per queue); returns how many moved, by queue name."""


class SmsSender(Protocol):
    """A text message provider: Amazon SNS sends ``message.text``, Alibaba Cloud SMS the approved
    template ``message.template`` with ``message.params``. Raises ``SmsRejected`` when the
    provider refuses the message for good, ``ServiceUnavailable`` when it fails otherwise."""

    name: str

    def send(self, phone: str, message: SmsMessage) -> str:
        """Send one text message to an 11-digit mainland mobile; return the message id."""


class Signer(Protocol):
    """Where the private keys are: ``kind`` is ``kms`` (production) or ``local`` (files)."""

    kind: str

    def sign(self, key_ref: str, message: bytes, alg: str = "ES256") -> bytes:
        """The DER-encoded signature of ``message`` by the key ``key_ref``, of algorithm
        ``alg``: ``ES256`` (ECDSA P-256 / SHA-256) or ``SM2`` (SM2 with SM3, Z computed with
        the default ID ``1234567812345678``)."""

    def public_key_pem(self, key_ref: str) -> str:
        """The public half of a key this signer signs with (PEM, SubjectPublicKeyInfo)."""

    def key_alg(self, key_ref: str) -> str:
        """The algorithm the key ``key_ref`` signs: ``ES256`` or ``SM2``; ``ValidationFailed``
        for a key of any other kind."""

    def create_key(self, key_ref: str, alg: str = "ES256") -> str:
        """Generate a key pair of ``alg`` kept as ``key_ref``; its public PEM.
        ``ValidationFailed`` where keys are made outside this process (KMS)."""


class NotificationVerifier(Protocol):
    """One channel's notifications: verified over the raw bytes first, then read."""

    def verify(self, raw_body: bytes, headers: Mapping[str, str],
               now: datetime) -> ChannelNotice:
        """What the notification says; ``SignatureInvalid`` (or another ``DomainError``) when
        it does not prove it came from the channel, or the channel is not configured."""


class MessageVerifier(Protocol):
    """A channel's open-platform messages (Alipay's 消息服务, posted to our application
    gateway): verified over the raw bytes as its notifications are, then read."""

    def message(self, raw_body: bytes, headers: Mapping[str, str],
                now: datetime) -> ChannelMessage:
        """What the message says; ``SignatureInvalid`` (or another ``DomainError``) when it
        does not prove it came from the channel to us, or the channel is not configured."""


class BillFileChecker(Protocol):
    """Checking a bill file (XML, or PDF with the XML attached) against public keys."""

    def verify(self, data: bytes, keys: dict[str, dict],
               trust: KeyTrust | None = None) -> FileReport:
        """Each check and whether it held (``domain/bill_files.py``)."""


class BillRenderer(Protocol):
    """The printable bill: a PDF with the signed XML attached."""

    def render(self, bill: Bill, *, verify_url: str, xml_bytes: bytes,
               status_text: str | None = None, unit_seal_png: bytes | None = None) -> bytes:
        """The PDF; ``status_text`` (已冲红, 已作废) is stamped across it."""


class OfdBillRenderer(Protocol):
    """The bill as OFD (GB/T 33190), sealed by its issuing unit (GB/T 38540) when told who."""

    def render(self, bill: Bill, *, verify_url: str, xml_bytes: bytes,
               status_text: str | None = None, unit_seal_png: bytes | None = None,
               sealing: OfdSealing | None = None) -> bytes:
        """The OFD; with ``sealing`` every signature is made through the ``Signer`` port."""


class NoticeRenderer(Protocol):
    """The paper a collecting unit prints and hands to the payer: a note's payment notice
    (缴款通知书), and an issued bill's 告知单."""

    def render(self, note: Note, *, unit_name: str, region_name: str, pay_url: str) -> bytes:
        """The notice of ``note`` as a PDF, whose QR code opens ``pay_url``."""

    def render_bill(self, bill: Bill, *, bill_url: str, status_text: str | None = None,
                    status_note: str = "") -> bytes:
        """The 告知单 of ``bill`` as a PDF, whose QR code opens ``bill_url``; ``status_text``
        (已作废, 已冲红) and ``status_note`` say what became of the bill."""


class RemittanceStore(Protocol):
    """Remittance (划款): the accounts units and fee items remit to, and each day's
    remittances once instructed (a day written with version n+1 only over version n)."""

    def account_settings(self, unit_code: str) -> dict[str, str]:
        """The unit's settings: fee item code (or ``*``, the unit's own) → account."""
    def set_account(self, unit_code: str, item_code: str, account: str) -> None: ...
    def get_day(self, date: str) -> RemittanceDay | None: ...
    def put_day(self, day: RemittanceDay) -> bool:
        """Store ``day`` (its ``version``) only over version ``day.version - 1`` (none, for
        version 1); False when another write came first."""


class ReportRenderer(Protocol):
    """The weekly report's printable form."""

    def render_weekly(self, report: dict) -> bytes:
        """The report (``domain/reports.build_weekly_report``) as a PDF with charts."""


class PayerBillIndex(Protocol):
    """The bills table's index by payer: the HMAC of the payer's phone, never the number."""

    def index(self, bill_id: str, phone_key: str, sort_key: str) -> None:
        """Put an issued bill under ``phone_key`` (idempotent)."""

    def bills_of(self, phone_key: str, limit: int = 100) -> list[PayerBill]:
        """The bills under ``phone_key``, newest first."""


class OtpStore(Protocol):
    """One-time codes by phone key, stored as hashes, with an expiry and an attempt count."""

    def issue(self, phone_key: str, code_hash: str, now_epoch: int, expires_epoch: int,
              cooldown: int) -> int:
        """Replace the phone's code unless one was issued less than ``cooldown`` s ago.

        Returns 0 when stored, else the seconds left before a new code may be issued."""

    def attempt(self, phone_key: str, now_epoch: int, max_attempts: int) -> OtpCheck:
        """Count one attempt atomically (never more than ``max_attempts``)."""

    def consume(self, phone_key: str, code_hash: str) -> bool:
        """Delete the code if it is still ``code_hash``; False if another request did first."""


class SmsLog(Protocol):
    """One record per SMS event: the claim that makes it exactly-once, and delivery status."""

    def claim(self, event_id: str, event: str, phone_masked: str, now: datetime) -> SmsClaim:
        """Claim an event for sending: taken if new, failed before, or claimed > 5 min ago;
        with the record as it stood before the claim when taken (one write, no read)."""

    def finish(self, event_id: str, status: str, now: datetime, *, provider: str | None = None,
               message_id: str | None = None, error: str | None = None) -> None:
        """Record the outcome of a claimed event: sent | failed | rejected."""

    def record(self, event_id: str, event: str, phone_masked: str, status: str, now: datetime, *,
               provider: str | None = None, message_id: str | None = None,
               error: str | None = None) -> None:
        """Record what happened to a text that was never claimed: skipped (not a mainland
        mobile number), or a login code sent at once."""

    def get(self, event_id: str) -> SmsDelivery | None: ...


class ChannelApi(Protocol):
    """A payment channel's server: open an order, ask about it, give money back."""

    def checkout(self, order: ChannelOrder, *, description: str, notify_url: str,
                 return_url: str, client_ip: str, payer: str | None = None) -> Checkout:
        """Open ``order`` with the channel as its ``mode`` says; ``payer`` is the payer's
        identity at the channel where the mode needs one (WeChat JSAPI: the openid)."""
    def query(self, order: ChannelOrder) -> Payment | None:
        """The payment if the channel says the order is paid; None if not (yet)."""
    def refund(self, request: RefundRequest) -> RefundResult:
        """Idempotent by ``request.out_refund_no``: asking again is the same refund."""


class Metrics(Protocol):
    """Numbers the operations alarms watch (CloudWatch custom metrics)."""

    def put_count(self, name: str, value: int) -> None:
        """Publish ``value`` as the metric ``name``'s datapoint now (unit: count);
        ``ServiceUnavailable`` when it cannot be published."""


class MerchantAuthority(Protocol):
    """A channel that says who granted an authorisation token of our application, and
    whether it still holds (Alipay: ``alipay.open.auth.token.app.query``)."""

    def authorisation(self, token: str) -> Authorisation | None:
        """None when the channel knows no such authorisation; ``ServiceUnavailable`` when it
        cannot be asked."""


class MerchantCertificateRoots(Protocol):
    """A channel whose merchants sign with certificates a CA issues them (UnionPay: CFCA), and
    the trust roots an uploaded one must chain to (``merchant_cert_roots_pem``)."""

    def merchant_cert_roots(self) -> tuple[Any, ...]:
        """The configured CA certificates (``cryptography`` x509); () when none are."""


class PayerIdentity(Protocol):
    """WeChat's web authorisation (official account, ``snsapi_base``): who a payer inside WeChat
    is to WeChat Pay. Silent: the payer sees no consent page."""

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the payer's browser goes; WeChat sends it back to ``redirect_uri`` with a
        ``code`` and ``state`` (without a code when the authorisation was refused)."""
    def openid(self, code: str) -> str | None:
        """The payer's openid for the official account; None when WeChat refuses the code
        (used, expired, not ours). ``ServiceUnavailable`` when WeChat cannot be asked."""


class RefundStore(Protocol):
    """The refund state of exception payments (pending → requested → succeeded | failed;
    pending → manual; manual | failed → offline, recorded by a person; failed → pending again
    under a new number, asked again by a person). Each move is a conditional write."""

    def due(self, limit: int = 100) -> list[PaymentRecord]:
        """Exception payments whose refund is pending or requested, oldest first."""
    def get(self, payment_id: str) -> PaymentRecord | None: ...
    def claim(self, payment_id: str, out_refund_no: str, now: str) -> bool: ...
    def checked(self, payment_id: str, now: str) -> None: ...
    def finish(self, payment_id: str, status: str, *, refund_id: str | None = None,
               detail: str = "", at: str = "") -> bool:
        """Move the refund to ``status`` if the rules allow it from where it is; False if
        not. A refund that succeeds keeps ``at`` (China time, when we learned it) as
        ``refunded_at``, and its statement day in the refunds' day index."""
    def of_day(self, channel: str, date: str) -> list[PaymentRecord]:
        """The refunds of ``channel`` that succeeded on the statement day ``date``
        (``statements.clearing_day`` of ``refunded_at``), oldest first: one index query."""
    def retry(self, payment_id: str, failed_no: str, new_no: str) -> bool:
        """failed → pending (due again) with ``new_no`` as the refund's number, only while the
        refund is failed under ``failed_no``; False otherwise (someone moved it first)."""


class StatementSource(Protocol):
    """A channel's daily statement, fetched as the channel serves it and parsed
    (``domain/statements.py``). An empty day is an empty statement; a statement not ready yet,
    or a channel that does not answer, is ``ServiceUnavailable``; a file that is not as
    documented (format, totals, hash, size) is ``StatementInvalid``."""

    def statement(self, date: str) -> Statement: ...


class MerchantStatementSource(StatementSource, Protocol):
    """A channel where each unit's own merchant has a statement of its own, fetched with the
    merchant's secret (Alipay's trade bill of an authorised merchant, with its
    app_auth_token); each of its lines names the merchant."""

    def merchant_statement(self, date: str, merchant: str, token: str) -> Statement: ...


class JobState(Protocol):
    """Where a scheduled job keeps its progress between invocations (the archive check's
    cursor). Saves are conditional on the version loaded, so overlapping runs cannot both move
    it."""

    def load(self, job: str) -> tuple[dict[str, Any], int]:
        """The job's saved state and its version: ``({}, 0)`` before the first save."""

    def save(self, job: str, state: dict[str, Any], version: int) -> None:
        """Save ``state`` as version ``version + 1``; ``Conflict`` (``job_state_moved``) if
        another run saved since the load of ``version``."""


class DailyActivity(Protocol):
    """What the stores recorded on one day (``YYYY-MM-DD``, China time), read through the
    tables' day indexes: one query per table and day, never a scan. Rows written before the
    indexes existed carry no day and are not seen (payments: ``cli backfill-payment-days``
    dates them)."""

    def notes_made(self, day: str) -> list[Note]:
        """Notes created that day as they were made, oldest first: what their creation wrote
        and never changes (unit, payer, items, total, time...), each unpaid, with no payment,
        bill or reservation, whatever became of it since (the day page, the weekly report and
        the anomaly checks list, total and check what was made; the payments and bills of the
        day are read on their own)."""
    def payments(self, day: str) -> list[PaymentRecord]:
        """Payments (applied and exceptions) received that day, oldest first."""
    def notes(self, payment_codes: Sequence[str]) -> list[Note]:
        """The notes of these codes that exist (batched reads, any order)."""
    def bills_issued(self, day: str) -> list[Bill]:
        """Bills, blue and red, issued that day, oldest first."""
    def bills_voided(self, day: str) -> list[VoidedBill]:
        """Bills voided that day, oldest first."""


class Ports(Protocol):
    """Everything a service reaches beyond the domain: every port above, the settings, the
    clock and the two stage secrets. A service function takes one as ``deps: Ports`` and uses
    only what it names, so mypy checks each use against the port's protocol.

    ``chalicelib/bootstrap.Deps`` implements it with the real adapters (built lazily, on first
    access); ``tests/fakes.fake_deps`` builds the same ``Deps`` with a fake behind every port.
    """

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...

    def at(self, clock: Clock) -> Ports:
        """The same ports, with time read from ``clock`` (a replay runs as of its arrival)."""

    @property
    def units(self) -> UnitRepository: ...
    @property
    def finance_keys(self) -> FinanceKeyRepository: ...
    @property
    def note_index(self) -> NoteIndex: ...
    @property
    def notes(self) -> NoteRepository: ...
    @property
    def counters(self) -> CounterRepository: ...
    @property
    def template_choices(self) -> TemplateChoices: ...
    @property
    def bill_templates(self) -> BillTemplateStore: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def payments(self) -> PaymentRecorder: ...
    @property
    def bills(self) -> BillRepository: ...
    @property
    def ranges(self) -> RangeRepository: ...
    @property
    def keys(self) -> KeyRegistry: ...
    @property
    def reimbursements(self) -> ReimbursementRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def people(self) -> PeopleStore: ...
    @property
    def archive(self) -> Archive:
        """The write-once archive: bills' files and verified notifications."""
    @property
    def rejected_intake(self) -> Archive:
        """Refused channel notifications, in a bucket whose lifecycle expires them."""
    @property
    def jobs(self) -> JobQueue: ...
    @property
    def sms(self) -> SmsSender: ...
    @property
    def sms_log(self) -> SmsLog: ...
    @property
    def otp(self) -> OtpStore: ...
    @property
    def payer_bills(self) -> PayerBillIndex: ...
    @property
    def signer(self) -> Signer: ...
    @property
    def refunds(self) -> RefundStore: ...
    @property
    def job_state(self) -> JobState: ...
    @property
    def reconciliations(self) -> ReconciliationStore: ...
    @property
    def activity(self) -> DailyActivity: ...
    @property
    def report_renderer(self) -> ReportRenderer: ...
    @property
    def remittances(self) -> RemittanceStore: ...
    @property
    def notice_renderer(self) -> NoticeRenderer: ...
    @property
    def bill_files(self) -> BillFileChecker: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def renderer(self) -> BillRenderer: ...
    @property
    def ofd_renderer(self) -> OfdBillRenderer:
        """The same bill as OFD (GB/T 33190) instead of PDF, sealed by its unit."""
    @property
    def payer_pepper(self) -> str:
        """The secret behind phone keys, OTP hashes and payer sessions."""
    @property
    def payment_code_key(self) -> bytes:
        """The key of the payment-code permutation."""

    def gather(self, *calls: Callable[[], Any], at_most: int | None = None) -> list[Any]:
        """The results of ``calls`` (reads that do not depend on each other), in order, the
        calls made at the same time: a page waits for its slowest read, not for their sum.
        With ``at_most``, no more than that many run at once (each next call starts when one
        ends); once one has failed no other starts, and the failure is raised."""

    def notices(self, channel: str) -> NotificationVerifier:
        """The verifier of a channel's notifications."""

    def messages(self, channel: str) -> MessageVerifier:
        """The verifier of a channel's open-platform messages (Alipay only)."""

    def channel_api(self, name: str) -> ChannelApi:
        """The client of a channel's server."""

    def statements(self, channel: str) -> StatementSource:
        """Where a channel's daily statement comes from (its server; the agent banks')."""

    @property
    def wechat_oauth(self) -> PayerIdentity:
        """The official account's web authorisation (its secret read on first use)."""
