"""Reimbursement recording (报销入账): a bill is reimbursed once, by one unit, across the system.

The first unit to record a bill holds it (a conditional write): 201. The same unit again gets
200 and the same record; any other unit 409, told who holds it. Only the holder can release it.
A reversed or voided bill cannot be recorded: the record is written in one transaction with a
condition on the bill (normal, not exchanged to paper, no reversal begun), and void and exchange
to paper write with a condition on the record's absence, so a bill never ends both voided (or
exchanged) and reimbursed. Every record, release and verification is audited.
"""

from __future__ import annotations

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import check_bill_reference, is_bill_code, is_bill_number
from chalicelib.domain.errors import (
    BillNotReimbursable,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from chalicelib.domain.records import AuditEvent, Reimbursement
from chalicelib.domain.text import check_text
from chalicelib.domain.units import Unit
from chalicelib.services.bills import find_bill
from chalicelib.services.limits import Guesser
from chalicelib.services.ports import Ports


def _now(deps: Ports) -> str:
    return deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")


def audit_event(deps: Ports, bill_id: str, unit: Unit, action: str, outcome: str, client: str,
                detail: dict | None = None) -> AuditEvent:
    at = deps.clock().astimezone(CHINA_TZ).isoformat(timespec="microseconds")
    return AuditEvent(bill_id=bill_id, unit_code=unit.unit_code, action=action,
                      outcome=outcome, client=client, at=at, detail=detail)


def audit(deps: Ports, bill_id: str, unit: Unit, action: str, outcome: str, client: str,
          detail: dict | None = None) -> None:
    deps.audit.append(audit_event(deps, bill_id, unit, action, outcome, client, detail))


def record_reimbursement(deps: Ports, unit: Unit, body: object,
                         client: str) -> tuple[Reimbursement, bool]:
    """Record that ``unit`` reimbursed a bill; returns the record and whether it is new."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    code, number, check = body.get("bill_code"), body.get("bill_number"), body.get("check_code")
    check_bill_reference(code, number, check)
    voucher = check_text(body.get("voucher_no"), "voucher_no", limit=64, required=False,
                         message="凭证号格式不正确")
    record = find_bill(deps, str(code), str(number), str(check),
                       Guesser.unit(unit.unit_code))
    bill_id = record.bill.bill_id
    if record.status is not BillStatus.NORMAL:
        audit(deps, bill_id, unit, "reimburse", f"refused_{record.status.value}", client)
        raise Conflict(f"该票据状态为{record.status.value}，不能报销入账",
                       code=f"bill_{record.status.value}")
    if record.links.get("paper"):
        audit(deps, bill_id, unit, "reimburse", "refused_paper", client)
        raise Conflict("该电子票据已换开纸质票据，请凭纸质票据报销", code="bill_exchanged_to_paper")
    mine = Reimbursement(bill_id=bill_id, unit_code=unit.unit_code, unit_name=unit.name,
                         voucher_no=voucher, recorded_at=_now(deps))
    try:
        holder = deps.reimbursements.add(mine)
    except BillNotReimbursable:
        # The bill changed between the read above and the write (voided, exchanged to paper,
        # its reversal begun): the write's own condition refused it, so nothing was recorded.
        audit(deps, bill_id, unit, "reimburse", "refused_changed", client)
        raise Conflict("该票据状态已改变（作废、冲红或换开），不能报销入账",
                       code="bill_not_normal") from None
    if holder is None:
        audit(deps, bill_id, unit, "reimburse", "recorded", client, {"voucher_no": voucher})
        return mine, True
    if holder.unit_code == unit.unit_code:
        audit(deps, bill_id, unit, "reimburse", "already_recorded", client)
        return holder, False
    audit(deps, bill_id, unit, "reimburse", "held_by_other", client,
          {"holder": holder.unit_code})
    raise Conflict(f"该票据已由{holder.unit_name}于{holder.recorded_at}报销入账",
                   code="already_reimbursed", details={"holder": holder.public()})


def release_reimbursement(deps: Ports, unit: Unit, bill_code: str, bill_number: str,
                          client: str) -> None:
    if not is_bill_code(bill_code) or not is_bill_number(bill_number):
        raise ValidationFailed("票据信息格式不正确",
                               {"bill_code": "8 digits", "bill_number": "10 digits"})
    bill_id = bill_code + bill_number
    holder = deps.reimbursements.get(bill_id)
    if holder is None:
        raise NotFound("该票据没有报销入账记录", code="not_reimbursed")
    if holder.unit_code != unit.unit_code or not deps.reimbursements.release(bill_id,
                                                                             unit.unit_code):
        audit(deps, bill_id, unit, "release", "refused_not_holder", client)
        raise Forbidden("只有登记报销的单位可以撤销", code="not_the_holder")
    audit(deps, bill_id, unit, "release", "released", client)
