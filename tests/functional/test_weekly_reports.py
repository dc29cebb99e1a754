"""The weekly report (每周一报) on moto: recorded through the app, read back through the day
indexes, kept by the Monday job in the write-once archive."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.domain.reports import parse_week
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
    assert kept["state"] == "final" and kept["week"] == LAST_WEEK
    assert kept["totals"]["paid"] == {"count": 1, "total_fen": 10000}
    assert kept["units"][0]["name"]
    pdf = world.deps.archive.get(archive_key(parse_week(LAST_WEEK), "pdf"))
    assert pdf.startswith(b"%PDF-")
    run_weekly_job(client)  # again: the kept report stands
    assert json.loads(world.deps.archive.get(
        archive_key(parse_week(LAST_WEEK), "json"))) == kept
