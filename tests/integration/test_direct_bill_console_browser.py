"""The unit console's direct-bill form (直接开票) and the finance console's template form in
Chromium, on the local stack: a hospital operator (made by the finance admin) switches to the
inpatient kind, fills the items and the template's extra fields, is told next to the input what
is wrong, issues the bill and opens its PDF, OFD and 告知单; the finance admin defines a template
starting from a built-in one. Every page passes axe-core's WCAG 2.1 A/AA rules, is under
100 KB and runs no script."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from tests.integration.test_console_browser import checked, desk, sign_in  # noqa: F401

pytestmark = pytest.mark.integration
PASSWORD = "Cedar-Lake-2026"
ITEMS = (("0701", "9", "60.00"), ("0805", "1", "3800.00"), ("0806", "1", "860.00"))
EXTRA = {"#extra_inpatient_number": "ZY2026000456", "#extra_department": "骨科",
         "#extra_admitted_on": "2026-01-05", "#extra_discharged_on": "2026-01-14",
         "#extra_insurance_number": "34010020010203", "#extra_fund_paid_fen": "3120.00",
         "#extra_self_paid_fen": "2080.00", "#extra_prepaid_fen": "3000.00",
         "#extra_refund_fen": "920.00"}  # 3000 − 920 = 2080 self-paid


def _hospital_operator(page: Any, stack: dict[str, Any]) -> str:
    """A new operator of the seed's hospital, made on the finance console's people page."""
    username = f"op.{secrets.token_hex(3)}"
    sign_in(page, stack, "finance_admin")
    page.get_by_role("link", name="人员").click()
    page.fill("#f-username", username)
    page.fill("#f-display_name", "王医")
    page.select_option("#f-role", "unit_operator")
    page.fill("#f-unit_code", "340100003")
    page.fill("#f-password", PASSWORD)
    page.uncheck("#f-totp")
    page.get_by_role("button", name="创建账号").click()
    assert f"已创建账号 {username}" in checked(page)
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert username in page.inner_text("header")
    return username


def test_an_operator_issues_an_inpatient_bill_in_the_direct_bill_form(stack: dict[str, Any],
                                                                      desk: Any) -> None:  # noqa: F811
    page = desk
    _hospital_operator(page, stack)
    page.get_by_role("link", name="直接开票").click()
    assert "就诊信息" in checked(page)  # the unit's own kind first: outpatient
    page.select_option("#kind", "0602")
    page.get_by_role("button", name="切换票据种类").click()
    page.wait_for_load_state("load")
    assert "住院信息" in page.content()  # axe runs once the form is filled, on this document
    page.fill("#payer_name", "李四")
    for n, (code, qty, std) in enumerate(ITEMS):
        page.select_option(f"#item_code-{n}", code)
        page.fill(f"#quantity-{n}", qty)
        page.fill(f"#standard-{n}", std)
    for selector, value in EXTRA.items():
        page.fill(selector, value)
    page.select_option("#extra_insurance_type", "城乡居民基本医疗保险")
    page.select_option("#extra_institution_type", "综合医院")
    page.select_option("#paid_by", "pos")
    page.fill("#extra_self_paid_fen", "2000.00")  # 3120 + 2000 ≠ 5200: refused, named
    checked(page, "console-unit-direct-bill-new.png")
    page.get_by_role("button", name="开具票据").click()
    body = checked(page, "console-unit-direct-bill-refused.png")
    assert 'id="e-extra_fund_paid_fen"' in body and "must equal total_fen" in body
    assert page.input_value("#extra_inpatient_number") == "ZY2026000456"  # kept
    page.fill("#extra_self_paid_fen", "2080.00")
    page.get_by_role("button", name="开具票据").click()
    page.wait_for_load_state()
    deadline = time.monotonic() + 30
    while "票据已开具" not in page.inner_text("main") and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    body = checked(page, "console-unit-direct-bill.png")
    assert "票据已开具" in body and "POS 刷卡" in body and "<dt>住院号</dt>" in body
    for name, magic in (("下载 PDF", b"%PDF-"), ("下载 OFD", b"PK")):
        href = page.get_by_role("link", name=name).get_attribute("href")
        got = page.request.get(href)
        assert got.status == 200 and got.body()[:len(magic)] == magic, href
    href = page.get_by_role("link", name="打印票据告知单（PDF）").get_attribute("href")
    notice = page.request.get(f"{stack['base_url']}{href}")
    assert notice.status == 200 and notice.body()[:5] == b"%PDF-"


def test_a_finance_admin_defines_a_template_from_a_built_in_one(stack: dict[str, Any],
                                                                desk: Any) -> None:  # noqa: F811
    page = desk
    sign_in(page, stack, "finance_admin")
    page.get_by_role("link", name="票据模板").click()
    page.get_by_role("link", name="模板管理（定义、修改模板）").click()
    checked(page, "console-finance-templates.png")
    page.get_by_role("link", name="资金往来结算收据").click()
    assert "内置模板不可修改" in checked(page)
    page.get_by_role("link", name="以此为基础定义新模板").click()
    template_id = f"deposit-{secrets.token_hex(3)}"
    page.fill("#template_id", template_id)
    page.fill("#name", "保证金收据")
    page.fill("#payer_label", "交款单位")
    checked(page, "console-finance-template-form.png")
    page.get_by_role("button", name="保存模板").click()
    body = checked(page)
    assert "已保存为第 1 版" in body and template_id in body
