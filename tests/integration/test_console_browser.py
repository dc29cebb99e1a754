"""Each role's main journey through the consoles in Chromium (desktop, zh-CN) on the local stack:
sign-in with TOTP, a refused action for a lesser role, the online unit creating, printing and
following a note. Every page visited passes axe-core's WCAG 2.1 A/AA rules (0 violations), is
under 100 KB, and runs no script; screenshots for the README go to tests/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from chalicelib.domain.china_time import CHINA_TZ
from devstack.simulator import pay_at_bank
from tests.integration.axe import violations
from tests.integration.stack_client import (
    REPO,
    create_note,
    issue_a_bill,
    run_scheduled_jobs,
    stack_now,
)

pytestmark = pytest.mark.integration

SCREENSHOTS = REPO / "tests" / "screenshots"
MAX_PAGE_BYTES = 100 * 1024
_USED_STEPS: dict[str, int] = {}  # the stack is shared: a code is accepted once per account


@pytest.fixture()
def desk(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  bypass_csp=True)  # only so that the test can inject axe
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    try:
        yield page
    finally:
        context.close()


def person(stack: dict[str, Any], role: str) -> dict[str, Any]:
    return next(p for p in stack["people"] if p["role"] == role)


def fresh_code(who: dict[str, Any], stack: dict[str, Any]) -> str:
    """A code the server has not accepted yet for this account (now, or the next step, which
    the server's ±1 step also accepts; else wait for the step after), on the stack's clock."""
    totp = pyotp.TOTP(who["totp_secret"])
    step = int(stack_now(stack).timestamp()) // 30
    last = _USED_STEPS.get(who["username"], 0)
    if last >= step + 1:
        time.sleep(30 - stack_now(stack).timestamp() % 30 + 0.5)
        step = int(stack_now(stack).timestamp()) // 30
    use = step if last < step else step + 1
    _USED_STEPS[who["username"]] = use
    return str(totp.at(use * 30))


def checked(page: Any, screenshot: str | None = None) -> str:
    """The page's HTML, after asserting axe finds nothing, its size and that no script runs.

    A click that navigates returns once the next document commits, before it is parsed; reading it
    then gives '' (seen in CI), so this waits for the document's load event first."""
    page.wait_for_load_state("load")
    html = page.content()  # before axe is injected (it adds ~540 KB of script)
    assert len(html.encode()) < MAX_PAGE_BYTES, (page.url, len(html.encode()))
    assert "<script" not in html, page.url
    assert violations(page) == [], page.url
    assert page.problems == [], page.problems
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / screenshot))
    return html


def sign_in(page: Any, stack: dict[str, Any], role: str, screenshot: str | None = None) -> None:
    who = person(stack, role)
    page.goto(f"{stack['base_url']}/console")
    page.fill("#username", who["username"])
    page.fill("#password", who["password"])
    if "totp_secret" in who:
        page.fill("#otp", fresh_code(who, stack))
    checked(page, screenshot)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert who["username"] in page.inner_text("header"), page.content()


# The tests run in this order so that the finance admin's sign-ins (three here, two in
# test_direct_bill_console_browser.py right after) come about half a minute apart: the stack
# accepts each TOTP code once per account (a code of a step already used is refused, by design),
# so back-to-back sign-ins of one person must wait for the next 30-second step (fresh_code).


