"""What the local stack asks of AWS, counted by caller: for benchmarks (``$STACK_STATS``).

With ``STACK_STATS=<path>`` the stack (``devstack/stack.py``) counts every botocore request its
process makes (pynamodb's and boto3's alike: both go through ``BaseClient._make_api_call``) by
the calling thread's role and the operation, e.g. ``worker-issue_bill DynamoDB.TransactWriteItems``,
and the wall time those requests took, and rewrites ``<path>`` as JSON (``{"counts": {key: n},
"seconds": {key: s}}``) each second the counts changed (and at the stop). The worker adds the
time each job waited in its queue and the time its handler took (``spent``), under keys of
their own (``worker-issue_bill queue wait``, ``worker-issue_bill handler``).
``bench.bill_latency`` reads it before and after its measured payments. The worker also
leaves a timeline of each job (``trace``: when each message was sent, received, handled and
deleted, and the wall times of the AWS requests its handler made, from ``recording``), kept in
the same file under ``"trace"``, so that a payment's time can be split by step. A thread's role is its
name without a trailing ``-<n>``: the local server names each request thread after the request
it handles (``app GET /v1/public/notes/{n}``, see ``devstack/gateway.py``), the worker's pollers
are ``worker-<handler>-<k>``, and the scheduler's thread is ``scheduler``. A read gathered in
``adapters/fan_out``'s pool counts for the thread that gathered it; the issuance job's uploads
count as ``archive-upload``.

Off unless the variable is set; nothing here is used by the product.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.adapters.wall_clock import real_read

_TRAILING_NUMBER = re.compile(r"[-_]\d+$|^Thread-\d+ ")
_behalf = threading.local()  # .role: the thread a gathered read runs for
_installed: list[RequestStats] = []  # the counter of this process, once installed
_recorded = threading.local()  # .calls: the list a ``recording`` thread's requests go to
# Wall-clock seconds of a perf_counter reading (timelines join several processes' clocks).
_WALL = real_read().timestamp() - time.perf_counter()


def role(thread_name: str) -> str:
    """``worker-issue_bill-3`` → ``worker-issue_bill``, ``archive-upload_2`` →
    ``archive-upload``, ``Thread-7 (process_request_thread)`` → ``(process_request_thread)``;
    other names unchanged."""
    return _TRAILING_NUMBER.sub("", thread_name)


def current_role() -> str:
    return getattr(_behalf, "role", None) or role(threading.current_thread().name)


class _OnBehalf:
    """A fan-out pool whose calls count for the thread that submitted them."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def submit(self, fn: Any, *args: Any) -> Any:
        caller = current_role()

        def run() -> Any:
            _behalf.role = caller
            try:
                return fn(*args)
            finally:
                _behalf.role = None

        return self._pool.submit(run)


def spent(key: str, seconds: float, n: int = 1) -> None:
    """Add ``n`` events of ``key`` that took ``seconds`` in all, if a counter is installed in
    this process (else nothing)."""
    for stats in _installed:
        stats.add(key, seconds, n)


def tracing() -> bool:
    """Whether a counter is installed in this process (timelines are kept)."""
    return bool(_installed)


def trace(event: dict[str, Any]) -> None:
    """Keep ``event`` (JSON-able: a job's timeline) in the installed counter's file, if any."""
    for stats in _installed:
        stats.keep(event)


@contextmanager
def recording() -> Iterator[list[list[Any]]]:
    """The AWS requests this thread makes meanwhile, each ``[operation, started, ended]`` in
    wall-clock seconds (only while a counter is installed: else the list stays empty)."""
    calls: list[list[Any]] = []
    _recorded.calls = calls
    try:
        yield calls
    finally:
        _recorded.calls = None


class RequestStats:
    """Counts of botocore requests by ``"<role> <Service>.<Operation>"`` and their wall time,
    written to ``path``."""

    def __init__(self, path: Path, every: float = 1.0) -> None:
        self.path, self._every = path, every
        self.counts: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}
        self.trace: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._written = -1
        self._undo: Any = lambda: None
        self._thread = threading.Thread(target=self._run, daemon=True, name="request-stats")

    def add(self, key: str, seconds: float, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n
            self.seconds[key] = self.seconds.get(key, 0.0) + seconds

    def keep(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.trace.append(event)

    def install(self) -> None:
        """Count every botocore request of this process from now on, and start writing."""
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        stats = self

        def counted(client: Any, operation_name: str, api_params: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(client, operation_name, api_params)
            finally:
                ended = time.perf_counter()
                operation = f"{client.meta.service_model.service_id}.{operation_name}"
                stats.add(f"{current_role()} {operation}", ended - started)
                if (calls := getattr(_recorded, "calls", None)) is not None:
                    calls.append([operation, round(_WALL + started, 4),
                                  round(_WALL + ended, 4)])

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        from chalicelib.adapters import fan_out

        pool = fan_out._pool

        def on_behalf(depth: int) -> Any:
            return _OnBehalf(pool(depth))

        fan_out._pool = on_behalf

        def undo() -> None:
            BaseClient._make_api_call = original  # type: ignore[method-assign]
            fan_out._pool = pool

        self._undo = undo
        _installed.append(self)
        self._thread.start()

    def uninstall(self) -> None:
        """Stop counting and writing (tests)."""
        self._stop.set()
        self._undo()
        _installed.remove(self)

    def write(self) -> None:
        with self._lock:
            snapshot: dict[str, Any] = {
                "counts": dict(self.counts),
                "seconds": {k: round(v, 6) for k, v in self.seconds.items()}}
            if self.trace:
                snapshot["trace"] = list(self.trace)
            total = sum(self.counts.values()) + len(self.trace)
        if total != self._written:
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(json.dumps(snapshot, indent=1, sort_keys=True))
            os.replace(tmp, self.path)
            self._written = total

    def stop(self) -> None:
        self._stop.set()
        self.write()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.write()


def from_environment(suffix: str = "") -> RequestStats | None:
    """The installed counter if ``$STACK_STATS`` names a file, else None; a child process of
    the stack counts into ``$STACK_STATS<suffix>``."""
    if not (path := os.environ.get("STACK_STATS")):
        return None
    stats = RequestStats(Path(path + suffix))
    stats.install()
    return stats
