"""The unit console's exception payments: the list with each refund's state; a bank counter
payment refunded by hand and recorded (登记线下退款), a failed refund asked again under a new
number (重新发起退款), each confirmed with a reason and audited; refused to an operator the
admin has not allowed (403, no link), another unit's payment 404, a missing reason 400."""

from __future__ import annotations

from chalicelib.domain.payments import next_out_refund_no, out_refund_no
from devstack.notifications import bank_notification
from tests.functional.channel_support import run_job
from tests.functional.support import create_note, notification, open_order, post_notification
from tests.functional.test_console_sign_in import IP, post, sign_in
from tests.functional.test_unit_console import get
from tests.functional.test_unit_console_bills import allow, audited

EXCEPTIONS = "/console/unit/exceptions"


def bank_exception(world, client, unit: int = 0) -> dict:
    """A counter payment of the wrong amount: an exception the refund job leaves ``manual``."""
    body = None if unit == 0 else {
        "payer": {"name": "李四", "type": "individual"}, "total_fen": 5000,
        "items": [{"item_code": "103050101001", "name": "公安交警罚没收入", "quantity": 1,
                   "standard_fen": 5000, "amount_fen": 5000}]}
    code = create_note(world, client, body, unit=unit)["payment_code"]
    sent, headers = bank_notification(world.stack, code, 9000, now=world.clock())
    assert client.http.post("/callbacks/bank", body=sent, headers=headers).status_code == 409
    run_job("refund_exceptions")
    [row] = [r for r in world.deps.payments.for_note(code) if r.status == "exception"]
    assert row.refund_status == "manual"
    return {"code": code, "channel": row.channel, "txn": row.channel_txn_id,
            "payment_id": row.payment_id}


def wechat_paid_twice(world, client) -> dict:
    """A note paid on two orders: the second payment an exception, refunded by the job."""
    code = create_note(world, client)["payment_code"]
    first, second = open_order(client, code), open_order(client, code)
    for order in (first, second):
        assert post_notification(client, *notification(world, order)).status_code in (200, 204)
    [row] = [r for r in world.deps.payments.for_note(code) if r.status == "exception"]
    return {"code": code, "channel": row.channel, "txn": row.channel_txn_id,
            "payment_id": row.payment_id}


def path(row: dict, action: str) -> str:
    return f"{EXCEPTIONS}/{row['channel']}/{row['txn']}/{action}"


