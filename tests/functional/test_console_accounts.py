"""A person's own account (/console/me: password and TOTP by themselves), an admin's changes to
an account (reset password, disable, role) that end its live sessions, and finance people of a
region who see and change only their region (the same 404 as a finance key of it)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from chalicelib.domain.people import Role
from chalicelib.services import people
from chalicelib.services.people import Actor, totp_now
from tests.functional.support import create_note
from tests.functional.test_console_sign_in import (
    IP,
    csrf,
    otp_for,
    person,
    post,
    sign_in,
    sign_in_as,
)

NEW_PASSWORD = "Copper-Kettle-2026"


def get(client, path: str, cookies: list[str]):
    return client.http.get(path, headers={"Cookie": "; ".join(cookies), "X-Forwarded-For": IP})


def pages(client, cookies, path: str, most: int) -> list[str]:
    """Every page's HTML from ``path`` on, following 下一页 to the end (fewer than ``most``)."""
    found = []
    while path:
        r = get(client, path, cookies)
        assert r.status_code == 200, r.body[:300]
        body = r.body.decode()
        found.append(body)
        following = re.search(r'<a href="([^"]+)">下一页</a>', body)
        path = html.unescape(following.group(1)) if following else ""
        assert len(found) < most
    return found


def events(world, username: str) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in world.deps.audit.query(bill_id=f"person#{username}")]


def attempt(client, world, who: dict, password: str, otp: str = ""):
    cookie, token = csrf(client)
    return post(client, "/console/sign-in", {"username": who["username"], "password": password,
                                             "otp": otp}, [cookie], token)


# ---- a person's own account -----------------------------------------------------------------

def test_every_role_has_its_account_page_with_both_forms(client, world):
    for role in ("finance_admin", "finance_auditor", "unit_admin", "unit_operator"):
        cookies, _ = sign_in(client, world, role)
        r = get(client, "/console/me", cookies)
        html = r.body.decode()
        assert r.status_code == 200 and "我的账号" in html, role
        assert 'action="/console/me/password"' in html and 'action="/console/me/totp"' in html
        assert "script" not in html.lower()


def test_a_person_changes_their_password_and_their_other_sessions_end(client, world):
    who = person(world, "unit_operator")
    mine, token = sign_in(client, world, "unit_operator")
    other, _ = sign_in(client, world, "unit_operator")
    r = post(client, "/console/me/password", {"current_password": "Wrong-pass-1234",
                                              "password": NEW_PASSWORD,
                                              "password2": NEW_PASSWORD}, mine, token)
    assert r.status_code == 400 and "当前密码不正确" in r.body.decode()
    r = post(client, "/console/me/password", {"current_password": who["password"],
                                              "password": NEW_PASSWORD,
                                              "password2": NEW_PASSWORD + "x"}, mine, token)
    assert r.status_code == 400 and "两次输入的新密码不一致" in r.body.decode()
    r = post(client, "/console/me/password", {"current_password": who["password"],
                                              "password": "short", "password2": "short"},
             mine, token)
    assert r.status_code == 400 and "密码长度" in r.body.decode()
    r = post(client, "/console/me/password", {"current_password": who["password"],
                                              "password": NEW_PASSWORD,
                                              "password2": NEW_PASSWORD}, mine, token)
    assert r.status_code == 200 and "已修改密码" in r.body.decode()
    assert "其他位置的 1 个登录会话已结束" in r.body.decode()
    assert get(client, "/console/unit", mine).status_code == 200
    assert get(client, "/console/unit", other).status_code == 303
    assert attempt(client, world, who, who["password"]).status_code == 401
    assert attempt(client, world, who, NEW_PASSWORD).status_code == 303
    assert ("password_change", "ok") in events(world, who["username"])


