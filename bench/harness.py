"""A local world for benchmarks: DynamoDB Local and moto on free ports, provisioned and seeded."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_world(in_memory: bool = False, tls: bool = False):
    """Yield the ``Deps`` of a freshly provisioned local stack (no HTTP server, no worker);
    ``in_memory``: DynamoDB Local keeps its tables in memory only (cheaper; nothing survives);
    ``tls``: S3, SQS and the rest of moto are reached through ``bench.tls_front`` (HTTPS, the
    connection kept), as AWS is in production, not over plain HTTP with a new connection for
    every request (this process's ``AWS_CA_BUNDLE`` names the front's certificate)."""
    from devstack import services

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    node = Path(os.environ.get("DYNAMODB_LOCAL_NODE_PREFIX",
                               Path.home() / ".cache" / "chalicelib-local" / "node"))
    jar = services.install_dynamodb_local(node)
    ddb_port, moto_port = free_port(), free_port()
    ddb = services.start_dynamodb_local(jar, tmp / "dynamodb", ddb_port, in_memory)
    # moto in its own process, so that its work is not counted as ours (nor holds our GIL)
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(moto_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    moto_url = f"http://127.0.0.1:{moto_port}"
    _wait_for(moto_url)
    front = None
    if tls:
        from bench.tls_front import make_certificate

        cert, key = make_certificate(tmp)
        front_port = free_port()
        front = subprocess.Popen([sys.executable, "-m", "bench.tls_front", str(front_port),
                                  str(moto_port), str(cert), str(key)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        os.environ["AWS_CA_BUNDLE"] = str(cert)  # the issuing child inherits it
        moto_url = f"https://127.0.0.1:{front_port}"
        _wait_for_port(front_port)
    try:
        from chalicelib import bootstrap
        from chalicelib.config import load_settings
        from devstack import stack
        from devstack.seed import put_channel_secrets, seed

        stack._env(tmp, moto_url, f"http://127.0.0.1:{ddb_port}", 8000, 8001)
        deps = bootstrap.Deps(settings=load_settings())
        urls = stack.provision(deps, tmp)
        for _, handler, env_name in stack.QUEUES:
            os.environ[env_name] = urls[handler]
        deps = bootstrap.Deps(settings=load_settings())
        bootstrap.use(deps)
        seeded = seed(deps, tmp, tmp / "keys")
        put_channel_secrets(deps, seeded.state)
        yield deps, seeded
    finally:
        if front is not None:
            services.stop_process_group(front)
        services.stop_process_group(moto)
        services.stop_process_group(ddb)


def _wait_for_port(port: int, seconds: float = 30) -> None:
    _wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close(),
                seconds, pause=0.05)


def _wait_for(url: str, seconds: float = 30) -> None:
    import urllib.request

    _wait_until(lambda: urllib.request.urlopen(url + "/moto-api/", timeout=1).close(),
                seconds, pause=0.1)


def _wait_until(probe, seconds: float, pause: float) -> None:
    """Call ``probe`` until it raises no ``OSError``; its last error after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)


def server_cpu() -> dict[str, float]:
    """CPU seconds (user + system) each local server started by this process has used so far:
    ``dynamodb`` (DynamoDB Local's JVM) and ``moto`` (its server), read from ``/proc`` (Linux;
    elsewhere, or for a server not found, nothing). The kernel counts in ticks (10 ms): compare
    sums over many requests, not one."""
    used: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in _descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        name = ("dynamodb" if Path(command[0].decode()).name == "java"
                else "moto" if b"moto.server" in command else None)
        if name is not None:
            used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def summary(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


class CallCounter:
    """Counts AWS API calls made through botocore clients it is attached to.

    ``calls`` holds each operation's name; ``detailed`` the same with its table, when it names
    one (``GetItem fiscal-bills``); ``waits`` each operation's seconds from its request being
    sent until its answer was parsed (botocore's ``before-call`` to ``after-call``: signing,
    the round trip, parsing), the latest call of each client last.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.detailed: list[str] = []
        self.waits: dict[str, list[float]] = {}
        self._attached: set[int] = set()
        self._sent: dict[int, float] = {}

    def attach(self, client) -> None:
        if id(client) in self._attached:
            return
        self._attached.add(id(client))
        # once per API call (not per HTTP retry), with the call's own parameters
        client.meta.events.register("before-parameter-build", self._count)
        client.meta.events.register("before-call", self._send)
        client.meta.events.register("after-call", self._answered)

    def attach_pynamodb(self, deps) -> None:
        """Attach to every botocore client pynamodb holds for us: one per model's connection
        and one per adapter that opens its own ``Connection`` for transactions."""
        from chalicelib.adapters.dynamo_models import MODELS

        deps._dynamo  # noqa: B018 - points the models at their tables first
        for model in MODELS.values():
            self.attach(model._get_connection().connection.client)
        for name in ("payments", "bills", "ranges"):
            adapter = getattr(deps, name)
            if hasattr(adapter, "_conn"):
                self.attach(adapter._conn().client)

    def clear(self) -> None:
        self.calls.clear()
        self.detailed.clear()
        self.waits.clear()

    def _send(self, model, context=None, **_) -> None:
        self._sent[id(context)] = time.perf_counter()

    def _answered(self, model, context=None, **_) -> None:
        sent = self._sent.pop(id(context), None)
        if sent is not None:
            self.waits.setdefault(model.name, []).append(time.perf_counter() - sent)

    def _count(self, model, params=None, **_) -> None:
        self.calls.append(model.name)
        table = params.get("TableName") if isinstance(params, dict) else None
        self.detailed.append(f"{model.name} {table}" if table else model.name)
