"""The consoles' door over the app (moto's DynamoDB behind ``DynamoPeople``): the sign-in form,
the session cookie's flags, CSRF on every post, landing by role, a lesser role's 403 page,
lockout and a used TOTP code refused, sign-out."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from chalicelib.domain.people import UnitAction
from chalicelib.services.people import totp_now

FORM = "application/x-www-form-urlencoded"
IP = "198.51.100.7"


def person(world, role: str) -> dict:
    return next(p for p in world.stack["people"] if p["role"] == role)


def set_cookies(response) -> list[str]:
    value = response.headers.get("Set-Cookie") or []
    return value if isinstance(value, list) else [value]


def csrf(client) -> tuple[str, str]:
    r = client.http.get("/console", headers={"X-Forwarded-For": IP})
    cookie = next(c for c in set_cookies(r) if c.startswith("csrf_token="))
    return cookie.split(";")[0], re.search(r'name="csrf_token" value="([^"]+)"',
                                           r.body.decode()).group(1)


def post(client, path: str, fields: dict, cookies: list[str], token: str | None):
    body = {**fields, **({"csrf_token": token} if token else {})}
    return client.http.post(path, body=urlencode(body), headers={
        "Content-Type": FORM, "X-Forwarded-For": IP, "Cookie": "; ".join(cookies)})


def otp_for(world, who: dict, steps: int = 0) -> str:
    if "totp_secret" not in who:
        return ""
    return totp_now(who["totp_secret"], int(world.clock().timestamp()) + 30 * steps)


def session_csrf(client, session: str, home: str) -> tuple[str, str]:
    """The CSRF cookie and token a signed-in page hands out (bound to that session)."""
    r = client.http.get(home, headers={"X-Forwarded-For": IP, "Cookie": session})
    assert r.status_code == 200, r.body.decode()
    cookie = next(c for c in set_cookies(r) if c.startswith("csrf_token="))
    return cookie.split(";")[0], re.search(r'name="csrf_token" value="([^"]+)"',
                                           r.body.decode()).group(1)


def sign_in_as(client, world, who: dict, otp: str | None = None) -> tuple[list[str], str]:
    """Signed-in cookies (CSRF and session) of ``who`` and the CSRF token of their forms."""
    csrf_cookie, token = csrf(client)
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"],
                                          "otp": otp_for(world, who) if otp is None else otp},
             [csrf_cookie], token)
    assert r.status_code == 303, r.body.decode()
    [session] = [c for c in set_cookies(r) if c.startswith("console_session=")]
    session = session.split(";")[0]
    # as a browser keeps it: a page that reads may then start before the session is read
    [claims] = [c.split(";")[0] for c in set_cookies(r) if c.startswith("console_claims=")]
    csrf_cookie, token = session_csrf(client, session, r.headers["Location"])
    return [csrf_cookie, session, claims], token


def sign_in(client, world, role: str) -> tuple[list[str], str]:
    """Signed-in cookies (CSRF and session) and the CSRF token of the forms."""
    return sign_in_as(client, world, person(world, role))


def test_the_sign_in_form_asks_for_username_password_and_otp(client):
    r = client.http.get("/console")
    html = r.body.decode()
    assert r.status_code == 200 and 'lang="zh-CN"' in html
    for field in ("username", "password", "otp", "csrf_token"):
        assert f'name="{field}"' in html
    assert "script" not in html.lower()


def test_a_finance_admin_signs_in_with_totp_and_lands_on_the_finance_console(client, world):
    who = person(world, "finance_admin")
    csrf_cookie, token = csrf(client)
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"],
                                          "otp": otp_for(world, who)}, [csrf_cookie], token)
    assert r.status_code == 303 and r.headers["Location"] == "/console/finance"
    [session] = [c for c in set_cookies(r) if c.startswith("console_session=")]
    assert "; Path=/console;" in session and "HttpOnly" in session
    assert "SameSite=Strict" in session and "Max-Age=28800" in session
    [claims] = [c for c in set_cookies(r) if c.startswith("console_claims=")]
    assert "; Path=/console;" in claims and "HttpOnly" in claims
    assert "SameSite=Strict" in claims and "Max-Age=28800" in claims
    home = client.http.get("/console/finance", headers={
        "Cookie": f"{csrf_cookie}; {session.split(';')[0]}"})
    assert home.status_code == 200 and who["username"] in home.body.decode()


def test_the_session_cookie_is_secure_when_the_site_is_https(client, world, monkeypatch):
    from dataclasses import replace

    from chalicelib import bootstrap

    d = bootstrap.deps()
    monkeypatch.setattr(d, "settings", replace(d.settings, public_base_url="https://pj.example"))
    cookies, _ = sign_in(client, world, "unit_operator")
    r = client.http.get("/console", headers={"Cookie": "; ".join(cookies)})
    assert r.status_code == 303
    csrf_cookie, token = csrf(client)
    who = person(world, "unit_operator")
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"]}, [csrf_cookie], token)
    [session] = [c for c in set_cookies(r) if c.startswith("console_session=")]
    assert session.endswith("; Secure")
    assert next(c for c in set_cookies(r) if c.startswith("console_claims=")).endswith("; Secure")


def test_a_unit_person_lands_on_the_unit_console(client, world):
    cookies, _ = sign_in(client, world, "unit_operator")
    r = client.http.get("/console", headers={"Cookie": "; ".join(cookies)})
    assert r.status_code == 303 and r.headers["Location"] == "/console/unit"
    page = client.http.get("/console/unit", headers={"Cookie": "; ".join(cookies)})
    assert page.status_code == 200 and "340100001" in page.body.decode()


def test_a_unit_operator_gets_a_chinese_403_page_on_the_finance_console(client, world):
    cookies, _ = sign_in(client, world, "unit_operator")
    r = client.http.get("/console/finance", headers={"Cookie": "; ".join(cookies)})
    assert r.status_code == 403 and "无权操作" in r.body.decode()


def test_without_a_session_a_console_page_sends_the_browser_to_the_form(client):
    r = client.http.get("/console/finance")
    assert r.status_code == 303 and r.headers["Location"] == "/console"
    r = client.http.get("/console/finance", headers={"Cookie": "console_session=forged"})
    assert r.status_code == 303 and r.headers["Location"] == "/console?expired=1"


def test_a_sign_in_without_the_csrf_token_is_refused_and_opens_nothing(client, world):
    who = person(world, "unit_operator")
    csrf_cookie, _ = csrf(client)
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"]}, [csrf_cookie], None)
    assert r.status_code == 403
    assert not [c for c in set_cookies(r) if c.startswith("console_session=")]


def test_a_used_totp_code_is_refused_the_second_time(client, world):
    who = person(world, "finance_auditor")
    sign_in(client, world, "finance_auditor")
    csrf_cookie, token = csrf(client)
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"],
                                          "otp": otp_for(world, who)}, [csrf_cookie], token)
    assert r.status_code == 401 and "用户名、密码或动态口令错误" in r.body.decode()


def test_five_wrong_passwords_lock_the_account_and_the_audit_says_so(client, world):
    from chalicelib import bootstrap

    who = person(world, "unit_admin")
    csrf_cookie, token = csrf(client)
    for _ in range(5):
        r = post(client, "/console/sign-in", {"username": who["username"],
                                              "password": "Wrong-pass-1", "otp": "000000"},
                 [csrf_cookie], token)
        assert r.status_code == 401
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"],
                                          "otp": otp_for(world, who)}, [csrf_cookie], token)
    assert r.status_code == 401 and "账户已锁定" in r.body.decode()
    day = world.clock().strftime("%Y-%m-%d")
    logged = [(e.action, e.outcome, e.client)
              for e in bootstrap.deps().audit.query(bill_id=f"person#{who['username']}")]
    assert ("account_locked", "ok", IP) in logged and ("sign_in", "locked", IP) in logged
    assert bootstrap.deps().audit.query(day=day)


def test_sign_out_ends_the_session_server_side(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/sign-out", {}, cookies, token)
    assert r.status_code == 303 and r.headers["Location"] == "/console"
    r = client.http.get("/console/finance", headers={"Cookie": "; ".join(cookies)})
    assert r.status_code == 303  # the old cookie opens nothing


def test_the_create_person_command_prints_a_provisioning_uri_and_the_person_signs_in(
        client, world, monkeypatch, capsys):
    import json
    from urllib.parse import parse_qs, urlparse

    from chalicelib.cli import main

    monkeypatch.setenv("CONSOLE_PASSWORD", "Harbor-lights-42")
    assert main(["create-person", "--username", "qian.li", "--role", "finance_auditor"]) == 0
    printed = json.loads(capsys.readouterr().out)
    uri = urlparse(printed["totp_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    secret = parse_qs(uri.query)["secret"][0]
    csrf_cookie, token = csrf(client)
    r = post(client, "/console/sign-in", {"username": "qian.li", "password": "Harbor-lights-42",
                                          "otp": totp_now(secret, int(world.clock().timestamp()))},
             [csrf_cookie], token)
    assert r.status_code == 303 and r.headers["Location"] == "/console/finance"
    monkeypatch.setenv("CONSOLE_PASSWORD", "weak")
    assert main(["create-person", "--username", "sun.yi", "--role", "finance_admin"]) == 2


def test_every_console_page_but_the_door_checks_the_session_and_the_role_first():
    import app as application

    door = {"/console", "/console/sign-in", "/console/sign-out"}
    routes = [(path, method, entry) for path, methods in application.app.routes.items()
              if path.startswith("/console") for method, entry in methods.items()]
    assert len(routes) >= 20
    unguarded = [f"{method} {path}" for path, method, entry in routes if path not in door
                 and not getattr(entry.view_function, "console_roles", ())]
    assert unguarded == []
    posts = [path for path, method, _ in routes if method == "POST"]
    both = ["application/x-www-form-urlencoded", "multipart/form-data"]
    uploads = {"/console/finance/units/{unit_code}/seal",  # the seal image
               "/console/finance/units/{unit_code}/merchants/{channel}"}  # a merId's .pfx
    assert all(entry.content_types == ["application/x-www-form-urlencoded"]
               or (path in uploads and entry.content_types == both)  # the forms with a file
               for path, method, entry in routes if method == "POST"), posts


def test_every_console_post_without_a_session_changes_nothing(client):
    import app as application

    for path, methods in application.app.routes.items():
        if path.startswith("/console/") and "POST" in methods and path != "/console/sign-in":
            url = (path.replace("{username}", "unit1.operator").replace("{unit_code}", "340100001")
                   .replace("{payment_code}", "34010026000000000000")
                   .replace("{key_id}", "key_000000000000"))
            r = client.http.post(url, body="confirm=yes", headers={"Content-Type": FORM})
            assert r.status_code in (303, 400, 403), (path, r.status_code, r.body)


def test_a_csrf_token_of_one_session_is_refused_in_another(client, world):
    from chalicelib import bootstrap

    theirs, their_token = sign_in(client, world, "finance_admin")
    mine, my_token = sign_in(client, world, "unit_admin")
    their_csrf = next(c for c in theirs if c.startswith("csrf_token="))
    my_session = next(c for c in mine if c.startswith("console_session="))
    r = post(client, "/console/unit/people/permissions", {"action": "cancel"},
             [their_csrf, my_session], their_token)
    assert r.status_code == 403 and "刷新页面" in r.body.decode()
    assert not bootstrap.deps().people.operator_actions("340100001")
    r = post(client, "/console/unit/people/permissions", {"action": "cancel"}, mine, my_token)
    assert r.status_code in (200, 303), r.body.decode()
    assert bootstrap.deps().people.operator_actions("340100001") == {UnitAction.CANCEL}


def test_a_csrf_token_made_before_sign_in_is_refused_after_it(client, world):
    from chalicelib import bootstrap

    who = person(world, "unit_admin")
    csrf_cookie, token = csrf(client)
    r = post(client, "/console/sign-in", {"username": who["username"],
                                          "password": who["password"],
                                          "otp": otp_for(world, who)}, [csrf_cookie], token)
    [session] = [c.split(";")[0] for c in set_cookies(r) if c.startswith("console_session=")]
    r = post(client, "/console/unit/people/permissions", {"action": "cancel"},
             [csrf_cookie, session], token)
    assert r.status_code == 403
    assert not bootstrap.deps().people.operator_actions("340100001")
    page = client.http.get("/console/unit", headers={"Cookie": f"{csrf_cookie}; {session}"})
    assert any(c.startswith("csrf_token=") for c in set_cookies(page))  # a new, bound one


def test_a_session_opened_before_a_totp_reset_is_refused_after_it(client, world):
    from chalicelib import bootstrap

    theirs, _ = sign_in(client, world, "unit_operator")
    assert client.http.get("/console/unit", headers={
        "Cookie": "; ".join(theirs)}).status_code == 200
    admin, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/people/unit1.operator/totp", {"confirm": "yes"}, admin,
             token)
    assert r.status_code == 200
    r = client.http.get("/console/unit", headers={"Cookie": "; ".join(theirs)})
    assert r.status_code == 303 and r.headers["Location"] == "/console?expired=1"
    ended = [e for e in bootstrap.deps().audit.query(bill_id="person#unit1.operator")
             if e.action == "sessions_ended"]
    assert ended and ended[0].detail["why"] == "person_reset_totp"
    assert client.http.get("/console/finance", headers={  # the admin's own session goes on
        "Cookie": "; ".join(admin)}).status_code == 200