def test_a_person_enrols_totp_shown_once_and_it_counts_only_once_confirmed(client, world):
    who = person(world, "unit_operator")  # the demo operator has no TOTP
    mine, token = sign_in(client, world, "unit_operator")
    other, _ = sign_in(client, world, "unit_operator")
    r = post(client, "/console/me/totp", {"current_password": "Wrong-pass-1234"}, mine, token)
    assert r.status_code == 400 and "当前密码不正确" in r.body.decode()
    r = post(client, "/console/me/totp", {"current_password": who["password"]}, mine, token)
    html = r.body.decode()
    assert r.status_code == 200 and "<svg" in html and "仅显示这一次" in html
    secret = re.search(r"secret=([A-Z2-7]+)", html).group(1)
    assert f'<dd class="code">{secret}</dd>' in html
    assert secret not in get(client, "/console/me", mine).body.decode()
    assert attempt(client, world, who, who["password"]).status_code == 303  # not yet needed
    now = int(world.clock().timestamp())
    wrong = "000000" if totp_now(secret, now) != "000000" else "111111"
    r = post(client, "/console/me/totp/confirm", {"otp": wrong}, mine, token)
    assert r.status_code == 400 and "动态口令不正确" in r.body.decode()
    assert secret not in r.body.decode()
    r = post(client, "/console/me/totp/confirm", {"otp": totp_now(secret, now)}, mine, token)
    assert r.status_code == 200 and "已启用新的动态口令" in r.body.decode()
    assert get(client, "/console/unit", other).status_code == 303
    assert get(client, "/console/unit", mine).status_code == 200
    assert attempt(client, world, who, who["password"]).status_code == 401
    world.clock.now += timedelta(seconds=30)
    assert attempt(client, world, who, who["password"],
                   totp_now(secret, now + 30)).status_code == 303
    assert sorted(o for a, o in events(world, who["username"]) if a == "totp_enrol") == [
        "bad_otp", "bad_password", "offered", "ok"]


def test_a_finance_person_re_enrols_and_the_old_authenticator_stops_only_then(client, world):
    who = person(world, "finance_auditor")
    mine, token = sign_in(client, world, "finance_auditor")
    r = post(client, "/console/me/totp", {"current_password": who["password"]}, mine, token)
    secret = re.search(r"secret=([A-Z2-7]+)", r.body.decode()).group(1)
    world.clock.now += timedelta(seconds=30)
    now = int(world.clock().timestamp())
    assert attempt(client, world, who, who["password"], otp_for(world, who)).status_code == 303
    r = post(client, "/console/me/totp/confirm", {"otp": totp_now(secret, now)}, mine, token)
    assert r.status_code == 200  # an auditor may change their own account
    world.clock.now += timedelta(seconds=30)
    assert attempt(client, world, who, who["password"], otp_for(world, who)).status_code == 401
    assert attempt(client, world, who, who["password"],
                   totp_now(secret, now + 30)).status_code == 303


# ---- an admin's changes end the account's sessions -----------------------------------------

def test_a_session_open_before_a_password_reset_is_refused_after_it(client, world):
    who = person(world, "unit_operator")
    theirs, _ = sign_in(client, world, "unit_operator")
    admin, token = sign_in(client, world, "finance_admin")
    page = get(client, "/console/finance/people/unit1.operator", admin)
    assert page.status_code == 200 and "重置密码" in page.body.decode()
    r = post(client, "/console/finance/people/unit1.operator/password",
             {"password": NEW_PASSWORD}, admin, token)
    assert r.status_code == 400 and get(client, "/console/unit", theirs).status_code == 200
    r = post(client, "/console/finance/people/unit1.operator/password",
             {"password": NEW_PASSWORD, "confirm": "yes"}, admin, token)
    assert r.status_code == 200 and "已重置 unit1.operator 的密码" in r.body.decode()
    r = get(client, "/console/unit", theirs)
    assert r.status_code == 303 and r.headers["Location"] == "/console?expired=1"
    assert attempt(client, world, who, NEW_PASSWORD).status_code == 303
    assert ("sessions_ended", "ok") in events(world, who["username"])


def test_a_disabled_person_is_signed_out_and_may_not_sign_in_until_enabled(client, world):
    who = person(world, "unit_operator")
    theirs, _ = sign_in(client, world, "unit_operator")
    admin, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people/unit1.operator/disable",
             {"disabled": "yes", "confirm": "yes"}, admin, token)
    assert r.status_code == 200 and "已停用账号" in r.body.decode()
    assert get(client, "/console/unit", theirs).status_code == 303
    r = attempt(client, world, who, who["password"])
    assert r.status_code == 401 and "账户已停用" in r.body.decode()
    assert "已停用" in get(client, "/console/finance/people", admin).body.decode()
    r = post(client, "/console/finance/people/unit1.operator/disable",
             {"disabled": "no", "confirm": "yes"}, admin, token)
    assert r.status_code == 200 and attempt(client, world, who, who["password"]).status_code == 303


