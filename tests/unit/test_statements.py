"""The four statement parsers against samples written from each channel's documentation
(``tests/events/statements``, /work/shared/reference/statements.md), their odd cases, and the
simulator's builders read back by the same parsers."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import zipfile
import zlib
from pathlib import Path

import pytest

from chalicelib.adapters.alipay.bill import parse_bill_zip
from chalicelib.adapters.bank import BankConfig, parse_statement, verify_signed
from chalicelib.adapters.unionpay.bill import (
    ZM_LINE_BYTES,
    parse_file_content,
    parse_zm,
)
from chalicelib.adapters.wechatpay.bill import open_bill, parse_trade_bill
from chalicelib.domain.errors import SignatureInvalid
from chalicelib.domain.statements import (
    PAYMENT,
    REFUND,
    StatementInvalid,
    StatementLine,
    clearing_day,
    statement_fen,
)
from devstack.builders import statements as build

SAMPLES = Path(__file__).parents[1] / "events" / "statements"
DAY = "2026-06-15"
CODE_1, CODE_2 = "34010026237293154530", "34010026761072362457"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def lines_of_a_day() -> list[StatementLine]:
    return [StatementLine(PAYMENT, "T0001", CODE_1 + "Ab12", 8000, 48,
                          "2026-06-15T09:12:44+08:00", state="SUCCESS"),
            StatementLine(PAYMENT, "T0002", CODE_2 + "Cd34", 1234, 7,
                          "2026-06-15T10:12:44+08:00", state="SUCCESS"),
            StatementLine(REFUND, "T0002", CODE_2 + "Cd34", 1234, -7,
                          "2026-06-15T11:00:00+08:00", refund_id="RF0002",
                          out_refund_no="RF0002", state="REFUND")]


def same(parsed, built) -> bool:
    """Equal but for the channel's own word for a line (its state)."""
    keep = ("kind", "channel_txn_id", "out_trade_no", "amount_fen", "fee_fen", "at",
            "refund_id")
    return [tuple(getattr(x, k) for k in keep) for x in parsed] == \
        [tuple(getattr(x, k) for k in keep) for x in built]


# Money -------------------------------------------------------------------------------------

def test_a_statement_amount_is_exact_fen_and_refuses_fractions_of_a_fen():
    assert statement_fen("80.00", "x") == 8000
    assert statement_fen("-0.48", "x", negative=True) == -48
    with pytest.raises(StatementInvalid, match="fractions of a fen"):
        statement_fen("80.001", "x")
    for bad in ("", "1e3", "-1.00", "8O.00", "12,00"):
        with pytest.raises(StatementInvalid):
            statement_fen(bad, "x")


def test_a_fee_of_five_decimals_rounds_half_up_to_the_fen():
    assert statement_fen("0.00600", "fee", fee=True) == 1
    assert statement_fen("0.00400", "fee", fee=True) == 0
    assert statement_fen("0.00500", "fee", fee=True) == 1
    assert statement_fen("-0.48000", "fee", negative=True, fee=True) == -48


# WeChat Pay --------------------------------------------------------------------------------

def test_wechat_reads_the_backticked_rows_of_an_all_bill_with_bom_and_crlf():
    statement = parse_trade_bill(sample("wechatpay_tradebill_all.csv"), DAY)
    first, second, refund = statement.lines
    assert (first.kind, first.channel_txn_id, first.out_trade_no, first.amount_fen,
            first.fee_fen, first.at) == (PAYMENT, "4200000001202606150000000001",
                                         CODE_1 + "A1b2C3", 8000, 48, "2026-06-15T09:12:44+08:00")
    assert second.fee_fen == 1  # 0.00600 yuan = 0.6 fen, rounded half up
    assert (refund.kind, refund.channel_txn_id, refund.amount_fen, refund.fee_fen,
            refund.refund_id, refund.out_refund_no) == (
        REFUND, "4200000001202606150000000001", 8000, -48, "50300000012026061500000001",
        "R3f2a9c0d1e4b5a6978877665544332")
    assert (statement.total_fen, statement.refund_fen, statement.fee_fen) == (8100, 8000, 1)
    assert statement.net_fen == 8100 - 8000 - 1


def test_wechat_reads_the_documented_success_bill_of_twenty_columns():
    [line] = parse_trade_bill(sample("wechatpay_tradebill_success.csv"), "2024-03-05").lines
    assert (line.channel_txn_id, line.out_trade_no, line.amount_fen, line.fee_fen) == (
        "4200000000202403050000000001", "53010024000000000001", 8000, 48)


