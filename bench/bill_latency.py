"""Benchmark: notification → bill visible, under load, on the whole local stack.

The local stack (app, worker, simulator, DynamoDB Local, moto) starts as a subprocess on free
ports, as ``tests/integration/conftest.py`` starts it. PAYERS payers at once, each in its own
thread: create a note, open an order, post the channel's notification (rotating over the four
channels), then poll ``GET /v1/public/notes/{code}`` every 20 ms until it says ``issued``; then
the next payment. Printed: throughput (bills visible per second over the whole run) and the
p50/p95 of the time from the notification's POST to the ``issued`` answer, and of the
acknowledgement alone. The worker runs ``WORKER_CONCURRENCY`` jobs per queue at once (default 4),
as Lambda would; set it to 1 to see a single worker.

Runs of the local stack go through the integration lock:

    flock /tmp/integration.lock .venv/bin/python -m bench.bill_latency [PAYMENTS] [PAYERS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

POLL_SECONDS = 0.02
VISIBLE_TIMEOUT = 60.0
WARM = 4  # one payment per channel before measuring


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def pay_and_wait(stack: dict, session: requests.Session, i: int) -> tuple[str, float, float]:
    """Pay note ``i`` (channels in turn) with one signed notification, then poll its public view
    until it is issued: (channel, seconds to the acknowledgement, seconds to the bill visible)."""
    from tests.integration.concurrency_support import CHANNELS, deliveries, open_order
    from tests.integration.stack_client import create_note

    channel = CHANNELS[i % len(CHANNELS)]
    note = create_note(stack)
    code = note["payment_code"]
    order = None if channel == "bank" else open_order(stack, code, channel)
    (delivery,) = deliveries(stack, channel, code, note["total_fen"], 1, order)
    t0 = time.perf_counter()
    answer = session.post(f"{stack['base_url']}/callbacks/{channel}", data=delivery.body,
                          headers=delivery.headers, timeout=30)
    acked = time.perf_counter() - t0
    assert answer.status_code in (200, 204), (channel, answer.status_code, answer.text)
    while session.get(f"{stack['base_url']}/v1/public/notes/{code}",
                      timeout=30).json()["status"] != "issued":
        if time.perf_counter() - t0 > VISIBLE_TIMEOUT:
            raise AssertionError(f"{code} not issued within {VISIBLE_TIMEOUT:.0f} s")
        time.sleep(POLL_SECONDS)
    return channel, acked, time.perf_counter() - t0


def main(payments: int = 60, payers: int = 4) -> None:
    from tests.integration.conftest import StackProcess, new_ports

    run = StackProcess(Path(tempfile.mkdtemp(prefix="bench-latency-")) / "local", new_ports())
    stack = run.start()
    visible: list[float] = []
    acks: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def pay_one(i: int, measured: bool) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        _, acked, seen = pay_and_wait(stack, session, i)
        if measured:
            with lock:
                visible.append(seen)
                acks.append(acked)

    try:
        for i in range(WARM):
            pay_one(i, measured=False)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=payers) as pool:
            for done in [pool.submit(pay_one, WARM + k, True) for k in range(payments)]:
                done.result()
        wall = time.perf_counter() - started
    finally:
        run.stop()
    concurrency = os.environ.get("WORKER_CONCURRENCY", "4")
    print(f"\nNotification → bill visible, {payments} payments, {payers} payers at once, "
          f"local stack (worker: {concurrency} jobs per queue at once), polling every "
          f"{POLL_SECONDS * 1000:.0f} ms\n")
    print(f"throughput: {len(visible) / wall:.2f} bills visible per second "
          f"({len(visible)} in {wall:.1f} s)")
    print(f"{'':<18}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'acknowledgement':<18}{_pct(acks, 0.5):>9.0f}{_pct(acks, 0.95):>9.0f}")
    print(f"{'bill visible':<18}{_pct(visible, 0.5):>9.0f}{_pct(visible, 0.95):>9.0f}"
          f"   (aim: p95 ≤ 500 at 4 payers)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
