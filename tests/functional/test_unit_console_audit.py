"""The unit admin's audit page (``/console/unit/audit``, ``services/audit_pages.unit_audit_page``):
their own unit's rows only (who, when, what, from where), 100 a page through 下一页 with a cursor
sealed to the admin and the filter; another unit's rows never, another unit's or a finance
account as the filter the 404 page; operators do not reach it."""

from __future__ import annotations

import re

from chalicelib.domain.records import AuditEvent
from tests.functional.test_console_accounts import get, pages
from tests.functional.test_console_sign_in import sign_in

DAY = "2026-06-15"
AUDIT = "/console/unit/audit"


def events_of(world, unit_code: str, count: int, start: int = 0, bill: str = "B") -> None:
    """``count`` events of ``unit_code``, all newer than what the world did at 10:00."""
    for n in range(start, start + count):
        world.deps.audit.append(AuditEvent(
            bill_id=f"{bill}{n}", unit_code=unit_code, action="bill_void", outcome="ok",
            client="203.0.113.9",
            at=f"{DAY}T1{1 + n // 3600}:{n // 60 % 60:02d}:{n % 60:02d}+08:00",
            detail={"n": n, "by": "unit1.operator"}))


def test_a_unit_admin_pages_through_their_units_rows_and_never_sees_another_units(
        client, world):
    events_of(world, "340100001", 150)
    events_of(world, "340100002", 150, start=1000)  # another unit's, interleaved in time
    cookies, _ = sign_in(client, world, "unit_admin")
    shown = pages(client, cookies, AUDIT, 5)
    numbers = [int(n) for page in shown for n in re.findall(r"\bn=(\d+) ", page)]
    assert [n for n in numbers if n < 1000] == list(range(149, -1, -1))
    assert not [n for n in numbers if n >= 1000]
    assert "340100002" not in "".join(shown)
    first = shown[0]
    assert len(re.findall(r"\bn=\d+ ", first)) == 100 and "下一页" in first
    assert "203.0.113.9" in first and "by=unit1.operator" in first  # from where, who
    assert "person#unit1.admin" in "".join(shown)  # the admin's own sign-in, at 10:00


def test_the_account_filter_takes_only_the_units_own_people(client, world):
    events_of(world, "340100001", 3)
    cookies, _ = sign_in(client, world, "unit_operator")  # audited under its unit at 10:00
    admin, _ = sign_in(client, world, "unit_admin")
    page = get(client, f"{AUDIT}?username=unit1.operator&day={DAY}", admin).body.decode()
    assert "person#unit1.operator" in page and "person#unit1.admin" not in page
    assert not re.search(r"\bn=\d+ ", page)
    for name in ("finance.admin", "nobody.here"):
        r = get(client, f"{AUDIT}?username={name}", admin)
        assert r.status_code == 404 and "person#" not in r.body.decode(), name


def test_an_operator_is_refused_the_audit_page_and_it_is_not_in_their_menu(client, world):
    operator, _ = sign_in(client, world, "unit_operator")
    assert get(client, AUDIT, operator).status_code == 403
    assert AUDIT not in get(client, "/console/unit", operator).body.decode()
    admin, _ = sign_in(client, world, "unit_admin")
    assert f'href="{AUDIT}"' in get(client, "/console/unit", admin).body.decode()


def test_a_cursor_carried_to_another_filter_or_edited_is_refused(client, world):
    events_of(world, "340100001", 120)
    admin, _ = sign_in(client, world, "unit_admin")
    first = get(client, AUDIT, admin).body.decode()
    cursor = re.search(r"cursor=([^\"&]+)", first).group(1)
    assert get(client, f"{AUDIT}?cursor={cursor}", admin).status_code == 200
    for path in (f"{AUDIT}?cursor={cursor[:-2]}AA", f"{AUDIT}?day={DAY}&cursor={cursor}",
                 f"/console/finance/audit?unit_code=340100001&cursor={cursor}"):
        who = admin
        if path.startswith("/console/finance"):
            who, _ = sign_in(client, world, "finance_admin")
        r = get(client, path, who)
        assert r.status_code == 400 and not re.search(r"\bn=\d+ ", r.body.decode()), path
