"""The finance console's weekly report page: behind the sign-in, finance roles only, the same
figures as the API, charts drawn inline."""

from __future__ import annotations

from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_finance_console_people import get
from tests.functional.test_weekly_reports import paid_and_billed

PATH = "/console/finance/reports/weekly"


def test_a_finance_auditor_sees_the_running_week_with_its_charts(client, world):
    paid_and_billed(world, client)
    cookies, _ = sign_in(client, world, "finance_auditor")
    r = get(client, PATH, cookies)
    assert r.status_code == 200, r.body
    html = r.body.decode("utf-8")
    assert "每周一报 2026-W25" in html and "本周尚未结束" in html
    assert html.count("<svg") >= 2 and "<script" not in html
    assert "100.00" in html and "合肥市不动产登记中心" in html
    assert "http://" not in html.replace("http://testserver", "")  # nothing from outside


def test_a_week_not_begun_or_malformed_is_said_on_the_page(client, world):
    cookies, _ = sign_in(client, world, "finance_admin")
    r = get(client, f"{PATH}?week=2026-W30", cookies)
    assert r.status_code == 404 and "尚未开始" in r.body.decode("utf-8")
    r = get(client, f"{PATH}?week=W30", cookies)
    assert r.status_code == 400 and 'aria-invalid="true"' in r.body.decode("utf-8")


def test_a_unit_admin_and_no_one_cannot_see_it(client, world):
    cookies, _ = sign_in(client, world, "unit_admin")
    assert get(client, PATH, cookies).status_code == 403
    assert get(client, PATH, []).status_code == 303
