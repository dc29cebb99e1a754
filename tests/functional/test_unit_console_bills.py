"""The unit console's bills: 冲红, 作废 and 换开 from a bill's page, each confirmed on a page of its
own with a reason, audited under the person; refused with the 403 page to an operator the unit
admin has not allowed (who sees no button), 404 for another unit's bill, 400 without the box or
the reason, 403 without the CSRF token; and the bill list across days."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.functional.support import create_note, issued_bill
from tests.functional.test_console_sign_in import IP, post, sign_in
from tests.functional.test_unit_console import get, post_pairs

REASON = "缴款人申请退费"


def bill_path(bill: dict) -> str:
    return f"/console/unit/bills/{bill['bill_code']}/{bill['bill_number']}"


def status_of(world, bill: dict) -> str:
    return world.deps.bills.get(bill["bill_code"], bill["bill_number"]).status.value


def audited(action: str, username: str) -> list:
    from chalicelib import bootstrap

    return [e for e in bootstrap.deps().audit.query(bill_id=f"person#{username}")
            if e.action == action]


def allow(client, world, *actions: str) -> None:
    cookies, token = sign_in(client, world, "unit_admin")
    r = post_pairs(client, "/console/unit/people/permissions",
                   [("action", a) for a in actions], cookies, token)
    assert r.status_code == 200, r.body.decode()


def test_a_unit_admin_reverses_a_bill_after_confirming_a_reason_and_sees_the_red_bill(client,
                                                                                      world):
    _, bill = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    detail = get(client, bill_path(bill), cookies).body.decode()
    assert "正常" in detail and f"{bill_path(bill)}/confirm/reverse" in detail
    assert f"{bill_path(bill)}/confirm/void" in detail and f"{bill_path(bill)}/confirm/paper" in detail
    confirm = get(client, f"{bill_path(bill)}/confirm/reverse", cookies)
    html = confirm.body.decode()
    assert confirm.status_code == 200 and f'action="{bill_path(bill)}/reversal"' in html
    assert 'name="reason" required' in html and 'name="confirm" value="yes" required' in html
    r = post(client, f"{bill_path(bill)}/reversal", {"confirm": "yes", "reason": REASON},
             cookies, token)
    assert r.status_code == 303 and r.headers["Location"] == f"{bill_path(bill)}?done=reverse"
    assert status_of(world, bill) == "reversed"
    red_id = world.deps.bills.get(bill["bill_code"], bill["bill_number"]).links["reversed_by"]
    done = get(client, r.headers["Location"], cookies).body.decode()
    assert "已冲红" in done and red_id[8:] in done
    assert f'/console/unit/bills/{red_id[:8]}/{red_id[8:]}"' in done
    assert "/confirm/" not in done  # nothing more to do to a reversed bill
    red_page = get(client, f"/console/unit/bills/{red_id[:8]}/{red_id[8:]}", cookies)
    red_html = red_page.body.decode()
    assert "红字票据" in red_html and "-100.00" in red_html and "/confirm/" not in red_html
    [event] = audited("bill_reverse", "unit1.admin")
    assert event.detail["reason"] == REASON and event.detail["red_bill"] == red_id
    assert event.detail["target"] == bill["bill_code"] + bill["bill_number"]
    assert event.client == IP and event.unit_code == "340100001"
    again = post(client, f"{bill_path(bill)}/reversal", {"confirm": "yes", "reason": REASON},
                 cookies, token)  # a second post: the same red bill, nothing new
    assert again.status_code == 303 and len(audited("bill_reverse", "unit1.admin")) == 1
    auditor, _ = sign_in(client, world, "finance_auditor")
    trail = get(client, "/console/finance/audit?username=unit1.admin", auditor).body.decode()
    assert "<td>冲红</td>" in trail and REASON in trail and IP in trail


def test_without_the_box_or_the_reason_the_confirmation_comes_back_and_nothing_changes(client,
                                                                                       world):
    _, bill = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    for fields in ({"reason": REASON}, {"confirm": "yes", "reason": "  "}, {"confirm": "yes"}):
        for action in ("reversal", "void"):
            r = post(client, f"{bill_path(bill)}/{action}", fields, cookies, token)
            assert r.status_code == 400, (fields, action)
            assert "请填写原因并勾选确认" in r.body.decode()
    r = post(client, f"{bill_path(bill)}/reversal", {"confirm": "yes", "reason": "\u202e恶意"},
             cookies, token)
    assert r.status_code == 400 and 'id="e-reason"' in r.body.decode()
    assert status_of(world, bill) == "normal" and audited("bill_reverse", "unit1.admin") == []


def test_an_operator_sees_no_action_and_gets_the_403_page_until_the_admin_allows_it(client,
                                                                                   world):
    _, bill = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_operator")
    detail = get(client, bill_path(bill), cookies).body.decode()
    assert "/confirm/" not in detail and "需单位管理员授权" in detail
    refused = get(client, f"{bill_path(bill)}/confirm/reverse", cookies)
    assert refused.status_code == 403 and "无权操作" in refused.body.decode()
    for action in ("reversal", "void", "paper"):
        r = post(client, f"{bill_path(bill)}/{action}", {"confirm": "yes", "reason": REASON,
                 "paper_bill_code": "34012126", "paper_bill_number": "0000000007"},
                 cookies, token)
        assert r.status_code == 403 and "单位管理员未允许经办人" in r.body.decode(), action
    assert status_of(world, bill) == "normal"
    allow(client, world, "reverse")
    detail = get(client, bill_path(bill), cookies).body.decode()
    assert "/confirm/reverse" in detail and "/confirm/void" not in detail
    assert post(client, f"{bill_path(bill)}/void", {"confirm": "yes", "reason": REASON},
                cookies, token).status_code == 403
    r = post(client, f"{bill_path(bill)}/reversal", {"confirm": "yes", "reason": REASON},
             cookies, token)
    assert r.status_code == 303 and status_of(world, bill) == "reversed"
    [event] = audited("bill_reverse", "unit1.operator")
    assert event.detail["by"] == "unit1.operator" and event.detail["role"] == "unit_operator"


def test_another_units_bill_is_not_found_for_the_page_and_every_action(client, world):
    from tests.functional.support import get_note, notification, open_order, post_notification

    code = create_note(world, client, {
        "payer": {"name": "李四", "type": "individual"}, "total_fen": 5000,
        "items": [{"item_code": "103050101001", "name": "公安交警罚没收入", "quantity": 1,
                   "standard_fen": 5000, "amount_fen": 5000}]}, unit=1)["payment_code"]
    post_notification(client, *notification(world, open_order(client, code)))
    world.drain()
    bill = get_note(world, client, code, unit=1)["bill"]
    cookies, token = sign_in(client, world, "unit_admin")
    assert get(client, bill_path(bill), cookies).status_code == 404
    assert get(client, f"{bill_path(bill)}/confirm/void", cookies).status_code == 404
    for action in ("reversal", "void", "paper"):
        r = post(client, f"{bill_path(bill)}/{action}", {"confirm": "yes", "reason": REASON,
                 "paper_bill_code": "34012126", "paper_bill_number": "0000000007"},
                 cookies, token)
        assert r.status_code == 404 and "票据不存在" in r.body.decode(), action
    assert status_of(world, bill) == "normal"
    found = get(client, f"/console/unit/bills?q={bill['bill_code']}{bill['bill_number']}",
                cookies)
    assert found.status_code == 200  # not opened: another unit's id is only a word


def test_a_post_without_the_csrf_token_changes_nothing(client, world):
    _, bill = issued_bill(world, client)
    cookies, _ = sign_in(client, world, "unit_admin")
    for action in ("reversal", "void"):
        r = post(client, f"{bill_path(bill)}/{action}", {"confirm": "yes", "reason": REASON},
                 cookies, None)
        assert r.status_code == 403 and "刷新页面" in r.body.decode()
    assert status_of(world, bill) == "normal"


def test_a_voided_bill_says_why_and_a_reimbursed_one_offers_no_void(client, world):
    from tests.functional.test_reimbursements_api import reimburse

    _, bill = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    r = post(client, f"{bill_path(bill)}/void", {"confirm": "yes", "reason": "开票信息填写错误"},
             cookies, token)
    assert r.status_code == 303 and status_of(world, bill) == "voided"
    html = get(client, r.headers["Location"], cookies).body.decode()
    assert "票据已作废" in html and "开票信息填写错误" in html and "/confirm/" not in html
    [event] = audited("bill_void", "unit1.admin")
    assert event.detail["reason"] == "开票信息填写错误"
    _, held = issued_bill(world, client)
    assert reimburse(world, client, held).status_code == 201
    html = get(client, bill_path(held), cookies).body.decode()
    assert "/confirm/void" not in html and "/confirm/reverse" in html and "报销入账" in html
    r = post(client, f"{bill_path(held)}/void", {"confirm": "yes", "reason": "错误"},
             cookies, token)
    assert r.status_code == 409 and "不能作废" in r.body.decode()
    assert status_of(world, held) == "normal"


def test_a_paper_exchange_records_the_paper_bills_number_and_shows_it(client, world):
    _, bill = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    bad = post(client, f"{bill_path(bill)}/paper", {"confirm": "yes", "reason": "缴款人要纸质票",
               "paper_bill_code": "3401", "paper_bill_number": "0000000007"}, cookies, token)
    assert bad.status_code == 400 and "纸质票据信息格式不正确" in bad.body.decode()
    assert 'value="3401"' in bad.body.decode()  # what was typed comes back
    r = post(client, f"{bill_path(bill)}/paper", {"confirm": "yes", "reason": "缴款人要纸质票",
             "paper_bill_code": "34012126", "paper_bill_number": "0000000007"}, cookies, token)
    assert r.status_code == 303
    html = get(client, r.headers["Location"], cookies).body.decode()
    assert "已换开纸质票据" in html and "0000000007" in html and "/confirm/paper" not in html
    [event] = audited("bill_paper", "unit1.admin")
    assert event.detail["paper_bill"] == "340121260000000007"
    assert event.detail["reason"] == "缴款人要纸质票"


def test_the_bill_list_spans_days_and_searches_by_date_status_payer_and_number(client, world):
    first_code, first = issued_bill(world, client)
    world.clock.now += timedelta(days=3)
    _, second = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_admin")
    post(client, f"{bill_path(first)}/reversal", {"confirm": "yes", "reason": REASON},
         cookies, token)
    listing = get(client, "/console/unit/bills", cookies).body.decode()
    numbers = re.findall(r'/console/unit/bills/\d{8}/(\d{10})"', listing)
    red_id = world.deps.bills.get(first["bill_code"], first["bill_number"]).links["reversed_by"]
    assert numbers == [red_id[8:], second["bill_number"], first["bill_number"]]  # newest first
    day = world.clock().strftime("%Y-%m-%d")
    today = get(client, f"/console/unit/bills?issued_from={day}", cookies).body.decode()
    assert first["bill_number"] not in re.findall(r'/(\d{10})"', today)
    reversed_only = get(client, "/console/unit/bills?status=reversed", cookies).body.decode()
    assert re.findall(r'/console/unit/bills/\d{8}/(\d{10})"', reversed_only) == [
        first["bill_number"]]
    red_only = get(client, "/console/unit/bills?status=red", cookies).body.decode()
    assert re.findall(r'/console/unit/bills/\d{8}/(\d{10})"', red_only) == [red_id[8:]]
    by_number = get(client, f"/console/unit/bills?q={second['bill_number']}", cookies)
    assert re.findall(r'/console/unit/bills/\d{8}/(\d{10})"', by_number.body.decode()) == [
        second["bill_number"]]
    opened = get(client, f"/console/unit/bills?q={second['bill_code']}{second['bill_number']}",
                 cookies)
    assert opened.status_code == 303 and opened.headers["Location"] == bill_path(second)
    to_note = get(client, f"/console/unit/bills?q={first_code}", cookies)
    assert to_note.status_code == 303 and to_note.headers["Location"].endswith(first_code)
    bad = get(client, "/console/unit/bills?issued_from=2026-06-20&issued_to=2026-06-01",
              cookies)
    assert bad.status_code == 200 and 'aria-invalid="true"' in bad.body.decode()
    forged = get(client, "/console/unit/bills?cursor=forged", cookies)
    assert forged.status_code == 200 and "没有符合条件的票据" in forged.body.decode()
