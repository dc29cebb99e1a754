"""Payers where they actually scan (Chromium with each app's user agent, and a desktop), on the
local stack: inside WeChat (silent OAuth → JSAPI through a stand-in WeixinJSBridge → paid →
bill), inside Alipay (wap pay at the simulator's cashier → bill), and at a desktop (WeChat's QR
code, read from the screen with zbarimg and paid by the simulator as a phone's scan → bill).

The stand-in WeChat client is ``devstack.sim_weixin.BRIDGE_JS`` injected into every page of a
context with WeChat's user agent; its payments go to the simulator's ``/wechatpay/_sim/
jsapi-pay`` through a Playwright binding (the page's CSP lets it fetch from our origin only, as
in production). Console errors (a CSP violation among them) fail the test. Screenshots go to
``tests/output/browser/``.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.sim_weixin import BRIDGE_JS
from tests.integration.stack_client import (
    create_note,
    get_note,
    last_errors,
    wait_until_issued,
)
from tests.integration.test_browser import (
    ISSUE_TIMEOUT_MS,
    OUTPUT,
    assert_fits_the_screen,
    assert_light,
    shoot,
)
from tests.unit.test_payer_clients import ALIPAY, CHROME_WINDOWS, WECHAT_ANDROID

pytestmark = pytest.mark.integration


def watched(context: Any) -> Any:
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = []

    def on_console(message: Any) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not url.endswith("/favicon.ico"):
            page.problems.append(f"{message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


@pytest.fixture()
def wechat(browser: Any, stack: dict[str, Any]) -> Iterator[Any]:
    """A phone's WeChat: its user agent, its WeChat user (alice), its WeixinJSBridge."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  is_mobile=True, has_touch=True, device_scale_factor=2,
                                  user_agent=WECHAT_ANDROID)
    context.add_cookies([{"name": "sim_wx_user", "value": "alice",
                          "url": stack["simulator_url"]}])
    context.add_init_script(BRIDGE_JS)

    def pay(source: Any, params: dict[str, str]) -> dict[str, Any]:
        answer = requests.post(f"{stack['simulator_url']}/wechatpay/_sim/jsapi-pay",
                               data=json.dumps({"user": "alice", "params": params}), timeout=15)
        return answer.json()

    context.expose_binding("__simWechatPay", pay)
    try:
        yield watched(context)
    finally:
        context.close()


@pytest.fixture()
def alipay_app(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  is_mobile=True, has_touch=True, device_scale_factor=2,
                                  user_agent=ALIPAY)
    try:
        yield watched(context)
    finally:
        context.close()


@pytest.fixture()
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN",
                                  user_agent=CHROME_WINDOWS)
    try:
        yield watched(context)
    finally:
        context.close()


def test_inside_wechat_a_scan_pays_by_jsapi_and_the_page_follows_to_the_bill(stack, wechat):
    from playwright.sync_api import expect

    code = create_note(stack)["payment_code"]
    pay_url = f"{stack['base_url']}/pay/{code}"
    wechat.goto(pay_url)  # → WeChat's silent OAuth (the simulator's) → back → the pay page
    # (the browser keeps the authorise link's #wechat_redirect through the redirects back)
    assert wechat.url.split("#")[0] == pay_url, (wechat.url, wechat.inner_text("body")[:500],
                                                 last_errors(stack))
    button = wechat.get_by_role("button", name="微信支付")
    expect(button).to_be_enabled()
    body = wechat.locator("body")
    expect(body).to_contain_text("在默认浏览器中打开")
    expect(body).to_contain_text("代理银行柜台")
    assert wechat.get_by_role("button", name="支付宝").count() == 0
    assert_fits_the_screen(wechat, "the pay page inside WeChat")
    assert_light(pay_url)
    shoot(wechat, "wechat-pay.png")

    button.click()
    cashier = wechat.get_by_role("dialog", name="微信支付")
    expect(cashier).to_contain_text("prepay_id=")
    shoot(wechat, "wechat-jsapi.png")
    cashier.get_by_role("button", name="确认支付").click()
    expect(wechat.locator(".badge")).to_have_text("已开票", timeout=ISSUE_TIMEOUT_MS)
    assert wechat.url == pay_url
    shoot(wechat, "wechat-issued.png")
    wechat.get_by_role("link", name="查看电子票据").click()
    bill = get_note(stack, code)["bill"]
    expect(wechat.locator("body")).to_contain_text(bill["check_code"])
    assert wechat.problems == [], wechat.problems


