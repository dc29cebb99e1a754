"""A bill's life after issue: reversal (冲红) and void (作废), by the issuing unit only.

Reversal issues a red bill — its own number from the unit's range, the same items with negated
amounts, both signatures — links the two both ways and marks the original ``reversed``. It is
idempotent: the red bill's number is reserved on the original, so a retried request finishes
the same red bill, and so does the repair job (``complete_reversal``) when nobody retries.
Void is for a bill issued in error that nobody has reimbursed. A red bill is neither reversed
nor voided (either would undo a reversal and leave its original ``reversed`` for nothing).
The archive is never rewritten: status lives in the bill record, shown by the pages and the
verification, and texted to the payer.
"""

from __future__ import annotations

import logging
from datetime import datetime

from chalicelib.domain.bills import Bill, BillStatus, red_bill_of
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import is_bill_code, is_bill_number, new_check_code
from chalicelib.domain.errors import BillReimbursed, Conflict, ValidationFailed
from chalicelib.domain.notes import BillRef
from chalicelib.domain.records import BillRecord, Reservation
from chalicelib.domain.text import check_text
from chalicelib.domain.units import Unit
from chalicelib.services.bills import unit_bill
from chalicelib.services.issuance import archive_bill, index_for_payer
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


def _reason(body: object) -> str:
    reason = check_text(body.get("reason") if isinstance(body, dict) else None, "reason",
                        limit=200, message="请填写原因（1-200个字符，不含控制字符）")
    assert reason is not None  # required
    return reason


def _ref(record_bill) -> BillRef:
    return BillRef(bill_code=record_bill.bill_code, bill_number=record_bill.bill_number,
                   check_code=record_bill.check_code, issued_at=record_bill.issued_at)


def reverse_bill(deps: Ports, unit: Unit, bill_code: str, bill_number: str,
                 body: object) -> tuple[BillRef, bool]:
    """Issue the red bill of a normal bill; returns it and whether it was made now."""
    reason = _reason(body)
    original = unit_bill(deps, unit, bill_code, bill_number)
    red_id = original.links.get("reversed_by")
    if original.status is BillStatus.REVERSED and red_id:
        red = deps.bills.get(red_id[:8], red_id[8:])
        assert red is not None
        return _ref(red.bill), False
    if original.status is not BillStatus.NORMAL:
        raise Conflict(f"该票据状态为{original.status.value}，不能冲红", code="bill_not_normal")
    _refuse_if_red(original, "冲红")
    now = deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")
    reservation = deps.bills.reserve_reversal(original, check_code=new_check_code(),
                                              issued_at=now, reason=reason)
    if reservation is None:
        raise Conflict("该票据正在冲红或已不能冲红", code="bill_not_normal")
    return _ref(_finish_reversal(deps, unit, original, reservation, reason)), True


def _finish_reversal(deps: Ports, unit: Unit, original: BillRecord, reservation: Reservation,
                     reason: str) -> Bill:
    """Sign, archive and save the red bill under its reserved number; mark the original."""
    red = red_bill_of(original.bill, bill_code=reservation.bill_code,
                      bill_number=reservation.bill_number, check_code=reservation.check_code,
                      issued_at=datetime.fromisoformat(reservation.issued_at), reason=reason)
    xml_file, pdf_file = archive_bill(deps, red, unit)
    deps.bills.save_issued(BillRecord(bill=red, status=BillStatus.NORMAL,
                                      payer_phone=original.payer_phone, xml=xml_file,
                                      pdf=pdf_file, links={"reverses": original.bill.bill_id}))
    deps.bills.set_status(original.bill.bill_id, BillStatus.REVERSED,
                          expected=BillStatus.NORMAL, links={"reversed_by": red.bill_id})
    deps.jobs.send_sms(red.bill_code, red.bill_number)
    index_for_payer(deps, red.bill_id, red.issued_at, original.payer_phone)
    log.info("bill %s reversed by red bill %s: %s", original.bill.bill_id, red.bill_id, reason)
    return red


def finish_reversal_job(deps: Ports, job: dict) -> None:
    """The issuing queue's job ``{"red_bill_id", "original", "reason"}`` (from the repair job):
    finish that reversal, or record the red bill's number void if it can no longer be."""
    red_bill_id = str(job["red_bill_id"])
    problem = complete_reversal(deps, red_bill_id, str(job["original"]), str(job.get("reason")
                                                                             or ""))
    if problem is not None and deps.ranges.void_number(red_bill_id, problem):
        log.warning("red bill number %s recorded void: %s", red_bill_id, problem)


