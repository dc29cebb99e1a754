"""Run every benchmark, one after another, each in its own process (each starts its own local
DynamoDB and moto, and points this process's environment at them).

    .venv/bin/python -m bench            # all of them
    .venv/bin/python -m bench pages      # some of them, by name

One by one: ``python -m bench.NAME`` with NAME one of those below; each module's docstring says
what it measures and which arguments it takes.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = ("channels", "wechat_notification", "issuance", "signing", "verification", "pages",
              "archive_check", "merchant_check", "uploads", "cost", "console",
              "bill_latency")
LOCAL_STACK = {"bill_latency"}  # runs the whole local stack: under the integration lock


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    failed = []
    for name in names or BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.monotonic()
        command = [sys.executable, "-m", f"bench.{name}"]
        if name in LOCAL_STACK:  # one local stack on this machine at a time
            command = ["flock", "/tmp/integration.lock", *command]  # noqa: S108 - the shared lock
        done = subprocess.run(command, check=False)
        print(f"=== bench.{name}: exit {done.returncode} after "
              f"{time.monotonic() - started:.0f} s ===", flush=True)
        if done.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
