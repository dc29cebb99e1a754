"""Building each channel's daily statement file as the channel serves it (the simulator's and
the tests' business; production only parses: ``chalicelib/adapters/*/bill.py``, ``bank.py``).

Each builder takes ``StatementLine``s (the domain's shape: fen, a fee per line, refunds as
their own lines) and writes the channel's own bytes: WeChat Pay's backtick CSV with its
summary, Alipay's zip of GBK CSV files with GBK names, UnionPay's base64(zlib(zip)) of a
fixed-width GBK ZM file, an agent bank's signed CSV. Each parser reads back exactly what its
builder wrote (tests/unit/test_statements.py).
"""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
import zlib
from collections.abc import Sequence

from chalicelib.adapters.bank import STATEMENT_HEADER, signature_for
from chalicelib.adapters.unionpay.bill import ZM_FIELDS
from chalicelib.domain.money import fen_to_yuan
from chalicelib.domain.statements import REFUND, StatementLine

WECHAT_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,"
                 "交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,"
                 "商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
                 "手续费,费率,订单金额,申请退款金额,费率备注")
WECHAT_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def _time(line: StatementLine) -> str:
    return f"{line.at[:10]} {line.at[11:19]}"


def _fee5(fee_fen: int) -> str:
    """A fee in yuan with five decimals, as WeChat writes 手续费 (``-0.48000`` given back)."""
    sign = "-" if fee_fen < 0 else ""
    return f"{sign}{fen_to_yuan(abs(fee_fen))}000"


def wechat_trade_bill(lines: Sequence[StatementLine], *, mchid: str, appid: str,
                      bom: bool = False, crlf: bool = False) -> bytes:
    """The ALL trade bill: header, backticked rows, summary header and row."""
    rows = [WECHAT_HEADER]
    for line in lines:
        refund = line.kind == REFUND
        amount = fen_to_yuan(line.amount_fen)
        cells = [_time(line), appid, mchid, line.merchant or "0", "", line.channel_txn_id,
                 line.out_trade_no,
                 "oSimUser000000000000000000", "JSAPI", "REFUND" if refund else "SUCCESS",
                 "OTHERS", "CNY", amount, "0.00",
                 line.refund_id if refund else "0", line.out_refund_no if refund else "0",
                 amount if refund else "0.00", "0.00", "ORIGINAL" if refund else "",
                 "SUCCESS" if refund else "", "非税收入", "", _fee5(line.fee_fen), "0.60%",
                 amount, amount if refund else "0.00", ""]
        rows.append(",".join("`" + c for c in cells))
    payments = [li for li in lines if li.kind != REFUND]
    refunds = [li for li in lines if li.kind == REFUND]
    settled = fen_to_yuan(sum(li.amount_fen for li in payments) + sum(li.amount_fen
                                                                     for li in refunds))
    summary = [str(len(lines)), settled, fen_to_yuan(sum(li.amount_fen for li in refunds)),
               "0.00", _fee5(sum(li.fee_fen for li in lines)), settled,
               fen_to_yuan(sum(li.amount_fen for li in refunds))]
    rows += [WECHAT_SUMMARY, ",".join("`" + c for c in summary)]
    text = ("\r\n" if crlf else "\n").join(rows) + ("\r\n" if crlf else "\n")
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


ALIPAY_COLUMNS = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,"
                  "操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,"
                  "支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,"
                  "卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
ALIPAY_SUMMARY = ("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
                  "支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）")


def _signed(fen: int) -> str:
    return ("-" if fen < 0 else "") + fen_to_yuan(abs(fen))


