"""Records the contract tests write: notes, orders, payments and bills of one unit, at pinned
times (never today's), and ``issue`` to take a note from unpaid to a normal bill through the
ports themselves (so fake and adapter are set up by the same calls)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.bills import Bill, BillStatus
from chalicelib.domain.notes import BillRef, Item, Note, Payer
from chalicelib.domain.payments import ChannelOrder, Payment
from chalicelib.domain.records import ArchivedFile, BillRecord, Reservation

UNIT = "110101001"
KIND = "0301"
BILL_CODE = "34030126"
T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 in China


def at(minutes: float = 0, *, china: bool = True) -> str:
    """An ISO time ``minutes`` after T0, in China time (as notes carry) or UTC."""
    moment = T0 + timedelta(minutes=minutes)
    if china:
        from chalicelib.domain.china_time import CHINA_TZ

        moment = moment.astimezone(CHINA_TZ)
    return moment.isoformat(timespec="seconds")


def code(n: int) -> str:
    """The ``n``-th payment code (20 digits)."""
    return f"3401002600{n:010d}"


def note(n: int, *, total_fen: int = 2000, minutes: float = 0, phone: str | None = "13800138000",
         unit: str = UNIT) -> Note:
    return Note(payment_code=code(n), unit_code=unit, region_code="340100",
                payer=Payer(name="张三", type="individual", phone=phone),
                items=(Item(item_code="001", name="工本费", quantity="1",
                            standard_fen=total_fen, amount_fen=total_fen),),
                total_fen=total_fen, bill_kind=KIND, created_at=at(minutes),
                due_date="2026-07-15", expires_at="2026-07-15T23:59:59+08:00")


def order(n: int, *, suffix: str = "A", channel: str = "wechatpay", amount_fen: int = 2000,
          minutes: float = 0) -> ChannelOrder:
    return ChannelOrder(out_trade_no=code(n) + suffix, payment_code=code(n), channel=channel,
                        amount_fen=amount_fen, created_at=at(minutes),
                        expires_at=at(minutes + 30))


def payment(n: int, *, suffix: str = "A", channel: str = "wechatpay", amount_fen: int = 2000,
            txn: str | None = None, minutes: float = 1) -> Payment:
    out_trade_no = code(n) if channel == "bank" else code(n) + suffix
    return Payment(channel=channel, channel_txn_id=txn or f"TXN{n}{suffix}",
                   out_trade_no=out_trade_no, amount_fen=amount_fen, paid_at=at(minutes),
                   notification_id=f"N{n}{suffix}")


def bill_of(stored: Note, reservation: Reservation) -> Bill:
    return Bill(bill_code=reservation.bill_code, bill_number=reservation.bill_number,
                check_code=reservation.check_code, kind_code=stored.bill_kind,
                title="安徽省非税收入一般缴款书（电子）", region_code=stored.region_code,
                issued_at=reservation.issued_at, issuing_unit_code=stored.unit_code,
                issuing_unit_name="测试执收单位", payer_name=stored.payer.name,
                payer_type=stored.payer.type, payer_credit_code=None, items=stored.items,
                total_fen=stored.total_fen, payment_code=stored.payment_code,
                payment_channel="wechatpay", channel_txn_id="TXN", handling_person="李四",
                checker="王五", remark=f"缴款码：{stored.payment_code}")


def files(bill_id: str) -> tuple[ArchivedFile, ArchivedFile]:
    return (ArchivedFile(key=f"bills/{bill_id}.xml", sha256="a" * 64, size=10, version_id="v1"),
            ArchivedFile(key=f"bills/{bill_id}.pdf", sha256="b" * 64, size=20, version_id="v2"))


def record_of(bill: Bill, *, phone: str | None = "13800138000",
              status: BillStatus = BillStatus.NORMAL) -> BillRecord:
    xml, pdf = files(bill.bill_id)
    return BillRecord(bill=bill, status=status, payer_phone=phone, xml=xml, pdf=pdf)


def ref_of(bill: Bill) -> BillRef:
    return BillRef(bill_code=bill.bill_code, bill_number=bill.bill_number,
                   check_code=bill.check_code, issued_at=bill.issued_at)


def allocate(stores, count: int = 10, *, bill_code: str = BILL_CODE, unit: str = UNIT):
    return stores.ranges.allocate(unit, KIND, bill_code, count, at())


def pay(stores, n: int, *, phone: str | None = "13800138000", minutes: float = 0) -> Note:
    """A note of ours, opened and paid on WeChat Pay; the stored note."""
    stores.notes.add(note(n, phone=phone, minutes=minutes))
    stores.notes.add_order(order(n, minutes=minutes))
    stores.payments.record(payment(n, minutes=minutes + 1))
    paid = stores.notes.get(code(n))
    assert paid is not None
    return paid


def issue(stores, n: int, *, phone: str | None = "13800138000", minutes: float = 0,
          check_code: str = "12345678") -> BillRecord:
    """A note paid, its number taken and its bill complete: the bill as stored."""
    paid = pay(stores, n, phone=phone, minutes=minutes)
    reservation = stores.bills.reserve(paid, check_code=check_code, issued_at=at(minutes + 2))
    assert reservation is not None
    bill = bill_of(paid, reservation)
    stores.bills.complete_issue(record_of(bill, phone=phone), ref_of(bill))
    stored = stores.bills.get(bill.bill_code, bill.bill_number)
    assert stored is not None
    return stored


def red_of(original: Bill, reservation: Reservation) -> Bill:
    items = tuple(replace(i, amount_fen=-i.amount_fen) for i in original.items)
    return replace(original, bill_code=reservation.bill_code,
                   bill_number=reservation.bill_number, check_code=reservation.check_code,
                   issued_at=reservation.issued_at, items=items, total_fen=-original.total_fen,
                   related_bill=original.bill_id)


def channel_client(channel: str, secret: dict, base_url: str, transport: object,
                   now: datetime) -> object:
    """Our client of ``channel`` (its API, or the bank's statements) on the simulator at
    ``base_url``, with the channel's secret as the local stack seeds it, at a fixed time."""
    from chalicelib.adapters import alipay, bank, unionpay, wechatpay

    clock = lambda: now  # noqa: E731 - a clock is a callable
    return {"wechatpay": lambda: wechatpay.WechatPayApi(
                wechatpay.WechatPayConfig.from_secret(secret), f"{base_url}/wechatpay",
                transport, clock),
            "alipay": lambda: alipay.AlipayApi(
                alipay.AlipayConfig.from_secret(secret), f"{base_url}/alipay/gateway.do",
                transport, clock),
            "unionpay": lambda: unionpay.UnionPayApi(
                unionpay.UnionPayConfig.from_secret(secret), f"{base_url}/unionpay",
                transport, clock),
            "bank": lambda: bank.BankStatements(
                bank.BankConfig.from_secret(secret), f"{base_url}/bank", transport,
                clock)}[channel]()