def test_wechat_reads_a_legacy_bill_whose_settled_column_has_its_legacy_name():
    text = sample("wechatpay_tradebill_success.csv").decode().replace("应结订单金额", "总金额")
    [line] = parse_trade_bill(text.encode(), "2024-03-05").lines
    assert line.amount_fen == 8000


def test_wechat_checks_the_fee_total_to_the_fifth_decimal_not_the_rounded_sum():
    text = sample("wechatpay_tradebill_all.csv").decode("utf-8-sig")
    with pytest.raises(StatementInvalid, match="手续费总金额"):
        parse_trade_bill(text.replace("`0.00600,`161.00", "`0.01000,`161.00").encode(), DAY)


def test_wechat_refuses_a_bill_whose_summary_count_is_not_its_rows():
    text = sample("wechatpay_tradebill_all.csv").decode("utf-8-sig")
    with pytest.raises(StatementInvalid, match="总交易单数"):
        parse_trade_bill(text.replace("`3,`161.00", "`4,`161.00").encode(), DAY)


def test_wechat_refuses_a_bill_cut_before_its_summary():
    text = sample("wechatpay_tradebill_all.csv").decode("utf-8-sig")
    cut = text.split("总交易单数")[0]
    with pytest.raises(StatementInvalid, match="no summary"):
        parse_trade_bill(cut.encode(), DAY)


def test_wechat_refuses_a_data_row_without_its_backticks():
    text = sample("wechatpay_tradebill_success.csv").decode()
    with pytest.raises(StatementInvalid, match="not a data row"):
        parse_trade_bill(text.replace("`2024-03-05 09:12:44", "2024-03-05 09:12:44").encode(),
                         "2024-03-05")


def test_wechat_a_bill_without_rows_is_an_empty_statement():
    empty = "\n".join(["交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,"
                       "交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,"
                       "手续费,费率,订单金额,费率备注", "总交易单数,应结订单总金额,手续费总金额,订单总金额",
                       "`0,`0.00,`0.00000,`0.00", ""])
    assert parse_trade_bill(empty.encode(), DAY).lines == ()


def test_wechat_opens_a_gzip_bill_whose_sha1_is_of_the_uncompressed_bytes():
    bill = sample("wechatpay_tradebill_all.csv")
    opened = open_bill(gzip.compress(bill), gzipped=True, hash_type="SHA1",
                       hash_value=hashlib.sha1(bill, usedforsecurity=False).hexdigest().upper())
    assert opened == bill


def test_wechat_refuses_a_bill_whose_sha1_is_not_the_hash_given():
    bill = sample("wechatpay_tradebill_all.csv")
    with pytest.raises(StatementInvalid, match="SHA1"):
        open_bill(gzip.compress(bill.replace(b"80.00", b"90.00", 1)), gzipped=True,
                  hash_type="SHA1", hash_value=hashlib.sha1(bill, usedforsecurity=False).hexdigest())


def test_wechat_refuses_a_gzip_bomb_before_it_is_inflated_whole(monkeypatch):
    from chalicelib.adapters.wechatpay import bill as module

    monkeypatch.setattr(module, "MAX_STATEMENT_BYTES", 1000)
    with pytest.raises(StatementInvalid, match="more than"):
        module.gunzip(gzip.compress(b"0" * 100_000))


# Alipay ------------------------------------------------------------------------------------

def alipay_zip(detail: str, summary: str, pid: str = "2088000000000001") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, text in (("_业务明细.csv", detail), ("_业务明细(汇总).csv", summary)):
            archive.writestr(build._GbkName(f"{pid}0156_20260615{suffix}"),
                             text.replace("\n", "\r\n").encode("gbk"))
    return out.getvalue()


