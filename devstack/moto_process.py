"""moto's server in a process of its own (``devstack/processes.py`` says why).

``start(port, state_dir)`` runs ``python -m devstack.moto_process PORT STATE_DIR``:
:func:`devstack.services.start_moto` there (S3 restored from and journalled to ``state_dir``, as
before), and returns once the port accepts connections. Its stop flushes the S3 journal.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from pathlib import Path

from devstack.processes import Child, run_until_stopped, spawn

READY_SECONDS = 60.0


class MotoProcess(Child):
    """The moto child: ``endpoint_url``, ``stop()``."""

    def __init__(self, child: Child, port: int) -> None:
        super().__init__(child.proc)
        self.endpoint_url = f"http://127.0.0.1:{port}"


def start(port: int, state_dir: Path) -> MotoProcess:
    """Start moto on ``127.0.0.1:port`` (a free port, not 0) in a child process; RuntimeError if
    it exits or does not listen within ``READY_SECONDS`` (its output says why)."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} on 127.0.0.1 is already in use")
    moto = MotoProcess(spawn("devstack.moto_process", str(port), str(state_dir)), port)
    deadline = time.monotonic() + READY_SECONDS
    while moto.proc.poll() is None and time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return moto
        time.sleep(0.05)
    why = f"exited with {moto.proc.returncode}" if moto.proc.poll() is not None \
        else f"did not listen within {READY_SECONDS:.0f} s"
    moto.stop(timeout=5)
    raise RuntimeError(f"moto on port {port} {why} (its output is above)")


def configure_logging(verbose: bool) -> None:
    """As the stack: moto's request log only with VERBOSE=1. werkzeug's logger is set to
    WARNING explicitly: left unset, werkzeug sets it to INFO at its first message (the server's
    start), and every request was then formatted and written under the handler's lock (a
    quarter of this process's CPU in the integration tier's storm, 3,800 lines in the log)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s moto %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: list[str]) -> int:
    from devstack.services import start_moto

    configure_logging(os.environ.get("VERBOSE") == "1")
    handle = start_moto(int(argv[0]), Path(argv[1]))
    run_until_stopped(handle.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
