"""Benchmark: notification → bill visible, under load, on the whole local stack.

The local stack (app, worker, simulator, DynamoDB Local, moto) starts as a subprocess on free
ports, as ``tests/integration/conftest.py`` starts it. For each number of payers in turn (1, 4
and 8 by default, on the same stack), PAYMENTS payments with that many payers at once, each in
its own thread: create a note, open an order, post the channel's notification (rotating over
the four channels), then poll ``GET /v1/public/notes/{code}`` every 20 ms until it says
``issued``; then the next payment. Printed for each: throughput (bills visible per second) and
the p50/p95/max of the time from the notification's POST to the ``issued`` answer, and of the
acknowledgement alone, and the polls per bill; where a payment's time went (each step's p50
and p95, from the worker's timeline of each job: the callback until its job is queued, the
job's wait in the queue, the issuance handler until the bill is saved, then the poll that sees
it); the CPU each bill cost each of the stack's processes (the app and simulator; moto; the
worker and scheduler; DynamoDB Local, a JVM), polls included, and the machine's load average
during those payments (the 1-minute figure, sampled each second: its mean and range), without
which the times mean little on a shared machine. The worker runs each SQS handler as Lambda
would: a batch per invocation, up to the function's reserved concurrency at once
(``devstack/jobs.py``; ``WORKER_CONCURRENCY=1`` shows a single worker).

Also printed: the AWS requests the stack's process made per bill, by caller and operation
(``devstack/request_stats.py``; DynamoDB Local's CPU is spent answering the DynamoDB ones).
``PROFILE=<prefix>`` samples the stack's Python processes (the stack's, and moto's and the jobs'
when they run in processes of their own) with py-spy during the measured payments (only the thread holding the
interpreter lock, so samples are CPU) and prints where their CPU went, by role and by library;
the raw stacks stay in ``<prefix>.<process>.raw``.

Runs of the local stack go through the integration lock:

    flock /tmp/integration.lock .venv/bin/python -m bench.bill_latency [PAYMENTS] [PAYERS ...]

(60 payments at each of 1, 4 and 8 payers by default; ``60 4`` runs four payers only).
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


class Paid:
    """One measured payment, as its payer saw it (wall-clock seconds, ``time.time()``)."""

    def __init__(self, code: str, posted: float, acked: float, poll_started: float,
                 seen: float) -> None:
        self.code, self.posted, self.acked = code, posted, acked
        self.poll_started, self.seen = poll_started, seen  # the poll that saw the bill

    @property
    def ack_seconds(self) -> float:
        return self.acked - self.posted

    @property
    def visible_seconds(self) -> float:
        return self.seen - self.posted


def pay_and_wait(stack: dict, session: requests.Session, i: int) -> Paid:
    """Pay note ``i`` (channels in turn) with one signed notification, then poll its public view
    until it is issued."""
    from tests.integration.concurrency_support import CHANNELS, deliveries, open_order
    from tests.integration.stack_client import create_note

    channel = CHANNELS[i % len(CHANNELS)]
    note = create_note(stack)
    code = note["payment_code"]
    order = None if channel == "bank" else open_order(stack, code, channel)
    (delivery,) = deliveries(stack, channel, code, note["total_fen"], 1, order)
    posted = time.time()
    answer = session.post(f"{stack['base_url']}/callbacks/{channel}", data=delivery.body,
                          headers=delivery.headers, timeout=30)
    acked = time.time()
    assert answer.status_code in (200, 204), (channel, answer.status_code, answer.text)
    while True:
        poll_started = time.time()
        status = session.get(f"{stack['base_url']}/v1/public/notes/{code}",
                             timeout=30).json()["status"]
        if status == "issued":
            return Paid(code, posted, acked, poll_started, time.time())
        POLLS.append(1)
        if time.time() - posted > VISIBLE_TIMEOUT:
            raise AssertionError(f"{code} not issued within {VISIBLE_TIMEOUT:.0f} s")
        time.sleep(POLL_SECONDS)


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


def _requests(path: Path) -> tuple[dict[str, int], dict[str, float], list[dict]]:
    """The stack's AWS request counts so far and their wall seconds, by caller and operation
    (``devstack/request_stats.py``; also the app's requests and the worker's queue waits and
    handlers), and the worker's timeline of each job, after its writer has had time to write the
    latest."""
    time.sleep(1.2)
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    jobs: list[dict] = []
    for each in path.parent.glob(path.name + "*"):  # the stack's, the jobs process's
        written = json.loads(each.read_text())
        for key, n in written["counts"].items():
            counts[key] = counts.get(key, 0) + n
        for key, spent in written["seconds"].items():
            seconds[key] = seconds.get(key, 0.0) + spent
        jobs.extend(written.get("trace", []))
    return counts, seconds, jobs


def steps(paid: list[Paid], jobs: list[dict]) -> dict[str, list[float]]:
    """Where each payment's time went, in seconds, from the issuance job's timeline (the
    worker's ``trace``: when its message was sent and received, its handler started and ended,
    the AWS requests it made) joined to what the payer saw: the callback until its job was
    queued (SQS's ``SentTimestamp``, in ms); the wait in the queue; the pool's hand-over; the
    handler until the bill was saved (the end of its last ``TransactWriteItems``), split into
    its AWS requests and the rest (Python: signing, drawing, waiting for a core); and from the
    bill saved to the poll that saw it, split into the wait for the next poll to start and
    that poll. Each payment's steps add up to its time to visible."""
    issued = {}
    for job in jobs:
        if job.get("handler") == "issue_bill":
            for k, code in enumerate(job["jobs"]):
                issued[code] = (job, job["sent"][k])
    found: dict[str, list[float]] = {name: [] for name in STEPS}
    for one in paid:
        if one.code not in issued:
            continue
        job, sent = issued[one.code]
        saves = [c for c in job["calls"] if c[0] == "DynamoDB.TransactWriteItems"]
        saved = saves[-1][2] if saves else job["handled"]
        in_requests = sum(min(c[2], saved) - c[1] for c in job["calls"] if c[1] < saved)
        taken = {"callback until queued": sent - one.posted,
                 "queue wait": job["received"] - sent,
                 "hand-over to the handler": job["started"] - job["received"],
                 "handler: AWS requests": in_requests,
                 "handler: the rest": saved - job["started"] - in_requests,
                 "saved → next poll starts": max(0.0, one.poll_started - saved),
                 "the poll that sees it": one.seen - max(one.poll_started, saved)}
        for name, seconds in taken.items():
            found[name].append(seconds)
    return found


STEPS = ("callback until queued", "queue wait", "hand-over to the handler",
         "handler: AWS requests", "handler: the rest", "saved → next poll starts",
         "the poll that sees it")


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


class LoadSampler:
    """The machine's 1-minute load average, read every second while running."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadSampler:
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.samples.append(os.getloadavg()[0])

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])

    def __str__(self) -> str:
        s = self.samples
        return (f"{sum(s) / len(s):.1f} (1-minute average, sampled each second: "
                f"{min(s):.1f}–{max(s):.1f}) on {os.cpu_count()} cores")


def main(payments: int = 60, *levels: int) -> None:
    from devstack import clock
    from tests.integration.conftest import StackProcess, new_ports

    levels = levels or (1, 4, 8)
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    stats_path = workdir / "requests.json"
    os.environ["STACK_STATS"] = str(stats_path)  # the stack counts its AWS requests there
    profile = os.environ.get("PROFILE")
    run = StackProcess(workdir / "local", new_ports())
    stack = run.start()
    clock.follow(stack)  # the notifications signed here carry the stack's time
    local = threading.local()
    summary: list[str] = []

    def pay_one(i: int) -> Paid:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        return pay_and_wait(stack, session, i)

    try:
        for i in range(WARM):
            pay_one(i)
        assert run.proc is not None
        processes = {"stack process": run.proc.pid}
        for child in _children(run.proc.pid):
            command = open(f"/proc/{child}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            processes["DynamoDB Local" if "DynamoDBLocal" in command else "moto process"
                      if "devstack.moto_process" in command else "jobs process"
                      if "devstack.jobs_process" in command else f"{child}: {command[:40]}"] = child
        spies = {}
        for name, pid in processes.items() if profile else ():
            if name in ("stack process", "moto process", "jobs process"):
                raw = Path(f"{profile}.{name.split()[0]}.raw")
                spies[raw] = (name, subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid),
                     "--gil", "--threads", "-r", str(RATE), "-f", "raw", "-o", str(raw),
                     "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1 if spies else 0)  # attached
        cpu_first = {name: _cpu_seconds(pid) for name, pid in processes.items()}
        done = WARM
        for payers in levels:
            requests_before, seconds_before, _ = _requests(stats_path)
            cpu_before = {name: _cpu_seconds(pid) for name, pid in processes.items()}
            POLLS.clear()
            with LoadSampler() as load:
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=payers) as pool:
                    paid = [f.result() for f in [pool.submit(pay_one, done + k)
                                                 for k in range(payments)]]
                wall = time.perf_counter() - started
            done += payments
            cpu_ms = {name: (_cpu_seconds(pid) - cpu_before[name]) / payments * 1000
                      for name, pid in processes.items()}
            requests_after, seconds_after, jobs = _requests(stats_path)
            summary.append(report(payments, payers, paid, wall, load, cpu_ms, jobs,
                                  (requests_before, seconds_before),
                                  (requests_after, seconds_after)))
        cpu_all = {name: (_cpu_seconds(pid) - cpu_first[name]) / (done - WARM) * 1000
                   for name, pid in processes.items()}
        for _, spy in spies.values():
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
    finally:
        run.stop()
    print("\n" + "\n".join(summary))
    for raw, (name, _) in spies.items():
        if raw.exists():
            print()
            print("\n".join(profile_summary(raw, cpu_all[name], name)))


def report(payments: int, payers: int, paid: list[Paid], wall: float, load: LoadSampler,
           cpu_ms: dict[str, float], jobs: list[dict], before: tuple[dict, dict],
           after: tuple[dict, dict]) -> str:
    """One level's figures, printed as they come and returned as one summary line."""
    visible = [p.visible_seconds for p in paid]
    acks = [p.ack_seconds for p in paid]
    print(f"\n=== {payers} payer{'s' if payers > 1 else ''} at once: {payments} payments, "
          f"notification → bill visible, polling every {POLL_SECONDS * 1000:.0f} ms")
    print(f"throughput: {len(visible) / wall:.2f} bills visible per second "
          f"({len(visible)} in {wall:.1f} s)")
    print(f"load during these payments: {load}")
    print(f"{'':<28}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    print(f"{'acknowledgement':<28}{_pct(acks, 0.5):>9.0f}{_pct(acks, 0.95):>9.0f}"
          f"{max(acks) * 1000:>9.0f}")
    print(f"{'bill visible':<28}{_pct(visible, 0.5):>9.0f}{_pct(visible, 0.95):>9.0f}"
          f"{max(visible) * 1000:>9.0f}   (aim: p95 ≤ 500)")
    taken = steps(paid, jobs)
    print(f"where it went ({len(taken[STEPS[0]])} payments found in the worker's timeline; "
          f"each payment's steps add up to its time):")
    for name in STEPS:
        if taken[name]:
            print(f"  {name:<26}{_pct(taken[name], 0.5):>9.0f}{_pct(taken[name], 0.95):>9.0f}"
                  f"{max(taken[name]) * 1000:>9.0f}")
    print(f"polls per bill: {len(POLLS) / payments + 1:.1f}")
    print("CPU per bill, its polls included: " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in cpu_ms.items()))
    (requests_before, seconds_before), (requests_after, seconds_after) = before, after
    made = {key: n - requests_before.get(key, 0) for key, n in requests_after.items()}
    made = {key: n for key, n in made.items() if n}
    took = {key: seconds_after.get(key, 0.0) - seconds_before.get(key, 0.0) for key in made}
    aws = {key: n for key, n in made.items() if re.search(r" [A-Za-z0-9]+\.[A-Za-z]+$", key)}
    dynamo = sum(n for key, n in aws.items() if " DynamoDB." in key)
    print(f"AWS requests of the stack's process per bill (polls, idle queue polls and scheduled "
          f"jobs included): {sum(aws.values()) / payments:.1f}, of which DynamoDB "
          f"{dynamo / payments:.1f}; each with its mean wall time")
    for key, n in sorted(made.items(), key=lambda kv: (kv[0].split(" ")[0], -kv[1])):
        if key in aws:
            print(f"  {key:<70}{n / payments:>6.2f}{took[key] / n * 1000:>8.1f} ms")
    print("The app's requests and the worker's jobs: how many a bill, mean wall time")
    for key, n in sorted(made.items()):
        if key not in aws:
            print(f"  {key:<70}{n / payments:>6.2f}{took[key] / n * 1000:>8.1f} ms")
    return (f"{payers} payer{'s' if payers > 1 else ' '}: {len(visible) / wall:5.2f} bills/s, "
            f"visible p50 {_pct(visible, 0.5):4.0f} ms, p95 {_pct(visible, 0.95):4.0f} ms, "
            f"max {max(visible) * 1000:4.0f} ms; ack p50 {_pct(acks, 0.5):3.0f} ms; "
            f"CPU a bill {sum(cpu_ms.values()):.0f} ms; load {load}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