def test_alipay_reads_a_zip_of_gbk_files_under_gbk_names():
    data = alipay_zip(sample("alipay_detail.csv").decode(), sample("alipay_summary.csv").decode())
    raw_names = [i.orig_filename for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert "业务明细" not in raw_names[0]  # not UTF-8: read as cp437 it is mojibake
    statement = parse_bill_zip(data, DAY)
    first, second, refund = statement.lines
    assert (first.channel_txn_id, first.out_trade_no, first.amount_fen, first.fee_fen,
            first.at) == ("2026061522001400000000000001", CODE_1 + "A1b2C3", 8000, 48,
                          "2026-06-15T09:10:15+08:00")
    assert (refund.kind, refund.channel_txn_id, refund.amount_fen, refund.fee_fen,
            refund.refund_id) == (REFUND, "2026061522001400000000000002", 2000, -12,
                                  "R77aa00bb11cc22dd33ee44ff5566778")
    assert statement.fee_fen == 48


def test_alipay_refuses_a_detail_whose_trade_total_comment_disagrees():
    detail = sample("alipay_detail.csv").decode().replace("#交易合计：2笔", "#交易合计：3笔")
    with pytest.raises(StatementInvalid, match="交易合计"):
        parse_bill_zip(alipay_zip(detail, sample("alipay_summary.csv").decode()), DAY)


def test_alipay_refuses_a_summary_whose_fee_disagrees_with_the_rows():
    summary = sample("alipay_summary.csv").decode().replace("-0.48,0.00,79.52", "-0.50,0.00,79.50")
    with pytest.raises(StatementInvalid, match="fee_fen"):
        parse_bill_zip(alipay_zip(sample("alipay_detail.csv").decode(), summary), DAY)


def test_alipay_refuses_a_zip_without_its_summary_file():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(build._GbkName("x_20260615_业务明细.csv"), b"")
    with pytest.raises(StatementInvalid, match="汇总"):
        parse_bill_zip(out.getvalue(), DAY)


def test_alipay_refuses_what_is_not_a_zip():
    with pytest.raises(StatementInvalid, match="unreadable"):
        parse_bill_zip(b"<html>error</html>", DAY)


def test_alipay_an_empty_day_is_headers_and_zero_totals():
    data = build.alipay_bill_zip([], pid="2088000000000001", date=DAY)
    assert parse_bill_zip(data, DAY).lines == ()


# UnionPay ----------------------------------------------------------------------------------

def zm_line(**values: str) -> bytes:
    base = {"交易代码": "S22", "交易传输时间": "0615091244", "交易金额": "000000008000",
            "查询流水号": "952606150912440000001", "商户订单号": CODE_1 + "A1b2C3",
            "商户手续费": "D000000000048", "结算金额": "C000000007952", "交易类型": "01",
            "商户代码": "777290058110097", "清算净额": "C000000007952"}
    return build.zm_record({**base, **values})


def test_unionpay_slices_gbk_bytes_so_chinese_in_a_field_does_not_shift_the_next():
    record = zm_line(商户自定义域="不动产登记费")
    assert len(record) == ZM_LINE_BYTES == 607
    [line] = parse_zm(record + b"\r\n", DAY).lines
    assert (line.kind, line.channel_txn_id, line.out_trade_no, line.amount_fen, line.fee_fen,
            line.at) == (PAYMENT, "952606150912440000001", CODE_1 + "A1b2C3", 8000, 48,
                         "2026-06-15T09:12:44+08:00")


def test_unionpay_reads_lf_and_crlf_alike():
    records = [zm_line(), zm_line(查询流水号="952606150912440000002")]
    assert parse_zm(b"\n".join(records), DAY).lines == parse_zm(b"\r\n".join(records), DAY).lines


def test_unionpay_a_refund_names_the_payment_it_gives_back_and_credits_the_fee():
    [line] = parse_zm(zm_line(交易代码="S30", 查询流水号="952606151600000000009",
                              商户订单号="RF0002", 原交易查询流水号="952606150912440000001",
                              商户手续费="C000000000048", 原始交易订单号=CODE_1 + "A1b2C3"),
                      DAY).lines
    assert (line.kind, line.channel_txn_id, line.refund_id, line.out_refund_no, line.fee_fen,
            line.out_trade_no) == (REFUND, "952606150912440000001", "952606151600000000009",
                                   "RF0002", -48, CODE_1 + "A1b2C3")


def test_unionpay_a_december_line_in_a_january_file_is_of_the_year_before():
    [line] = parse_zm(zm_line(交易传输时间="1231230100"), "2027-01-01").lines
    assert line.at == "2026-12-31T23:01:00+08:00"


def test_unionpay_a_line_after_23_the_day_before_is_in_the_clearing_days_file():
    # UnionPay's 清算日期 runs 23:00 to 23:00: its file of 0615 starts at 0614 23:00.
    early, late = parse_zm(b"\r\n".join([
        zm_line(交易传输时间="0614230200"),
        zm_line(交易传输时间="0615225900", 查询流水号="952606152259000000002")]), DAY).lines
    assert (early.at, late.at) == ("2026-06-14T23:02:00+08:00", "2026-06-15T22:59:00+08:00")
    assert {clearing_day("unionpay", li.at) for li in (early, late)} == {DAY}


def test_unionpay_refuses_a_line_of_the_wrong_width_and_an_unknown_code():
    with pytest.raises(StatementInvalid, match="606 bytes"):
        parse_zm(zm_line()[:-1], DAY)
    with pytest.raises(StatementInvalid, match="交易代码"):
        parse_zm(zm_line(交易代码="S31"), DAY)


def test_unionpay_file_content_is_base64_of_zlib_of_a_zip_and_its_zm_member_is_read():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("INN26061588ZM_777290058110097", zm_line() + b"\r\n")
        archive.writestr("INN26061588ZME_777290058110097", b"")
    content = base64.b64encode(zlib.compress(out.getvalue())).decode()
    [line] = parse_file_content(content, DAY).lines
    assert line.amount_fen == 8000
    with pytest.raises(StatementInvalid, match="deflate"):  # raw deflate, no zlib header
        parse_file_content(base64.b64encode(zlib.compress(out.getvalue())[2:-4]).decode(), DAY)


def test_unionpay_a_zip_without_a_zm_file_is_an_empty_day():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("RD26061588_777290058110097", b"")
    assert parse_file_content(base64.b64encode(zlib.compress(out.getvalue())).decode(),
                              DAY).lines == ()


# Agent banks -------------------------------------------------------------------------------

BANK_LINES = [StatementLine(PAYMENT, "B01-T1", CODE_1, 8000, 0, "2026-06-15T09:12:44+08:00"),
              StatementLine(REFUND, "B01-T1", CODE_1, 8000, 0, "2026-06-15T15:00:00+08:00",
                            refund_id="B01-R1")]


def test_a_bank_statement_reads_back_what_the_bank_wrote():
    raw = build.bank_statement(BANK_LINES, bank_code="B01", date=DAY)
    assert same(parse_statement(raw, "B01", DAY).lines, BANK_LINES)


def test_a_bank_statement_of_an_empty_day_is_its_header_and_a_zero_total():
    raw = build.bank_statement([], bank_code="B01", date=DAY)
    assert raw.decode().splitlines()[-1] == "TOTAL,0,0,0,0"
    assert parse_statement(raw, "B01", DAY).lines == ()


def test_a_bank_statement_of_another_day_or_bank_or_with_a_wrong_total_is_refused():
    raw = build.bank_statement(BANK_LINES, bank_code="B01", date=DAY)
    with pytest.raises(StatementInvalid, match="of that bank and day"):
        parse_statement(raw, "B01", "2026-06-16")
    with pytest.raises(StatementInvalid, match="of that bank and day"):
        parse_statement(raw, "B02", DAY)
    with pytest.raises(StatementInvalid, match="total_fen"):
        parse_statement(raw.replace(b"TOTAL,2,8000", b"TOTAL,2,8001"), "B01", DAY)


def test_a_bank_statement_is_verified_over_its_raw_bytes():
    config = BankConfig(banks={"B01": b"s" * 32})
    raw = build.bank_statement(BANK_LINES, bank_code="B01", date=DAY)
    headers = build.bank_signed(raw, bank_code="B01", secret=b"s" * 32, now=1_000_000)
    verify_signed(raw, headers, config, 1_000_100, "B01")
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_signed(raw.replace(b"8000", b"9000", 1), headers, config, 1_000_100, "B01")
    with pytest.raises(SignatureInvalid, match="within"):
        verify_signed(raw, headers, config, 1_000_400, "B01")


# The simulator's builders, read back --------------------------------------------------------

def test_the_wechat_builder_writes_what_the_parser_reads():
    bill = build.wechat_trade_bill(lines_of_a_day(), mchid="1900000001", appid="wx1", bom=True,
                                   crlf=True)
    opened = open_bill(build.gzipped(bill), gzipped=True, hash_type="SHA1",
                       hash_value=hashlib.sha1(bill, usedforsecurity=False).hexdigest())
    assert same(parse_trade_bill(opened, DAY).lines, lines_of_a_day())


def test_the_alipay_builder_writes_what_the_parser_reads():
    lines = [line if line.kind == PAYMENT else
             StatementLine(REFUND, line.channel_txn_id, line.out_trade_no, line.amount_fen,
                           line.fee_fen, line.at, refund_id=line.out_refund_no,
                           out_refund_no=line.out_refund_no) for line in lines_of_a_day()]
    data = build.alipay_bill_zip(lines, pid="2088000000000001", date=DAY)
    assert same(parse_bill_zip(data, DAY).lines, lines)


def test_the_unionpay_builder_writes_what_the_parser_reads():
    content = build.unionpay_file_content(lines_of_a_day(), mer_id="777290058110097", date=DAY)
    assert same(parse_file_content(content, DAY).lines, lines_of_a_day())


def test_the_simulators_files_are_the_same_bytes_whenever_they_are_asked_for(monkeypatch):
    # A re-run of a day fetches the same file, so the archive keeps its first copy alone.
    import time

    def files() -> tuple:
        return (build.unionpay_file_content(lines_of_a_day(), mer_id="777290058110097",
                                            date=DAY),
                build.alipay_bill_zip(lines_of_a_day(), pid="2088000000000001", date=DAY),
                build.gzipped(b"bill"))

    first = files()
    later = time.time() + 3 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert files() == first


def lying_zip(names: tuple[str, ...], inflated: int = 20 * 1024 * 1024) -> bytes:
    """A zip whose first member inflates to ``inflated`` zeros but declares 10 bytes."""
    import struct

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(names[0], b"\0" * inflated)
        for name in names[1:]:
            archive.writestr(name, b"")
    data = bytearray(out.getvalue())
    struct.pack_into("<I", data, 22, 10)  # the local header's uncompressed size
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)  # and the central directory's
    return bytes(data)