def complete_reversal(deps: Ports, red_bill_id: str, original_id: str, reason: str) -> str | None:
    """Finish the reversal whose red bill number ``red_bill_id`` was taken but never issued.
    Returns None when done (or done already), else why the number cannot be completed.

    The reservation on the original is read back (taking a number again is a no-op once one is
    held); only if it is this number, and the original is still normal, is the red bill made.
    """
    original = deps.bills.get(original_id[:8], original_id[8:])
    if original is None:
        return f"original bill {original_id} not found"
    if original.links.get("reversed_by") == red_bill_id:
        return None  # finished by a retried request meanwhile
    if original.status is not BillStatus.NORMAL:
        return f"original bill {original_id} is {original.status.value}"
    unit = deps.units.get(original.bill.issuing_unit_code)
    if unit is None:
        return f"unit {original.bill.issuing_unit_code} not found"
    reservation = deps.bills.reserve_reversal(original, check_code=new_check_code(),
                                              issued_at=deps.clock().astimezone(CHINA_TZ)
                                              .isoformat(timespec="seconds"), reason=reason)
    if reservation is None or reservation.bill_code + reservation.bill_number != red_bill_id:
        return f"original bill {original_id} does not hold this number"
    _finish_reversal(deps, unit, original, reservation, reason or "冲红")
    return None


def void_bill(deps: Ports, unit: Unit, bill_code: str, bill_number: str, body: object) -> str:
    """Void a bill issued in error; refused once it has been reimbursed or reversed."""
    reason = _reason(body)
    record = unit_bill(deps, unit, bill_code, bill_number)
    if record.status is BillStatus.VOIDED:
        return record.status.value
    _refuse_if_red(record, "作废")
    _refuse_if_reimbursed(deps, record, "作废")
    try:
        changed = deps.bills.set_status(record.bill.bill_id, BillStatus.VOIDED,
                                        expected=BillStatus.NORMAL, reason=reason,
                                        unreimbursed=True,
                                        at=deps.clock().astimezone(CHINA_TZ)
                                        .isoformat(timespec="seconds"))
    except BillReimbursed:  # recorded since the read above: the write's condition refused
        _refuse_if_reimbursed(deps, record, "作废")
        raise
    if not changed:
        raise Conflict(f"该票据状态为{record.status.value}，不能作废", code="bill_not_normal")
    log.info("bill %s voided: %s", record.bill.bill_id, reason)
    return BillStatus.VOIDED.value


def _refuse_if_red(record: BillRecord, action: str) -> None:
    if record.bill.is_red:
        raise Conflict(f"红字票据不能{action}", code="bill_is_red")


def _refuse_if_reimbursed(deps: Ports, record: BillRecord, action: str) -> None:
    holder = deps.reimbursements.get(record.bill.bill_id)
    if holder is not None:
        raise Conflict(f"该票据已由{holder.unit_name}报销入账，不能{action}",
                       code="already_reimbursed", details={"holder": holder.public()})


def exchange_to_paper(deps: Ports, unit: Unit, bill_code: str, bill_number: str,
                      body: object) -> dict:
    """换开: the payer took a paper bill instead; the e-bill is marked and no longer reimbursed.

    The paper bill's own code and number (a separate paper series) are recorded with it.
    """
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    paper_code, paper_number = body.get("paper_bill_code"), body.get("paper_bill_number")
    fields = {}
    if not is_bill_code(paper_code):
        fields["paper_bill_code"] = "8 digits"
    if not is_bill_number(paper_number):
        fields["paper_bill_number"] = "10 digits"
    if fields:
        raise ValidationFailed("纸质票据信息格式不正确", fields)
    record = unit_bill(deps, unit, bill_code, bill_number)
    paper = f"{paper_code}{paper_number}"
    if record.links.get("paper") == paper:
        return {"status": record.status.value, "paper": _split_id(paper)}
    if record.bill.is_red or record.status is not BillStatus.NORMAL or record.links:
        raise Conflict("只有正常状态的票据可以换开纸质票据", code="bill_not_normal")
    _refuse_if_reimbursed(deps, record, "换开")
    try:
        changed = deps.bills.set_status(record.bill.bill_id, BillStatus.NORMAL,
                                        expected=BillStatus.NORMAL, links={"paper": paper},
                                        unreimbursed=True, unlinked=True)
    except BillReimbursed:
        _refuse_if_reimbursed(deps, record, "换开")
        raise
    if not changed:
        raise Conflict("该票据状态已改变，请重试", code="bill_not_normal")
    log.info("bill %s exchanged to paper %s", record.bill.bill_id, paper)
    return {"status": BillStatus.NORMAL.value, "paper": _split_id(paper)}


def _split_id(bill_id: str) -> dict:
    return {"bill_code": bill_id[:8], "bill_number": bill_id[8:]}
