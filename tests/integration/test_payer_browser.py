"""A payer's phone looks a note up by typing, and sees "my bills" after an SMS code (Chromium)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devstack.simulator import pay_at_bank
from tests.integration.stack_client import create_note, wait_for_sms, wait_until_issued
from tests.integration.test_browser import (  # noqa: F401 - the phone fixture
    OUTPUT,
    phone,
)

pytestmark = pytest.mark.integration


def paid_at_the_counter(stack: dict[str, Any]) -> dict[str, Any]:
    created = create_note(stack)
    assert pay_at_bank(stack, created["payment_code"], created["total_fen"]) == 200
    return {**wait_until_issued(stack, created["payment_code"]), "phone": created["phone"]}


def test_a_payer_finds_a_note_by_typing_its_code_and_name(stack, phone):  # noqa: F811
    note = paid_at_the_counter(stack)
    code = note["payment_code"]
    page = phone
    page.goto(f"{stack['base_url']}/lookup")
    typo = code[:10] + str((int(code[10]) + 1) % 10) + code[11:]
    page.fill("#f-payment_code", f"{typo[:6]} {typo[6:8]} {typo[8:]}")
    page.fill("#f-payer_name", "张小明")
    page.get_by_role("button").filter(has_text="查询").first.click()
    assert "校验不通过" in page.content()
    page.fill("#f-payment_code", f"{code[:6]} {code[6:8]} {code[8:]}")
    page.fill("#f-payer_name", "张小明")
    page.get_by_role("button").filter(has_text="查询").first.click()
    body = page.inner_text("body")
    assert "张小明" in body and "已开票" in body and "查看电子票据" in body
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "lookup.png"), full_page=True)
    page.get_by_role("link", name="查看电子票据").click()
    assert note["bill"]["bill_number"] in page.inner_text("body")


def test_a_payer_sees_every_bill_sent_to_their_number(stack, phone):  # noqa: F811
    note = paid_at_the_counter(stack)
    wait_for_sms(stack, note["phone"])  # the bill's own text: the bill is indexed by then
    page = phone
    page.goto(f"{stack['base_url']}/my-bills")
    page.fill("#f-phone", note["phone"])
    page.get_by_role("button", name="获取验证码").click()
    texts = wait_for_sms(stack, note["phone"])
    codes = [m.group(1) for t in texts if (m := re.search(r"验证码[^0-9]*([0-9]{6})", t))]
    assert codes, texts
    page.fill("#f-code", codes[-1])
    page.get_by_role("button", name="查看我的票据").click()
    body = page.inner_text("body")
    assert note["bill"]["bill_number"] in body and "我的票据" in body
    assert note["phone"] not in body  # the number is shown masked
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.screenshot(path=str(OUTPUT / "my-bills.png"), full_page=True)
