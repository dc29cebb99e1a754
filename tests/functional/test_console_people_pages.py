"""The people pages a page at a time (``services/people_pages``): every account a viewer may
see is on exactly one page, reached by 下一页 (a cursor sealed to the viewer and the list); an
edited cursor, or one carried to another person or list, is a 400 page that lists no one."""

from __future__ import annotations

import html
import re

from chalicelib.domain.people import Person, Role
from tests.functional.support import counting_aws_calls
from tests.functional.test_console_accounts import _wuhu, get, pages
from tests.functional.test_console_sign_in import sign_in, sign_in_as

AT = "2026-06-15T09:00:00+08:00"


def operators(world, count: int, unit_code: str = "340100001", region: str = "340100",
              prefix: str = "op") -> list[str]:
    """``count`` operators of ``unit_code`` (region ``region``), straight into the store."""
    names = [f"{prefix}{n:03d}" for n in range(count)]
    for name in names:
        world.deps.people.create(Person(username=name, role=Role.UNIT_OPERATOR,
                                        unit_code=unit_code, display_name=name,
                                        password_hash="h", created_at=AT), region)
    return names


def listed(body: str) -> list[str]:
    """The usernames a people page lists (its table's first column)."""
    return re.findall(r'<td class="code">(?:<a href="[^"]+">)?([a-z][a-z0-9_.-]+)(?:</a>)?</td>',
                      body)


def test_a_finance_admin_reaches_every_account_a_hundred_to_a_page(client, world):
    made = operators(world, 230)
    cookies, _ = sign_in(client, world, "finance_admin")
    every = pages(client, cookies, "/console/finance/people", 20)
    assert len(every) == 3 and len(listed(every[0])) == 100
    names = [name for body in every for name in listed(body)]
    assert len(names) == len(set(names))  # on exactly one page
    assert set(made) <= set(names) and "finance.admin" in names
    assert "op229" not in every[0] and "op229" in every[2]  # beyond the first page: reached
    assert "本页 100" in every[0] and "回到第一页" in every[1]
    assert all(len(body.encode()) < 100 * 1024 for body in every)


def test_a_unit_admin_reaches_an_operator_on_a_later_page_each_under_100_kb(client, world):
    made = operators(world, 120)
    cookies, _ = sign_in(client, world, "unit_admin")
    every = pages(client, cookies, "/console/unit/people", 20)
    assert len(every) == 3 and len(listed(every[0])) == 50
    assert all(len(body.encode()) < 100 * 1024 for body in every)
    names = [name for body in every for name in listed(body)]
    assert set(made) <= set(names) and len(names) == len(set(names))
    assert all(name.startswith(("op", "unit1.")) for name in names)  # its own unit's only
    assert "op119" in every[2] and "op119" not in every[0]


def test_a_regional_viewer_pages_through_its_region_and_reads_a_bounded_number_of_times(
        client, world, monkeypatch):
    cookies, _ = sign_in_as(client, world, _wuhu(world))
    operators(world, 150)  # 合肥's: never read for 芜湖
    mine = operators(world, 120, "340200001", "340202", "wh")
    with counting_aws_calls(monkeypatch) as calls:
        first = get(client, "/console/finance/people", cookies).body.decode()
    assert calls.calls.count("dynamodb.Query") <= 5
    every = pages(client, cookies, "/console/finance/people", 20)
    names = [name for body in every for name in listed(body)]
    assert set(names) == {*mine, "wuhu.admin"} and len(names) == len(set(names))
    assert listed(first) == sorted(mine)[:100]


def test_an_edited_or_carried_cursor_is_a_400_that_lists_no_one(client, world):
    operators(world, 120)
    admin, _ = sign_in(client, world, "finance_admin")
    first = get(client, "/console/finance/people", admin).body.decode()
    cursor = html.unescape(re.search(r"cursor=([^\"&]+)", first).group(1))
    assert get(client, f"/console/finance/people?cursor={cursor}", admin).status_code == 200
    edited = get(client, f"/console/finance/people?cursor={cursor[:-2]}AA", admin)
    assert edited.status_code == 400 and "分页游标无效" in edited.body.decode()
    assert listed(edited.body.decode()) == []
    auditor, _ = sign_in(client, world, "finance_auditor")  # another person
    assert get(client, f"/console/finance/people?cursor={cursor}", auditor).status_code == 400
    unit_admin, _ = sign_in(client, world, "unit_admin")  # another list
    r = get(client, f"/console/unit/people?cursor={cursor}", unit_admin)
    assert r.status_code == 400 and listed(r.body.decode()) == []
