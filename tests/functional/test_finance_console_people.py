"""The finance console's people and audit pages: an admin creates, unlocks and resets; an
auditor sees the same pages and every change is a 403 page; the audit page filters."""

from __future__ import annotations

import re

from tests.functional.test_console_sign_in import IP, person, post, sign_in


def get(client, path: str, cookies: list[str]):
    return client.http.get(path, headers={"Cookie": "; ".join(cookies), "X-Forwarded-For": IP})


def test_a_finance_admin_creates_a_unit_operator_and_sees_the_totp_secret_once(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people", {
        "username": "wu.qing", "display_name": "吴青", "role": "unit_operator",
        "unit_code": "340100002", "password": "Maple-Tree-2026", "totp": "yes"}, cookies, token)
    html = r.body.decode()
    assert r.status_code == 200 and "已创建账号 wu.qing" in html
    assert "otpauth://totp/" in html and "<svg" in html
    listing = get(client, "/console/finance/people", cookies).body.decode()
    assert "wu.qing" in listing and "吴青" in listing and "otpauth" not in listing


def test_a_weak_password_is_refused_with_the_reason_and_nothing_is_created(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people", {
        "username": "wu.qing", "role": "unit_operator", "unit_code": "340100002",
        "password": "password12"}, cookies, token)
    assert r.status_code == 400 and "三类" in r.body.decode()
    assert "password12" not in r.body.decode()
    assert "wu.qing" not in get(client, "/console/finance/people", cookies).body.decode() \
        .split("新建账号")[0]


def test_an_auditor_sees_the_people_but_every_change_is_a_403_page(client, world):
    cookies, token = sign_in(client, world, "finance_auditor")
    listing = get(client, "/console/finance/people", cookies)
    assert listing.status_code == 200 and "unit1.operator" in listing.body.decode()
    assert "新建账号" not in listing.body.decode()
    r = post(client, "/console/finance/people", {
        "username": "wu.qing", "role": "unit_operator", "unit_code": "340100002",
        "password": "Maple-Tree-2026"}, cookies, token)
    assert r.status_code == 403 and "审计员只读" in r.body.decode()
    r = post(client, "/console/finance/people/unit1.operator/unlock", {}, cookies, token)
    assert r.status_code == 403


def test_a_post_without_the_csrf_token_changes_nothing(client, world):
    cookies, _ = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people/unit1.admin/totp", {"confirm": "yes"}, cookies,
             None)
    assert r.status_code == 403 and "刷新页面" in r.body.decode()


def test_an_admin_unlocks_a_locked_account_and_the_audit_page_shows_who_did(client, world):
    who = person(world, "unit_operator")
    from tests.functional.test_console_sign_in import csrf

    csrf_cookie, csrf_token = csrf(client)
    for _ in range(5):
        post(client, "/console/sign-in", {"username": who["username"], "password": "Bad-pass-123"},
             [csrf_cookie], csrf_token)
    cookies, token = sign_in(client, world, "finance_admin")
    assert "已锁定" in get(client, "/console/finance/people", cookies).body.decode()
    r = post(client, f"/console/finance/people/{who['username']}/unlock", {}, cookies, token)
    assert r.status_code == 200 and "已解锁" in r.body.decode()
    audit = get(client, f"/console/finance/audit?username={who['username']}", cookies)
    html = audit.body.decode()
    assert audit.status_code == 200 and "解锁账号" in html and "账户锁定" in html
    assert "by=finance.admin" in html and IP in html
    today = get(client, "/console/finance/audit", cookies).body.decode()
    assert re.search(r"登录</td><td>成功", today)


def test_a_reset_totp_needs_the_confirmation_box(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people/unit1.admin/totp", {}, cookies, token)
    assert r.status_code == 400
    r = post(client, "/console/finance/people/unit1.admin/totp", {"confirm": "yes"}, cookies,
             token)
    assert r.status_code == 200 and "otpauth://totp/" in r.body.decode()


def test_a_bad_day_in_the_audit_filter_is_said_not_failed(client, world):
    cookies, _ = sign_in(client, world, "finance_auditor")
    r = get(client, "/console/finance/audit?day=2026-13-45", cookies)
    assert r.status_code == 200 and "日期格式" in r.body.decode()


def test_the_day_page_totals_notes_payments_and_bills_per_unit_and_fee_item(client, world):
    from tests.functional.support import issued_bill

    code, bill = issued_bill(world, client)
    cookies, _ = sign_in(client, world, "finance_auditor")
    day = world.clock().strftime("%Y-%m-%d")
    html = get(client, f"/console/finance/day?day={day}", cookies).body.decode()
    assert code in html and bill["bill_number"] in html
    assert "340100001 合肥市不动产登记中心" in html
    assert re.search(r"<td>103040100101 不动产登记费（住宅）</td>"
                     r"<td class=\"num\">1</td><td class=\"num\">80.00</td>", html)
    other = get(client, f"/console/finance/day?day={day}&unit_code=340100002", cookies)
    assert code not in other.body.decode() and "当日没有业务" in other.body.decode()
    bad = get(client, "/console/finance/day?day=15-06-2026", cookies)
    assert bad.status_code == 200 and "日期格式" in bad.body.decode()
