"""The unit console's bill list (services/unit_bills.list_bills): newest first across days, 20 a
page with a sealed cursor, filtered as it reads and never reading more than ``MAX_READ`` rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.people import Role
from chalicelib.services import unit_bills
from chalicelib.services.issuance import issue_bill
from chalicelib.services.people import Actor
from tests.unit.scenario import UNIT, paid_note

ADMIN = Actor("zhou.min", Role.UNIT_ADMIN, UNIT.unit_code, "203.0.113.9")


def issue(deps, clock, n: int, **changes) -> str:
    clock.now += timedelta(minutes=1)
    note = paid_note(deps, txn=f"42000000012026030200000{n:05d}", **changes)
    ref = issue_bill(deps, note.payment_code)
    assert ref is not None
    return ref.bill_number


def numbers(listed: dict) -> list[str]:
    return [r.bill.bill_number for r in listed["rows"]]


def test_bills_are_listed_newest_first_twenty_a_page_with_a_cursor_to_the_rest(deps, clock):
    made = [issue(deps, clock, n) for n in range(25)]
    first = unit_bills.list_bills(deps, ADMIN, {})
    assert numbers(first) == made[::-1][:20] and first["next_cursor"]
    rest = unit_bills.list_bills(deps, ADMIN, {"cursor": first["next_cursor"]})
    assert numbers(rest) == made[::-1][20:] and rest["next_cursor"] is None
    with pytest.raises(ValidationFailed):  # a cursor of another question
        unit_bills.list_bills(deps, ADMIN, {"cursor": first["next_cursor"], "status": "voided"})


def test_a_word_narrows_as_the_list_is_read_and_a_page_resumes_after_its_last_match(deps,
                                                                                   clock):
    made = [issue(deps, clock, n, payer={"name": "王五" if n % 3 == 0 else "张三",
                                          "type": "individual"}) for n in range(66)]
    wanted = [m for n, m in enumerate(made) if n % 3 == 0][::-1]  # 22 of them
    first = unit_bills.list_bills(deps, ADMIN, {"q": "王五"})
    assert numbers(first) == wanted[:20]
    rest = unit_bills.list_bills(deps, ADMIN, {"q": "王五", "cursor": first["next_cursor"]})
    assert numbers(rest) == wanted[20:]


def test_one_request_reads_at_most_max_read_rows_and_says_where_to_go_on(deps, clock,
                                                                        monkeypatch):
    monkeypatch.setattr(unit_bills, "MAX_READ", 10)
    for n in range(12):
        issue(deps, clock, n)
    first = unit_bills.list_bills(deps, ADMIN, {"q": "没有这个人"})
    assert first["rows"] == [] and first["next_cursor"]
    rest = unit_bills.list_bills(deps, ADMIN, {"q": "没有这个人", "cursor": first["next_cursor"]})
    assert rest["rows"] == [] and rest["next_cursor"] is None


def test_dates_default_to_the_last_31_days_and_a_range_is_checked(deps, clock):
    listed = unit_bills.list_bills(deps, ADMIN, {})
    today = clock().date()
    assert (listed["issued_from"], listed["issued_to"]) == (
        str(today - timedelta(days=30)), str(today))
    for bad in ({"issued_from": "2026-03-05", "issued_to": "2026-03-01"},
                {"issued_from": "2024-01-01", "issued_to": "2026-03-01"},
                {"issued_to": "03/01/2026"}, {"status": "lost"}):
        with pytest.raises(ValidationFailed):
            unit_bills.list_bills(deps, ADMIN, bad)
