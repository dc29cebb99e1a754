"""A password or TOTP reset ends the account's sessions reliably, not only those the sessions'
index shows (``PeopleStore.end_sessions``, ``put_session``): a session begun the moment before a
reset, which the index does not show yet, is ended by name; a sign-in that read the account
before a reset and stores its session after it stores nothing. No page reads more for it."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamo_people import DynamoPeople
from chalicelib.domain.errors import Unauthenticated
from chalicelib.services import people
from chalicelib.services.people import Actor
from tests.functional.test_console_accounts import NEW_PASSWORD, get
from tests.functional.test_console_sign_in import IP, person, post, sign_in


def test_a_session_the_index_does_not_show_yet_ends_with_a_password_reset(
        client, world, monkeypatch):
    theirs, _ = sign_in(client, world, "unit_operator")
    admin, token = sign_in(client, world, "finance_admin")
    monkeypatch.setattr(DynamoPeople, "sessions_of", lambda self, username: [])  # the lag
    r = post(client, "/console/finance/people/unit1.operator/password",
             {"password": NEW_PASSWORD, "confirm": "yes"}, admin, token)
    assert r.status_code == 200 and "已重置 unit1.operator 的密码" in r.body.decode()
    r = get(client, "/console/unit", theirs)  # the same minute: no re-read of the account
    assert r.status_code == 303 and r.headers["Location"] == "/console?expired=1"


def test_a_session_the_index_does_not_show_yet_ends_with_a_totp_reset(
        client, world, monkeypatch):
    theirs, _ = sign_in(client, world, "unit_operator")
    monkeypatch.setattr(DynamoPeople, "sessions_of", lambda self, username: [])
    people.reset_totp(world.deps, Actor("unit1.admin", people.Role.UNIT_ADMIN, "340100001", IP),
                      "unit1.operator")
    assert get(client, "/console/unit", theirs).status_code == 303


def test_a_sign_in_that_read_the_account_before_a_reset_stores_no_session(
        world, monkeypatch):
    who = person(world, "unit_operator")
    store = world.deps.people
    read = store.get

    def read_then_reset(username: str):
        found = read(username)  # what the sign-in saw: the old password
        monkeypatch.setattr(store, "get", read)
        people.reset_password(world.deps, Actor("unit1.admin", people.Role.UNIT_ADMIN,
                                                "340100001", IP), username, NEW_PASSWORD)
        return found

    monkeypatch.setattr(store, "get", read_then_reset)
    with pytest.raises(Unauthenticated) as refused:
        people.sign_in(world.deps, who["username"], who["password"], "", IP)
    assert refused.value.code == "account_changed"
    assert store.sessions_of(who["username"]) == []
    token, session = people.sign_in(world.deps, who["username"], NEW_PASSWORD, "", IP)
    assert people.current_session(world.deps, token) == session
