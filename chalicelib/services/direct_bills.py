"""Issuing a bill without a payment note's channel payment: ``POST /v1/bills`` (直接开票).

``issue_direct_bill`` creates an ordinary note for the request (idempotent under the same
``Idempotency-Key`` as notes: the same key and body give the same note and bill, another body
409), records the unit's own receipt of the money as its payment (channel ``paid_by``, no
channel order, once: the payment id is derived from the payment code) and queues the bill's
issuance, which the issuing function does as for any paid note (number, two signatures, PDF,
archive, SMS when a phone is given). So the answer is 202 with where to follow it, and 201
with the bill once issued (a replay after issuance). Retrying after a failure anywhere resumes:
an unpaid note is paid, a paid one queued again (issuance is idempotent), and the sweep of
paid notes without a bill catches what a lost queue message leaves.
"""

from __future__ import annotations

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.direct_bills import read_direct_payment
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.domain.notes import CHINA_TZ, Note, NoteStatus, validate_new_note
from chalicelib.domain.payments import Payment, PaymentOutcome
from chalicelib.domain.units import Unit
from chalicelib.services.links import bill_notice_url, bill_url, note_status_url
from chalicelib.services.notes import create_note, require_collecting
from chalicelib.services.payments import record_payment
from chalicelib.services.ports import Ports


def issue_direct_bill(deps: Ports, unit: Unit, body: object,
                      idempotency_key: str | None = None) -> tuple[Note, bool]:
    """The note behind a direct bill, paid and queued for issuance; and whether it was created
    now (False: a replay of an earlier identical request)."""
    require_collecting(unit)
    now = deps.clock()
    problems: dict[str, str] = {}
    direct = None
    try:
        direct = read_direct_payment(body, now)
    except ValidationFailed as exc:
        problems.update(exc.fields)
    try:  # the note's own fields, so that one answer names every wrong field
        validate_new_note(body, today=now.astimezone(CHINA_TZ).date(),
                          known_items=deps.units.fee_items(unit.unit_code),
                          bill_kinds=frozenset(BILL_KINDS))
    except ValidationFailed as exc:
        problems.update(exc.fields)
    if problems or direct is None:
        raise ValidationFailed("请求参数有误", problems)
    note, created = create_note(deps, unit, body, idempotency_key)
    if note.status is NoteStatus.UNPAID:  # new, or an earlier attempt stopped before paying
        outcome = record_payment(deps, Payment(
            channel=direct.paid_by, channel_txn_id=f"direct-{note.payment_code}",
            out_trade_no=note.payment_code, amount_fen=note.total_fen, paid_at=direct.paid_at))
        if outcome not in (PaymentOutcome.RECORDED, PaymentOutcome.DUPLICATE):
            raise ServiceUnavailable(f"direct payment of {note.payment_code}: {outcome.value}")
    elif note.status is NoteStatus.PAID:
        deps.jobs.issue_bill(note.payment_code)  # again: the first enqueue may have failed
    current = deps.notes.get(note.payment_code)
    return (current or note), created


def direct_bill_view(deps: Ports, note: Note) -> tuple[int, dict]:
    """201 and the bill once issued; else 202 and where to follow it (the note, whose ``bill``
    appears when issued)."""
    if note.bill is not None:
        bill = note.bill
        return 201, {"bill_code": bill.bill_code, "bill_number": bill.bill_number,
                     "check_code": bill.check_code, "issued_at": bill.issued_at,
                     "url": bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code),
                     "notice_pdf_url": bill_notice_url(deps, bill.bill_code, bill.bill_number),
                     "payment_code": note.payment_code}
    return 202, {"status_url": note_status_url(deps, note.payment_code),
                 "payment_code": note.payment_code, "status": note.status.value}