def test_a_role_change_ends_the_sessions_that_carried_the_old_role(client, world):
    theirs, _ = sign_in(client, world, "unit_operator")
    admin, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people/unit1.operator/role", {"role": "unit_admin"},
             admin, token)
    assert r.status_code == 200 and "单位管理员" in r.body.decode()
    assert get(client, "/console/unit", theirs).status_code == 303
    assert world.deps.people.get("unit1.operator").role is Role.UNIT_ADMIN
    r = post(client, "/console/finance/people/unit1.operator/role", {"role": "finance_admin"},
             admin, token)
    assert r.status_code == 400
    auditor, auditor_token = sign_in(client, world, "finance_auditor")
    for action, form in (("password", {"password": NEW_PASSWORD, "confirm": "yes"}),
                         ("disable", {"disabled": "yes", "confirm": "yes"}),
                         ("role", {"role": "unit_operator"})):
        r = post(client, f"/console/finance/people/unit1.operator/{action}", form, auditor,
                 auditor_token)
        assert r.status_code == 403, action
    assert not world.deps.people.get("unit1.operator").disabled


# ---- finance people of a region -------------------------------------------------------------

def _wuhu(world) -> dict:
    """A unit in 芜湖 (3402) and a finance admin of 芜湖 with their credentials."""
    from chalicelib.services import units

    units.create_unit(world.deps, unit_code="340200001", name="芜湖市不动产登记中心",
                      kind="collecting", region_code="340202")
    root = Actor("finance.admin", Role.FINANCE_ADMIN, None, IP)
    _, secret = people.create_person(world.deps, root, username="wuhu.admin",
                                     role="finance_admin", unit_code=None,
                                     password=NEW_PASSWORD, scope="3402")
    return {"username": "wuhu.admin", "password": NEW_PASSWORD, "totp_secret": secret}


def test_a_citys_finance_person_sees_only_its_units_and_others_are_404(client, world):
    create_note(world, client)  # a note of 340100001 (合肥) today
    cookies, _ = sign_in_as(client, world, _wuhu(world))
    home = get(client, "/console/finance", cookies).body.decode()
    assert "辖区" in home and "3402" in home
    units = get(client, "/console/finance/units", cookies).body.decode()
    assert "340200001" in units and "340100001" not in units
    assert get(client, "/console/finance/units/340200001", cookies).status_code == 200
    for path in ("/console/finance/units/340100001", "/console/finance/day?unit_code=340100001",
                 "/console/finance/audit?unit_code=340100001",
                 "/console/finance/audit?username=finance.admin",
                 "/console/finance/people/unit1.operator"):
        r = get(client, path, cookies)
        assert r.status_code == 404, (path, r.status_code)
    day = get(client, "/console/finance/day", cookies).body.decode()
    assert "340100001" not in day
    listing = get(client, "/console/finance/people", cookies).body.decode()
    assert "wuhu.admin" in listing
    assert "unit1.operator" not in listing and "finance.auditor" not in listing
    audit = get(client, "/console/finance/audit", cookies).body.decode()
    assert "340100001" not in audit and "finance.admin" not in audit.replace(
        "by=finance.admin", "")
    assert get(client, "/console/finance/reports/weekly", cookies).status_code == 200