def test_a_finance_admin_signs_in_with_totp_creates_a_person_and_reads_the_audit(stack, desk):
    page = desk
    sign_in(page, stack, "finance_admin", "console-sign-in.png")
    assert page.url.endswith("/console/finance")
    checked(page)
    page.get_by_role("link", name="人员").click()
    checked(page, "console-finance-people.png")
    page.fill("#f-username", "he.ping")
    page.fill("#f-display_name", "何平")
    page.select_option("#f-role", "unit_operator")
    page.fill("#f-unit_code", "340100002")
    page.fill("#f-password", "Orchid-Bay-2026")
    page.get_by_role("button", name="创建账号").click()
    body = checked(page)
    assert "已创建账号 he.ping" in body and "otpauth://totp/" in body
    page.get_by_role("link", name="单位").click()
    checked(page, "console-finance-units.png")
    page.get_by_role("link", name="340100001").click()
    page.fill("#r-count", "50")
    page.get_by_role("button", name="分配号段").click()
    body = checked(page, "console-finance-unit.png")
    assert "已分配号段" in body and "不动产登记费" in body
    issue_a_bill(stack)  # the day shown has a note paid and billed, and one still open
    create_note(stack)
    page.get_by_role("link", name="当日业务").click()
    body = checked(page, "console-finance-day.png")
    assert "当日没有业务" not in body and stack["units"][0]["unit_code"] in body
    page.get_by_role("link", name="审计日志").click()
    page.fill("#f-username", "he.ping")
    page.get_by_role("button", name="查询").click()
    body = checked(page, "console-finance-audit.png")
    assert "创建账号" in body and "by=finance.admin" in body
    page.get_by_role("button", name="退出登录").click()
    assert page.url.endswith("/console")


def test_an_auditor_sees_people_without_forms_and_is_refused_the_unit_console(stack, desk):
    page = desk
    sign_in(page, stack, "finance_auditor")
    page.get_by_role("link", name="人员").click()
    assert "新建账号" not in checked(page)
    page.goto(f"{stack['base_url']}/console/unit/notes/new")
    body = checked(page, "console-403.png")
    assert "无权操作" in body


def test_an_operator_creates_prints_and_follows_a_note_until_billed(stack, desk):
    page = desk
    sign_in(page, stack, "unit_operator")
    assert page.url.endswith("/console/unit")
    page.get_by_role("link", name="开具缴款书").click()
    page.fill("#payer_name", "陈晓")
    page.fill("#payer_phone", "13912345678")
    page.select_option("#item_code-0", "103040100101")
    page.fill("#quantity-0", "1")
    page.fill("#standard-0", "80.00")
    page.select_option("#item_code-1", "103040100103")
    page.fill("#quantity-1", "2")
    page.fill("#standard-1", "10.00")
    checked(page, "console-unit-note-new.png")
    page.get_by_role("button", name="开具缴款书").click()
    body = checked(page, "console-unit-note.png")
    assert "缴款书已开具" in body and "100.00" in body and "待缴款" in body
    code = page.url.split("/console/unit/notes/")[1].split("?")[0]
    pdf = page.request.get(f"{stack['base_url']}/console/unit/notes/{code}/notice.pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    assert pay_at_bank(stack, code, 10000) == 200
    deadline = time.monotonic() + 30
    while "已开票" not in page.inner_text("main") and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    body = checked(page, "console-unit-note-issued.png")
    assert "已开票" in body and "银行柜台" in body and "查看电子票据" in body
    page.get_by_role("link", name="缴款书", exact=True).click()
    page.fill("#f-q", "陈晓")
    page.get_by_role("button", name="查询").click()
    assert code in checked(page, "console-unit-notes.png")
    page.get_by_role("link", name="票据", exact=True).click()
    assert code in checked(page)
    page.get_by_role("link", name=code).click()
    page.get_by_role("link", name="查看电子票据").click()
    assert "票据" in page.inner_text("body")


def _sign_in_as(page: Any, stack: dict[str, Any], username: str, password: str,
                otp: str = "") -> None:
    page.goto(f"{stack['base_url']}/console")
    page.fill("#username", username)
    page.fill("#password", password)
    if otp:
        page.fill("#otp", otp)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert username in page.inner_text("header"), page.content()


def test_a_person_changes_their_password_enrols_totp_and_an_admins_reset_ends_their_session(
        stack, desk, browser):
    admin = desk
    sign_in(admin, stack, "finance_admin")
    admin.get_by_role("link", name="人员").click()
    admin.fill("#f-username", "xu.lan")
    admin.fill("#f-display_name", "徐岚")
    admin.select_option("#f-role", "unit_operator")
    admin.fill("#f-unit_code", "340100002")
    admin.fill("#f-password", "Willow-Lane-2026")
    admin.uncheck("#f-totp")
    admin.get_by_role("button", name="创建账号").click()
    assert "已创建账号 xu.lan" in checked(admin)
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                bypass_csp=True)
    try:
        me = other.new_page()
        me.problems = []
        _sign_in_as(me, stack, "xu.lan", "Willow-Lane-2026")
        me.get_by_role("link", name="我的账号").click()
        checked(me, "console-me.png")
        me.fill("#p-current", "Willow-Lane-2026")
        me.fill("#p-new", "Cedar-Hill-2027")
        me.fill("#p-again", "Cedar-Hill-2027")
        me.get_by_role("button", name="修改密码").click()
        assert "已修改密码" in checked(me)
        me.fill("#t-current", "Cedar-Hill-2027")
        me.get_by_role("button", name="生成新密钥").click()
        body = checked(me, "console-me-totp.png")
        assert "仅显示这一次" in body and "<svg" in body
        secret = me.inner_text("dd.code >> nth=0").strip()
        me.fill("#c-otp", pyotp.TOTP(secret).at(stack_now(stack)))
        me.get_by_role("button", name="确认并启用").click()
        body = checked(me)
        assert "已启用新的动态口令" in body and "已启用" in me.inner_text("main")
        admin.goto(f"{stack['base_url']}/console/finance/people/xu.lan")
        assert "徐岚" in checked(admin, "console-finance-person.png")
        admin.fill("#r-password", "Birch-Road-2028")
        admin.check("#r-confirm")
        admin.get_by_role("button", name="重置密码").click()
        assert "已重置 xu.lan 的密码" in checked(admin)
        me.reload()
        assert me.url.endswith("/console?expired=1"), me.url
        checked(me)
    finally:
        other.close()


