"""The finance console's audit page, a page at a time (``services/audit_pages``): every row a
viewer may read is on some page, reached by 下一页 (a sealed cursor); a regional viewer's rows
behind hundreds of other regions' are not cut off; a page costs a bounded number of reads."""

from __future__ import annotations

import html
import re

from chalicelib.domain.records import AuditEvent
from tests.functional.support import counting_aws_calls
from tests.functional.test_console_accounts import _wuhu, get, pages
from tests.functional.test_console_sign_in import sign_in, sign_in_as

DAY = "2026-06-15"


def hefei_events(world, count: int) -> None:
    """``count`` events of 合肥's unit, all newer than what the world did at 10:00."""
    for n in range(count):
        world.deps.audit.append(AuditEvent(
            bill_id=f"B{n}", unit_code="340100001", action="verify", outcome="ok",
            client="203.0.113.9", at=f"{DAY}T1{1 + n // 3600}:{n // 60 % 60:02d}:{n % 60:02d}+08:00",
            detail={"n": n}))


def test_every_event_of_the_day_is_on_exactly_one_page_newest_first(client, world):
    hefei_events(world, 250)
    cookies, _ = sign_in(client, world, "finance_admin")
    seen = [int(n) for page in pages(client, cookies, f"/console/finance/audit?day={DAY}", 50)
            for n in re.findall(r"\bn=(\d+) ", page)]
    assert seen == list(range(249, -1, -1))


def test_a_regional_viewers_rows_behind_five_hundred_of_another_region_are_reached(
        client, world, monkeypatch):
    cookies, _ = sign_in_as(client, world, _wuhu(world))  # its unit and admin: audited at 10:00
    hefei_events(world, 600)  # newer, all 合肥's: more than one page's reads
    with counting_aws_calls(monkeypatch) as calls:
        first = get(client, f"/console/finance/audit?day={DAY}", cookies).body.decode()
    assert calls.calls.count("dynamodb.Query") <= 5  # bounded, whatever the day holds
    assert "340200001" not in first and "下一页" in first  # short, and says there is more
    every = "".join(pages(client, cookies, f"/console/finance/audit?day={DAY}", 50))
    assert "340200001" in every and "person#wuhu.admin" in every
    assert "340100001" not in every


def test_a_cursor_edited_or_carried_to_another_question_or_person_is_refused(client, world):
    hefei_events(world, 120)
    admin, _ = sign_in(client, world, "finance_admin")
    first = get(client, f"/console/finance/audit?day={DAY}", admin).body.decode()
    cursor = html.unescape(re.search(r"cursor=([^\"&]+)", first).group(1))
    assert get(client, f"/console/finance/audit?day={DAY}&cursor={cursor}", admin
               ).status_code == 200
    for path in (f"/console/finance/audit?day={DAY}&cursor={cursor[:-2]}AA",
                 f"/console/finance/audit?day=2026-06-14&cursor={cursor}",
                 f"/console/finance/audit?day={DAY}&unit_code=340100001&cursor={cursor}"):
        r = get(client, path, admin)
        assert r.status_code == 400 and not re.search(r"\bn=\d+ ", r.body.decode()), path
    auditor, _ = sign_in(client, world, "finance_auditor")
    assert get(client, f"/console/finance/audit?day={DAY}&cursor={cursor}", auditor
               ).status_code == 400
