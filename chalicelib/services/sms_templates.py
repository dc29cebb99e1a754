"""Every message we text a payer, in one table: event → SNS text, provider template, parameters.

Each event builds an ``SmsMessage``: the full ``text`` Amazon SNS sends (it starts with the
sender's signature 【财政电子票据】, as mainland carriers require, names the unit and the amount in
yuan and ends with the one link the payer needs), and, for mainland providers that send only
approved templates (Alibaba Cloud SMS), the template's name and its ``params``.

``TEMPLATES`` holds each provider template's content exactly as submitted for approval
(``${name}`` marks a variable; ``{site}`` is our public origin, fixed text in the approved
template, since a link's domain must be fixed and ICP-filed). The account's template codes and
sign name are configuration (the provider's secret). Parameters obey the provider's limits:
every variable 1–35 characters ("单个变量的长度限制为1~35个字符", help.aliyun.com/document_detail/44357),
a unit name longer than that is shortened with "…", identifiers are never shortened; a
verification-code template has one variable of 4–6 digits; no 【】 inside a variable; content at
most 500 characters. The link parameter is the path after ``{site}/``: ``pay/<payment code>``
for a note, ``b/<bill code><number><check code>`` (``api/short_links.py``) for a bill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.bills import Bill
from chalicelib.domain.money import fen_to_yuan
from chalicelib.domain.notes import Note
from chalicelib.domain.sms import SmsMessage

EVENTS = ("note_created", "bill_issued", "bill_reversed", "refund", "login_code")
VARIABLE_MAX = 35
CONTENT_MAX = 500
CODE_MINUTES = 5  # the login code's validity, fixed text of its approved template
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SHORTENED = ("unit",)  # free text we may shorten; every other variable is an identifier


@dataclass(frozen=True)
class Template:
    """A provider template: our name for it, the event it serves, its content as approved."""

    key: str
    event: str
    content: str
    kind: str = "notice"  # 通知短信 | "code": 验证码 (one variable, 4–6 digits)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(_VARIABLE.findall(self.content))

    def render(self, site: str, params: Mapping[str, str]) -> str:
        """The text the payer reads after the sign (what the provider sends)."""
        return _VARIABLE.sub(lambda m: params[m.group(1)], self.content.replace("{site}", site))


TEMPLATES: dict[str, Template] = {t.key: t for t in (
    Template("note_created", "note_created",
             "${unit}向您开具了缴款通知，应缴金额${amount}元，缴款码${payment_code}，"
             "请于${due_date}前缴款。缴款：{site}/${path}"),
    Template("note_created_no_due", "note_created",
             "${unit}向您开具了缴款通知，应缴金额${amount}元，缴款码${payment_code}。"
             "缴款：{site}/${path}"),
    Template("bill_issued", "bill_issued",
             "您缴纳的${unit}款项${amount}元已开具电子票据，票据代码${bill_code}，号码${bill_number}，"
             "校验码${check_code}。查看下载：{site}/${path}"),
    Template("bill_reversed", "bill_reversed",
             "您在${unit}的票据（代码${original_code}，号码${original_number}）已冲红，"
             "红字票据代码${bill_code}，号码${bill_number}，校验码${check_code}。查看：{site}/${path}"),
    Template("refund", "refund",
             "您向${unit}缴纳的款项（缴款码${payment_code}）已退款${amount}元，"
             "将按原支付方式退回，请注意查收。"),
    Template("login_code", "login_code",
             f"您的验证码为${{code}}，{CODE_MINUTES}分钟内有效，仅用于查看本人的电子票据。"
             "如非本人操作请忽略，切勿告诉他人。", kind="code"),
)}


def bill_short_path(bill: Bill) -> str:
    """``b/<bill code><bill number><check code>``: 26 characters, within a variable's limit."""
    return f"b/{bill.bill_code}{bill.bill_number}{bill.check_code}"


