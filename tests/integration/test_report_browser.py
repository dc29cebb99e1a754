"""The finance console's weekly report page (每周一报) in Chromium on the local stack: a
finance auditor reaches it from the menu, sees the running week with its inline SVG charts,
and the page passes axe-core's WCAG 2.1 A/AA rules, runs no script and stays under 100 KB."""

from __future__ import annotations

import pytest

from tests.integration.test_console_browser import checked, desk, sign_in  # noqa: F401

pytestmark = pytest.mark.integration


def test_an_auditor_reads_the_weekly_report_from_the_menu(stack, desk):  # noqa: F811
    page = desk
    sign_in(page, stack, "finance_auditor")
    page.get_by_role("link", name="每周一报").click()
    body = checked(page)
    assert "每周一报" in body and "本周合计" in body and "<svg" in body
    assert "本周尚未结束" in body
    page.get_by_role("link", name="上一周").click()
    body = checked(page)
    assert "已定稿" in body or "本周已结束" in body