def test_a_unit_admin_with_totp_lets_operators_cancel_and_an_operator_may_not_manage_people(
        stack, desk, browser):
    page = desk
    sign_in(page, stack, "unit_admin")
    page.get_by_role("link", name="本单位人员").click()
    checked(page, "console-unit-people.png")
    page.check("#p-cancel")
    page.get_by_role("button", name="保存经办人权限").click()
    assert "已保存经办人权限" in checked(page) and page.is_checked("#p-cancel")
    page.get_by_role("link", name="unit1.operator 的权限").click()  # one operator's own set
    assert "按单位默认" in checked(page)
    page.check("#m-own")
    page.check("#a-cancel")
    page.check("#a-void")
    page.check("#f-confirm")
    page.get_by_role("button", name="保存权限").click()
    body = checked(page, "console-unit-person.png")
    assert "已保存该经办人的权限" in body and "撤销缴款书、作废" in body
    page.check("#m-default")  # and back to the unit's default
    page.check("#f-confirm")
    page.get_by_role("button", name="保存权限").click()
    assert "（按单位默认）" in checked(page)
    page.get_by_role("link", name="审计日志").click()  # the unit's audit log
    body = checked(page, "console-unit-audit.png")
    assert "经办人单独权限" in body and "person#unit1.operator" in body
    page.fill("#f-username", "unit1.operator")
    page.get_by_role("button", name="查询").click()
    assert "person#unit1.admin" not in checked(page)
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                bypass_csp=True)
    try:
        operator = other.new_page()
        operator.problems = []
        sign_in(operator, stack, "unit_operator")
        operator.goto(f"{stack['base_url']}/console/unit/people")
        assert "无权操作" in checked(operator)
    finally:
        other.close()


def test_a_county_finance_person_sees_only_their_county(stack, desk, browser):
    admin = desk
    sign_in(admin, stack, "finance_admin")
    admin.get_by_role("link", name="人员").click()
    admin.fill("#f-username", "yaohai.fin")
    admin.fill("#f-display_name", "瑶海区财政局")
    admin.select_option("#f-role", "finance_auditor")
    admin.fill("#f-scope", "340102")
    admin.fill("#f-password", "Lotus-Pond-2026")
    admin.get_by_role("button", name="创建账号").click()
    assert "已创建账号 yaohai.fin" in checked(admin)
    secret = admin.inner_text("dd.code >> nth=0").strip()
    admin.goto(f"{stack['base_url']}/console/finance/people")
    assert "辖区 340102" in checked(admin)
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                bypass_csp=True)
    try:
        county = other.new_page()
        county.problems = []
        _sign_in_as(county, stack, "yaohai.fin", "Lotus-Pond-2026",
                    pyotp.TOTP(secret).at(stack_now(stack)))
        assert "340102" in checked(county)
        county.get_by_role("link", name="单位").click()
        assert "340100001" not in checked(county)
        county.goto(f"{stack['base_url']}/console/finance/units/340100001")
        assert "未找到" in checked(county, "console-finance-out-of-region.png")
        county.get_by_role("link", name="人员").click()
        assert "unit1.operator" not in checked(county)
    finally:
        other.close()


