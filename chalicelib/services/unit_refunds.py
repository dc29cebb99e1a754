"""The unit console's exception payments (异常缴款): money the unit received that no bill covers
(a note paid twice, a wrong amount, a payment after the note was cancelled or expired), and
their refunds.

Refunds start by themselves: each exception is recorded ``pending`` and the refund job
(``services/refunds.py``) asks its channel. A person is needed where the job stops:

- a refund the channel refused or closed (``failed``): **ask again** (重新发起退款). The refund
  goes back to ``pending`` under a new refund number (``domain/payments.next_out_refund_no``:
  a closed refund is never reopened under its own number), and the job asks the channel on its
  next run. One conditional write from ``failed`` under the old number, so a second click
  changes nothing.
- money the unit gave back by hand (an agent bank's counter payment has no refund API and is
  ``manual``; a failed one may also be settled by transfer): **record it** (登记线下退款),
  ``offline``, with the reason (how, and the voucher).

Both need ``UnitAction.REFUND`` (the unit admin, or an operator the admin allows), a reason,
and are audited under the person with the payment, the amount and the reason.

The list reads the unit's exception index (``exception_unit-paid_at-index``) newest first, 20 a
page, between two optional China dates of payment (the key condition) and of one refund state
(a filter: a page makes at most a few reads and may come back short with 下一页); its cursor is
the index position sealed to the person and the filters (``domain/cursors``), as the bill
list's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.payments import next_out_refund_no
from chalicelib.domain.people import UnitAction
from chalicelib.domain.records import PaymentRecord
from chalicelib.services import people
from chalicelib.services.admin import cursor_key
from chalicelib.services.people import Actor
from chalicelib.services.ports import Ports
from chalicelib.services.unit_bills import reason_of
from chalicelib.services.unit_console import actor_unit

PAGE_SIZE = 20
REASONS = {"amount_mismatch": "缴款金额与缴款书不符", "note_not_payable": "缴款书已缴款、撤销或过期"}
# a payment that found its note not payable, said as the note's state says why
NOT_PAYABLE = {"paid": "重复缴款", "issued": "重复缴款", "cancelled": "缴款书已撤销后缴款",
               "expired": "缴款书过期后缴款"}
REFUND_LABELS = {"pending": "待退款", "requested": "退款处理中", "succeeded": "已退款",
                 "failed": "退款失败", "manual": "需线下退款", "offline": "已线下退款"}


def _day(text: str, name: str, fields: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        fields[name] = "日期格式应为 YYYY-MM-DD"
        return None


def exceptions(deps: Ports, actor: Actor, filters: dict[str, str]) -> dict[str, Any]:
    """A page of the unit's exception payments, newest first, ``PAGE_SIZE`` a page:
    ``filters`` are ``paid_from``, ``paid_to`` (China dates, both included, either may be
    empty: no bound), ``refund_status`` and ``cursor`` (the page's ``next_cursor``, sealed to
    the person and the filters). ``ValidationFailed`` names a bad filter or cursor."""
    unit = actor_unit(deps, actor)
    fields: dict[str, str] = {}
    status = filters.get("refund_status", "")
    if status and status not in REFUND_LABELS:
        fields["refund_status"] = "退款状态无效"
    first = _day(filters.get("paid_from", ""), "paid_from", fields)
    last = _day(filters.get("paid_to", ""), "paid_to", fields)
    if not fields and first and last and first > last:
        fields["paid_from"] = "起始日期不能晚于截止日期"
    if fields:
        raise ValidationFailed("查询条件有误", fields)
    question = "|".join(["console-exceptions", unit.unit_code, actor.username, str(first or ""),
                         str(last or ""), status])
    after = None
    if filters.get("cursor"):
        after = unseal(filters["cursor"], cursor_key(deps), question).get("after")
        if not (isinstance(after, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in after.items())):
            raise ValidationFailed("分页游标无效", {"cursor": "not a cursor of this list"})
    # no bound: every ISO time sorts between "0" and "9"
    since = f"{first}T00:00:00" if first else "0"
    until = f"{last}T23:59:59+08:00" if last else "9"
    rows, position = deps.payments.exceptions_page(unit.unit_code, since, until, status or None,
                                                   PAGE_SIZE, after)
    return {"rows": rows, "next_cursor": seal({"after": position}, cursor_key(deps), question)
            if position else None}


def exception_of(deps: Ports, actor: Actor, channel: str, channel_txn_id: str) -> PaymentRecord:
    """One exception payment of the actor's unit; another unit's (or none) is ``NotFound``."""
    unit = actor_unit(deps, actor)
    row = deps.refunds.get(f"{channel[:20]}#{channel_txn_id[:64]}")
    if row is None or row.status != "exception" or row.exception_unit != unit.unit_code:
        raise NotFound("异常缴款不存在", code="exception_not_found")
    return row


def _changed() -> Conflict:
    return Conflict("该退款的状态已变化，请刷新页面查看", code="refund_state_changed")


def retry(deps: Ports, actor: Actor, channel: str, channel_txn_id: str,
          reason: str | None) -> PaymentRecord:
    """A failed refund asked again, under a new number (the job asks the channel)."""
    people.require_may(deps, actor, UnitAction.REFUND)
    checked = reason_of(reason)
    row = exception_of(deps, actor, channel, channel_txn_id)
    if row.refund_status != "failed" or not row.out_refund_no:
        raise Conflict("只有退款失败的异常缴款可以重新发起退款", code="refund_not_failed")
    number = next_out_refund_no(row.payment_id, row.out_refund_no)
    if not deps.refunds.retry(row.payment_id, row.out_refund_no, number):
        raise _changed()
    people.audit_change(deps, actor, "refund_retry", row.payment_id, {
        "reason": checked, "amount_fen": row.amount_fen, "payment_code": row.payment_code,
        "failed_refund_no": row.out_refund_no, "out_refund_no": number})
    return exception_of(deps, actor, channel, channel_txn_id)


def record_offline(deps: Ports, actor: Actor, channel: str, channel_txn_id: str,
                   reason: str | None) -> PaymentRecord:
    """Money given back by hand, recorded (from ``manual`` or ``failed``)."""
    people.require_may(deps, actor, UnitAction.REFUND)
    checked = reason_of(reason)
    row = exception_of(deps, actor, channel, channel_txn_id)
    if row.refund_status not in ("manual", "failed"):
        raise Conflict("只有需线下退款或退款失败的异常缴款可以登记线下退款",
                       code="refund_not_offline")
    detail = f"线下退款（{actor.username}）：{checked}"
    if not deps.refunds.finish(row.payment_id, "offline", detail=detail):
        raise _changed()
    people.audit_change(deps, actor, "refund_offline", row.payment_id, {
        "reason": checked, "amount_fen": row.amount_fen, "payment_code": row.payment_code,
        "before": row.refund_status})
    return exception_of(deps, actor, channel, channel_txn_id)


def views(deps: Ports, rows: list[PaymentRecord]) -> list[dict[str, Any]]:
    """The exceptions as the page shows them (the notes of those shown read in one batch, for
    why each payment could not be applied)."""
    notes = {n.payment_code: n.status.value for n in deps.activity.notes(
        [r.payment_code for r in rows if r.reason == "note_not_payable"])}
    return [view(r, notes.get(r.payment_code)) for r in rows]


def view(row: PaymentRecord, note_status: str | None = None) -> dict[str, Any]:
    """An exception as the page shows it."""
    reason = REASONS.get(row.reason or "", row.reason or "")
    if row.reason == "note_not_payable" and note_status in NOT_PAYABLE:
        reason = NOT_PAYABLE[note_status]
    return {"channel": row.channel, "channel_txn_id": row.channel_txn_id,
            "payment_code": row.payment_code, "amount_fen": row.amount_fen,
            "paid_at": row.paid_at, "reason": reason,
            "refund_status": row.refund_status or "",
            "refund_label": REFUND_LABELS.get(row.refund_status or "", row.refund_status or ""),
            "out_refund_no": row.out_refund_no, "refund_id": row.refund_id,
            "refund_detail": row.refund_detail if row.refund_detail != row.refund_status
            else None,
            "may_retry": row.refund_status == "failed" and bool(row.out_refund_no),
            "may_record": row.refund_status in ("manual", "failed")}
