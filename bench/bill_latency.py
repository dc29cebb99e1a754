"""Benchmark: notification → bill visible, under load, on the whole local stack.

The local stack (app, worker, simulator, DynamoDB Local, moto) starts as a subprocess on free
ports, as ``tests/integration/conftest.py`` starts it. PAYERS payers at once, each in its own
thread: create a note, open an order, post the channel's notification (rotating over the four
channels), then poll ``GET /v1/public/notes/{code}`` every 20 ms until it says ``issued``; then
the next payment. Printed: throughput (bills visible per second over the whole run) and the
p50/p95 of the time from the notification's POST to the ``issued`` answer, and of the
acknowledgement alone, and the polls per bill; the CPU each bill cost each of the stack's processes (the app and simulator;
moto; the worker and scheduler; DynamoDB Local, a JVM), polls included, and the machine's load
average, without which the times mean little on a shared machine. The worker runs ``WORKER_CONCURRENCY`` pollers per queue (default 4),
each handing the handler what one receive finds, up to its batch size, as Lambda would; set it
to 1 to see a single worker.

Also printed: the AWS requests the stack's process made per bill, by caller and operation
(``devstack/request_stats.py``; DynamoDB Local's CPU is spent answering the DynamoDB ones).
``PROFILE=<prefix>`` samples the stack's Python processes (the stack's, and moto's and the jobs'
when they run in processes of their own) with py-spy during the measured payments (only the thread holding the
interpreter lock, so samples are CPU) and prints where their CPU went, by role and by library;
the raw stacks stay in ``<prefix>.<process>.raw``.

Runs of the local stack go through the integration lock:

    flock /tmp/integration.lock .venv/bin/python -m bench.bill_latency [PAYMENTS] [PAYERS]
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
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


def _requests(path: Path) -> tuple[dict[str, int], dict[str, float]]:
    """The stack's AWS request counts so far and their wall seconds, by caller and operation
    (``devstack/request_stats.py``; also the app's requests and the worker's queue waits and
    handlers), after its writer has had time to write the latest."""
    time.sleep(0.6)
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for each in path.parent.glob(path.name + "*"):  # the stack's, the jobs process's
        written = json.loads(each.read_text())
        for key, n in written["counts"].items():
            counts[key] = counts.get(key, 0) + n
        for key, spent in written["seconds"].items():
            seconds[key] = seconds.get(key, 0.0) + spent
    return counts, seconds


_FILE = re.compile(r"\(([^():]+):\d+\)$")  # "function (package/module.py:line)"


def _file(frame: str) -> str:
    found = _FILE.search(frame)
    return found.group(1) if found else ""


def _library(frame: str) -> str:
    """The top-level package (or module) of a frame's file: ``botocore``, ``moto``, ``json``."""
    path = _file(frame)
    return path.split("/")[0].removesuffix(".py") if path else "(native)"


def _role(thread: str, frames: list[str]) -> str:
    """Whom a sample's work was for, from its frames (py-spy keeps a thread's first name, and
    the app's threads serve several requests over keep-alive): a worker's queue, the app's view
    or the service a gathered read is for, moto's server by service, the simulator, or the
    thread's own name."""
    if thread.startswith("worker-"):
        return re.sub(r"-\d+$", "", thread)
    viewing = False
    for frame in frames:
        path, function = _file(frame), frame.split(" (")[0]
        viewing = viewing or function.endswith("_get_view_function_response")
        if (viewing and path.startswith("chalicelib/api/") and "<locals>" not in function) or (
                path.startswith("chalicelib/services/")):
            return f"app: {function} ({path.removeprefix('chalicelib/')})"
    for frame in frames:
        if found := re.match(r"moto/(\w+)/", _file(frame)):
            if found.group(1) not in ("core", "moto_server", "utilities", "backends"):
                return f"moto server: {found.group(1)}"
    if any(_file(f).startswith(("moto/", "werkzeug/", "flask/")) for f in frames):
        return "moto server: dispatch"
    if any("devstack/sim" in f or "channel_servers" in f or "simulator" in f for f in frames):
        return "simulator"
    if any("chalice/" in _file(f) or "devstack/gateway" in _file(f) for f in frames):
        return "app: gateway"
    return re.sub(r"[-_]\d+$", "", thread.split(" (")[0]) or "(unnamed)"