def wait_for(page: Any, text: str, seconds: float) -> None:
    """Reload until ``text`` is on the page (the stack's worker and scheduler run apart)."""
    deadline = time.monotonic() + seconds
    while text not in page.inner_text("main") and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    assert text in page.inner_text("main"), page.url


def test_a_unit_admin_reverses_a_bill_and_records_a_refund_given_back_by_hand(stack, desk):
    page = desk
    sign_in(page, stack, "unit_admin")
    page.get_by_role("link", name="开具缴款书").click()
    page.fill("#payer_name", "林青")
    page.select_option("#item_code-0", "103040100101")
    page.fill("#quantity-0", "1")
    page.fill("#standard-0", "80.00")
    page.get_by_role("button", name="开具缴款书").click()
    code = page.url.split("/console/unit/notes/")[1].split("?")[0]
    assert pay_at_bank(stack, code, 8000) == 200
    wait_for(page, "已开票", 30)
    assert pay_at_bank(stack, code, 8000) == 409  # paid twice at the counter: an exception
    page.get_by_role("link", name="票据详情与办理").click()
    body = checked(page, "console-unit-bill.png")
    assert "正常" in body and "冲红…" in body
    page.get_by_role("link", name="冲红…").click()
    checked(page, "console-unit-bill-confirm.png")
    page.get_by_role("button", name="确认冲红").click()  # the browser asks for the reason first
    assert "/confirm/reverse" in page.url
    page.fill("#f-reason", "缴款人申请退费")
    page.check("#f-confirm")
    page.get_by_role("button", name="确认冲红").click()
    body = checked(page, "console-unit-bill-reversed.png")
    assert "已冲红。红字票据" in body and "冲红…" not in body
    page.get_by_role("link", name="查看红字票据").click()
    assert "红字票据" in checked(page) and "-80.00" in page.inner_text("main")
    page.get_by_role("link", name="票据", exact=True).click()
    page.select_option("#f-status", "reversed")
    page.get_by_role("button", name="查询").click()
    body = checked(page, "console-unit-bills.png")
    assert "已冲红" in body and "林青" in body
    page.get_by_role("link", name="异常缴款").click()
    today = stack_now(stack).astimezone(CHINA_TZ).date().isoformat()
    page.fill("#f-paid_from", today)  # the day's exceptions only (the index's key condition)
    page.get_by_role("button", name="查询").click()
    assert "paid_from=" in page.url
    checked(page)
    # the scheduler's refund job (every 60 s on the stack; asked to run now, and again every
    # few seconds in case the payment was not recorded yet) finds a counter payment has no
    # refund API: 需线下退款 in this payment's row (other tests' rows may say so sooner)
    record = page.locator(f"tr:has-text('{code}')").get_by_role("link", name="登记线下退款…")
    deadline = time.monotonic() + 180
    asked = 0.0
    while record.count() == 0 and time.monotonic() < deadline:
        if time.monotonic() - asked > 5:
            run_scheduled_jobs(stack)
            asked = time.monotonic()
        time.sleep(1)
        page.reload()
    record.click()
    checked(page, "console-unit-refund-confirm.png")
    page.fill("#f-reason", "柜台退现金，凭证号 0615-01")
    page.check("#f-confirm")
    page.get_by_role("button", name="确认登记").click()
    body = checked(page, "console-unit-exceptions.png")
    assert "已登记线下退款" in body
    assert "已线下退款" in page.locator(f"tr:has-text('{code}')").inner_text()
