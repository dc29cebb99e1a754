"""The finance console's 票据模板 page in Chromium: a finance admin sees each kind's template and
chooses another for a kind (then the seed's again, as the stack is shared); the page passes
axe-core's WCAG 2.1 A/AA rules, is under 100 KB and runs no script."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_console_browser import checked, desk, sign_in  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_finance_admin_chooses_a_kinds_template_on_an_accessible_page(stack: dict[str, Any],
                                                                         desk: Any) -> None:  # noqa: F811
    page = desk
    sign_in(page, stack, "finance_admin")
    page.get_by_role("link", name="票据模板").click()
    body = checked(page, "console-finance-bill-kinds.png")
    assert "医保统筹支付" in body and "住院信息" in body
    for template_id, name in (("nontax-general", "非税收入通用版式"),
                              ("medical-outpatient", "医疗门诊收费票据")):
        page.select_option("#t-0601", template_id)
        page.locator("form[action='/console/finance/bill-kinds/0601'] button").click()
        page.wait_for_load_state()
        assert f"今后开具的票据使用模板「{name}" in checked(page)
