"""Guessing limits (issue 9, points 4-6): who is counted, what is refused, what never changes."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain.errors import NotFound, RateLimited, ValidationFailed
from chalicelib.domain.masking import mask_credit_code
from chalicelib.services import limits, my_bills
from chalicelib.services import notes as note_service
from chalicelib.services.bills import find_bill
from chalicelib.services.checkout import unionpay_form
from chalicelib.services.issuance import issue_bill
from chalicelib.services.limits import GUESSES_PER_BILL_PER_DAY, Guesser, client_key
from chalicelib.services.note_lookup import lookup_note, lookup_view
from chalicelib.services.order_query import query_open_orders
from chalicelib.services.verification import verify_elements
from devstack.seed import REIMBURSING
from tests.unit.scenario import create_note, paid_note

BUDGET = limits.GUESSES_PER_CLIENT_PER_HOUR
UNKNOWN = "34010026000000000000"  # well-formed for the services (no check digit there)


def unknown_codes(n: int) -> list[str]:
    return [f"340100260000000{i:05d}" for i in range(n)]


# ---- who a client is ----------------------------------------------------------------------

def test_an_ipv4_client_is_keyed_by_its_address():
    assert client_key("203.0.113.9") == "203.0.113.9"
    assert client_key(" 203.0.113.9 ") == "203.0.113.9"
    assert client_key("203.0.113.9") != client_key("203.0.113.10")


def test_an_ipv6_client_is_keyed_by_its_normalised_64_prefix():
    one = client_key("2001:db8:aa:bb:1:2:3:4")
    assert one == "2001:db8:aa:bb::/64"
    assert client_key("2001:0db8:00aa:00bb:ffff:ffff:ffff:ffff") == one
    assert client_key("2001:DB8:AA:BB::1") == one
    assert client_key("2001:db8:aa:bb::1%eth0") == one
    assert client_key("2001:db8:aa:bc::1") != one


def test_an_ipv4_mapped_ipv6_address_is_its_ipv4_and_garbage_is_kept_bounded():
    assert client_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_key("unknown") == "unknown"
    assert client_key("") == "unknown"
    assert len(client_key("x" * 500)) == 64


def test_addresses_of_one_ipv6_64_share_one_guessing_budget(deps):
    for i, code in enumerate(unknown_codes(BUDGET)):
        with pytest.raises(NotFound):
            note_service.get_public_note(deps, code, f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(RateLimited):
        note_service.get_public_note(deps, UNKNOWN, "2001:db8:1:2:ffff::9")
    with pytest.raises(NotFound):  # the neighbouring /64 is someone else
        note_service.get_public_note(deps, UNKNOWN, "2001:db8:1:3::1")


# ---- payment codes (point 4) --------------------------------------------------------------

def test_opening_orders_for_unknown_codes_is_limited_like_reading_them(deps):
    for code in unknown_codes(BUDGET):
        with pytest.raises(NotFound):
            note_service.open_order(deps, code, {"channel": "wechatpay"}, "203.0.113.9")
    with pytest.raises(RateLimited) as refused:
        note_service.open_order(deps, UNKNOWN, {"channel": "wechatpay"}, "203.0.113.9")
    assert refused.value.retry_after == 3600 and "一小时后再试" in refused.value.message


def test_once_out_of_guesses_a_client_is_refused_a_real_code_too_and_others_are_not(deps):
    note = create_note(deps)
    for code in unknown_codes(BUDGET):
        with pytest.raises(NotFound):
            note_service.get_public_note(deps, code, "203.0.113.9")
    with pytest.raises(RateLimited):  # a right guess now cannot be told from a wrong one
        note_service.get_public_note(deps, note.payment_code, "203.0.113.9")
    with pytest.raises(RateLimited):
        note_service.open_order(deps, note.payment_code, {"channel": "alipay"}, "203.0.113.9")
    assert note_service.get_public_note(deps, note.payment_code, "203.0.113.10") is not None


def test_all_routes_that_take_a_code_spend_one_budget(deps):
    for code in unknown_codes(10):
        with pytest.raises(NotFound):
            note_service.get_public_note(deps, code, "203.0.113.9")
    for i in range(10):
        with pytest.raises(NotFound):
            unionpay_form(deps, f"UNKNOWNORDER{i:04d}", "203.0.113.9")
    for code in unknown_codes(10):
        with pytest.raises(NotFound):
            note_service.open_order(deps, code, {"channel": "unionpay"}, "203.0.113.9")
    with pytest.raises(RateLimited):
        unionpay_form(deps, "UNKNOWNORDER9999", "203.0.113.9")


def test_a_client_is_counted_again_in_the_next_hour(deps, clock):
    for code in unknown_codes(BUDGET):
        with pytest.raises(NotFound):
            note_service.get_public_note(deps, code, "203.0.113.9")
    clock.advance(hours=1)
    with pytest.raises(NotFound):
        note_service.get_public_note(deps, UNKNOWN, "203.0.113.9")


# ---- open orders per note -----------------------------------------------------------------

def test_a_note_has_at_most_five_unexpired_open_orders(deps, clock):
    note = create_note(deps)
    opened = [note_service.open_order(deps, note.payment_code, {"channel": channel},
                                      f"203.0.113.{i}")
              for i, channel in enumerate(("wechatpay", "alipay", "unionpay", "wechatpay",
                                           "alipay"))]
    assert len({o.out_trade_no for o in opened}) == note_service.OPEN_ORDERS_PER_NOTE == 5
    with pytest.raises(RateLimited) as refused:
        note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"}, "203.0.113.99")
    assert refused.value.code == "too_many_open_orders"
    assert "已有5笔未完成的支付订单" in refused.value.message
    assert refused.value.retry_after == int(note_service.ORDER_LIFETIME.total_seconds())
    assert len(deps.notes.open) == 5  # nothing was written for the refused one

    clock.advance(minutes=30)
    with pytest.raises(RateLimited) as later:
        note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    assert later.value.retry_after == 90 * 60
    clock.advance(minutes=90)  # the first orders expire: their slots are free again
    assert note_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})


def test_the_order_cap_is_per_note(deps):
    first, second = create_note(deps), create_note(deps)
    for _ in range(5):
        note_service.open_order(deps, first.payment_code, {"channel": "wechatpay"})
    assert note_service.open_order(deps, second.payment_code, {"channel": "wechatpay"})


# ---- the active query covers every open order ---------------------------------------------

def open_orders_of_many_notes(deps, notes: int, per_note: int) -> int:
    for _ in range(notes):
        code = create_note(deps).payment_code
        for _ in range(per_note):
            note_service.open_order(deps, code, {"channel": "wechatpay"})
    return notes * per_note


def test_the_active_query_asks_about_every_open_order_page_after_page(deps, clock):
    total = open_orders_of_many_notes(deps, notes=53, per_note=5)  # 265 orders: 3 pages of 100
    api = deps.overrides["wechatpay_api"]
    clock.advance(minutes=4)
    counts = query_open_orders(deps, limit=100)
    assert sum(counts.values()) == total == 265 and counts == {"unpaid": 265}
    asked = [order.out_trade_no for name, order in api.calls if name == "query"]
    assert len(asked) == 265 and len(set(asked)) == 265
    assert deps.notes.open_order_pages == 3


def test_the_active_query_stops_at_its_time_budget_and_the_rest_waits(deps, clock):
    open_orders_of_many_notes(deps, notes=3, per_note=5)
    clock.advance(minutes=4)
    ticks = iter(range(1000))
    counts = query_open_orders(deps, limit=4, budget=7, timer=lambda: float(next(ticks)))
    assert counts == {"unpaid": 6, "deferred": 1}


# ---- check codes: the guesser is limited, not the bill (point 5) --------------------------

@pytest.fixture
def bill(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    return deps.bills.get(ref.bill_code, ref.bill_number).bill


def wrong(check_code: str, n: int) -> list[str]:
    codes = [f"w{i:05d}" for i in range(n + 1)]
    return [c for c in codes if c != check_code][:n]


def test_a_wrong_code_storm_stops_its_sender_only(deps, bill):
    storm = Guesser.client("198.51.100.66")
    for code in wrong(bill.check_code, GUESSES_PER_BILL_PER_DAY):
        with pytest.raises(NotFound):
            find_bill(deps, bill.bill_code, bill.bill_number, code, storm)
    with pytest.raises(RateLimited):  # the storm's sender: refused even with the right code
        find_bill(deps, bill.bill_code, bill.bill_number, bill.check_code, storm)
    found = find_bill(deps, bill.bill_code, bill.bill_number, bill.check_code,
                      Guesser.client("203.0.113.5"))
    assert found.bill.bill_id == bill.bill_id
    with pytest.raises(NotFound):  # and another client's wrong code is still just wrong
        find_bill(deps, bill.bill_code, bill.bill_number, "zzzzzz", Guesser.client("203.0.113.6"))


def test_a_reimbursing_unit_with_the_right_code_is_not_stopped_by_a_public_storm(deps, bill):
    for i in range(3):
        storm = Guesser.client(f"2001:db8:66::{i}")
        for code in wrong(bill.check_code, GUESSES_PER_BILL_PER_DAY):
            with pytest.raises((NotFound, RateLimited)):
                find_bill(deps, bill.bill_code, bill.bill_number, code, storm)
    unit = REIMBURSING[0]
    body = {"bill_code": bill.bill_code, "bill_number": bill.bill_number,
            "check_code": bill.check_code}
    assert verify_elements(deps, unit, body, "2001:db8:66::1")["result"] == "authentic"


def test_a_unit_is_limited_by_its_own_budget_not_by_its_address(deps, bill):
    unit, other = REIMBURSING
    for code in wrong(bill.check_code, GUESSES_PER_BILL_PER_DAY):
        body = {"bill_code": bill.bill_code, "bill_number": bill.bill_number, "check_code": code}
        assert verify_elements(deps, unit, body, "203.0.113.5")["result"] == "not_found"
    right = {"bill_code": bill.bill_code, "bill_number": bill.bill_number,
             "check_code": bill.check_code}
    with pytest.raises(RateLimited):
        verify_elements(deps, unit, right, "203.0.113.5")
    assert verify_elements(deps, other, right, "203.0.113.5")["result"] == "authentic"
    found = find_bill(deps, bill.bill_code, bill.bill_number, bill.check_code,
                      Guesser.client("203.0.113.5"))  # the same address, anonymously
    assert found.bill.bill_id == bill.bill_id


def test_a_unit_has_six_hundred_failed_lookups_an_hour(deps):
    unit = REIMBURSING[0]
    assert Guesser.unit(unit.unit_code).per_hour == 600
    for n in range(600):
        body = {"bill_code": "34010126", "bill_number": f"{n:010d}", "check_code": "abcdef"}
        verify_elements(deps, unit, body, "203.0.113.5")
    body = {"bill_code": "34010126", "bill_number": "0000009999", "check_code": "abcdef"}
    with pytest.raises(RateLimited):
        verify_elements(deps, unit, body, "203.0.113.5")


# ---- my bills: caps before the code changes (point 6) -------------------------------------

PHONE = "13812345678"


def texted_code(deps) -> str:
    found = re.search(r"验证码为(\d{6})", str(deps.sms.sent[-1]))
    assert found, deps.sms.sent
    return found.group(1)


def test_a_capped_number_keeps_the_code_its_owner_is_waiting_for(deps, clock):
    for _ in range(my_bills.CODES_PER_NUMBER_PER_DAY):
        my_bills.send_login_code(deps, PHONE, "203.0.113.5")
        clock.advance(seconds=61)
    owners_code, texts = texted_code(deps), len(deps.sms.sent)
    for ip in ("198.51.100.66", "198.51.100.67"):  # a stranger asks again for the number
        with pytest.raises(RateLimited) as refused:
            my_bills.send_login_code(deps, PHONE, ip)
        assert "该手机号今日获取验证码次数过多" in refused.value.message
    assert len(deps.sms.sent) == texts
    session = my_bills.verify_login_code(deps, PHONE, owners_code, "203.0.113.5")
    assert session.masked_phone == "138****5678"


def test_a_request_refused_for_the_cooldown_leaves_the_daily_allowance_alone(deps, clock):
    my_bills.send_login_code(deps, PHONE, "203.0.113.5")
    for _ in range(10):
        with pytest.raises(RateLimited):
            my_bills.send_login_code(deps, PHONE, "198.51.100.66")
    for _ in range(my_bills.CODES_PER_NUMBER_PER_DAY - 1):
        clock.advance(seconds=61)
        my_bills.send_login_code(deps, PHONE, "203.0.113.5")
    assert len(deps.sms.sent) == my_bills.CODES_PER_NUMBER_PER_DAY


def test_a_client_out_of_wrong_codes_cannot_use_up_the_owners_attempts(deps, clock):
    numbers = [f"1391234{n:04d}" for n in range(8)]
    for number in numbers:  # the stranger spends its 30 wrong codes on other numbers
        my_bills.send_login_code(deps, number, "198.51.100.66")
        for _ in range(4):
            try:
                my_bills.verify_login_code(deps, number, "000000", "198.51.100.66")
            except (ValidationFailed, RateLimited):
                pass
    my_bills.send_login_code(deps, PHONE, "203.0.113.5")
    owners_code = texted_code(deps)
    for _ in range(my_bills.MAX_ATTEMPTS):
        with pytest.raises(RateLimited):
            my_bills.verify_login_code(deps, PHONE, "000000", "198.51.100.66")
    assert my_bills.verify_login_code(deps, PHONE, owners_code, "203.0.113.5")


# ---- lookup by code and name (point 7) ----------------------------------------------------

def test_the_lookup_shows_the_phone_and_credit_code_masked(deps):
    note = create_note(deps, payer={"name": "合肥某某科技有限公司", "type": "organization",
                                    "phone": PHONE, "credit_code": "91340100MA2TGXJ81Y"})
    view = lookup_view(deps, lookup_note(deps, note.payment_code, "合肥某某科技有限公司",
                                         "203.0.113.5"))
    assert view["payer"]["phone"] == "138****5678"
    assert view["payer"]["credit_code"] == "9134**********J81Y"
    assert view["payer"]["name"] == "合肥某某科技有限公司"
    assert PHONE not in str(view) and "91340100MA2TGXJ81Y" not in str(view)


def test_a_credit_code_is_masked_but_for_its_first_and_last_four():
    assert mask_credit_code("91340100MA2XXXXX1X") == "9134**********XX1X"
    assert mask_credit_code(None) is None and mask_credit_code("") == ""
    assert mask_credit_code("12345678") == "********"


def test_a_client_out_of_guesses_is_refused_by_the_lookup_too(deps):
    note = create_note(deps)
    for code in unknown_codes(BUDGET):
        with pytest.raises(NotFound):
            note_service.get_public_note(deps, code, "203.0.113.9")
    with pytest.raises(RateLimited):
        lookup_note(deps, note.payment_code, "张三", "203.0.113.9")