def test_a_bank_counter_refund_given_by_hand_is_recorded_with_a_reason(client, world):
    row = bank_exception(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    listing = get(client, EXCEPTIONS, cookies).body.decode()
    assert row["code"] in listing and "需线下退款" in listing and "90.00" in listing
    assert path(row, "confirm/offline") in listing and path(row, "confirm/retry") not in listing
    confirm = get(client, path(row, "confirm/offline"), cookies)
    assert confirm.status_code == 200 and f'action="{path(row, "offline")}"' in \
        confirm.body.decode()
    missing = post(client, path(row, "offline"), {"confirm": "yes"}, cookies, token)
    assert missing.status_code == 400 and "请填写原因" in missing.body.decode()
    unchecked = post(client, path(row, "offline"), {"reason": "柜台退现金"}, cookies, token)
    assert unchecked.status_code == 400
    assert world.deps.refunds.get(row["payment_id"]).refund_status == "manual"
    r = post(client, path(row, "offline"), {"confirm": "yes", "reason": "柜台退现金，凭证 0001"},
             cookies, token)
    assert r.status_code == 303 and r.headers["Location"].startswith(f"{EXCEPTIONS}?done=offline")
    stored = world.deps.refunds.get(row["payment_id"])
    assert stored.refund_status == "offline" and "柜台退现金，凭证 0001" in stored.refund_detail
    after = get(client, r.headers["Location"], cookies).body.decode()
    assert "已登记线下退款" in after and "已线下退款" in after
    assert path(row, "confirm/offline") not in after
    [event] = audited("refund_offline", "unit1.admin")
    assert event.detail["target"] == row["payment_id"] and event.detail["amount_fen"] == 9000
    assert event.detail["before"] == "manual" and event.client == IP
    again = post(client, path(row, "offline"), {"confirm": "yes", "reason": "再登记一次"},
                 cookies, token)
    assert again.status_code == 409 and len(audited("refund_offline", "unit1.admin")) == 1


def test_a_failed_refund_is_asked_again_under_a_new_number_that_the_job_sends(client, world):
    row = wechat_paid_twice(world, client)  # forged notifications: WeChat knows no such order
    run_job("refund_exceptions")
    first_no = out_refund_no(row["payment_id"])
    assert world.deps.refunds.get(row["payment_id"]).refund_status == "failed"
    cookies, token = sign_in(client, world, "unit_admin")
    listing = get(client, f"{EXCEPTIONS}?refund_status=failed", cookies).body.decode()
    assert "退款失败" in listing and "订单不存在" in listing and "重复缴款" in listing
    assert path(row, "confirm/retry") in listing and path(row, "confirm/offline") in listing
    r = post(client, path(row, "retry"), {"confirm": "yes", "reason": "渠道退款关闭，重新退款"},
             cookies, token)
    assert r.status_code == 303
    new_no = next_out_refund_no(row["payment_id"], first_no)
    stored = world.deps.refunds.get(row["payment_id"])
    assert (stored.refund_status, stored.out_refund_no) == ("pending", new_no)
    [event] = audited("refund_retry", "unit1.admin")
    assert (event.detail["failed_refund_no"], event.detail["out_refund_no"]) == (first_no, new_no)
    twice = post(client, path(row, "retry"), {"confirm": "yes", "reason": "再点一次"},
                 cookies, token)
    assert twice.status_code == 409  # pending now: nothing to ask again
    run_job("refund_exceptions")
    sent = [s["out_refund_no"] for c, api, s in world.channels.calls
            if c == "wechatpay" and api == "/v3/refund/domestic/refunds"]
    assert sent == [first_no, new_no]
    assert world.deps.refunds.get(row["payment_id"]).refund_status != "pending"


def test_an_operator_needs_the_refund_permission_and_another_units_payment_is_not_found(
        client, world):
    row = bank_exception(world, client)
    other = bank_exception(world, client, unit=1)
    cookies, token = sign_in(client, world, "unit_operator")
    listing = get(client, EXCEPTIONS, cookies).body.decode()
    assert row["code"] in listing and other["code"] not in listing
    assert "/confirm/" not in listing and "处理退款需单位管理员授权" in listing
    assert get(client, path(row, "confirm/offline"), cookies).status_code == 403
    r = post(client, path(row, "offline"), {"confirm": "yes", "reason": "柜台退现金"},
             cookies, token)
    assert r.status_code == 403 and "单位管理员未允许经办人处理退款" in r.body.decode()
    allow(client, world, "refund")
    assert path(row, "confirm/offline") in get(client, EXCEPTIONS, cookies).body.decode()
    for action in ("offline", "retry"):
        r = post(client, path(other, action), {"confirm": "yes", "reason": "柜台退现金"},
                 cookies, token)
        assert r.status_code == 404, action
    assert get(client, path(other, "confirm/offline"), cookies).status_code == 404
    assert world.deps.refunds.get(other["payment_id"]).refund_status == "manual"
    no_csrf = post(client, path(row, "offline"), {"confirm": "yes", "reason": "柜台退现金"},
                   cookies, None)
    assert no_csrf.status_code == 403
    r = post(client, path(row, "offline"), {"confirm": "yes", "reason": "柜台退现金"},
             cookies, token)
    assert r.status_code == 303
    assert world.deps.refunds.get(row["payment_id"]).refund_status == "offline"
