"""A payer's phone (Chromium, 390×844, zh-CN) pays a note through the simulator cashier.

pay page → 微信支付 → simulator cashier → 确认支付 → pay page refreshing itself until 已开票 →
查看电子票据 → bill page → PDF. Screenshots of each step go to tests/output/browser/ (git-ignored).
Chromium is Debian's (/usr/bin/chromium): Playwright's own browser download cannot work here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.stack_client import REPO, create_note, fetch, get_note

pytestmark = pytest.mark.integration

WIDTH, HEIGHT = 390, 844
# tests/output/bill.png is already the PDF rendering saved by tests/unit/test_pdf_rendering.py:
# the screenshots get a folder of their own so that neither overwrites the other.
OUTPUT = REPO / "tests" / "output" / "browser"
MAX_PAGE_BYTES = 100 * 1024
ISSUE_TIMEOUT_MS = 30_000
# A phone's own browser (the pay page tells it from WeChat, Alipay, 云闪付 and a desktop).
PHONE_BROWSER = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/126.0.0.0 Mobile Safari/537.36")



@pytest.fixture()
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN",
                                  is_mobile=True, has_touch=True, device_scale_factor=2,
                                  user_agent=PHONE_BROWSER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = []  # console errors and page errors (CSP violations show up here)

    def on_console(message: Any) -> None:
        url = (message.location or {}).get("url", "")
        # The browser's own /favicon.ico request (no page asks for it) is not the page's fault.
        if message.type == "error" and not url.endswith("/favicon.ico"):
            page.problems.append(f"{message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    try:
        yield page
    finally:
        context.close()


def shoot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)


def assert_fits_the_screen(page: Any, what: str) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= WIDTH, f"{what} is {width}px wide: it scrolls sideways on a {WIDTH}px phone"


def assert_light(url: str) -> None:
    size = len(fetch(url).content)
    assert size < MAX_PAGE_BYTES, f"{url} weighs {size} bytes (limit {MAX_PAGE_BYTES})"


def test_a_payer_pays_on_a_phone_and_gets_the_bill(stack: dict[str, Any], phone: Any) -> None:
    from playwright.sync_api import expect

    note = create_note(stack)
    code = note["payment_code"]
    public = fetch(f"{stack['base_url']}/v1/public/notes/{code}").json()
    masked = public["payer"]["name"]
    assert masked != "张小明" and "*" in masked, public["payer"]
    pay_url = f"{stack['base_url']}/pay/{code}"

    # 1. The pay page of a fresh note.
    phone.goto(pay_url)
    body = phone.locator("body")
    expect(body).to_contain_text(masked)
    expect(body).not_to_contain_text("张小明")
    expect(body).to_contain_text("¥100.50")
    expect(body).to_contain_text("人民币壹佰元伍角整")
    expect(body).to_contain_text("待缴款")
    assert_fits_the_screen(phone, "the pay page")
    assert_light(pay_url)
    shoot(phone, "pay.png")

    # 2. 微信支付 → the simulator's cashier.
    phone.get_by_role("button", name="微信支付").click()
    phone.wait_for_url(re.compile(re.escape(stack["simulator_url"]) + r"/wechatpay\?.*"))
    expect(phone.locator("body")).to_contain_text("100.50")
    assert_fits_the_screen(phone, "the simulator cashier")
    assert_light(phone.url)
    shoot(phone, "cashier.png")

    # 3. 确认支付 → back on the pay page, which refreshes itself until the bill is issued.
    phone.get_by_role("button", name="确认支付").click()
    phone.wait_for_url(pay_url)
    expect(phone.locator(".badge")).to_have_text("已开票", timeout=ISSUE_TIMEOUT_MS)
    view_bill = phone.get_by_role("link", name="查看电子票据")
    expect(view_bill).to_be_visible()
    assert_fits_the_screen(phone, "the issued pay page")
    assert_light(pay_url)
    shoot(phone, "issued.png")

    # 4. The bill page.
    view_bill.click()
    phone.wait_for_url(re.compile(re.escape(stack["base_url"]) + r"/bills/\d{8}/\d{10}\?"))
    bill = get_note(stack, code)["bill"]
    body = phone.locator("body")
    expect(body).to_contain_text("票据代码")
    expect(body).to_contain_text(bill["bill_code"])
    expect(body).to_contain_text("校验码")
    expect(body).to_contain_text(bill["check_code"])
    expect(body).to_contain_text("¥100.50")
    expect(body).to_contain_text("人民币壹佰元伍角整")
    assert_fits_the_screen(phone, "the bill page")
    assert_light(phone.url)
    shoot(phone, "bill.png")

    # 5. 下载 PDF 票据 gives a PDF.
    pdf_link = phone.get_by_role("link", name="下载 PDF 票据")
    expect(pdf_link).to_be_visible()
    href = pdf_link.get_attribute("href")
    assert href
    response = requests.get(href if href.startswith("http") else stack["base_url"] + href,
                            timeout=15)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/pdf")
    assert response.content.startswith(b"%PDF-")

    assert phone.problems == [], phone.problems
