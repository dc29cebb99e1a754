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


def test_an_open_refund_mismatch_shows_by_kind_in_json_csv_pdf_and_on_the_page(client, world):
    """A refund we recorded that the channel's statement lacks, left open by reconciliation,
    is in the week's open differences by kind: the same figure in every form."""
    import csv
    import io
    import json

    from pypdf import PdfReader

    from chalicelib.domain.reconciliation import ReconLine
    from chalicelib.domain.reports import report_rows

    code = paid_and_billed(world, client)
    world.deps.reconciliations.put_line(ReconLine(
        date="2026-06-15", channel="wechatpay", line_id="refund-RF9", kind="refund",
        status="refund_mismatch", channel_txn_id="TX9", payment_code=code, amount_fen=10000,
        recorded_fen=10000, recorded_status="exception", on_statement=False))
    auth = world.finance_auth()
    week = "/v1/admin/reports/weekly/2026-W25"
    report = json.loads(client.http.get(week, headers=auth).body)
    assert report["discrepancies_by_kind"] == [
        {"kind": "refund_mismatch", "name": "退款不符", "count": 1, "total_fen": 10000}]
    assert report["totals"]["open_discrepancies"] == {"count": 1, "total_fen": 10000}
    rows = list(csv.reader(io.StringIO(
        client.http.get(week + ".csv", headers=auth).body.decode("utf-8").lstrip("\ufeff"))))
    assert [tuple(row) for row in rows[1:]] == report_rows(report)
    assert ["discrepancy_kind", "", "", "refund_mismatch", "退款不符", "open_discrepancies",
            "未处理对账差异", "1", "10000"] in rows
    pdf = client.http.get(week + ".pdf", headers=auth).body
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "退款不符" in text
    cookies, _ = sign_in(client, world, "finance_auditor")
    page = get(client, PATH, cookies).body.decode("utf-8")
    assert "未处理对账差异（按类型）" in page and "<td>退款不符</td>" in page
