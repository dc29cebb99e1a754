"""What each console page costs in AWS calls, counted (issue 12: server time p50 < 50 ms, which
on DynamoDB is what a page's reads cost). A page that goes back to a query per bill kind, per
range or per note fails here, not on a timer. The reads a page makes at once
(``Ports.gather``) are still each counted, and made to meet: each read after the session's
waits until all of them are in flight, so a page that makes them one after the other fails
(``reads_at_once``); ``bench.console`` measures the time.

Each page is asked once first, so that what a warm process keeps (units and fee items,
``adapters/cached_units``) is kept, as it is for every request but a Lambda's first.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.functional.support import botocore_hooks, counting_aws_calls, issued_bill
from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_finance_console_people import get


def calls_of(client, monkeypatch, path: str, cookies: list[str]) -> Counter[str]:
    assert get(client, path, cookies).status_code == 200
    with counting_aws_calls(monkeypatch) as calls:
        response = get(client, path, cookies)
    assert response.status_code == 200, response.body[:300]
    return Counter(call.removeprefix("dynamodb.") for call in calls.calls)


@pytest.mark.parametrize(("role", "path", "expected"), [
    ("finance_admin", "/console/finance", {"GetItem": 1}),
    # the unit's fee items, its ranges of every kind (one index), its keys and its own row
    ("finance_admin", "/console/finance/units/340100001", {"GetItem": 2, "Query": 3}),
    ("finance_admin", "/console/finance/units", {"GetItem": 1, "Query": 1}),
    ("finance_auditor", "/console/finance/audit", {"GetItem": 1, "Query": 1}),
    ("unit_operator", "/console/unit", {"GetItem": 1}),
    ("unit_operator", "/console/unit/notes/new", {"GetItem": 1}),  # fee items kept warm
    ("unit_operator", "/console/unit/bills", {"GetItem": 1, "Query": 1}),
    # the people of the unit (the accounts' list index, never a scan of the sessions too)
    ("unit_admin", "/console/unit/people", {"GetItem": 2, "Query": 1}),
    ("finance_admin", "/console/finance/people", {"GetItem": 1, "Query": 1}),
])
def test_each_console_page_makes_a_counted_number_of_reads(client, world, monkeypatch, role,
                                                            path, expected):
    cookies, _ = sign_in(client, world, role)
    assert calls_of(client, monkeypatch, path, cookies) == Counter(expected)


def test_the_day_page_reads_each_day_index_once_and_no_note_paid_the_day_it_was_made(
        client, world, monkeypatch):
    code, bill = issued_bill(world, client)
    cookies, _ = sign_in(client, world, "finance_auditor")
    day = world.clock().strftime("%Y-%m-%d")
    calls = calls_of(client, monkeypatch, f"/console/finance/day?day={day}", cookies)
    # the session; the notes, the bills and the voids of the day; the payments of every
    # channel (one partition of the payments' day index); no BatchGetItem of the notes
    assert calls == Counter({"GetItem": 1, "Query": 3 + 1})
    html = get(client, f"/console/finance/day?day={day}", cookies).body.decode()
    assert code in html and bill["bill_number"] in html


@pytest.mark.parametrize(("role", "expected"), [
    ("unit_operator", {"GetItem": 3, "Query": 1}),  # + whether the admin lets operators cancel
    ("unit_admin", {"GetItem": 2, "Query": 1}),
])
def test_a_notes_page_reads_the_note_its_exceptions_and_who_may_cancel_it(
        client, world, monkeypatch, role, expected):
    code, _ = issued_bill(world, client)
    cookies, _ = sign_in(client, world, role)
    calls = calls_of(client, monkeypatch, f"/console/unit/notes/{code}", cookies)
    assert calls == Counter(expected)


def test_the_notes_list_reads_the_unit_index_once_and_the_notes_not_again(client, world,
                                                                          monkeypatch):
    codes = [issued_bill(world, client)[0] for _ in range(2)]
    cookies, _ = sign_in(client, world, "unit_operator")
    calls = calls_of(client, monkeypatch, "/console/unit/notes", cookies)
    assert calls == Counter({"GetItem": 1, "Query": 1})  # the index carries what a list shows
    html = get(client, "/console/unit/notes", cookies).body.decode()
    assert all(code in html for code in codes)
    bill_numbers = [world.deps.notes.get(code).bill.bill_number for code in codes]
    assert all(number in html for number in bill_numbers) and "已开票" in html


def reads_at_once(client, monkeypatch, path: str, cookies: list[str], reads: int,
                  first: int = 1) -> None:
    """Ask for the page with every call after the ``first`` (the session's) held until
    ``reads`` of them are in flight: made one after the other, they never are, the wait breaks
    and the page fails."""
    assert get(client, path, cookies).status_code == 200
    meet = threading.Barrier(reads, timeout=10)
    seen = []

    def hold(**_: object) -> None:
        seen.append(1)
        if len(seen) > first:
            meet.wait()

    with botocore_hooks(monkeypatch, {"before-call.dynamodb": hold}):
        response = get(client, path, cookies)
    assert response.status_code == 200, response.body[:300]
    assert len(seen) == reads + first


def test_the_heavy_pages_make_their_reads_at_the_same_time(client, world, monkeypatch):
    code, _ = issued_bill(world, client)
    finance, _ = sign_in(client, world, "finance_admin")
    day = world.clock().strftime("%Y-%m-%d")
    reads_at_once(client, monkeypatch, f"/console/finance/day?day={day}", finance, 4)
    reads_at_once(client, monkeypatch, "/console/finance/units/340100001", finance, 4)
    operator, _ = sign_in(client, world, "unit_operator")
    reads_at_once(client, monkeypatch, f"/console/unit/notes/{code}", operator, 3)
    admin, _ = sign_in(client, world, "unit_admin")
    reads_at_once(client, monkeypatch, "/console/unit/people", admin, 2)


def test_the_pay_page_reads_the_guessing_budget_and_the_note_in_one_request(client, world,
                                                                           monkeypatch):
    code, _ = issued_bill(world, client)
    # one BatchGetItem of both since 7fca930 (was two GetItems made at the same time)
    assert calls_of(client, monkeypatch, f"/pay/{code}", []) == Counter({"BatchGetItem": 1})
