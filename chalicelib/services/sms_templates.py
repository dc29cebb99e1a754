"""The text of every message we send a payer, one function per event.

Each starts with the sender's signature (【财政电子票据】, as mainland carriers require), names the
unit and the amount in yuan, and ends with the one link the payer needs. Plain, short Chinese:
a long text is split into several billed parts and older phones show the parts out of order.
"""

from __future__ import annotations

from chalicelib.domain.bills import Bill
from chalicelib.domain.money import fen_to_yuan
from chalicelib.domain.notes import Note

EVENTS = ("note_created", "bill_issued", "bill_reversed", "refund", "login_code")


def note_created(sender: str, note: Note, unit_name: str, pay_link: str) -> str:
    due = f"，请于{note.due_date}前缴款" if note.due_date else ""
    return (f"【{sender}】{unit_name}向您开具了缴款通知，应缴金额{fen_to_yuan(note.total_fen)}元，"
            f"缴款码{note.payment_code}{due}。缴款：{pay_link}")


def bill_issued(sender: str, bill: Bill, link: str) -> str:
    return (f"【{sender}】您缴纳的{bill.issuing_unit_name}款项"
            f"{fen_to_yuan(bill.total_fen)}元已开具电子票据，"
            f"票据代码{bill.bill_code}，号码{bill.bill_number}，校验码{bill.check_code}。"
            f"查看下载：{link}")


def bill_reversed(sender: str, red_bill: Bill, link: str) -> str:
    """For the red bill (红字票据): the original is named by its code and number."""
    original = red_bill.related_bill or ""
    return (f"【{sender}】您在{red_bill.issuing_unit_name}的票据"
            f"（代码{original[:8]}，号码{original[8:]}）已冲红，"
            f"红字票据代码{red_bill.bill_code}，号码{red_bill.bill_number}，"
            f"校验码{red_bill.check_code}。查看：{link}")


def refund(sender: str, note: Note, unit_name: str, amount_fen: int) -> str:
    return (f"【{sender}】您向{unit_name}缴纳的款项（缴款码{note.payment_code}）"
            f"已退款{fen_to_yuan(amount_fen)}元，将按原支付方式退回，请注意查收。")


def login_code(sender: str, code: str, minutes: int) -> str:
    return (f"【{sender}】您的验证码为{code}，{minutes}分钟内有效，仅用于查看本人的电子票据。"
            f"如非本人操作请忽略，切勿告诉他人。")
