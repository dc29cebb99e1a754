"""The archive check's cost per file, and what that means for 1 M bills (2 M files).

    .venv/bin/python -m bench.archive_check [BILLS]     (default 1000 bills = 2000 files)

Archives BILLS bills' XML (8 KB) and PDF (30 KB) in moto (its own process) with their rows in
DynamoDB Local, then times ``check_archive_slice`` reading them all, with 1 and with 16 reads
in flight. On this machine the figure is moto's and DynamoDB Local's speed, not S3's: the
README's extrapolation to 1 M bills also assumes S3's documented first-byte latency.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict

from bench.harness import local_world


def main(bills: int) -> None:
    from chalicelib.adapters.dynamo_models import BillModel
    from chalicelib.services import integrity

    with local_world() as (deps, _):
        started = time.perf_counter()
        for i in range(bills):
            bill_id = f"34010026{i:010d}"
            files = {kind: asdict(deps.archive.put_once(
                f"bills/bench/{bill_id}.{kind}", os.urandom(size), "application/octet-stream"))
                for kind, size in (("xml", 8 * 1024), ("pdf", 30 * 1024))}
            BillModel(bill_id, status="normal", payment_code=f"c{i}", files=files).save()
        print(f"archived {bills} bills in {time.perf_counter() - started:.1f} s")
        print(f"{'reads in flight':>16} {'files':>7} {'seconds':>8} {'files/s':>8} {'ms/file':>8}")
        for readers in (1, 16):
            integrity.READERS = readers
            deps.job_state.save(integrity.JOB, {"in_round": False}, deps.job_state.load(
                integrity.JOB)[1])
            started = time.perf_counter()
            report = integrity.check_archive_slice(deps, lambda: 1e9)
            took = time.perf_counter() - started
            assert report.ok and report.round_finished
            print(f"{readers:>16} {report.checked:>7} {took:>8.2f} {report.checked / took:>8.0f}"
                  f" {1000 * took / report.checked:>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
