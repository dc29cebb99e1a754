"""An attacker's review of the finance keys, the admin API and the consoles (regression guards
for what held and for what was fixed): every ``/v1/admin`` route refuses a unit's or a
reimbursing unit's key; a username's case does not buy more guesses; no page may be framed by
another site (clickjacking the consoles' confirmation boxes)."""

from __future__ import annotations

import pytest

from app import app
from tests.functional.test_console_sign_in import csrf, person, post, sign_in

PATH_VALUES = {"unit_code": "340100001", "item_code": "103040100101", "key_id": "k1",
               "date": "2026-06-15", "channel": "wechatpay", "line_id": "l1",
               "week": "2026-W24", "kind_code": "0601", "template_id": "deposit-receipt"}
ADMIN_ROUTES = sorted((method, path) for path, methods in app.routes.items()
                      if path.startswith("/v1/admin") for method in methods)


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def test_the_admin_routes_are_all_listed():
    assert len(ADMIN_ROUTES) >= 19  # units, keys, ranges, kinds, reconciliation, remittance, ...


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_every_admin_route_refuses_a_unit_key_and_a_reimbursing_key_and_wants_a_key(
        world, client, method, path):
    url = concrete(path)
    # in the route's own body type (a seal is image/png), so that only the credential decides
    content_type = app.routes[path][method].content_types[0]
    for auth, status in ((world.auth(0), 403), (world.auth(0, kind="reimbursers"), 403),
                         ({}, 401)):
        headers = {**auth, "Content-Type": content_type}
        r = client.http.request(method, url, headers=headers, body=b"{}")
        assert r.status_code == status, (method, url, r.body)
    assert world.deps.audit.query(unit_code="340100001", day="2026-06-15") == []


def test_wrong_passwords_under_any_case_of_the_username_count_toward_one_lock(world, client):
    username = person(world, "unit_operator")["username"]
    cookie, token = csrf(client)
    for name in (username.upper(), username.title(), f" {username} ", username.swapcase(),
                 username):
        r = post(client, "/console/sign-in", {"username": name, "password": "Wrong-pass-1234",
                                              "otp": ""}, [cookie], token)
        assert r.status_code == 401
    assert world.deps.people.get(username).locked(int(world.clock().timestamp()))


@pytest.mark.parametrize("path", ["/console/finance", "/console/finance/people"])
def test_no_console_page_may_be_framed_by_another_site(world, client, path):
    assert "frame-ancestors 'none'" in client.http.get("/console").headers[
        "Content-Security-Policy"]
    cookies, _ = sign_in(client, world, "finance_admin")
    r = client.http.get(path, headers={"Cookie": "; ".join(cookies)})
    assert r.status_code == 200
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_a_unit_admin_may_not_reset_or_unlock_a_fellow_unit_admin(world, client):
    from chalicelib.domain.people import Role
    from chalicelib.services import people
    from chalicelib.services.people import Actor

    finance = Actor("finance.admin", Role.FINANCE_ADMIN, None, "203.0.113.1")
    people.create_person(world.deps, finance, username="unit1.admin2", role="unit_admin",
                         unit_code="340100001", password="Another-admin-2026!")
    before = world.deps.people.get("unit1.admin2")
    cookies, token = sign_in(client, world, "unit_admin")
    for action, form in (("totp", {"confirm": "yes"}), ("unlock", {})):
        r = post(client, f"/console/unit/people/unit1.admin2/{action}", form, cookies, token)
        assert r.status_code == 404, (action, r.status_code)
    assert world.deps.people.get("unit1.admin2") == before


def test_a_unit_named_with_markup_is_shown_as_text_on_the_consoles(world, client):
    import json

    name = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    body = {"unit_code": "340100077", "name": name, "kind": "collecting",
            "region_code": "340100"}
    r = client.http.post("/v1/admin/units", headers=world.finance_auth(), body=json.dumps(body))
    assert r.status_code == 201, r.body
    cookies, _ = sign_in(client, world, "finance_admin")
    for path in ("/console/finance/units", "/console/finance/units/340100077"):
        html = client.http.get(path, headers={"Cookie": "; ".join(cookies)}).body.decode()
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;" in html


def test_no_console_post_is_open_to_the_finance_auditor_nor_an_operator_on_people():
    from chalicelib.domain.people import Role

    posts = {path: entry.view_function.console_roles
             for path, methods in app.routes.items() if path.startswith("/console/")
             for method, entry in methods.items()
             if method == "POST" and hasattr(entry.view_function, "console_roles")}
    assert len(posts) >= 15
    own = {path for path in posts if path.startswith("/console/me/")}  # one's own account
    assert own == {"/console/me/password", "/console/me/totp", "/console/me/totp/confirm"}
    assert all(roles and Role.FINANCE_AUDITOR not in roles for path, roles in posts.items()
               if path not in own)
    assert all(roles == (Role.UNIT_ADMIN,) for path, roles in posts.items()
               if path.startswith("/console/unit/people"))