def test_inside_wechat_a_cancelled_payment_leaves_the_note_payable(stack, wechat):
    from playwright.sync_api import expect

    code = create_note(stack)["payment_code"]
    wechat.goto(f"{stack['base_url']}/pay/{code}")
    wechat.get_by_role("button", name="微信支付").click()
    wechat.get_by_role("dialog", name="微信支付").get_by_role("button", name="取消").click()
    expect(wechat.locator("#wxpay-status")).to_have_text("您已取消支付，可再次点击微信支付。")
    expect(wechat.get_by_role("button", name="微信支付")).to_be_enabled()
    assert get_note(stack, code)["status"] == "unpaid"
    assert wechat.problems == [], wechat.problems


def test_inside_alipay_the_payer_is_offered_alipay_and_pays_at_its_cashier(stack, alipay_app):
    from playwright.sync_api import expect

    code = create_note(stack)["payment_code"]
    pay_url = f"{stack['base_url']}/pay/{code}"
    alipay_app.goto(pay_url)
    assert alipay_app.get_by_role("button", name="微信支付").count() == 0
    expect(alipay_app.locator("body")).to_contain_text("支付宝内无法使用微信支付")
    assert_fits_the_screen(alipay_app, "the pay page inside Alipay")
    shoot(alipay_app, "alipay-pay.png")
    alipay_app.get_by_role("button", name="支付宝").click()
    alipay_app.wait_for_url(re.compile(re.escape(stack["simulator_url"]) + r"/alipay/.*"))
    expect(alipay_app.locator("body")).to_contain_text("100.50")
    alipay_app.get_by_role("button", name="确认支付").click()
    alipay_app.wait_for_url(pay_url)
    expect(alipay_app.locator(".badge")).to_have_text("已开票", timeout=ISSUE_TIMEOUT_MS)
    shoot(alipay_app, "alipay-issued.png")
    assert alipay_app.problems == [], alipay_app.problems


def test_a_desktop_payer_scans_the_wechat_qr_code_and_the_page_follows_to_the_bill(
        stack, desktop):
    from playwright.sync_api import expect

    code = create_note(stack)["payment_code"]
    pay_url = f"{stack['base_url']}/pay/{code}"
    desktop.goto(pay_url)
    expect(desktop.locator("body")).to_contain_text("请用手机微信「扫一扫」支付")
    assert [b.locator("span").inner_text() for b in desktop.locator("button.pay").all()] == [
        "微信支付", "支付宝", "云闪付"]
    shoot(desktop, "desktop-pay.png")
    desktop.get_by_role("button", name="微信支付").click()
    desktop.wait_for_url(re.compile(re.escape(pay_url) + r"/qr/\w+"))
    qr = desktop.locator(".qr svg")
    expect(qr).to_be_visible()
    shoot(desktop, "desktop-qr.png")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    qr.screenshot(path=str(OUTPUT / "desktop-qr-code.png"))
    scanned = subprocess.run(["zbarimg", "--raw", "-q", str(OUTPUT / "desktop-qr-code.png")],
                             capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    assert scanned.startswith("weixin://wxpay/bizpayurl?pr="), scanned
    answer = requests.post(f"{stack['simulator_url']}/wechatpay/_sim/scan",
                           data=json.dumps({"code_url": scanned}), timeout=15).json()
    assert answer["err_msg"] == "ok", answer
    desktop.wait_for_url(pay_url, timeout=ISSUE_TIMEOUT_MS)  # the QR page follows the note
    expect(desktop.locator(".badge")).to_have_text("已开票", timeout=ISSUE_TIMEOUT_MS)
    wait_until_issued(stack, code)
    shoot(desktop, "desktop-issued.png")
    assert desktop.problems == [], desktop.problems