class _GbkName(zipfile.ZipInfo):
    """A member named in GBK without the UTF-8 flag, as Alipay names them (zipfile alone would
    write a non-ASCII name as UTF-8 and set the flag)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits


def alipay_bill_zip(lines: Sequence[StatementLine], *, pid: str, date: str) -> bytes:
    """The trade bill zip: 业务明细 and 业务明细(汇总), GBK text under GBK names."""
    day = date.replace("-", "")
    head = ["#支付宝业务明细查询", f"#账号：[{pid}0156]",
            f"#起始日期：[{date[:4]}年{date[5:7]}月{date[8:]}日 00:00:00]   "
            f"终止日期：[{date[:4]}年{date[5:7]}月{date[8:]}日 23:59:59]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            ALIPAY_COLUMNS]
    rows = []
    for line in lines:
        refund = line.kind == REFUND
        amount = -line.amount_fen if refund else line.amount_fen
        rows.append(",".join([
            f"{line.channel_txn_id}\t", f"{line.out_trade_no}\t", "退款" if refund else "交易",
            "非税收入", _time(line), _time(line), " ", " ", " ", " ", "**明(138****0000)",
            _signed(amount), _signed(amount), "0.00", "0.00", "0.00", "0.00", "0.00", "",
            "0.00", "0.00", f"{line.out_refund_no}\t" if refund else "\t",
            _signed(-line.fee_fen), "0.00", ""]) + ",")
    paid = [li for li in lines if li.kind != REFUND]
    back = [li for li in lines if li.kind == REFUND]
    gross = sum(li.amount_fen for li in paid) - sum(li.amount_fen for li in back)
    fee = -sum(li.fee_fen for li in lines)
    tail = ["#-----------------------------------------业务明细列表结束------------------------------------",
            f"#交易合计：{len(paid)}笔，商家实收共{_signed(sum(li.amount_fen for li in paid))}元，"
            f"商家优惠共0.00元",
            f"#退款合计：{len(back)}笔，商家实收共{_signed(-sum(li.amount_fen for li in back))}元，"
            f"商家优惠共0.00元",
            f"#导出时间：[{date[:4]}年{date[5:7]}月{date[8:]}日 09:00:00]"]
    detail = "\r\n".join(head + rows + tail) + "\r\n"
    summary = "\r\n".join([
        "#支付宝业务汇总查询", f"#账号：[{pid}0156]",
        "#-----------------------------------------业务汇总列表----------------------------------------",
        ALIPAY_SUMMARY,
        ",".join([" ", "合计", str(len(paid)), str(len(back)), _signed(gross), _signed(gross),
                  "0.00", "0.00", "0.00", _signed(fee), "0.00", _signed(gross + fee)]),
        "#-----------------------------------------业务汇总列表结束------------------------------------"
    ]) + "\r\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, text in (("_业务明细.csv", detail), ("_业务明细(汇总).csv", summary)):
            info = _GbkName(f"{pid}0156_{day}{suffix}", (int(date[:4]), int(date[5:7]),
                                                          int(date[8:]), 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("gbk"))
    return out.getvalue()


def _zm_amount(fen: int) -> str:
    """A flagged 13-character amount: D (charged to the merchant), C (credited), blank zero."""
    if fen == 0:
        return " " + "0" * 12
    return ("D" if fen > 0 else "C") + f"{abs(fen):012d}"


def zm_record(values: dict[str, str]) -> bytes:
    """One ZM line: every field padded (GBK bytes) to its length, one space after each but the
    last."""
    cells = []
    for name, length in ZM_FIELDS:
        raw = values.get(name, "").encode("gbk")[:length]
        cells.append(raw + b" " * (length - len(raw)))
    return b" ".join(cells)


def unionpay_zm(lines: Sequence[StatementLine], *, mer_id: str) -> bytes:
    """The ZM file: one fixed-width GBK line per consumption (S22) or refund (S30)."""
    records = []
    for n, line in enumerate(lines, 1):
        refund = line.kind == REFUND
        when = line.at[5:7] + line.at[8:10] + line.at[11:13] + line.at[14:16] + line.at[17:19]
        net = -line.amount_fen - line.fee_fen if refund else line.amount_fen - line.fee_fen
        records.append(zm_record({
            "交易代码": "S30" if refund else "S22", "代理机构标识码": "00010000", "发送机构标识码":
            "00010000", "系统跟踪号": f"{n:06d}", "交易传输时间": when, "帐号": "6216***********0018",
            "交易金额": f"{line.amount_fen:012d}", "商户类别": "9399", "终端类型": "07",
            "查询流水号": line.refund_id if refund else line.channel_txn_id,
            "商户订单号": line.out_refund_no if refund else line.out_trade_no, "支付卡类型": "01",
            "商户手续费": _zm_amount(line.fee_fen), "结算金额": _zm_amount(-net),
            "支付方式": "0001", "交易类型": "04" if refund else "01", "交易子类": "00" if refund
            else "01", "业务类型": "000201", "帐号类型": "01",
            "原交易查询流水号": line.channel_txn_id if refund else "", "商户代码": mer_id,
            "清算净额": _zm_amount(-net), "商户自定义域": "非税收入",
            "原始交易订单号": line.out_trade_no if refund else ""}))
    return b"".join(r + b"\r\n" for r in records)


def unionpay_file_content(lines: Sequence[StatementLine], *, mer_id: str, date: str) -> str:
    """``fileContent``: base64 of the zlib-deflated zip holding ``INN<YYMMDD>88ZM_<merId>``.
    The same lines make the same file (its members dated at the clearing day's 23:00 cut-off,
    not at the moment it is asked for), as a file UnionPay generated once."""
    out = io.BytesIO()
    yymmdd = date[2:4] + date[5:7] + date[8:]
    made = (int(date[:4]), int(date[5:7]), int(date[8:]), 23, 0, 0)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in ((f"INN{yymmdd}88ZM_{mer_id}", unionpay_zm(lines, mer_id=mer_id)),
                           (f"INN{yymmdd}88ZME_{mer_id}", b"")):
            member = zipfile.ZipInfo(name, date_time=made)
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, body)
    return base64.b64encode(zlib.compress(out.getvalue())).decode("ascii")


def bank_statement(lines: Sequence[StatementLine], *, bank_code: str, date: str) -> bytes:
    """An agent bank's statement (``chalicelib/adapters/bank.py`` documents it)."""
    rows = [f"BANKSTMT,1,{bank_code},{date}", STATEMENT_HEADER]
    prefix = f"{bank_code}-"
    for line in lines:
        refund = line.kind == REFUND
        own = (line.refund_id if refund else line.channel_txn_id).removeprefix(prefix)
        rows.append(",".join([
            "REFUND" if refund else "PAY", own, line.out_trade_no[:20], str(line.amount_fen),
            str(line.fee_fen), line.at,
            line.channel_txn_id.removeprefix(prefix) if refund else ""]))
    paid = sum(li.amount_fen for li in lines if li.kind != REFUND)
    back = sum(li.amount_fen for li in lines if li.kind == REFUND)
    rows.append(f"TOTAL,{len(lines)},{paid},{back},{sum(li.fee_fen for li in lines)}")
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def bank_signed(body: bytes, *, bank_code: str, secret: bytes, now: int) -> dict[str, str]:
    """The headers of a bank's signed answer (HMAC over ``timestamp + "\\n" + body``)."""
    timestamp = str(now)
    return {"Content-Type": "text/csv; charset=utf-8", "X-Bank-Code": bank_code,
            "X-Timestamp": timestamp,
            "X-Signature": base64.b64encode(signature_for(secret, timestamp, body)).decode()}
