"""Alipay's trade bill (交易收单业务账单), fetched and parsed as Alipay documents it.

Fetching (``AlipayApi.statement``): ``alipay.data.dataservice.bill.downloadurl.query`` with
``{"bill_type": "trade", "bill_date": "YYYY-MM-DD"}`` answers ``bill_download_url`` (signed like
every answer); the URL is fetched at once (it lives 30 s), unsigned, and carries no hash: the
zip's CRCs and the files' own totals are the integrity check. A day without a bill
(``isp.bill_not_exist``, or the older ``BILL_NOT_EXIST``) is an empty statement.

The file (``parse_bill_zip``, pure): a zip whose member names are GBK without the UTF-8 flag
(``<PID>0156_<yyyyMMdd>_业务明细.csv`` and ``…_业务明细(汇总).csv``), both GBK text.

- 业务明细: comment lines starting ``#`` (支付宝业务明细查询, 账号, 起始日期, a dashed
  业务明细列表 line), the header, the rows, then ``#`` lines again (业务明细列表结束,
  ``#交易合计：N笔，…``, ``#退款合计：M笔，…``, 导出时间). Values are padded with spaces and
  tabs, rows end with a comma. Columns by name: 支付宝交易号, 商户订单号, 业务类型 (交易 |
  退款), 完成时间, 订单金额（元） (negative on a refund), 服务费（元） (negative: the fee taken;
  positive on a refund: given back), 退款批次号/请求号 (the refund's id).
- 业务明细(汇总): per store, 交易订单总笔数, 退款订单总笔数, 服务费（元）…; a 合计 row when
  present, else the rows' sum. Both it and the detail's 合计 comments must agree with the rows.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

from chalicelib.domain.statements import (
    MAX_STATEMENT_BYTES,
    PAYMENT,
    REFUND,
    Statement,
    StatementInvalid,
    StatementLine,
    check_declared,
    check_lines,
    check_size,
    statement_fen,
)

DETAIL, SUMMARY = "_业务明细.csv", "_业务明细(汇总).csv"
_REQUIRED = ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）", "服务费（元）")
_REFUND_NO = "退款批次号/请求号"
_TOTALS = re.compile(r"#(交易|退款)合计[:：]\s*(\d+)\s*笔")
_PAD = " \t"


def _members(data: bytes) -> dict[str, bytes]:
    check_size(data, "Alipay bill zip")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data), metadata_encoding="gbk")
        infos = archive.infolist()
        if sum(info.file_size for info in infos) > MAX_STATEMENT_BYTES or len(infos) > 16:
            raise StatementInvalid("Alipay bill zip: too large once unpacked")
        members, left = {}, MAX_STATEMENT_BYTES
        for info in infos:  # read within the bound: a member may inflate past its stated size
            with archive.open(info) as member:
                members[info.filename] = member.read(left + 1)
            left -= len(members[info.filename])
            if left < 0:
                raise StatementInvalid("Alipay bill zip: too large once unpacked")
        return members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise StatementInvalid(f"Alipay bill zip: unreadable ({exc})") from None


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        raise StatementInvalid(f"Alipay bill: {name} is not GBK") from None


def _table(text: str) -> tuple[list[list[str]], list[str]]:
    """The rows that are not comments (the first is the header), and the comment lines."""
    rows: list[list[str]] = []
    comments: list[str] = []
    data_lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            comments.append(line.strip())
        elif line.strip():
            data_lines.append(line)
    for row in csv.reader(data_lines):
        rows.append([cell.strip(_PAD) for cell in row])
    return rows, comments


def parse_bill_zip(data: bytes, bill_date: str) -> Statement:
    """The statement in Alipay's trade bill zip; its totals checked."""
    members = _members(data)
    detail = next((n for n in members if n.endswith(DETAIL)), None)
    summary = next((n for n in members if n.endswith(SUMMARY)), None)
    if detail is None or summary is None:
        raise StatementInvalid(f"Alipay bill zip: expected 业务明细 and its 汇总, found "
                               f"{sorted(members)[:4]}")
    rows, comments = _table(_text(members[detail], "业务明细"))
    if not rows:
        raise StatementInvalid("Alipay bill: 业务明细 has no header")
    col = {name: i for i, name in enumerate(rows[0])}
    missing = [name for name in _REQUIRED if name not in col]
    if missing:
        raise StatementInvalid(f"Alipay bill: no column {', '.join(missing)}")
    lines: list[StatementLine] = []
    for row in rows[1:]:
        lines.append(_line(row, col))
        check_lines(len(lines), "Alipay bill")
    statement = Statement("alipay", bill_date, tuple(lines), detail.rsplit("/", 1)[-1])
    said = {kind: int(n) for kind, n in _TOTALS.findall("\n".join(comments))}
    check_declared(statement, count=said.get("交易"), what="#交易合计")
    if "退款" in said and said["退款"] != len(statement.refunds):
        raise StatementInvalid(f"Alipay bill: #退款合计 says {said['退款']}, rows "
                               f"{len(statement.refunds)}")
    _check_summary(statement, _text(members[summary], "业务明细(汇总)"))
    return statement


def _line(row: list[str], col: dict[str, int]) -> StatementLine:
    if len(row) < len(col) - 1:  # the trailing comma may or may not make a last empty cell
        raise StatementInvalid(f"Alipay bill: a row of {len(row)} fields, header {len(col)}")

    def get(name: str) -> str:
        return row[col[name]] if name in col and col[name] < len(row) else ""

    kind = get("业务类型")
    when = get("完成时间")
    at = f"{when[:10]}T{when[11:19]}+08:00" if len(when) >= 19 else when
    amount = statement_fen(get("订单金额（元）"), "订单金额", negative=True)
    fee = -statement_fen(get("服务费（元）") or "0", "服务费", negative=True)
    if kind == "退款":
        number = get(_REFUND_NO)
        return StatementLine(REFUND, get("支付宝交易号"), get("商户订单号"), abs(amount), fee,
                             at, refund_id=number, out_refund_no=number, state=kind)
    if kind != "交易" or amount <= 0:
        raise StatementInvalid(f"Alipay bill: 业务类型 {kind!r} with 订单金额 {amount}")
    return StatementLine(PAYMENT, get("支付宝交易号"), get("商户订单号"), amount, fee, at,
                         state=kind)


def _check_summary(statement: Statement, text: str) -> None:
    rows, _ = _table(text)
    if not rows:
        raise StatementInvalid("Alipay bill: 业务明细(汇总) has no header")
    col = {name: i for i, name in enumerate(rows[0])}
    for name in ("交易订单总笔数", "退款订单总笔数", "服务费（元）"):
        if name not in col:
            raise StatementInvalid(f"Alipay bill: 汇总 has no column {name}")
    body = [r for r in rows[1:] if len(r) >= len(col) - 1]
    totals = [r for r in body if r[0] == "合计" or r[col["门店名称"] if "门店名称" in col else 0]
              == "合计"]
    counted = totals[:1] or body
    try:
        payments = sum(int(r[col["交易订单总笔数"]] or 0) for r in counted)
        refunds = sum(int(r[col["退款订单总笔数"]] or 0) for r in counted)
    except ValueError:
        raise StatementInvalid("Alipay bill: 汇总's counts are not numbers") from None
    fee = -sum(statement_fen(r[col["服务费（元）"]] or "0", "服务费", negative=True)
               for r in counted)
    check_declared(statement, count=payments, fee_fen=fee, what="业务明细(汇总)")
    if refunds != len(statement.refunds):
        raise StatementInvalid(f"Alipay bill: 汇总 says {refunds} refunds, rows "
                               f"{len(statement.refunds)}")
