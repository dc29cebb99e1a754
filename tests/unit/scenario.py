"""Steps the service tests share: a valid note request, a note, an order, a payment."""

from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import Deps
from chalicelib.domain.notes import Note
from chalicelib.domain.payments import Payment, PaymentOutcome
from chalicelib.services import notes as note_service
from chalicelib.services.payments import record_payment
from devstack.seed import COLLECTING

UNIT, UNIT_ITEMS = COLLECTING[0]  # 合肥市不动产登记中心, bill kind 0101
OTHER_UNIT, OTHER_ITEMS = COLLECTING[1]
ITEM_CODE, ITEM_NAME = UNIT_ITEMS[0]
PHONE = "13812345678"


def note_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payer": {"name": "张三", "type": "individual", "phone": PHONE},
        "items": [{"item_code": ITEM_CODE, "name": ITEM_NAME, "quantity": "1",
                   "standard_fen": 8000, "amount_fen": 8000, "unit": "件"}],
        "total_fen": 8000, "due_date": "2026-03-31", "remark": "测试",
    }
    body.update(changes)
    return body


def create_note(deps: Deps, **changes: Any) -> Note:
    note, created = note_service.create_note(deps, UNIT, note_body(**changes))
    assert created
    return note


def payment(out_trade_no: str, amount_fen: int, txn: str = "4200000001202603020000000001",
            channel: str = "wechatpay") -> Payment:
    return Payment(channel=channel, channel_txn_id=txn, out_trade_no=out_trade_no,
                   amount_fen=amount_fen, paid_at="2026-03-02T10:05:00+08:00",
                   notification_id="EV-" + txn)


def pay(deps: Deps, note: Note, txn: str = "4200000001202603020000000001") -> PaymentOutcome:
    """Open a WeChat Pay order for ``note`` and record the channel's payment of it."""
    order = note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    return record_payment(deps, payment(order.out_trade_no, order.amount_fen, txn))


def paid_note(deps: Deps, txn: str = "4200000001202603020000000001", **changes: Any) -> Note:
    note = create_note(deps, **changes)
    assert pay(deps, note, txn) is PaymentOutcome.RECORDED
    paid = deps.notes.get(note.payment_code)
    assert paid is not None
    return paid


def numbers_taken(deps: Deps) -> int:
    """How many bill numbers have left the number ranges, all units and kinds together."""
    return sum(r.taken for r in deps.ranges.all())
