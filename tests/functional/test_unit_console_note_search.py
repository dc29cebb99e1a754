"""The unit console's notes searched by payer over the whole date range, not only the page shown
(``services/note_lists.list_notes`` with a word, ``NoteIndex.search_unit``): a note beyond the
first page is found; a search reads at most ``SEARCH_BUDGET`` notes a request, and when the
budget runs out before the range it says so and 继续查找 goes on from where it stopped."""

from __future__ import annotations

import re
from datetime import timedelta

from chalicelib.services import note_lists
from tests.functional.support import NOTE, create_note
from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_unit_console import get

NOTES = "/console/unit/notes"


def notes_with_one_payer_far_back(world, client, count: int = 24) -> str:
    """The payment code of 欧阳修远's note, made before ``count`` notes of 张三."""
    wanted = create_note(world, client, {**NOTE, "payer": {"name": "欧阳修远",
                                                            "type": "individual"}})
    for _ in range(count):
        world.clock.now += timedelta(seconds=1)
        create_note(world, client)
    return wanted["payment_code"]


def codes(page: str) -> list[str]:
    return re.findall(r'<a href="/console/unit/notes/(\d{20})">', page)


def test_a_payer_beyond_the_first_page_is_found(client, world):
    wanted = notes_with_one_payer_far_back(world, client)
    cookies, _ = sign_in(client, world, "unit_operator")
    assert wanted not in codes(get(client, NOTES, cookies).body.decode())  # not on page one
    found = get(client, f"{NOTES}?q=欧阳", cookies).body.decode()
    assert codes(found) == [wanted] and "欧阳修远" in found
    assert "继续查找" not in found and "下一页" not in found
    assert len(codes(get(client, f"{NOTES}?q=张三", cookies).body.decode())) == 20


def test_a_search_that_spends_its_budget_says_so_and_goes_on_from_where_it_stopped(
        client, world, monkeypatch):
    wanted = notes_with_one_payer_far_back(world, client, count=12)
    monkeypatch.setattr(note_lists, "SEARCH_BUDGET", 10)
    cookies, _ = sign_in(client, world, "unit_operator")
    first = get(client, f"{NOTES}?q=欧阳", cookies).body.decode()
    assert codes(first) == [] and "本次已查找 10 张缴款书，未找到" in first
    following = re.search(r'<a href="([^"]+)">继续查找</a>', first).group(1)
    second = get(client, following.replace("&amp;", "&"), cookies).body.decode()
    assert codes(second) == [wanted] and "继续查找" not in second
    other = get(client, following.replace("&amp;", "&").replace("q=%E6%AC%A7%E9%98%B3",
                                                                "q=%E5%BC%A0"), cookies)
    assert other.status_code == 400 and codes(other.body.decode()) == []  # cursor refused
    assert "分页链接无效" in other.body.decode()