def peak_bytes(call) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(StatementInvalid):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("channel", ["alipay", "unionpay"])
def test_a_zip_member_lying_about_its_size_is_refused_before_it_is_inflated_whole(
        monkeypatch, channel):
    from chalicelib.adapters.alipay import bill as alipay_bill
    from chalicelib.adapters.unionpay import bill as unionpay_bill

    for module in (alipay_bill, unionpay_bill):
        monkeypatch.setattr(module, "MAX_STATEMENT_BYTES", 1024 * 1024)
    if channel == "alipay":
        data = lying_zip(("2088_20260615_业务明细.csv", "2088_20260615_业务明细(汇总).csv"))
        peak = peak_bytes(lambda: parse_bill_zip(data, DAY))
    else:
        data = lying_zip(("INN26061588ZM_777290058110097",))
        content = base64.b64encode(zlib.compress(data)).decode()
        peak = peak_bytes(lambda: parse_file_content(content, DAY))
    assert peak < 8 * 1024 * 1024, peak  # the member inflates to 20 MiB


def test_merchants_statements_are_combined_into_the_days_each_line_keeping_its_merchant():
    from chalicelib.adapters.statement_files import reparse
    from chalicelib.domain.statements import Statement, StatementFile, combined

    ours = Statement("alipay", "2026-06-15", (StatementLine(PAYMENT, "T1", "O1", 100, 1),),
                     "ours.csv", files=(StatementFile("alipay-2026-06-15-trade.csv.zip", b"1"),))
    line = StatementLine(PAYMENT, "T2", "O2", 200, 1, merchant="2088000000000101")
    theirs = Statement("alipay", "2026-06-15", (line,), "theirs.csv",
                       notes=("empty day",), files=(StatementFile("x.zip", b"2"),))
    day = combined(ours, theirs)
    assert [(li.channel_txn_id, li.merchant) for li in day.lines] == [
        ("T1", ""), ("T2", "2088000000000101")]
    assert (day.total_fen, day.source, day.notes) == (300, "ours.csv + theirs.csv",
                                                      ("empty day",))
    assert [f.name for f in day.files] == ["alipay-2026-06-15-trade.csv.zip", "x.zip"]
    with pytest.raises(StatementInvalid, match="pay-T2 is on two merchants' statements"):
        combined(day, theirs)
    with pytest.raises(StatementInvalid, match="cannot combine"):
        combined(ours, Statement("alipay", "2026-06-16"))
    archived = build.alipay_bill_zip([line], pid="2088000000000101", date="2026-06-15")
    again = reparse("alipay", "alipay-2026-06-15-2088000000000101-trade.csv.zip", archived,
                    "2026-06-15")
    assert [li.merchant for li in again.lines] == ["2088000000000101"]
    assert [li.merchant for li in reparse("alipay", "alipay-2026-06-15-trade.csv.zip", archived,
                                          "2026-06-15").lines] == [""]
