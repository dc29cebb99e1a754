"""The local stack's Python children (moto's server, the jobs): start, stop, and outlive no one.

The stack's one process used to serve the app, run the worker and the scheduler, the simulator
and moto's server (S3, SQS, SNS, KMS, Secrets Manager) behind one interpreter lock: every AWS
request waited for the lock twice (botocore's side, then moto's), and one core did the work of
all of them. Now moto (``devstack/moto_process.py``) and the jobs (``devstack/jobs_process.py``)
run in processes of their own, started by :func:`spawn` with the stack's environment and output.

A child stops cleanly on SIGTERM or SIGINT (``Child.stop`` sends SIGTERM and waits), and also
when the process that started it is gone (:func:`run_until_stopped`: a SIGKILLed stack cannot
stop it; it notices within a second), so no child outlives its stack.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Child:
    """A running ``python -m <module>`` child of the stack."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait for the child's clean stop (SIGKILL after ``timeout`` s). Idempotent."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


def spawn(module: str, *args: str) -> Child:
    """``python -m module args`` in the repository, with this process's environment, stdout
    and stderr (so the stack's output holds the child's log lines and tracebacks)."""
    return Child(subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                                  stdin=subprocess.DEVNULL))


def run_until_stopped(stop: Callable[[], Any]) -> None:
    """In a child: wait for SIGTERM, SIGINT or the parent's end, then call ``stop``."""
    parent = os.getppid()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        while not stopping.wait(1.0):
            if os.getppid() != parent:  # the stack is gone without stopping us
                break
    finally:
        stop()


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if os.environ.get("VERBOSE") != "1":
        # The moto server logs every request and botocore every credential lookup: quiet
        # unless VERBOSE=1. What the product logs stays.
        for noisy in ("werkzeug", "botocore.credentials", "pynamodb.settings"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
