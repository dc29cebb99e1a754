"""Benchmark: the payer's pages, and how soon a payment shows as a bill.

1. Page weight (bytes, and gzipped) and server time per page through the Chalice app
   (``chalice.test.Client`` on DynamoDB Local + moto): the pay page of an unpaid and of an issued
   note, the bill page, the verify page (empty form, and an answer), the lookup form and the
   "my bills" form. Server time is the median and p95 of N requests after a warm-up.
2. Notification → bill visible, on the whole local stack started as a subprocess on free ports
   (as ``tests/integration/conftest.py`` starts it): for each of 100 payments, rotating over the
   four channels, post the channel's notification, then poll ``GET /v1/public/notes/{code}``
   every 20 ms until it says ``issued``; p50 and p95 of the time from the POST to that answer,
   and of the acknowledgement alone.

    .venv/bin/python -m bench.pages [N_REQUESTS] [N_PAYMENTS]   (all of them: python -m bench)
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.bill_latency import POLL_SECONDS
from bench.harness import local_world


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def _paid_note(deps, i: int) -> str:
    from chalicelib.domain.payments import Payment
    from chalicelib.services import notes as notes_service

    unit = deps.units.get("340100001")
    note, _ = notes_service.create_note(deps, unit, {
        "payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
        "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）", "quantity": 1,
                   "standard_fen": 8000, "amount_fen": 8000},
                  {"item_code": "103040100103", "name": "不动产权证书工本费", "quantity": 2,
                   "standard_fen": 1000, "amount_fen": 2000}], "total_fen": 10000})
    if i >= 0:
        order = notes_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
        deps.payments.record(Payment(channel="wechatpay", channel_txn_id=f"bench-pages-{i}",
                                     out_trade_no=order.out_trade_no, amount_fen=10000,
                                     paid_at="2026-11-22T10:00:00+08:00"))
    return note.payment_code


def pages(n: int) -> list[tuple[str, int, int, int, float, float]]:
    from chalice.test import Client

    import app as application
    from chalicelib.services.issuance import issue_bill

    rows = []
    with local_world() as (deps, _):
        unpaid = _paid_note(deps, -1)
        bills = [issue_bill(deps, _paid_note(deps, i)) for i in range(5)]
        issued = deps.bills.get(bills[0].bill_code, bills[0].bill_number).bill.payment_code
        b = bills[0]
        paths = [
            ("pay page, unpaid", lambda i: f"/pay/{unpaid}"),
            ("pay page, issued", lambda i: f"/pay/{issued}"),
            ("bill page",
             lambda i: f"/bills/{b.bill_code}/{b.bill_number}?check_code={b.check_code}"),
            ("verify page, form", lambda i: "/verify"),
            # five bills, a new client each time: stays under the per-bill and per-client limits
            ("verify page, answer",
             lambda i: f"/verify?bill_code={bills[i % 5].bill_code}"
                       f"&bill_number={bills[i % 5].bill_number}"
                       f"&check_code={bills[i % 5].check_code}"),
            ("lookup form", lambda i: "/lookup"),
            ("my-bills form", lambda i: "/my-bills"),
        ]
        with Client(application.app) as client:
            for label, path in paths:
                times, body, status = [], b"", 0
                for i in range(n + 3):
                    headers = {"Accept": "text/html", "X-Forwarded-For": f"198.51.100.{i}"}
                    t0 = time.perf_counter()
                    response = client.http.get(path(i), headers=headers)
                    if i >= 3:  # the first three warm templates, fonts and connections
                        times.append(time.perf_counter() - t0)
                    body, status = response.body, response.status_code
                    assert status == 200, (label, status, body[:300])
                rows.append((label, status, len(body), len(gzip.compress(body)),
                             statistics.median(times) * 1000, _pct(times, 0.95)))
    return rows


def notification_to_bill(payments: int) -> tuple[list[float], list[float], dict[str, list]]:
    from bench.bill_latency import pay_and_wait
    from devstack import clock
    from tests.integration.concurrency_support import CHANNELS
    from tests.integration.conftest import StackProcess, new_ports

    run = StackProcess(Path(tempfile.mkdtemp(prefix="bench-pages-")) / "local", new_ports())
    stack = run.start()
    clock.follow(stack)  # the notifications signed here carry the stack's time
    visible, acks = [], []
    by_channel: dict[str, list] = {c: [] for c in CHANNELS}
    try:
        session = requests.Session()
        for i in range(payments + 4):
            channel, acked, seen = pay_and_wait(stack, session, i)
            if i >= 4:  # one warm-up per channel
                visible.append(seen)
                acks.append(acked)
                by_channel[channel].append(seen)
    finally:
        run.stop()
    return visible, acks, by_channel


def main(n: int = 50, payments: int = 100) -> None:
    rows = pages(n)
    print(f"\nPayer pages through the Chalice app, {n} requests each, DynamoDB Local + moto\n")
    print(f"{'page':<22}{'status':>7}{'bytes':>8}{'gzip':>7}{'p50 ms':>9}{'p95 ms':>9}")
    for label, status, size, zipped, p50, p95 in rows:
        print(f"{label:<22}{status:>7}{size:>8}{zipped:>7}{p50:>9.2f}{p95:>9.2f}")

    visible, acks, by_channel = notification_to_bill(payments)
    print(f"\nNotification → bill visible on GET /v1/public/notes/{{code}}, {len(visible)} "
          f"payments, local stack (app + worker + simulator, DynamoDB Local, moto), "
          f"polling every {POLL_SECONDS * 1000:.0f} ms\n")
    print(f"{'':<26}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'acknowledgement':<26}{_pct(acks, 0.5):>9.0f}{_pct(acks, 0.95):>9.0f}")
    print(f"{'bill visible':<26}{_pct(visible, 0.5):>9.0f}{_pct(visible, 0.95):>9.0f}")
    for channel, samples in by_channel.items():
        if samples:
            print(f"{'  via ' + channel:<26}{_pct(samples, 0.5):>9.0f}"
                  f"{_pct(samples, 0.95):>9.0f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
