"""An archived statement file parsed again: what an auditor does to re-derive a day's lines.

Reconciliation keeps every statement file write-once in the archive
(``statements/{channel}/{date}/{sha256}/{name}``, listed on the day's reconciliation with its
SHA-256 and the run that fetched it). Each file is the parser's own input, as the channel served
it: WeChat Pay's gzipped trade bill, Alipay's bill zip, UnionPay's zip (``fileContent`` unpacked
from its base64 and zlib), an agent bank's signed CSV. ``reparse`` gives the same ``Statement``
(lines, fees, refunds) the run judged; the file's own checks (summary, 合计, TOTAL) run again.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.adapters.alipay.bill import parse_bill_zip
from chalicelib.adapters.bank import parse_statement
from chalicelib.adapters.unionpay.bill import parse_zip
from chalicelib.adapters.wechatpay.bill import gunzip, parse_trade_bill
from chalicelib.domain.statements import Statement, StatementInvalid


def reparse(channel: str, name: str, body: bytes, date: str) -> Statement:
    """The statement in the archived file ``name`` of ``channel`` for ``date``."""
    if channel == "wechatpay":
        return parse_trade_bill(gunzip(body), date, f"tradebill {date} ALL")
    if channel == "alipay":  # alipay-{date}-trade.csv.zip; a merchant's: -{seller_id}-trade
        bill = parse_bill_zip(body, date)
        merchant = name.removeprefix(f"alipay-{date}-").removesuffix("-trade.csv.zip")
        if merchant.isdigit() and len(merchant) == 16:
            bill = replace(bill, lines=tuple(replace(line, merchant=merchant)
                                             for line in bill.lines))
        return bill
    if channel == "unionpay":
        return parse_zip(body, date)
    if channel == "bank":  # bank-{date}-{bank_code}.csv
        stem = name.removesuffix(".csv")
        prefix = f"bank-{date}-"
        if not stem.startswith(prefix):
            raise StatementInvalid(f"{name!r} is not an agent bank's statement of {date}")
        return parse_statement(body, stem[len(prefix):], date)
    raise StatementInvalid(f"no statement parser for channel {channel!r}")