def test_a_citys_finance_admin_changes_and_creates_only_within_the_city(client, world):
    cookies, token = sign_in_as(client, world, _wuhu(world))
    for action, form in (("unlock", {}), ("totp", {"confirm": "yes"}),
                         ("password", {"password": "Another-Pass-2026", "confirm": "yes"}),
                         ("disable", {"disabled": "yes", "confirm": "yes"}),
                         ("role", {"role": "unit_admin"})):
        r = post(client, f"/console/finance/people/unit1.operator/{action}", form, cookies, token)
        assert r.status_code == 404, (action, r.status_code)
    r = post(client, "/console/finance/units/340100001/ranges", {"bill_kind": "0101",
                                                                 "count": "10"}, cookies, token)
    assert r.status_code == 404
    r = post(client, "/console/finance/people", {
        "username": "hf.op", "role": "unit_operator", "unit_code": "340100001",
        "password": "Maple-Tree-2026", "totp": "yes"}, cookies, token)
    assert r.status_code == 400 and "单位不存在" in r.body.decode()
    r = post(client, "/console/finance/people", {
        "username": "ah.fin", "role": "finance_auditor", "scope": "34",
        "password": "Maple-Tree-2026"}, cookies, token)
    assert r.status_code == 400 and "本人管辖" in r.body.decode()
    assert world.deps.people.get("hf.op") is None and world.deps.people.get("ah.fin") is None
    r = post(client, "/console/finance/people", {
        "username": "wh.op", "role": "unit_operator", "unit_code": "340200001",
        "password": "Maple-Tree-2026", "totp": "yes"}, cookies, token)
    assert r.status_code == 200
    r = post(client, "/console/finance/people", {
        "username": "jinghu.fin", "role": "finance_auditor", "scope": "340202",
        "password": "Maple-Tree-2026"}, cookies, token)
    assert r.status_code == 200 and world.deps.people.get("jinghu.fin").scope == "340202"
    r = post(client, "/console/finance/units", {"unit_code": "340100077", "name": "合肥某单位",
                                                "kind": "collecting", "region_code": "340102",
                                                "bill_kind": "0301"}, cookies, token)
    assert r.status_code == 403 and world.deps.units.get("340100077") is None


def test_a_region_change_ends_the_finance_persons_sessions(client, world):
    wuhu = _wuhu(world)
    theirs, _ = sign_in_as(client, world, wuhu)
    admin, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people/wuhu.admin/role",
             {"role": "finance_admin", "scope": "340202"}, admin, token)
    assert r.status_code == 200 and "340202" in r.body.decode()
    assert get(client, "/console/finance", theirs).status_code == 303
    assert world.deps.people.get("wuhu.admin").scope == "340202"


def test_the_create_person_command_gives_a_finance_person_a_region(world, monkeypatch, capsys):
    import json

    from chalicelib.cli import main

    monkeypatch.setenv("CONSOLE_PASSWORD", "Harbor-lights-42")
    assert main(["create-person", "--username", "fei.xi", "--role", "finance_admin",
                 "--scope", "340100"]) == 0
    assert json.loads(capsys.readouterr().out)["scope"] == "3401"
    assert world.deps.people.get("fei.xi").scope == "3401"
    assert main(["create-person", "--username", "fei.dong", "--role", "finance_admin",
                 "--scope", "3x"]) == 2


def test_a_unit_admin_disables_and_resets_only_their_own_operators(client, world):
    who = person(world, "unit_operator")
    theirs, _ = sign_in(client, world, "unit_operator")
    admin, token = sign_in(client, world, "unit_admin")
    page = get(client, "/console/unit/people", admin).body.decode()
    assert "重置经办人密码" in page and 'action="/console/unit/people/unit1.operator/disable"' in page
    r = post(client, "/console/unit/people/password", {"username": "unit1.operator",
                                                       "password": NEW_PASSWORD,
                                                       "confirm": "yes"}, admin, token)
    assert r.status_code == 200 and "已重置 unit1.operator 的密码" in r.body.decode()
    assert get(client, "/console/unit", theirs).status_code == 303
    assert attempt(client, world, who, NEW_PASSWORD).status_code == 303
    r = post(client, "/console/unit/people/unit1.operator/disable",
             {"disabled": "yes", "confirm": "yes"}, admin, token)
    assert r.status_code == 200 and "已停用" in r.body.decode()
    assert attempt(client, world, who, NEW_PASSWORD).status_code == 401
    for path, form in (("/console/unit/people/unit1.admin/disable",
                        {"disabled": "yes", "confirm": "yes"}),
                       ("/console/unit/people/finance.admin/disable",
                        {"disabled": "yes", "confirm": "yes"}),
                       ("/console/unit/people/password", {"username": "finance.admin",
                                                          "password": NEW_PASSWORD,
                                                          "confirm": "yes"})):
        assert post(client, path, form, admin, token).status_code == 404, path
    assert not world.deps.people.get("finance.admin").disabled
