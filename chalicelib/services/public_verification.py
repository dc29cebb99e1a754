"""Public verification (公众查验): is this one of our bills, and what is its status.

Anyone may ask, without a credential, so the answer is deliberately small: the issuing unit,
the title, the issue date, the total and the status. Never the payer, the payer's credit code or
phone, the items or the check count.

Every lookup is counted per client per day, and per client and bill per day (China time),
before the bill is read; ``find_bill`` adds the guessing budget (``limits``) and compares check
codes in constant time. A client over a limit gets ``RateLimited`` whose ``retry_after`` runs to
the next midnight. No limit is per bill alone: one asker cannot lock a bill out for the others.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import is_bill_code, is_bill_number, is_check_code
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.money import MAX_FEN, fen_to_yuan_grouped, signed_yuan_to_fen
from chalicelib.services import limits
from chalicelib.services.bills import find_bill
from chalicelib.services.limits import Guesser
from chalicelib.services.ports import Ports

LOOKUPS_PER_CLIENT_PER_DAY = 100
LOOKUPS_PER_BILL_PER_DAY = 20

_QR_PATH = re.compile(r"/bills/([0-9]{8})/([0-9]{10})/?$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
FIELD_LABELS = {"bill_code": "票据代码", "bill_number": "票据号码", "check_code": "校验码",
                "issue_date": "开票日期", "total": "金额", "qr": "二维码链接"}


@dataclass(frozen=True)
class PublicQuery:
    """What a person asked: the three elements, and optionally the date and the total."""

    bill_code: str
    bill_number: str
    check_code: str
    issue_date: str | None = None
    total_fen: int | None = None


def _clean(value: str | None) -> str:
    """Full-width characters folded to ASCII, spaces dropped (people copy codes with them)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))


def parse_qr(text: str) -> tuple[str, str, str]:
    """(bill_code, bill_number, check_code) from a bill's QR URL: …/bills/{code}/{number}?check_code=…"""
    parts = urlsplit(_clean(text))
    match = _QR_PATH.search(parts.path)
    checks = parse_qs(parts.query).get("check_code") or [""]
    if not match or not is_check_code(checks[0]):
        why = "无法识别该二维码内容，请粘贴票据二维码中的完整链接（…/bills/代码/号码?check_code=…）"
        raise ValidationFailed(why, {"qr": why})
    return match.group(1), match.group(2), checks[0]


def _date(text: str) -> str:
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text, form).strftime("%Y-%m-%d")
        except ValueError:
            continue
    raise ValueError(text)


def _fen(text: str) -> int:
    fen = signed_yuan_to_fen(re.sub(r"^[¥￥]|元$|,", "", text))
    if fen == 0 or abs(fen) > MAX_FEN:
        raise ValidationFailed("金额不能为零", {"total": "must not be zero"})
    return fen


def _yuan(fen: int) -> str:
    return ("-" if fen < 0 else "") + fen_to_yuan_grouped(abs(fen))


def parse_query(form: Mapping[str, str]) -> PublicQuery:
    """The query from a form (or the query string); ``ValidationFailed`` names each bad field."""
    problems: dict[str, str] = {}
    if _clean(form.get("qr")):
        try:
            code, number, check = parse_qr(form.get("qr", ""))
        except ValidationFailed as exc:
            problems.update(exc.fields)
            code = number = check = ""
    else:
        code, number = _clean(form.get("bill_code")), _clean(form.get("bill_number"))
        check = _clean(form.get("check_code"))
        if not is_bill_code(code):
            problems["bill_code"] = "票据代码应为8位数字"
        if not is_bill_number(number):
            problems["bill_number"] = "票据号码应为10位数字"
        if not is_check_code(check):
            problems["check_code"] = "校验码应为6位字母或数字（区分大小写）"
    issue_date = total = None
    if raw_date := _clean(form.get("issue_date")):
        try:
            issue_date = _date(raw_date)
        except ValueError:
            problems["issue_date"] = "开票日期应形如 2026-11-23"
    if raw_total := _clean(form.get("total")):
        try:
            total = _fen(raw_total)
        except ValidationFailed:
            problems["total"] = "金额应为以元为单位的数字，最多两位小数，如 100.50"
    if problems:
        raise ValidationFailed("请核对标出的内容", problems, code="invalid_query")
    return PublicQuery(code, number, check, issue_date, total)


def count_lookup(deps: Ports, query: PublicQuery, client: str) -> None:
    """Count one lookup for the client, and for the client on that bill; ``RateLimited`` past
    either. Both are the asker's own allowances: nobody can use up a bill's lookups for others."""
    day = f"{deps.clock().astimezone(CHINA_TZ):%Y%m%d}"
    key = limits.client_key(client)
    limits.limit_today(deps, f"public-verify-client#{key}#{day}", LOOKUPS_PER_CLIENT_PER_DAY,
                       f"您今日的查验次数已达上限（每日 {LOOKUPS_PER_CLIENT_PER_DAY} 次）")
    bill_id = query.bill_code + query.bill_number
    limits.limit_today(deps, f"public-verify-bill#{key}#{bill_id}#{day}", LOOKUPS_PER_BILL_PER_DAY,
                       f"该票据今日的查验次数已达上限（同一张票据每日 {LOOKUPS_PER_BILL_PER_DAY} 次）")


def verify_publicly(deps: Ports, query: PublicQuery, client: str) -> dict:
    """``{result: authentic | mismatch | not_found, ...}`` with nothing personal in it."""
    count_lookup(deps, query, client)
    try:
        record = find_bill(deps, query.bill_code, query.bill_number, query.check_code,
                           Guesser.client(client))
    except NotFound:
        return {"result": "not_found", "mismatched": []}
    bill = record.bill
    mismatched = []
    if query.issue_date is not None and query.issue_date != bill.issue_date:
        mismatched.append("issue_date")
    if query.total_fen is not None and query.total_fen != bill.total_fen:
        mismatched.append("total")
    if mismatched:
        return {"result": "mismatch", "mismatched": mismatched}
    return {"result": "authentic", "mismatched": [], "status": record.status.value, "bill": {
        "bill_code": bill.bill_code, "bill_number": bill.bill_number, "title": bill.title,
        "issuing_unit_name": bill.issuing_unit_name, "issue_date": bill.issue_date,
        "total_fen": bill.total_fen, "total_yuan": _yuan(bill.total_fen)}}
