"""UnionPay's reconciliation file (对账文件), fetched and parsed as the ACP demos document it.

Fetching (``UnionPayApi.statement``): the file transfer request (txnType 76, txnSubType 01,
bizType 000000, fileType 00, ``settleDate`` MMDD, signed like every ACP request) posted to the
file host (``filedownload.95516.com``; the local simulator's ``…/fileTransfer.do``). Its
synchronous answer is signed and verified like any other; respCode ``98`` (文件不存在) is a day
without a file (an empty statement). ``fileContent`` is base64 of a zlib-deflated zip
(``open_file_content``).

The zip (``parse_file_content``, pure) holds ``INN<YYMMDD>88ZM_<merId>`` (一般交易明细流水),
perhaps ``…ZME_…`` (差错) and others; the ZM file is read. It is GBK, one record a line (LF
or CRLF), fixed width: 42 fields of the lengths in ``ZM_FIELDS``, each followed by one space,
sliced as BYTES (a Chinese character in 商户自定义域 is two bytes). Amounts are fen: 交易金额
12 digits; 商户手续费, 结算金额 and 清算净额 a flag (``D`` debit, ``C`` credit, blank for zero)
and 12 digits. 交易代码 ``S22`` is a consumption (txnType 01); ``S30`` is a refund (退货,
txnType 04), naming the payment it gives back in 原交易查询流水号. 交易传输时间 is MMDDhhmmss
without a year: the year is the settle date's, less one for a December line in a January
file. ``settleDate`` is UnionPay's clearing day (23:00 to 23:00), not a calendar day.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
import zlib
from dataclasses import replace

from chalicelib.domain.statements import (
    MAX_STATEMENT_BYTES,
    PAYMENT,
    REFUND,
    Statement,
    StatementInvalid,
    StatementLine,
    check_lines,
    check_size,
)

ZM_FIELDS: tuple[tuple[str, int], ...] = (
    ("交易代码", 3), ("代理机构标识码", 11), ("发送机构标识码", 11), ("系统跟踪号", 6),
    ("交易传输时间", 10), ("帐号", 19), ("交易金额", 12), ("商户类别", 4), ("终端类型", 2),
    ("查询流水号", 21), ("支付方式旧", 2), ("商户订单号", 32), ("支付卡类型", 2),
    ("原始交易系统跟踪号", 6), ("原始交易日期时间", 10), ("商户手续费", 13), ("结算金额", 13),
    ("支付方式", 4), ("集团商户代码", 15), ("交易类型", 2), ("交易子类", 2), ("业务类型", 6),
    ("帐号类型", 2), ("账单类型", 4), ("账单号码", 32), ("交互方式", 1),
    ("原交易查询流水号", 21), ("商户代码", 15), ("分账入账方式", 1), ("二级商户代码", 15),
    ("二级商户简称", 32), ("二级商户分账入账金额", 13), ("清算净额", 13), ("终端号", 8),
    ("商户自定义域", 32), ("优惠金额", 13), ("发票金额", 13), ("分期付款附加手续费", 12),
    ("分期付款期数", 2), ("交易介质", 1), ("原始交易订单号", 32), ("保留使用", 98))
ZM_LINE_BYTES = sum(length + 1 for _, length in ZM_FIELDS) - 1  # 607
PAYMENT_CODES, REFUND_CODES = ("S22",), ("S30",)


def open_file_content(file_content: str) -> bytes:
    """The zip inside ``fileContent``: base64, then zlib (Java's Deflater: a ``78 9c`` header),
    bounded."""
    check_size(len(file_content), "UnionPay fileContent")
    try:
        packed = base64.b64decode(file_content, validate=False)
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, MAX_STATEMENT_BYTES + 1)
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise StatementInvalid(f"UnionPay fileContent: not base64 of deflate ({exc})") from None
    check_size(len(data), "UnionPay file (inflated)")
    if not inflater.eof:
        raise StatementInvalid("UnionPay fileContent: the deflate stream is cut short")
    return data


def zm_member(names: list[str]) -> str | None:
    """The ZM file's name: ``INN`` + YYMMDD + ``88`` + ``ZM_`` + merId (as the demos test it)."""
    return next((n for n in names if n.rsplit("/", 1)[-1][:3] == "INN"
                 and n.rsplit("/", 1)[-1][11:14] == "ZM_"), None)


def parse_file_content(file_content: str, settle_date: str) -> Statement:
    """The statement in a file transfer's ``fileContent`` for ``settle_date`` (YYYY-MM-DD)."""
    return parse_zip(open_file_content(file_content), settle_date)


def parse_zip(data: bytes, settle_date: str, ours: str | None = None) -> Statement:
    """The statement in UnionPay's zip (``fileContent`` unpacked: what the archive keeps);
    ``ours`` as in ``parse_zm``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if sum(i.file_size for i in infos) > MAX_STATEMENT_BYTES or len(infos) > 32:
            raise StatementInvalid("UnionPay file: too large once unpacked")
        name = zm_member([i.filename for i in infos])
        if name is None:
            return Statement("unionpay", settle_date, (), "", ("no ZM file",))
        with archive.open(name) as member:  # within the bound, whatever size it states
            raw = member.read(MAX_STATEMENT_BYTES + 1)
        check_size(len(raw), "UnionPay ZM file")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise StatementInvalid(f"UnionPay file: not a zip ({exc})") from None
    return parse_zm(raw, settle_date, name, ours)


def parse_zm(raw: bytes, settle_date: str, source: str = "",
             ours: str | None = None) -> Statement:
    """The lines of a ZM file (bytes, GBK, fixed width). Given ``ours`` (the deployment's
    merId), a line of another merId (商户代码: a unit's own merchant's file) names it in
    ``merchant``; a line of ours, or any line when ``ours`` is not given, has "" there."""
    lines: list[StatementLine] = []
    for number, record in enumerate(raw.split(b"\n"), 1):
        record = record.rstrip(b"\r")
        if not record.strip():
            continue
        if len(record) != ZM_LINE_BYTES:
            raise StatementInvalid(f"UnionPay ZM line {number}: {len(record)} bytes, not "
                                   f"{ZM_LINE_BYTES}")
        fields = _fields(record, number)
        line = _line(fields, settle_date, number)
        if line is not None and ours is not None and fields["商户代码"] not in ("", ours):
            line = replace(line, merchant=fields["商户代码"])
        if line is not None:
            lines.append(line)
        check_lines(len(lines), "UnionPay ZM file")
    return Statement("unionpay", settle_date, tuple(lines), source.rsplit("/", 1)[-1])


def _fields(record: bytes, number: int) -> dict[str, str]:
    out: dict[str, str] = {}
    at = 0
    for name, length in ZM_FIELDS:
        try:
            out[name] = record[at:at + length].decode("gbk").strip()
        except UnicodeDecodeError:
            raise StatementInvalid(f"UnionPay ZM line {number}: {name} is not GBK") from None
        at += length + 1
    return out


def _flagged(text: str, name: str, number: int) -> int:
    """A flagged amount (``D000000000048``): fen, positive for D (charged to us), negative
    for C."""
    flag, digits = (text[:1], text[1:]) if len(text) == 13 else ("", text)
    if not digits.strip("0") and flag in ("", " "):
        return 0
    if flag not in ("D", "C") or not digits.isdigit():
        raise StatementInvalid(f"UnionPay ZM line {number}: {name} {text!r}")
    return int(digits) if flag == "D" else -int(digits)


def _line(f: dict[str, str], settle_date: str, number: int) -> StatementLine | None:
    code = f["交易代码"]
    amount = f["交易金额"]
    if not amount.isdigit():
        raise StatementInvalid(f"UnionPay ZM line {number}: 交易金额 {amount!r}")
    when = f["交易传输时间"]
    if len(when) != 10 or not when.isdigit():
        raise StatementInvalid(f"UnionPay ZM line {number}: 交易传输时间 {when!r}")
    year = int(settle_date[:4]) - (1 if when[:2] == "12" and settle_date[5:7] == "01" else 0)
    at = f"{year}-{when[:2]}-{when[2:4]}T{when[4:6]}:{when[6:8]}:{when[8:10]}+08:00"
    fee = _flagged(f["商户手续费"], "商户手续费", number)
    if code in PAYMENT_CODES:
        return StatementLine(PAYMENT, f["查询流水号"], f["商户订单号"], int(amount), fee, at,
                             state=code)
    if code in REFUND_CODES:
        return StatementLine(REFUND, f["原交易查询流水号"], f["原始交易订单号"], int(amount), fee,
                             at, refund_id=f["查询流水号"], out_refund_no=f["商户订单号"],
                             state=code)
    raise StatementInvalid(f"UnionPay ZM line {number}: 交易代码 {code!r} is not one we know")
