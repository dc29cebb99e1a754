"""The weekly report (每周一报) on moto: recorded through the app, read back through the day
indexes, kept by the Monday job in the write-once archive."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from pypdf import PdfReader

from chalicelib.domain.reports import parse_week, report_rows
from chalicelib.services.finance_keys import create_finance_key
from chalicelib.services.reports import archive_key, week_records
from tests.functional.test_end_to_end import create_and_open, notify

# tests/world.py pins 2026-06-15 10:00 China time: Monday of 2026-W25.
THIS_WEEK, LAST_WEEK = "2026-W25", "2026-W24"


def run_weekly_job(client) -> None:
    client.lambda_.invoke("weekly_report", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", resources=[], detail={}))


def paid_and_billed(world, client) -> str:
    code, order = create_and_open(world, client)
    assert notify(world, client, order).status_code == 204
    world.drain()
    return code


def test_the_day_indexes_find_what_the_app_recorded(world, client):
    code = paid_and_billed(world, client)
    records = week_records(world.deps, parse_week(THIS_WEEK))
    assert [n.payment_code for n in records.notes_created] == [code]
    assert [n.payment_code for n in records.notes_paid] == [code]
    assert [b.payment_code for b in records.bills_issued] == [code]
    assert records.exceptions == [] and records.bills_voided == []


def test_the_monday_job_keeps_last_weeks_report_in_every_form(world, client):
    world.clock.now -= timedelta(days=7)  # a note of last week
    paid_and_billed(world, client)
    world.clock.now += timedelta(days=7)
    run_weekly_job(client)
    kept = json.loads(world.deps.archive.get(archive_key(parse_week(LAST_WEEK), "json")))
    assert kept["scope"] == ""  # the whole system's
    assert kept["state"] == "final" and kept["week"] == LAST_WEEK
    assert kept["totals"]["paid"] == {"count": 1, "total_fen": 10000}
    assert kept["units"][0]["name"]
    pdf = world.deps.archive.get(archive_key(parse_week(LAST_WEEK), "pdf"))
    assert pdf.startswith(b"%PDF-")
    run_weekly_job(client)  # again: the kept report stands
    assert json.loads(world.deps.archive.get(
        archive_key(parse_week(LAST_WEEK), "json"))) == kept


def get(client, path: str, headers: dict):
    return client.http.get(path, headers=headers)


def test_the_route_serves_the_same_figures_as_json_csv_and_pdf(world, client):
    world.clock.now -= timedelta(days=7)
    paid_and_billed(world, client)
    world.clock.now += timedelta(days=7)
    auth = world.finance_auth()
    r = get(client, f"/v1/admin/reports/weekly/{LAST_WEEK}", auth)
    assert r.status_code == 200, r.body
    assert r.headers["X-Report-State"] == "final"
    report = json.loads(r.body)
    assert report["totals"]["paid"] == {"count": 1, "total_fen": 10000}
    assert report["scope"] == "34"
    r = get(client, f"/v1/admin/reports/weekly/{LAST_WEEK}.csv", auth)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8").lstrip("\ufeff"))))
    assert [tuple(row) for row in rows[1:]] == report_rows(report)
    r = get(client, f"/v1/admin/reports/weekly/{LAST_WEEK}.pdf", auth)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.body)).pages)
    assert "100.00" in text and LAST_WEEK in text
    assert world.deps.archive.get(archive_key(parse_week(LAST_WEEK), "json", "34")) \
        == json.dumps(report, ensure_ascii=False, sort_keys=True).encode("utf-8")


def test_the_current_week_is_live_and_a_future_week_is_404(world, client):
    paid_and_billed(world, client)
    r = get(client, f"/v1/admin/reports/weekly/{THIS_WEEK}", world.finance_auth())
    assert r.status_code == 200 and r.headers["X-Report-State"] == "live"
    assert json.loads(r.body)["totals"]["bills"]["count"] == 1
    r = get(client, "/v1/admin/reports/weekly/2026-W26", world.finance_auth())
    assert r.status_code == 404
    assert json.loads(r.body)["error"]["code"] == "report_not_available"


@pytest.mark.parametrize("week", ["2026-W1", "2026-W54", "2025-W53", "2026-W24.xml", "latest",
                                  "2026-W24.csv.pdf", "%00", "9999-W52"])
def test_a_bad_week_is_400_in_the_contracts_shape(world, client, week):
    r = get(client, f"/v1/admin/reports/weekly/{week}", world.finance_auth())
    assert r.status_code == 400
    assert "week" in json.loads(r.body)["error"]["fields"]


def test_only_the_finance_key_reads_reports(world, client):
    path = f"/v1/admin/reports/weekly/{LAST_WEEK}"
    assert get(client, path, {}).status_code == 401
    assert get(client, path, world.auth()).status_code == 403
    assert get(client, path, world.auth(0, "reimbursers")).status_code == 403


def test_a_county_key_sees_only_its_countys_units(world, client):
    paid_and_billed(world, client)  # a unit of 合肥市 (3401)
    _, county_key = create_finance_key(world.deps, scope="340102", label="瑶海区财政局")
    r = get(client, f"/v1/admin/reports/weekly/{THIS_WEEK}",
            {"Authorization": f"Bearer {county_key}"})
    assert r.status_code == 200
    report = json.loads(r.body)
    assert report["scope"] == "340102" and report["units"] == []
    assert report["totals"]["paid"]["count"] == 0


def test_a_weeks_cost_is_bounded_by_its_days_not_by_what_the_tables_hold(world, client,
                                                                          monkeypatch):
    import time
    from collections import Counter

    from chalicelib.services.reports import compute_report
    from tests.functional.support import counting_aws_calls

    def measure() -> tuple[Counter, float]:
        with counting_aws_calls(monkeypatch) as calls:
            started = time.perf_counter()
            compute_report(world.deps, parse_week(THIS_WEEK), "live")
            return Counter(calls.calls), time.perf_counter() - started

    paid_and_billed(world, client)
    one, one_s = measure()
    for _ in range(4):
        paid_and_billed(world, client)
    five, five_s = measure()
    print(f"weekly report on moto: 1 note {one_s * 1000:.0f} ms, 5 notes {five_s * 1000:.0f} ms,"
          f" {sum(five.values())} requests: {dict(five)}")
    assert "dynamodb.Scan" not in five
    # 7 days × (notes, bills, voids, the payments of every channel + 4 reconciliation
    # channels)
    assert five["dynamodb.Query"] == one["dynamodb.Query"] == 7 * (3 + 1 + 4)
    assert five["dynamodb.BatchGetItem"] == one["dynamodb.BatchGetItem"] == 1  # ≤ 100 notes
