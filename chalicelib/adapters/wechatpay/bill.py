"""WeChat Pay's trade bill (交易账单), fetched and parsed as WeChat documents it.

Fetching (``WechatPayApi.statement``): ``GET /v3/bill/tradebill?bill_date=&bill_type=ALL&
tar_type=GZIP`` (signed like every APIv3 call, its answer verified) gives ``{download_url,
hash_type: "SHA1", hash_value}``; then ``GET download_url``, signed too, whose answer carries no
``Wechatpay-Signature`` ("需要跳过验签的流程"): the file is trusted through its hash, the SHA-1 of
the *uncompressed* bill, compared after the whole file is read (``open_bill``). ``400
NO_STATEMENT_EXIST`` is a day without a payment or refund (an empty statement);
``STATEMENT_CREATING`` is a bill not ready yet (after 10:00 the next day): try later.

The file (``parse_trade_bill``, pure): UTF-8 (a BOM tolerated), CRLF or LF, comma-separated.
A header row, the detail rows, then a summary header (``总交易单数,…``) and one summary row.
Every DATA field starts with a backtick (`` `80.00 ``), header fields do not. Columns are
taken by name (ALL has 27, SUCCESS 20, REFUND 29; legacy headers say 总金额 for 应结订单金额).
交易状态 ``REFUND`` marks a refund row: 退款金额, 微信退款单号, 商户退款单号; its 手续费 is
negative (the fee given back). Amounts are yuan; 手续费 has five decimals and is rounded half up
to the fen on each line (its sum is checked to the fifth decimal). The summary is checked against the rows: 总交易单数 (rows), 退款总金额,
手续费总金额, and 应结订单总金额 when the day has no refund (whether refund rows count in it is
not documented).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import zlib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from chalicelib.domain.statements import (
    MAX_STATEMENT_BYTES,
    PAYMENT,
    REFUND,
    Statement,
    StatementInvalid,
    StatementLine,
    check_lines,
    check_size,
    statement_fen,
)

_REQUIRED = ("交易时间", "微信订单号", "商户订单号", "交易状态", "手续费")
_SETTLED = ("应结订单金额", "总金额")  # the second in legacy bills
_REFUND_COLUMNS = ("微信退款单号", "商户退款单号", "退款金额")
_SUMMARY_FIRST = "总交易单数"


def gunzip(data: bytes) -> bytes:
    """The bill inside a GZIP answer, refused beyond ``MAX_STATEMENT_BYTES`` uncompressed."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_STATEMENT_BYTES + 1)
    except zlib.error as exc:
        raise StatementInvalid(f"WeChat Pay bill: not gzip ({exc})") from None
    if len(out) > MAX_STATEMENT_BYTES:
        raise StatementInvalid(f"WeChat Pay bill: more than {MAX_STATEMENT_BYTES} bytes "
                               f"uncompressed")
    if not inflater.eof:
        raise StatementInvalid("WeChat Pay bill: the gzip stream is cut short")
    return out


def open_bill(body: bytes, *, gzipped: bool, hash_type: str, hash_value: str) -> bytes:
    """The downloaded file's bill, once its hash holds (of the uncompressed bill)."""
    check_size(body, "WeChat Pay bill")
    bill = gunzip(body) if gzipped or body[:2] == b"\x1f\x8b" else body
    if hash_type.upper() != "SHA1":
        raise StatementInvalid(f"WeChat Pay bill: hash_type {hash_type!r} is not SHA1")
    digest = hashlib.sha1(bill).hexdigest()  # noqa: S324 - the channel's integrity check
    if not hmac.compare_digest(digest, hash_value.strip().lower()):
        raise StatementInvalid("WeChat Pay bill: its SHA1 is not the hash_value given")
    return bill


def _value(text: str) -> str:
    return text[1:].strip() if text.startswith("`") else text.strip()


def _rows(bill: bytes) -> Iterator[list[str]]:
    try:
        text = bill.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementInvalid("WeChat Pay bill: not UTF-8") from None
    for row in csv.reader(io.StringIO(text, newline="")):
        if row and any(cell.strip() for cell in row):
            yield row


