"""The unit console's notes searched by payer over the whole date range, not only the page shown
(``services/note_lists.list_notes`` with a word, ``NoteIndex.search_unit``): a note beyond the
first page is found; a search reads at most ``SEARCH_BUDGET`` notes a request, and when the
budget runs out before the range it says so and 继续查找 goes on from where it stopped."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

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


OTHER_UNITS_NOTE = {"total_fen": 5000, "items": [
    {"item_code": "103050101001", "name": "公安交警罚没收入", "quantity": 1,
     "standard_fen": 5000, "amount_fen": 5000}]}


def follow(client, cookies, path: str, link: str) -> tuple[list[list[str]], list[str]]:
    """Every page of a search, following ``link`` (继续查找 or 下一页) to the end: the codes of
    each page, and the notices each page showed."""
    pages, notices = [], []
    for _ in range(60):
        page = get(client, path, cookies).body.decode()
        pages.append(codes(page))
        notices += re.findall(r"本次已查找 \d+ 张缴款书", page)
        more = re.search(rf'<a href="([^"]+)">{link}</a>', page)
        if more is None:
            return pages, notices
        path = more.group(1).replace("&amp;", "&")
    raise AssertionError("the search did not end")


def test_a_name_searched_over_many_requests_finds_each_note_once_and_no_other_units(
        client, world, monkeypatch):
    """31 notes, 10 of them 欧阳's (one named 欧阳修远, one 小欧阳), among another unit's
    欧阳修远 notes; with a budget of 4 notes a request, 继续查找 to the end finds exactly the
    unit's 10, newest first, each once."""
    wanted, others = [], []
    for n in range(31):
        world.clock.now += timedelta(seconds=1)
        name = {3: "欧阳修远", 7: "小欧阳"}.get(n, "欧阳娜" if n % 4 == 0 else "张三")
        made = create_note(world, client, {**NOTE, "payer": {"name": name,
                                                               "type": "individual"}})
        (wanted if "欧阳" in name else others).append(made["payment_code"])
        if n % 5 == 0:
            create_note(world, client, {**OTHER_UNITS_NOTE, "payer": {
                "name": "欧阳修远", "type": "individual"}}, unit=1)
    monkeypatch.setattr(note_lists, "SEARCH_BUDGET", 4)
    cookies, _ = sign_in(client, world, "unit_operator")
    pages, notices = follow(client, cookies, f"{NOTES}?q=欧阳", "继续查找")
    found = [c for page in pages for c in page]
    assert found == wanted[::-1] and len(wanted) == 10
    assert len(pages) == 8 and notices  # 31 notes, 4 a request: 继续查找 7 times
    monkeypatch.setattr(note_lists, "SEARCH_BUDGET", 200)
    pages, notices = follow(client, cookies, f"{NOTES}?q=张三", "下一页")  # a full page first
    assert [len(p) for p in pages] == [20, 1] and notices == []
    assert set(pages[0] + pages[1]) == set(others) and len(others) == 21


def test_a_phone_finds_its_payers_notes_over_pages_and_no_other_units(client, world):
    """A phone number is looked up whole (its own index: no 继续查找), with or without +86 and
    spaces; 25 notes of it are two pages (下一页), each note once; a phone that only starts the
    same finds nothing, nor does the other unit's note of that phone show."""
    phone = "13912345678"
    wanted = []
    for n in range(40):
        world.clock.now += timedelta(seconds=1)
        payer = {"name": "李四", "type": "individual", "phone": phone if n % 8 else "13912345670"}
        if n < 30 and n % 8:
            payer["name"] = f"李{n}"
        made = create_note(world, client, {**NOTE, "payer": payer})
        if payer["phone"] == phone:
            wanted.append(made["payment_code"])
    create_note(world, client, {**OTHER_UNITS_NOTE, "payer": {
        "name": "李四", "type": "individual", "phone": phone}}, unit=1)
    cookies, _ = sign_in(client, world, "unit_operator")
    for typed in (phone, "+86 139 1234 5678"):
        pages, notices = follow(client, cookies, f"{NOTES}?q={quote(typed)}", "下一页")
        assert [c for page in pages for c in page] == wanted[::-1] and len(wanted) == 35
        assert [len(p) for p in pages] == [20, 15] and notices == []
    assert codes(get(client, f"{NOTES}?q=1391234567", cookies).body.decode()) == []


def test_a_credit_code_finds_its_organisations_notes_in_any_case(client, world):
    credit = "91350100M000100Y43"
    org = {"name": "合肥市某某有限公司", "type": "organization", "credit_code": credit}
    wanted = create_note(world, client, {**NOTE, "payer": org})["payment_code"]
    create_note(world, client)
    cookies, _ = sign_in(client, world, "unit_operator")
    page = get(client, f"{NOTES}?q={credit.lower()}", cookies).body.decode()
    assert codes(page) == [wanted] and "合肥市某某有限公司" in page
