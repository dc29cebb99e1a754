"""A console page that only reads starts its reads with the session's, not after it
(``api/console_claims``): only with the ``console_claims`` cookie sealed to that very session,
and its page is sent only when the stored session is live and the one claimed."""

from __future__ import annotations

from collections import Counter

from tests.functional.support import counting_aws_calls, issued_bill
from tests.functional.test_console_reads import reads_at_once
from tests.functional.test_console_sign_in import IP, post, sign_in
from tests.functional.test_finance_console_people import get


def cookie(cookies: list[str], name: str) -> str:
    return next(c for c in cookies if c.startswith(name + "="))


def test_with_the_claims_cookie_the_session_and_the_page_are_read_at_once(client, world,
                                                                          monkeypatch):
    code, _ = issued_bill(world, client)
    finance, _ = sign_in(client, world, "finance_auditor")
    day = world.clock().strftime("%Y-%m-%d")
    # the session's GetItem and the day's four queries, all in flight together
    reads_at_once(client, monkeypatch, f"/console/finance/day?day={day}", finance, 5, first=0)
    operator, _ = sign_in(client, world, "unit_operator")
    reads_at_once(client, monkeypatch, f"/console/unit/notes/{code}", operator, 4, first=0)


def test_claims_of_another_session_or_edited_ones_wait_for_the_session(client, world,
                                                                        monkeypatch):
    finance, _ = sign_in(client, world, "finance_admin")
    unit, _ = sign_in(client, world, "unit_admin")
    claims = cookie(unit, "console_claims")
    edited = claims[:-2] + ("AA" if not claims.endswith("AA") else "BB")
    for claim in (claims, edited):
        with counting_aws_calls(monkeypatch) as calls:  # an unknown token: nothing but its read
            r = client.http.get("/console/finance/day", headers={
                "Cookie": f"console_session=forged-token; {claim}", "X-Forwarded-For": IP})
        assert r.status_code == 303 and calls.calls == ["dynamodb.GetItem"]
    # the finance admin's own session with the unit admin's claims: the page of the session
    r = get(client, "/console/finance/people", [cookie(finance, "csrf_token"),
                                                cookie(finance, "console_session"), claims])
    assert r.status_code == 200 and "finance.admin（" in r.body.decode()


def test_a_signed_out_sessions_claims_show_nothing(client, world, monkeypatch):
    code, _ = issued_bill(world, client)
    cookies, token = sign_in(client, world, "unit_operator")
    assert code in get(client, f"/console/unit/notes/{code}", cookies).body.decode()
    r = post(client, "/console/sign-out", {}, cookies, token)
    assert r.status_code == 303
    gone = [c.split(";")[0] for c in r.headers["Set-Cookie"]]
    assert "console_claims=" in gone and "console_session=" in gone
    with counting_aws_calls(monkeypatch) as calls:
        r = get(client, f"/console/unit/notes/{code}", cookies)  # the old cookies, kept
    assert r.status_code == 303 and r.headers["Location"] == "/console?expired=1"
    assert code not in r.body.decode()
    # its reads were made with the session's, and thrown away: one page's, no more
    assert Counter(calls.calls)["dynamodb.GetItem"] <= 3