def parse_trade_bill(bill: bytes, bill_date: str, source: str = "") -> Statement:
    """The statement in a trade bill (ALL, SUCCESS or REFUND), its summary checked."""
    check_size(bill, "WeChat Pay bill")
    rows = _rows(bill)
    header = [cell.strip() for cell in next(rows, [])]
    if not header:
        return Statement("wechatpay", bill_date, (), source, ("empty file",))
    col = {name: i for i, name in enumerate(header)}
    settled = next((name for name in _SETTLED if name in col), None)
    missing = [name for name in _REQUIRED if name not in col] + ([] if settled else ["应结订单金额"])
    if missing:
        raise StatementInvalid(f"WeChat Pay bill: no column {', '.join(missing)}")
    lines: list[StatementLine] = []
    exact_fee = Decimal(0)  # 手续费 to the fifth decimal, as the summary sums it
    summary: dict[str, str] | None = None
    for row in rows:
        if row[0].strip() == _SUMMARY_FIRST:
            names = [cell.strip() for cell in row]
            values = next(rows, None)
            if values is None or not all(v.startswith("`") for v in values if v):
                raise StatementInvalid("WeChat Pay bill: the summary row is missing")
            summary = dict(zip(names, (_value(v) for v in values), strict=False))
            if next(rows, None) is not None:
                raise StatementInvalid("WeChat Pay bill: rows after the summary")
            break
        if not row[0].startswith("`") or len(row) < len(header):
            raise StatementInvalid(f"WeChat Pay bill: row {len(lines) + 2} is not a data row")
        lines.append(_line(row, col, settled or ""))
        exact_fee += _exact(_value(row[col["手续费"]]) or "0")
        check_lines(len(lines), "WeChat Pay bill")
    if summary is None:
        raise StatementInvalid("WeChat Pay bill: no summary (the file is cut short)")
    statement = Statement("wechatpay", bill_date, tuple(lines), source)
    _check_summary(statement, summary, exact_fee)
    return statement


def _exact(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise StatementInvalid(f"WeChat Pay bill: 手续费 {text[:20]!r}") from None


def _line(row: list[str], col: dict[str, int], settled: str) -> StatementLine:
    def get(name: str) -> str:
        return _value(row[col[name]]) if name in col else ""

    when = get("交易时间")
    # 特约商户号: "0" for a direct merchant's own line, the sub_mchid in a provider's bill.
    merchant = "" if get("特约商户号") in ("", "0") else get("特约商户号")
    at = f"{when[:10]}T{when[11:19]}+08:00" if len(when) >= 19 else when
    state = get("交易状态")
    fee = statement_fen(get("手续费") or "0", "手续费", negative=True, fee=True)
    if state == "REFUND":
        if any(name not in col for name in _REFUND_COLUMNS):
            raise StatementInvalid("WeChat Pay bill: a refund row in a bill without refund "
                                   "columns")
        return StatementLine(REFUND, get("微信订单号"), get("商户订单号"),
                             statement_fen(get("退款金额"), "退款金额"), fee, at,
                             refund_id=get("微信退款单号"), out_refund_no=get("商户退款单号"),
                             state=state, merchant=merchant)
    return StatementLine(PAYMENT, get("微信订单号"), get("商户订单号"),
                         statement_fen(get(settled), settled), fee, at, state=state,
                         merchant=merchant)


def _check_summary(statement: Statement, summary: dict[str, str], exact_fee: Decimal) -> None:
    def declared(name: str) -> int | None:
        if name not in summary:
            return None
        return statement_fen(summary[name], name, negative=True)

    count = summary.get(_SUMMARY_FIRST, "")
    if not count.isdigit() or int(count) != len(statement.lines):
        raise StatementInvalid(f"WeChat Pay bill: 总交易单数 {count!r}, rows "
                               f"{len(statement.lines)}")
    fee_total = summary.get("手续费总金额")
    if fee_total is not None:
        statement_fen(fee_total, "手续费总金额", negative=True, fee=True)  # well formed
        if Decimal(fee_total) != exact_fee:
            raise StatementInvalid(f"WeChat Pay bill: 手续费总金额 says {fee_total}, rows "
                                   f"{exact_fee}")
    checks = {"退款总金额": (declared("退款总金额"), statement.refund_fen)}
    if not statement.refunds:
        checks["应结订单总金额"] = (declared("应结订单总金额"), statement.total_fen)
    for name, (said, found) in checks.items():
        if said is not None and said != found:
            raise StatementInvalid(f"WeChat Pay bill: {name} says {said} fen, rows {found}")
