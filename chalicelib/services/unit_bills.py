"""The unit console's bills: the list across days, one bill's page, and what a person of the unit
may do to a bill there: reverse it (冲红), void it (作废), exchange it for paper (换开).

The actions are ``services/lifecycle.py``'s, the very ones a unit's key calls by API, so every
rule holds the same (only the issuing unit, a reversal made once, no void once reimbursed, a red
bill neither reversed nor voided). What the console adds: who may (``people.may``: the unit
admin, an operator only for what the admin allowed), a reason always (the paper exchange too,
whose API body has none), and an audit row per action under the person, with the reason, the
bill and what came of it (the red bill, the paper bill), from the client's address.

The list reads the unit's bill index (``BillRepository.of_unit``: the unit and time of issue)
newest first, between two China dates (the last 31 days by default, at most 366), filtered by
status and by a word (payer, bill number, code, payment code) as it reads. One request reads
at most ``MAX_READ`` rows, so a rare word costs a bounded read and the page says where to go on
(a sealed cursor, as ``GET /v1/notes``'s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import is_bill_code, is_bill_number
from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.notes import BillRef
from chalicelib.domain.people import UnitAction
from chalicelib.domain.records import BillRecord
from chalicelib.domain.text import check_text
from chalicelib.services import lifecycle, people
from chalicelib.services.admin import cursor_key
from chalicelib.services.bills import unit_bill
from chalicelib.services.people import Actor
from chalicelib.services.ports import Ports
from chalicelib.services.unit_console import actor_unit

PAGE_SIZE = 20
MAX_READ = 200  # index rows one request may read looking for a page of matches
DEFAULT_DAYS, MAX_DAYS = 31, 366
STATUS_LABELS = {"normal": "正常", "reversed": "已冲红", "voided": "已作废", "red": "红字票据",
                 "paper": "已换开纸质"}


def reason_of(text: str | None) -> str:
    """The reason every console action requires (1-200 characters, the API's own rule)."""
    reason = check_text(text or None, "reason", limit=200,
                        message="请填写原因（1-200个字符，不含控制字符）")
    assert reason is not None  # required: check_text refuses None
    return reason


# ---- one bill ----------------------------------------------------------------------------

@dataclass(frozen=True)
class BillPage:
    """What the bill's page shows and offers: the bill, its state, and the actions open."""

    record: BillRecord
    reimbursed_by: str | None  # the reimbursing unit's name
    red: BillRecord | None  # the red bill reversing it
    original: BillRecord | None  # the bill a red bill reverses
    paper: dict[str, str] | None  # the paper bill it was exchanged for
    actions: frozenset[UnitAction]  # open to this person, now
    may: frozenset[UnitAction] = frozenset()  # what this person may do to any bill of the unit

    @property
    def state(self) -> str:
        return state_of(self.record)


def state_of(record: BillRecord) -> str:
    """What the lists and pages call the bill's state: a ``STATUS_LABELS`` key."""
    if record.bill.is_red:
        return "red"
    if record.status is BillStatus.NORMAL and record.links.get("paper"):
        return "paper"
    return record.status.value


def _linked(deps: Ports, bill_id: str | None) -> BillRecord | None:
    return deps.bills.get(bill_id[:8], bill_id[8:]) if bill_id else None


def bill_page(deps: Ports, actor: Actor, bill_code: str, bill_number: str) -> BillPage:
    """The unit's bill (another unit's is ``NotFound``, as a missing one) and what this person
    may do to it now: reversal and paper exchange while it is normal, blue and not exchanged;
    void while it is normal, blue and nobody has reimbursed it; each only if ``people.may``."""
    unit = actor_unit(deps, actor)
    if not is_bill_code(bill_code) or not is_bill_number(bill_number):
        unit_bill(deps, unit, bill_code, bill_number)  # the format's ValidationFailed: no read
    # the reimbursement and what the person may do are read with the bill, not after it: for
    # another unit's bill they are read and never shown (NotFound, as a missing bill)
    record, holder, may = deps.gather(
        lambda: unit_bill(deps, unit, bill_code, bill_number),
        lambda: deps.reimbursements.get(bill_code + bill_number),
        lambda: people.allowed(deps, actor))
    links = record.links
    paper = links.get("paper")
    open_: set[UnitAction] = set()
    if record.status is BillStatus.NORMAL and not record.bill.is_red:
        if not paper:
            open_ |= {UnitAction.REVERSE, UnitAction.PAPER}
        if holder is None:
            open_.add(UnitAction.VOID)
        if holder is not None:
            open_.discard(UnitAction.PAPER)
    allowed = frozenset(open_ & may)
    red, original = deps.gather(lambda: _linked(deps, links.get("reversed_by")),
                                lambda: _linked(deps, links.get("reverses")))
    return BillPage(record=record, reimbursed_by=holder.unit_name if holder else None,
                    red=red, original=original,
                    paper={"bill_code": paper[:8], "bill_number": paper[8:]} if paper else None,
                    actions=allowed, may=may)


# ---- the actions ---------------------------------------------------------------------------

def reverse(deps: Ports, actor: Actor, bill_code: str, bill_number: str,
            reason: str | None) -> BillRef:
    """冲红 by a person: the red bill (the same one again on a second post)."""
    people.require_may(deps, actor, UnitAction.REVERSE)
    checked = reason_of(reason)
    red, made = lifecycle.reverse_bill(deps, actor_unit(deps, actor), bill_code, bill_number,
                                       {"reason": checked})
    if made:
        people.audit_change(deps, actor, "bill_reverse", bill_code + bill_number,
                            {"reason": checked, "red_bill": red.bill_code + red.bill_number})
    return red


def void(deps: Ports, actor: Actor, bill_code: str, bill_number: str,
         reason: str | None) -> None:
    """作废 by a person (refused once reimbursed, reversed or red)."""
    people.require_may(deps, actor, UnitAction.VOID)
    checked = reason_of(reason)
    unit = actor_unit(deps, actor)
    before = unit_bill(deps, unit, bill_code, bill_number).status
    lifecycle.void_bill(deps, unit, bill_code, bill_number, {"reason": checked})
    if before is not BillStatus.VOIDED:
        people.audit_change(deps, actor, "bill_void", bill_code + bill_number,
                            {"reason": checked})


def exchange(deps: Ports, actor: Actor, bill_code: str, bill_number: str,
             paper_code: str, paper_number: str, reason: str | None) -> dict[str, str]:
    """换开 by a person: the paper bill's code and number recorded on the e-bill."""
    people.require_may(deps, actor, UnitAction.PAPER)
    checked = reason_of(reason)
    unit = actor_unit(deps, actor)
    paper_id = paper_code + paper_number
    already = unit_bill(deps, unit, bill_code, bill_number).links.get("paper") == paper_id
    result = lifecycle.exchange_to_paper(deps, unit, bill_code, bill_number, {
        "paper_bill_code": paper_code, "paper_bill_number": paper_number})
    if not already:
        people.audit_change(deps, actor, "bill_paper", bill_code + bill_number,
                            {"reason": checked, "paper_bill": paper_id})
    return dict(result["paper"])


# ---- the list ------------------------------------------------------------------------------

def _day(text: str, name: str, fields: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fields[name] = "日期格式应为 YYYY-MM-DD"
        return None


def _matches(record: BillRecord, status: str, word: str) -> bool:
    bill = record.bill
    if status and state_of(record) != status:
        return False
    return not word or any(word in text for text in (
        bill.payer_name, bill.bill_number, bill.bill_code + bill.bill_number, bill.payment_code))


def list_bills(deps: Ports, actor: Actor, filters: dict[str, str]) -> dict[str, Any]:
    """A page of the unit's bills: ``filters`` are ``issued_from``, ``issued_to`` (China dates),
    ``status`` (normal, reversed, voided, red, paper), ``q`` and ``cursor``. Returns the rows,
    the next cursor (None at the end) and the dates used; ``ValidationFailed`` names a bad
    filter (a cursor of another question included)."""
    unit = actor_unit(deps, actor)
    fields: dict[str, str] = {}
    status = filters.get("status", "")
    if status and status not in STATUS_LABELS:
        fields["status"] = "状态无效"
    today = deps.clock().astimezone(CHINA_TZ).date()
    first = _day(filters.get("issued_from", ""), "issued_from", fields)
    last = _day(filters.get("issued_to", ""), "issued_to", fields) or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if not fields and first > last:
        fields["issued_from"] = "起始日期不能晚于截止日期"
    elif not fields and (last - first).days >= MAX_DAYS:
        fields["issued_from"] = f"日期范围不能超过 {MAX_DAYS} 天"
    if fields:
        raise ValidationFailed("查询条件有误", fields)
    word = filters.get("q", "")
    question = "|".join(["console-bills", unit.unit_code, str(first), str(last), status, word])
    after = None
    if filters.get("cursor"):
        after = str(unseal(filters["cursor"], cursor_key(deps), question)["after"])
    rows: list[BillRecord] = []
    read, last_taken = 0, ""
    while len(rows) < PAGE_SIZE and read < MAX_READ:
        page, after = deps.bills.of_unit(unit.unit_code, f"{first}T00:00:00+08:00",
                                         f"{last}T23:59:59+08:00",
                                         min(PAGE_SIZE * 2, MAX_READ - read), after)
        read += len(page)
        for record in page:
            if _matches(record, status, word) and len(rows) < PAGE_SIZE:
                rows.append(record)
                last_taken = f"{record.bill.issued_at}|{record.bill.bill_id}"
            elif len(rows) == PAGE_SIZE:  # a full page: resume from the last row taken
                after = last_taken
                break
        if after is None:
            break
    cursor = seal({"after": after}, cursor_key(deps), question) if after else None
    return {"rows": rows, "next_cursor": cursor, "issued_from": str(first),
            "issued_to": str(last)}


def find_bill(deps: Ports, actor: Actor, word: str) -> tuple[str, str] | None:
    """A word that is a whole bill id (code and number, 18 digits) of the unit: that bill."""
    word = word.replace(" ", "")
    if len(word) == 18 and is_bill_code(word[:8]) and is_bill_number(word[8:]):
        record = deps.bills.get(word[:8], word[8:])
        if record is not None and record.bill.issuing_unit_code == actor.unit_code:
            return word[:8], word[8:]
    return None
