"""Fiscal bills (财政电子票据): their kinds, their content and their status.

A bill is issued once per paid note. Its identity is (bill_code, bill_number); its check_code is
a secret printed on it. The legal carrier is the signed XML (``bill_xml``); the PDF renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from chalicelib.domain import bill_templates
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.notes import Item, Note


@dataclass(frozen=True)
class BillKind:
    code: str  # 分类 (2) + 种类 (2)
    name: str
    title: str  # printed title; "{region}" is replaced by the region's name


BILL_KINDS: dict[str, BillKind] = {k.code: k for k in (
    BillKind("0101", "非税收入通用票据", "{region}非税收入统一票据（电子）"),
    BillKind("0201", "非税收入专用票据", "{region}非税收入专用票据（电子）"),
    BillKind("0301", "非税收入一般缴款书", "{region}非税收入一般缴款书（电子）"),
    BillKind("0401", "资金往来结算票据", "行政事业单位资金往来结算票据（电子）"),
    BillKind("0501", "公益事业捐赠票据", "公益事业捐赠统一票据（电子）"),
    BillKind("0601", "医疗收费票据", "{region}医疗门诊收费票据（电子）"),
    # 住院 as 种类 02 of 分类 06: no 医疗住院 code was seen (reference/fiscal-bills.md §1.2).
    BillKind("0602", "医疗收费票据（住院）", "{region}医疗住院收费票据（电子）"),
    BillKind("0701", "社会团体会费票据", "社会团体会费统一票据（电子）"),
)}


class BillStatus(StrEnum):
    NORMAL = "normal"
    REVERSED = "reversed"
    VOIDED = "voided"


@dataclass(frozen=True)
class Bill:
    """Everything printed on and signed into a bill."""

    bill_code: str
    bill_number: str
    check_code: str
    kind_code: str
    title: str
    region_code: str  # 6-digit supervising region (财政区划)
    issued_at: str  # ISO 8601, +08:00
    issuing_unit_code: str
    issuing_unit_name: str
    payer_name: str
    payer_type: str
    payer_credit_code: str | None
    items: tuple[Item, ...]
    total_fen: int
    payment_code: str
    payment_channel: str
    channel_txn_id: str
    handling_person: str
    checker: str
    remark: str | None = None
    related_bill: str | None = None  # a red bill names the bill it reverses (code + number)
    # The template it is drawn from (bill_templates; "" and 0: before templates, the default)
    # and its extra fields in the template's order: (key, text; amounts as fen digits).
    template_id: str = ""
    template_version: int = 0
    extra: tuple[tuple[str, str], ...] = ()
    # A template the finance department defined (not built in) travels with the bill, as
    # defined when the note was made: the bill renders from it whatever is defined later.
    template_def: bill_templates.BillTemplate | None = field(default=None, compare=False,
                                                             repr=False)

    @property
    def template(self) -> bill_templates.BillTemplate:
        return bill_templates.template(self.template_id, self.template_version, self.template_def)

    @property
    def is_red(self) -> bool:
        return self.total_fen < 0

    @property
    def bill_id(self) -> str:
        return self.bill_code + self.bill_number

    @property
    def issue_date(self) -> str:
        return self.issued_at[:10]


def bill_from_note(note: Note, *, bill_code: str, bill_number: str, check_code: str,
                   issued_at: datetime, region_name: str, unit_name: str,
                   handling_person: str, checker: str) -> Bill:
    """Compose the bill for a paid note. Pure: the same inputs give the same bill."""
    if note.payment is None:
        raise ValueError("a bill is issued only for a paid note")
    kind = BILL_KINDS[note.bill_kind]
    tpl = note.template
    remark_parts = [f"缴款码：{note.payment_code}"]
    if note.remark:
        remark_parts.append(note.remark)
    return Bill(
        bill_code=bill_code, bill_number=bill_number, check_code=check_code,
        kind_code=kind.code, title=(tpl.title or kind.title).format(region=region_name),
        region_code=note.region_code,
        issued_at=issued_at.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
        issuing_unit_code=note.unit_code, issuing_unit_name=unit_name,
        payer_name=note.payer.name, payer_type=note.payer.type,
        payer_credit_code=note.payer.credit_code, items=note.items,
        total_fen=note.total_fen, payment_code=note.payment_code,
        payment_channel=note.payment.channel, channel_txn_id=note.payment.channel_txn_id,
        handling_person=handling_person, checker=checker, remark="；".join(remark_parts),
        template_id=note.template_id, template_version=note.template_version,
        extra=note.bill_extra, template_def=note.template_def,
    )



def red_bill_of(original: Bill, *, bill_code: str, bill_number: str, check_code: str,
                issued_at: datetime, reason: str) -> Bill:
    """The red bill (红字票据) that reverses ``original``: same items, amounts negated (the
    extra fields' amounts too), drawn from the same template."""
    items = tuple(replace(i, amount_fen=-i.amount_fen) for i in original.items)
    remark = f"冲红：原票据代码{original.bill_code}，号码{original.bill_number}；原因：{reason}"
    return replace(original, bill_code=bill_code, bill_number=bill_number,
                   check_code=check_code, items=items, total_fen=-original.total_fen,
                   issued_at=issued_at.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                   remark=remark, related_bill=original.bill_id,
                   extra=bill_templates.negated(original.template, original.extra))