def profile_summary(raw: Path, cpu_ms: float, title: str, top: int = 14) -> list[str]:
    """Where a process's CPU went, from py-spy's raw output (``thread (tid): name;frame;...
    count`` per line). py-spy samples the thread holding the interpreter lock, on CPU or not
    (on a loaded machine, often not), so the samples give shares; they are scaled to the
    process's CPU per bill from /proc (``cpu_ms``): by role and by the innermost frame's
    library."""
    roles: dict[str, int] = {}
    libraries: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread, *frames = stack.partition(": ")[2].split(";")
        n = int(count)
        total += n
        key = _role(thread, frames)
        roles[key] = roles.get(key, 0) + n
        library = _library(frames[-1]) if frames else "(idle)"
        libraries[library] = libraries.get(library, 0) + n
    if not total:
        return ["(no samples)"]

    def rows(table: dict[str, int]) -> list[str]:
        ordered = sorted(table.items(), key=lambda kv: -kv[1])
        shown = [f"  {name[:60]:<62}{cpu_ms * n / total:>6.1f} ms {100 * n / total:>5.1f} %"
                 for name, n in ordered[:top]]
        if rest := sum(n for _, n in ordered[top:]):
            shown.append(f"  {'(the rest)':<62}{cpu_ms * rest / total:>6.1f} ms "
                         f"{100 * rest / total:>5.1f} %")
        return shown

    return ([f"{title}, {cpu_ms:.0f} ms of CPU per bill, by role ({total} py-spy samples):"]
            + rows(roles) + ["by library (innermost frame):"] + rows(libraries))


RATE = 200  # py-spy samples per second


def main(payments: int = 60, payers: int = 4) -> None:
    from tests.integration.conftest import StackProcess, new_ports

    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    stats_path = workdir / "requests.json"
    os.environ["STACK_STATS"] = str(stats_path)  # the stack counts its AWS requests there
    profile = os.environ.get("PROFILE")
    run = StackProcess(workdir / "local", new_ports())
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
            command = open(f"/proc/{child}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            processes["DynamoDB Local" if "DynamoDBLocal" in command else "moto process"
                      if "devstack.moto_process" in command else "jobs process"
                      if "devstack.jobs_process" in command else f"{child}: {command[:40]}"] = child
        requests_before, seconds_before = _requests(stats_path)
        spies = {}
        for name, pid in processes.items() if profile else ():
            if name in ("stack process", "moto process", "jobs process"):
                raw = Path(f"{profile}.{name.split()[0]}.raw")
                spies[raw] = (name, subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid),
                     "--gil", "--threads", "-r", str(RATE), "-f", "raw", "-o", str(raw),
                     "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1 if spies else 0)  # attached
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
        for _, spy in spies.values():
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        requests_after, seconds_after = _requests(stats_path)
    finally:
        run.stop()
    concurrency = os.environ.get("WORKER_CONCURRENCY", "4")
    print(f"\nNotification → bill visible, {payments} payments, {payers} payers at once, "
          f"local stack (worker: {concurrency} pollers per queue), polling every "
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
    made = {key: n - requests_before.get(key, 0) for key, n in requests_after.items()}
    made = {key: n for key, n in made.items() if n}
    took = {key: seconds_after.get(key, 0.0) - seconds_before.get(key, 0.0) for key in made}
    aws = {key: n for key, n in made.items() if re.search(r" [A-Za-z0-9]+\.[A-Za-z]+$", key)}
    dynamo = sum(n for key, n in aws.items() if " DynamoDB." in key)
    print(f"\nAWS requests of the stack's process per bill (polls, idle queue polls and scheduled "
          f"jobs included): {sum(aws.values()) / payments:.1f}, of which DynamoDB "
          f"{dynamo / payments:.1f}; each with its mean wall time")
    for key, n in sorted(made.items(), key=lambda kv: (kv[0].split(" ")[0], -kv[1])):
        if key in aws:
            print(f"  {key:<70}{n / payments:>6.2f}{took[key] / n * 1000:>8.1f} ms")
    print("\nThe app's requests and the worker's jobs: how many a bill, mean wall time")
    for key, n in sorted(made.items()):
        if key not in aws:
            print(f"  {key:<70}{n / payments:>6.2f}{took[key] / n * 1000:>8.1f} ms")
    for raw, (name, _) in spies.items():
        if raw.exists():
            print()
            print("\n".join(profile_summary(raw, cpu_ms[name], name)))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
