"""Texting the payer the link to their bill: exactly one message per bill.

The bill record is claimed (``sending``) by a conditional write before the text goes out and
marked ``sent`` after; a failed send releases the claim so the job's retry can send. A job that
runs twice finds the claim and sends nothing. A claim older than five minutes (a crash between
send and mark) is taken over: at-least-once wins over at-most-once only after that pause.
"""

from __future__ import annotations

import logging

from chalicelib.bootstrap import Deps
from chalicelib.domain.masking import mask_phone
from chalicelib.domain.money import fen_to_yuan
from chalicelib.services.notes import bill_url

log = logging.getLogger(__name__)


def bill_issued_text(deps: Deps, bill, link: str) -> str:
    if bill.is_red:
        return (f"【{deps.settings.sms_sender}】您在{bill.issuing_unit_name}的票据"
                f"（代码{bill.related_bill[:8]}，号码{bill.related_bill[8:]}）已冲红，"
                f"红字票据代码{bill.bill_code}，号码{bill.bill_number}，"
                f"校验码{bill.check_code}。查看：{link}")
    return (f"【{deps.settings.sms_sender}】您缴纳的{bill.issuing_unit_name}款项"
            f"{fen_to_yuan(bill.total_fen)}元已开具电子票据，"
            f"票据代码{bill.bill_code}，号码{bill.bill_number}，校验码{bill.check_code}。"
            f"查看下载：{link}")


def send_bill_sms(deps: Deps, bill_code: str, bill_number: str) -> str:
    """Text the payer once; returns what happened: sent | already | no_phone | missing."""
    record = deps.bills.get(bill_code, bill_number)
    if record is None:
        log.warning("sms job for unknown bill %s-%s", bill_code, bill_number)
        return "missing"
    if not record.payer_phone:
        return "no_phone"
    if not deps.bills.claim_sms(bill_code, bill_number, deps.clock()):
        return "already"
    bill = record.bill
    text = bill_issued_text(deps, bill, bill_url(deps, bill.bill_code, bill.bill_number,
                                                 bill.check_code))
    try:
        deps.sms.send(record.payer_phone, text)
    except Exception:
        deps.bills.finish_sms(bill_code, bill_number, "released")
        log.exception("sms to %s failed; released for retry", mask_phone(record.payer_phone))
        raise
    deps.bills.finish_sms(bill_code, bill_number, "sent")
    return "sent"
