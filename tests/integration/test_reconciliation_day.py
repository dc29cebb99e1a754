"""A simulated day on the local stack, reconciled (issue 13, "What must be shown"): 300 payments
across the four channels (WeChat Pay, Alipay, UnionPay through their cashiers, the agent bank at
its counter), 5 notifications lost (``POST {simulator_url}/_sim/pay`` with ``notify: false``);
besides, 2 notes paid twice and 1 paid after it was cancelled (3 exceptions, refunded by the
stack's refund job). Then ``POST /v1/admin/reconciliations/{date}``: every lost payment is found,
recorded and billed exactly once; every channel balances; the statements' refunds are the 3
refunds; the figures add up to the fen; a second run changes nothing.

The day gets a local stack of its own: a day's reconciliation covers everything the channels
processed that day, and the session's shared stack also holds the other tests' payments, sent as
signed notifications straight to the callbacks, which no channel's statement has (they would be
recorded_only here, as they should).

The day is the stack's today (Beijing), as far as it went: the simulator serves today's
statement so far. Its stack runs on a clock of its own, started at ``DAY_AT`` (10:00 Beijing on
a Wednesday mid-month, ``devstack/clock.py``), whatever the machine's time and the session's
clock: the app, the jobs and the channels' simulator all read it, and the test takes the day
and the week from it. A run crossing Beijing midnight or UnionPay's clearing-day end (23:00
Beijing) would rightly find its last payments on the next day's files; this one would have to
last 13 hours to reach either (on the machine's clock it failed in runs crossing 15:00 UTC).
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from chalicelib.domain.china_time import CHINA_TZ
from tests.integration.stack_client import (
    auth,
    create_note,
    get_note,
    last_errors,
    run_scheduled_jobs,
    stack_now,
)

pytestmark = pytest.mark.integration
CHANNELS = ("wechatpay", "alipay", "unionpay", "bank")
PAYMENTS, LOST = 300, 5
PAYERS = 4  # paying at once
TOTAL = 10050  # stack_client.note_body's total
DAY_AT = datetime(2026, 6, 17, 10, 0, tzinfo=CHINA_TZ)  # the day stack's clock at its start


def sim_pay(stack: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = requests.post(f"{stack['simulator_url']}/_sim/pay", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def at_cashier(stack: dict[str, Any], session: requests.Session, channel: str,
               code: str) -> str:
    """Open an order through the API and take the payer to the channel's cashier (Alipay and
    UnionPay learn of an order only then); its out_trade_no."""
    r = session.post(f"{stack['base_url']}/v1/public/notes/{code}/pay",
                     json={"channel": channel}, timeout=30)
    assert r.status_code == 201, r.text
    view = r.json()
    if channel == "alipay":
        assert session.get(view["pay_url"], timeout=30).status_code == 200
    elif channel == "unionpay":
        page = session.get(view["pay_url"], timeout=30)
        fields = {html.unescape(k): html.unescape(v) for k, v in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
        action = html.unescape(re.search(r'<form id="pay" action="([^"]*)"', page.text)[1])
        target = stack["simulator_url"] + urlsplit(action).path
        assert session.post(target, data=fields, timeout=30).status_code == 200
    return view["out_trade_no"]


def wait_for(what: str, check: Any, stack: dict[str, Any], timeout: float = 240.0,
             scheduled: bool = False) -> None:
    """Poll ``check`` every second; ``scheduled``: what it waits for is the scheduler's work,
    so ask the scheduler to run now (and again every few seconds) instead of waiting for its
    minute."""
    deadline = time.monotonic() + timeout
    asked = 0.0
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s\n" \
                                            f"{last_errors(stack)}"
        if scheduled and time.monotonic() - asked > 5:
            run_scheduled_jobs(stack)
            asked = time.monotonic()
        time.sleep(1.0)


@pytest.fixture(scope="module")
def day_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.integration.conftest import StackProcess, new_ports

    # DynamoDB Local in memory: this stack is never restarted (the session's is, by test_restart)
    run = StackProcess(tmp_path_factory.mktemp("day") / "local", new_ports(), in_memory=True,
                       clock_at=DAY_AT)
    try:
        run.start()
        assert not list(run.local_dir.glob("dynamodb/*.db")), "DynamoDB Local wrote SQLite files"
        yield run.doc
    finally:
        run.stop()


def test_a_day_of_300_payments_reconciles_and_every_lost_payment_is_billed_once(day_stack):
    stack = day_stack
    session = requests.Session()
    sessions = threading.local()  # a payer's own connection in each of the payers' threads
    finance = {"Authorization": f"Bearer {stack['finance']['api_key']}"}
    started_at = stack_now(stack).astimezone(CHINA_TZ)
    assert started_at.date() == DAY_AT.date() and started_at.hour < 12, started_at  # its own clock
    today = started_at.date().isoformat()
    lost: list[tuple[str, str, int]] = []  # (channel, payment code, unit)
    codes: list[tuple[str, int]] = []
    started = time.monotonic()

    def pay(i: int, notify: bool) -> None:
        channel, unit = CHANNELS[i % 4], i % 2
        code = create_note(stack, unit)["payment_code"]
        if channel == "bank":
            sim_pay(stack, channel="bank", payment_code=code, amount_fen=TOTAL, notify=notify)
        else:
            if not hasattr(sessions, "session"):
                sessions.session = requests.Session()
            out_trade_no = at_cashier(stack, sessions.session, channel, code)
            sim_pay(stack, channel=channel, out_trade_no=out_trade_no, notify=notify)
        if notify:
            codes.append((code, unit))
        else:
            lost.append((channel, code, unit))

    # Payers pay four at a time, as a day's payers do (the day is the same either way: every
    # assertion below is on the set of payments, not on their order).
    with ThreadPoolExecutor(PAYERS) as payers:
        list(payers.map(lambda i: pay(i, notify=True), range(PAYMENTS - LOST)))
    # Two notes paid twice (a second channel), one paid after it was cancelled.
    exceptions = []
    for first, second in (("wechatpay", "alipay"), ("unionpay", "wechatpay")):
        code = create_note(stack, 1)["payment_code"]
        orders = [at_cashier(stack, session, channel, code) for channel in (first, second)]
        for channel, out_trade_no in zip((first, second), orders, strict=True):
            sim_pay(stack, channel=channel, out_trade_no=out_trade_no)
        exceptions.append((code, 1))
    code = create_note(stack, 0)["payment_code"]
    late = at_cashier(stack, session, "wechatpay", code)
    r = requests.post(f"{stack['base_url']}/v1/notes/{code}/cancel", headers=auth(stack, 0),
                      timeout=30)
    assert r.status_code == 200, r.text
    sim_pay(stack, channel="wechatpay", out_trade_no=late)
    exceptions.append((code, 0))

    def refunded() -> bool:
        return all(any(e.get("refund_status") == "succeeded"
                       for e in get_note(stack, c, u).get("exceptions", []))
                   for c, u in exceptions)

    wait_for("the 3 exceptions refunded", refunded, stack, scheduled=True)
    # The last five payments of the day: their notifications are lost. Reconciled at once (the
    # active query would find them too, 3 minutes after their orders were opened).
    for i in range(PAYMENTS - LOST, PAYMENTS):
        pay(i, notify=False)
    paid_in = time.monotonic() - started
    for _, code, unit in lost:
        assert get_note(stack, code, unit)["status"] == "unpaid"  # nobody told us

    assert stack_now(stack).astimezone(CHINA_TZ).hour < 23, "UnionPay's clearing day has ended"
    reconciling = time.monotonic()
    r = requests.post(f"{stack['base_url']}/v1/admin/reconciliations/{today}", headers=finance,
                      timeout=120)
    reconciled_in = time.monotonic() - reconciling
    assert r.status_code == 200, r.text
    view = r.json()["channels"]
    for channel in CHANNELS:  # every statement file kept, with its SHA-256
        [kept] = view[channel]["statement_files"]
        assert re.fullmatch(r"[0-9a-f]{64}", kept["sha256"]) and kept["size"] > 0, kept
        assert kept["key"] == f"statements/{channel}/{today}/{kept['sha256']}/{kept['name']}"
    found = [d for v in view.values() for d in v["discrepancies"]]
    assert sorted((d["kind"], d["resolution"]) for d in found) == \
        [("channel_only", "recorded")] * LOST, found
    for channel in CHANNELS:
        assert view[channel]["status"] == "balanced", view[channel]
    counts = {c: view[c]["statement_count"] for c in CHANNELS}
    assert sum(counts.values()) == PAYMENTS + 2 + 3  # 2 notes paid twice, 1 after cancelling
    assert sum(view[c]["statement_refund_fen"] for c in CHANNELS) == 3 * TOTAL
    for channel in CHANNELS:
        v = view[channel]
        assert v["recorded_count"] == v["statement_count"]
        assert v["recorded_total_fen"] == v["statement_total_fen"]
        assert v["statement_net_fen"] == (v["statement_total_fen"] - v["statement_refund_fen"]
                                          - v["statement_fee_fen"])

    def billed() -> bool:
        return all(get_note(stack, code, unit)["status"] == "issued" for _, code, unit in lost)

    wait_for("the lost payments' bills", billed, stack, timeout=120)
    for channel, code, unit in lost:
        note = get_note(stack, code, unit)
        assert note["payment"]["channel"] == channel and note["bill"]["bill_number"]
        assert note.get("exceptions", []) == []  # recorded once: no second payment

    rerunning = time.monotonic()
    again = requests.post(f"{stack['base_url']}/v1/admin/reconciliations/{today}",
                          headers=finance, timeout=120).json()["channels"]
    rerun_in = time.monotonic() - rerunning
    for channel in CHANNELS:
        assert again[channel]["discrepancies"] == view[channel]["discrepancies"]
        assert again[channel]["recorded_count"] == view[channel]["recorded_count"]
        assert again[channel]["statement_files"] == view[channel]["statement_files"]  # 1st copy
    print(f"\nreconciled in {reconciled_in:.1f} s (4 channels, 305 + 5 found), "
          f"again in {rerun_in:.1f} s; statement files archived: "
          f"{ {c: view[c]['statement_files'][0]['size'] for c in CHANNELS} } bytes")
    print(f"\n300 payments in {paid_in:.0f} s from {started_at:%Y-%m-%d %H:%M:%S} Beijing on the "
          f"stack's clock; statements: {counts}; "
          f"fees {sum(view[c]['statement_fee_fen'] for c in CHANNELS)} fen; "
          f"net {sum(view[c]['statement_net_fen'] for c in CHANNELS)} fen")

    # 划款 (report): the day's remittances add up to its reconciled net to the fen: every
    # applied payment (the 300, lost ones included) once; the exceptions were refunded, not
    # remitted; the channels' fees are paid apart, never netted.
    remit = session.get(f"{stack['base_url']}/v1/admin/remittances/{today}", headers=finance,
                        timeout=120).json()
    remitted = sum(e["total_fen"] for e in remit["remittances"])
    assert remitted == remit["reconciled_net_fen"] >= PAYMENTS * TOTAL, remit
    assert all(sum(i["total_fen"] for i in e["items"]) == e["total_fen"]
               for e in remit["remittances"])
    r = session.post(f"{stack['base_url']}/v1/admin/remittances/{today}/instruct",
                     headers=finance, timeout=120)
    assert r.status_code in (200, 201), r.text
    bank_file = session.get(f"{stack['base_url']}{r.json()['instruction_url']}",
                            headers=finance, timeout=60)
    control = bank_file.content.decode("gb18030").splitlines()[-1].split(",")
    assert control[0] == "TOTAL" and int(control[3]) == remitted
    # 每周一报: the same figures as JSON, CSV and PDF
    week = stack_now(stack).astimezone(CHINA_TZ).strftime("%G-W%V")
    report = session.get(f"{stack['base_url']}/v1/admin/reports/weekly/{week}",
                         headers=finance, timeout=120).json()
    assert report["totals"]["paid"]["count"] >= PAYMENTS
    assert report["discrepancies_by_kind"] == []  # every difference of the day settled
    csv_text = session.get(f"{stack['base_url']}/v1/admin/reports/weekly/{week}.csv",
                           headers=finance, timeout=120).content.decode("utf-8")
    paid_row = next(row for row in csv_text.splitlines() if row.startswith("total,,,,合计,paid,"))
    assert paid_row.endswith(f",{report['totals']['paid']['count']},"
                             f"{report['totals']['paid']['total_fen']}")
    pdf = session.get(f"{stack['base_url']}/v1/admin/reports/weekly/{week}.pdf",
                      headers=finance, timeout=120)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    from io import BytesIO

    from pypdf import PdfReader

    from chalicelib.domain.money import fen_to_yuan_grouped

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert fen_to_yuan_grouped(report["totals"]["paid"]["total_fen"]) in text
