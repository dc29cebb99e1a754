"""Benchmark: notification → bill visible, under load, on the whole local stack.

The local stack (app, worker, simulator, DynamoDB Local, moto) starts as a subprocess on free
ports, as ``tests/integration/conftest.py`` starts it. PAYERS payers at once, each in its own
thread: create a note, open an order, post the channel's notification (rotating over the four
channels), then poll ``GET /v1/public/notes/{code}`` every 20 ms until it says ``issued``; then
the next payment. Printed: throughput (bills visible per second over the whole run) and the
p50/p95 of the time from the notification's POST to the ``issued`` answer, and of the
acknowledgement alone, and the polls per bill; the CPU each bill cost the stack's process (app, worker, moto, simulator:
one interpreter, one GIL) and DynamoDB Local (a JVM), polls included, and the machine's load
average, without which the times mean little on a shared machine. The worker runs ``WORKER_CONCURRENCY`` jobs per queue at once (default 4),
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

# A poll is a guess-limit read and the note's read, through the app and DynamoDB Local, on the
# machine the worker uses (about 15 ms of the stack's CPU and 18 ms of DynamoDB Local's at a load
# of 10). $POLL_MS sets another interval, to see what the polling itself costs. With four payers
# a poll waits its turn on the busy stack (~0.3 s), so a bill sees 3-4 polls at 20 ms and 2.6 at
# 250 ms: about a sixth of the CPU a bill costs, not what makes it slow.
POLL_SECONDS = float(os.environ.get("POLL_MS", "20")) / 1000
VISIBLE_TIMEOUT = 60.0
WARM = 4  # one payment per channel before measuring
POLLS: list[int] = []  # one entry per poll that found the note not yet issued (list: thread-safe)


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
        POLLS.append(1)
        if time.perf_counter() - t0 > VISIBLE_TIMEOUT:
            raise AssertionError(f"{code} not issued within {VISIBLE_TIMEOUT:.0f} s")
        time.sleep(POLL_SECONDS)
    return channel, acked, time.perf_counter() - t0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (``/proc/PID/stat``)."""
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat", encoding="ascii").read()
                       .rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
            except OSError:  # gone meanwhile
                continue
    return found


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
        assert run.proc is not None
        processes = {"stack process": run.proc.pid}
        for child in _children(run.proc.pid):
            comm = open(f"/proc/{child}/comm", encoding="ascii").read().strip()
            processes["DynamoDB Local" if comm == "java" else f"{comm} ({child})"] = child
        cpu_before = {name: _cpu_seconds(pid) for name, pid in processes.items()}
        POLLS.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=payers) as pool:
            for done in [pool.submit(pay_one, WARM + k, True) for k in range(payments)]:
                done.result()
        wall = time.perf_counter() - started
        cpu_ms = {name: (_cpu_seconds(pid) - cpu_before[name]) / payments * 1000
                  for name, pid in processes.items()}
        load = os.getloadavg()
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
    print(f"polls per bill: {len(POLLS) / payments + 1:.1f}")
    print("CPU per bill, its polls included: " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in cpu_ms.items()))
    print(f"load average during the run: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min) "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