def check_params(template: Template, params: Mapping[str, str]) -> None:
    """Raise ``ValueError`` unless ``params`` fill ``template`` within the provider's limits."""
    if set(params) != set(template.variables):
        raise ValueError(f"{template.key} needs {sorted(template.variables)}, "
                         f"got {sorted(params)}")
    for name, value in params.items():
        if not isinstance(value, str) or not 1 <= len(value) <= VARIABLE_MAX:
            raise ValueError(f"{template.key}.{name} must be 1-{VARIABLE_MAX} characters")
        if "【" in value or "】" in value:
            raise ValueError(f"{template.key}.{name} may not contain 【】")
    if template.kind == "code" and not all(re.fullmatch(r"[0-9]{4,6}", v)
                                           for v in params.values()):
        raise ValueError(f"{template.key}: a verification code is 4-6 digits")


def _message(key: str, text: str, **values: str) -> SmsMessage:
    template = TEMPLATES[key]
    params = {name: _fit(name, value) for name, value in values.items()}
    check_params(template, params)
    return SmsMessage(template=key, text=text, params=params)


def _fit(name: str, value: str) -> str:
    value = " ".join(value.replace("【", "[").replace("】", "]").split())
    if name in _SHORTENED and len(value) > VARIABLE_MAX:
        return value[:VARIABLE_MAX - 1] + "…"
    return value


def note_created(sender: str, site: str, note: Note, unit_name: str) -> SmsMessage:
    path = f"pay/{note.payment_code}"
    amount = fen_to_yuan(note.total_fen)
    due = f"，请于{note.due_date}前缴款" if note.due_date else ""
    text = (f"【{sender}】{unit_name}向您开具了缴款通知，应缴金额{amount}元，"
            f"缴款码{note.payment_code}{due}。缴款：{site}/{path}")
    common = {"unit": unit_name, "amount": amount, "payment_code": note.payment_code,
              "path": path}
    if note.due_date:
        return _message("note_created", text, due_date=str(note.due_date), **common)
    return _message("note_created_no_due", text, **common)


def bill_issued(sender: str, bill: Bill, link: str) -> SmsMessage:
    amount = fen_to_yuan(bill.total_fen)
    text = (f"【{sender}】您缴纳的{bill.issuing_unit_name}款项{amount}元已开具电子票据，"
            f"票据代码{bill.bill_code}，号码{bill.bill_number}，校验码{bill.check_code}。"
            f"查看下载：{link}")
    return _message("bill_issued", text, unit=bill.issuing_unit_name, amount=amount,
                    bill_code=bill.bill_code, bill_number=bill.bill_number,
                    check_code=bill.check_code, path=bill_short_path(bill))


def bill_reversed(sender: str, red_bill: Bill, link: str) -> SmsMessage:
    """For the red bill (红字票据): the original is named by its code and number."""
    original = red_bill.related_bill or ""
    text = (f"【{sender}】您在{red_bill.issuing_unit_name}的票据"
            f"（代码{original[:8]}，号码{original[8:]}）已冲红，"
            f"红字票据代码{red_bill.bill_code}，号码{red_bill.bill_number}，"
            f"校验码{red_bill.check_code}。查看：{link}")
    return _message("bill_reversed", text, unit=red_bill.issuing_unit_name,
                    original_code=original[:8], original_number=original[8:],
                    bill_code=red_bill.bill_code, bill_number=red_bill.bill_number,
                    check_code=red_bill.check_code, path=bill_short_path(red_bill))


def refund(sender: str, note: Note, unit_name: str, amount_fen: int) -> SmsMessage:
    amount = fen_to_yuan(amount_fen)
    text = (f"【{sender}】您向{unit_name}缴纳的款项（缴款码{note.payment_code}）"
            f"已退款{amount}元，将按原支付方式退回，请注意查收。")
    return _message("refund", text, unit=unit_name, payment_code=note.payment_code,
                    amount=amount)


def login_code(sender: str, code: str, minutes: int) -> SmsMessage:
    if minutes != CODE_MINUTES:  # the approved template says so in fixed text
        raise ValueError(f"the login code template is approved for {CODE_MINUTES} minutes")
    text = (f"【{sender}】您的验证码为{code}，{minutes}分钟内有效，仅用于查看本人的电子票据。"
            f"如非本人操作请忽略，切勿告诉他人。")
    return _message("login_code", text, code=code)
