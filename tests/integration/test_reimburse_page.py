"""The verification pages in Chromium against the running local stack, on a phone and a desktop.

/verify (public, no script): a genuine bill by the form and by a pasted QR URL, nothing personal.
/reimburse (a reimbursing unit): key entered once → verify by form, by QR URL, by bill file →
record reimbursement (201) → verification shows the holder → release (204) → CSV batch of three
rows, one wrong → results CSV downloaded and read. Screenshots: tests/output/verify-*.png and
tests/output/reimburse-*.png.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.services.public_verification import LOOKUPS_PER_BILL_PER_DAY
from tests.integration.stack_client import REPO, issue_a_bill

pytestmark = pytest.mark.integration

VIEWPORTS = {"390": (390, 844), "1280": (1280, 800)}
OUTPUT = REPO / "tests" / "output"
MAX_PAGE_BYTES = 100 * 1024
PAYER_NAME = "张小明"  # tests.integration.stack_client.note_body



@pytest.fixture(scope="module")
def bills(stack: dict[str, Any]) -> list[dict[str, Any]]:
    """Two issued bills (each test run only verifies, records and releases them)."""
    return [issue_a_bill(stack)["bill"] for _ in range(2)]


@pytest.fixture(params=sorted(VIEWPORTS), ids=lambda w: f"{w}px")
def page(request: pytest.FixtureRequest, browser: Any, stack: dict[str, Any]) -> Iterator[Any]:
    width, height = VIEWPORTS[request.param]
    mobile = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  is_mobile=mobile, has_touch=mobile, device_scale_factor=1,
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.width = width
    page.problems = []  # console errors and page errors (CSP violations show up here)
    page.requests = []

    def on_console(message: Any) -> None:
        url = (message.location or {}).get("url", "")
        # Chromium logs every 4xx answer; the page asks for some on purpose (a wrong key, 409).
        expected = message.text.startswith("Failed to load resource: the server responded "
                                            "with a status of 4")
        if message.type == "error" and not url.endswith("/favicon.ico") and not expected:
            page.problems.append(f"{message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("request", lambda r: page.requests.append((r.url, r.headers.get("authorization"))))
    try:
        yield page
    finally:
        context.close()


def shoot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}-{page.width}.png"), full_page=True)


def assert_fits(page: Any, what: str) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.width, f"{what} is {width}px wide on a {page.width}px screen"


def assert_light(url: str) -> None:
    size = len(requests.get(url, timeout=15).content)
    assert size < MAX_PAGE_BYTES, f"{url} weighs {size} bytes"


def test_the_public_page_answers_genuine_by_form_and_by_qr(stack: dict[str, Any],
                                                           bills: list[dict[str, Any]],
                                                           page: Any) -> None:
    from playwright.sync_api import expect

    bill, url = bills[0], f"{stack['base_url']}/verify"
    page.goto(url)
    assert_light(url)
    assert_fits(page, "the empty verify page")
    shoot(page, "verify-form")

    page.get_by_label("票据代码").fill(bill["bill_code"])
    page.get_by_label("票据号码").fill(bill["bill_number"])
    page.get_by_label("校验码").fill(bill["check_code"])
    page.get_by_role("button", name="查验", exact=True).click()
    verdict = page.locator("#verdict")
    expect(verdict).to_have_text("✓ 真票")
    body = page.locator("body")
    expect(body).to_contain_text("正常")
    expect(body).to_contain_text("¥100.50")
    expect(body).not_to_contain_text(PAYER_NAME)
    assert_fits(page, "the genuine answer")
    shoot(page, "verify-genuine")

    page.get_by_label("票据二维码中的链接").fill(bill["url"])
    page.get_by_role("button", name="识别并查验").click()
    expect(verdict).to_have_text("✓ 真票")

    page.get_by_label("票据代码").fill(bill["bill_code"])
    page.get_by_label("票据号码").fill(bill["bill_number"])
    page.get_by_label("校验码").fill("zz" + bill["check_code"][2:])
    page.get_by_role("button", name="查验", exact=True).click()
    expect(verdict).to_have_text("✗ 查无此票")
    assert_fits(page, "the not-found answer")
    shoot(page, "verify-not-found")
    assert page.problems == [], page.problems


def test_a_bill_looked_up_too_often_gets_the_429_page(stack: dict[str, Any],
                                                      bills: list[dict[str, Any]],
                                                      page: Any) -> None:
    from playwright.sync_api import expect

    bill = bills[1]
    url = f"{stack['base_url']}/verify"
    form = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    for _ in range(LOOKUPS_PER_BILL_PER_DAY + 1):
        answer = requests.post(url, data=form, timeout=15)
        if answer.status_code == 429:
            break
    assert answer.status_code == 429 and 0 < int(answer.headers["Retry-After"]) <= 86400
    response = page.goto(f"{url}?bill_code={bill['bill_code']}&bill_number="
                         f"{bill['bill_number']}&check_code={bill['check_code']}")
    assert response.status == 429
    expect(page.get_by_role("heading", name="查验次数已达上限")).to_be_visible()
    expect(page.locator("body")).to_contain_text("（北京时间）之后再试")
    assert_fits(page, "the 429 page")
    shoot(page, "verify-limited")
    assert page.problems == [], page.problems


def enter_key(page: Any, key: str) -> None:
    page.get_by_label("请输入本单位的 API 密钥").fill(key)
    page.get_by_role("button", name="使用此密钥").click()


def verify_by_form(page: Any, bill: dict[str, Any]) -> None:
    page.get_by_role("tab", name="表单查验").click()
    page.locator("#v-code").fill(bill["bill_code"])
    page.locator("#v-number").fill(bill["bill_number"])
    page.locator("#v-check").fill(bill["check_code"])
    page.locator("#p-form").get_by_role("button", name="查验").click()


def test_a_reimbursing_unit_verifies_records_releases_and_checks_a_batch(
        stack: dict[str, Any], bills: list[dict[str, Any]], page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, unit = stack["base_url"], stack["reimbursers"][0]
    bill, other = bills
    page.goto(f"{base}/reimburse")
    assert_light(f"{base}/reimburse")
    shoot(page, "reimburse-key")

    # A wrong key is refused with a clear message; the right one is kept for the tab.
    enter_key(page, "not-a-real-key")
    expect(page.locator("#key-msg")).to_contain_text("API 密钥无效")
    enter_key(page, unit["api_key"])
    expect(page.locator("#key-set")).to_be_visible()
    assert page.evaluate("Object.values(sessionStorage)") == [unit["api_key"]]

    # By the form: authentic.
    verify_by_form(page, bill)
    verdict, result = page.locator("#verdict"), page.locator("#result")
    expect(verdict).to_have_text("真票")
    expect(result).to_contain_text("正常")
    expect(result).to_contain_text("查验次数")
    expect(result).to_contain_text("未入账")
    assert_fits(page, "the reimbursing page with a result")
    shoot(page, "reimburse-form")

    # By the QR URL (a scanner types it and presses Enter).
    page.get_by_role("tab", name="扫码查验").click()
    page.locator("#qr-text").fill(bill["url"])
    page.locator("#qr-text").press("Enter")
    expect(verdict).to_have_text("真票")
    expect(result).to_contain_text(bill["bill_number"])

    # By the bill file (the signed XML).
    xml = requests.get(f"{base}/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/xml",
                       params={"check_code": bill["check_code"]}, timeout=15).content
    page.get_by_role("tab", name="文件查验").click()
    page.locator("#bill-file").set_input_files(
        {"name": "bill.xml", "mimeType": "application/xml", "buffer": xml})
    page.get_by_role("button", name="查验文件").click()
    expect(verdict).to_have_text("真票")
    expect(result.locator(".msg.ok")).to_have_count(2)  # both signatures hold
    shoot(page, "reimburse-file")

    # Record the reimbursement from the result, then the verification shows the holder.
    verify_by_form(page, bill)
    expect(verdict).to_have_text("真票")
    page.get_by_role("button", name="登记报销入账").click()
    expect(page.locator("#r-code")).to_have_value(bill["bill_code"])
    page.locator("#r-voucher").fill("记-2026-11-088")
    page.get_by_role("button", name="登记入账", exact=True).click()
    message = page.locator("#record-msg")
    expect(message).to_contain_text("HTTP 201")
    shoot(page, "reimburse-recorded")
    verify_by_form(page, bill)
    expect(result).to_contain_text(f"{unit['name']}（{unit['unit_code']}）")
    expect(result).to_contain_text("记-2026-11-088")

    # Another unit is told who holds it (409) and may not release it (403); the holder may (204).
    page.get_by_role("button", name="更换密钥").click()
    enter_key(page, stack["reimbursers"][1]["api_key"])
    page.get_by_role("tab", name="报销入账").click()
    page.locator("#r-voucher").fill("记-2026-11-999")
    page.get_by_role("button", name="登记入账", exact=True).click()
    expect(message).to_contain_text("冲突（409）")
    expect(message).to_contain_text(unit["name"])
    page.get_by_role("button", name="撤销入账", exact=True).click()
    expect(message).to_contain_text("无权操作（403）")
    shoot(page, "reimburse-conflict")
    page.get_by_role("button", name="更换密钥").click()
    enter_key(page, unit["api_key"])
    page.get_by_role("tab", name="报销入账").click()
    page.get_by_role("button", name="撤销入账", exact=True).click()
    expect(message).to_contain_text("HTTP 204")
    shoot(page, "reimburse-released")

    # A CSV batch: two genuine bills and one wrong check code; the results CSV downloaded.
    wrong = "zz" + other["check_code"][2:] if other["check_code"][:2] != "zz" else "yyyyyy"
    rows = [(bill["bill_code"], bill["bill_number"], bill["check_code"]),
            (other["bill_code"], other["bill_number"], wrong),
            (other["bill_code"], other["bill_number"], other["check_code"])]
    text = "bill_code,bill_number,check_code\r\n" + "".join(",".join(r) + "\r\n" for r in rows)
    page.get_by_role("tab", name="批量查验").click()
    page.locator("#csv-file").set_input_files(
        {"name": "bills.csv", "mimeType": "text/csv", "buffer": text.encode()})
    page.get_by_role("button", name="开始查验").click()
    expect(page.locator("#batch-msg")).to_contain_text("完成：共 3 张")
    expect(page.locator("#batch-rows tr")).to_have_count(3)
    assert_fits(page, "the batch results")
    shoot(page, "reimburse-batch")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载结果 CSV").click()
    assert download.value.suggested_filename.startswith("verification-results-")
    saved = tmp_path / "results.csv"
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith("\ufeff".encode())  # Excel opens it as UTF-8
    results = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["result"] for r in results] == ["authentic", "not_found", "authentic"]
    assert [r["bill_number"] for r in results] == [r[1] for r in rows]
    assert results[0]["status"] == "normal" and int(results[0]["check_count"]) >= 1
    assert results[0]["result_label"] == "真票" and results[1]["result_label"] == "查无此票"
    assert results[0]["first_checked_at"] and results[0]["reimbursed_by_unit_code"] == ""

    # The key went only to our own API, only in the Authorization header, never in a URL.
    assert page.problems == [], page.problems
    for url, authorization in page.requests:
        assert unit["api_key"] not in url
        assert url.startswith(base) or url.startswith(("blob:", "data:")), url
        if authorization:
            assert url.startswith(f"{base}/v1/"), url
