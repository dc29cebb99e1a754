"""Benchmark: bills issued per second on one core, against the bare minimum, with a step split.

Full path: ``issue_bill`` on the local stack (DynamoDB Local + moto S3/SQS): read the note, take
the number (transaction), compose, build the XML, sign twice, check both signatures, render the
PDF while the XML uploads, archive the PDF, save the bill and mark the note issued, enqueue the
SMS.
Bare minimum: the same PDF drawn once and two signatures (no storage at all).

    .venv/bin/python -m bench.issuance [N] [--profile] [--sm2]      (all of them: python -m bench)

``--sm2`` issues as the seeded unit that signs with SM2 (the traffic police, 340100002), so both
signatures are SM2 with SM3 instead of ECDSA P-256 (``bench.signing`` compares the two alone).

Also printed: the AWS calls one bill makes, by service and operation (a botocore hook on every
client the job uses), and the peak memory (resident set) of this process, which is the issuing
process plus the bench's own small bookkeeping. ``--profile`` prints cProfile's top functions of
the full path.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict

from bench.harness import CallCounter, local_world

TIMINGS: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)  # the same steps' CPU time, in the thread that ran them
CHILD_BILLS = 20


class Timed:
    """Wraps an adapter so that the time spent in each of its methods is added up."""

    def __init__(self, inner, label: str) -> None:
        self._inner, self._label = inner, label

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return attr(*args, **kwargs)
            finally:
                TIMINGS[f"{self._label}.{name}"] += time.perf_counter() - start
                CPU[f"{self._label}.{name}"] += time.thread_time() - cpu
        return timed


ITEMS = {  # two items of each unit's own fee items, 100 yuan in all
    "340100001": [{"item_code": "103040100101", "name": "不动产登记费（住宅）",
                   "quantity": 1, "standard_fen": 8000, "amount_fen": 8000},
                  {"item_code": "103040100103", "name": "不动产权证书工本费",
                   "quantity": 2, "standard_fen": 1000, "amount_fen": 2000}],
    "340100002": [{"item_code": "103050101001", "name": "公安交警罚没收入",
                   "quantity": 1, "standard_fen": 8000, "amount_fen": 8000},
                  {"item_code": "103050101002", "name": "机动车驾驶证工本费",
                   "quantity": 2, "standard_fen": 1000, "amount_fen": 2000}],
}


def main(n: int = 100, profile: bool = False, unit_code: str = "340100001") -> None:
    from chalicelib.domain.payments import Payment
    from chalicelib.services import issuance
    from chalicelib.services import notes as notes_service

    with local_world() as (deps, _):
        unit = deps.units.get(unit_code)
        assert unit is not None
        body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
                "items": ITEMS[unit_code], "total_fen": 10000}
        codes = []
        for i in range(n + 5 + CHILD_BILLS):
            note, _ = notes_service.create_note(deps, unit, body)
            order = notes_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
            deps.payments.record(Payment(channel="wechatpay", channel_txn_id=f"bench{i}",
                                         out_trade_no=order.out_trade_no, amount_fen=10000,
                                         paid_at="2026-11-22T10:00:00+08:00"))
            codes.append(note.payment_code)
        for name in ("signer", "archive", "bills", "notes", "jobs", "units", "keys"):
            deps.overrides[name] = Timed(getattr(deps, name), name)
        original_render = issuance.render_pdf

        def render(*args, **kwargs):
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return original_render(*args, **kwargs)
            finally:
                TIMINGS["render_pdf"] += time.perf_counter() - start
                CPU["render_pdf"] += time.thread_time() - cpu
        issuance.render_pdf = render
        for code in codes[:4]:  # warm: fonts, connections, key cache
            issuance.issue_bill(deps, code)
        counter = CallCounter()
        for service in ("dynamodb", "s3", "sqs", "kms"):
            counter.attach(deps._client(service))
        counter.attach_pynamodb(deps)
        counter.clear()
        issuance.issue_bill(deps, codes[4])
        one_bill = list(counter.detailed)
        TIMINGS.clear()
        CPU.clear()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        cpu_started = time.process_time()
        if profiler:
            profiler.enable()
        for code in codes[5:n + 5]:
            assert issuance.issue_bill(deps, code) is not None
        if profiler:
            profiler.disable()
        full = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        calls_per_bill = len(counter.calls) / n
        issuance.render_pdf = original_render
        # before the bare run's own reads (bills.get, archive.get, keys.get) add to TIMINGS
        per_bill = {k: v / n * 1000 for k, v in TIMINGS.items()}
        cpu_per_bill = {k: v / n * 1000 for k, v in CPU.items()}

        # The bare minimum: the same PDF once and two signatures, nothing stored.
        # The issuing process alone, as Lambda runs it: a fresh interpreter that imports what
        # the issue_bill function imports and issues CHILD_BILLS bills; its own peak RSS.
        child = subprocess.run([sys.executable, "-m", "bench.issuance", "--issue",
                                *codes[n + 5:]], capture_output=True, text=True, check=False)
        if child.returncode:
            raise RuntimeError(f"the issuing child failed:\n{child.stderr[-3000:]}")
        child_mb = float(child.stdout.strip().splitlines()[-1])
        record = deps.bills.get(*_bill_of(deps, codes[n + 4]))
        xml = deps.archive.get(record.xml.key)
        signer = deps.signer
        unit_key = deps.keys.get(unit.signing_kid)
        finance_key = issuance.current_finance_key(deps, record.bill.issued_at, unit_key.alg)
        started = time.perf_counter()
        cpu_started = time.process_time()
        for _ in range(n):
            signer.sign(unit_key.key_ref, xml, unit_key.alg)
            signer.sign(finance_key.key_ref, xml, finance_key.alg)
            issuance.render_pdf(deps, record.bill, xml)
        bare = time.perf_counter() - started
        bare_cpu = time.process_time() - cpu_started

    print(f"\nBill issuance, {n} bills, one thread, DynamoDB Local + moto, unit {unit_code} "
          f"signing {unit_key.alg}, finance {finance_key.alg}\n")
    print(f"{'path':<34}{'bills/s':>9}{'ms/bill':>9}")
    print(f"{'full issue_bill (wall)':<34}{n / full:>9.1f}{full / n * 1000:>9.2f}")
    print(f"{'full issue_bill (CPU of this proc)':<34}{n / cpu:>9.1f}{cpu / n * 1000:>9.2f}")
    print(f"{'bare minimum (PDF + 2 signatures)':<34}{n / bare:>9.1f}{bare / n * 1000:>9.2f}")
    print(f"\nratio full/bare, CPU per core: {bare_cpu / cpu:.2f}   (aim ≥ 0.8)")
    print(f"ratio full/bare, wall:         {bare / full:.2f}   (the rest is waiting on the "
          f"local DynamoDB and S3)")
    print("\nper-step split (ms per bill, wall and CPU of the thread that ran it; the PDF is "
          "drawn while the XML uploads, so render_pdf and archive.put_once overlap in wall):")
    print(f"  {'step':<26}{'wall':>8}{'CPU':>8}")
    for step, ms in sorted(per_bill.items(), key=lambda kv: -cpu_per_bill.get(kv[0], 0)):
        print(f"  {step:<26}{ms:>8.2f}{cpu_per_bill.get(step, 0.0):>8.2f}")
    rest = full / n * 1000 - sum(per_bill.values())
    cpu_rest = cpu / n * 1000 - sum(cpu_per_bill.values())
    print(f"  {'(compose, XML, rest)':<26}{rest:>8.2f}{cpu_rest:>8.2f}"
          + ("   (wall less than nothing: the overlap)" if rest < 0 else ""))
    print(f"\nAWS calls per bill: {calls_per_bill:.2f} on average over {n} bills; one bill:")
    for call, count in sorted(Counter(one_bill).items()):
        print(f"  {count} x {call}")
    peak_mb = peak_rss_mb()
    print(f"\npeak memory (max RSS): the issuing process alone {child_mb:.0f} MB "
          f"({CHILD_BILLS} bills, imports as the issue_bill function)   (aim ≤ 200); "
          f"this bench process {peak_mb:.0f} MB")
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


def issue_only(codes: list[str]) -> None:
    """The child: issue ``codes`` through the SQS handler, print the peak RSS in MB."""
    from chalice.test import Client

    import app

    with Client(app.app) as client:  # the environment the bench's world set, no stage's
        for code in codes:
            event = client.events.generate_sqs_event(
                message_bodies=[json.dumps({"payment_code": code})],
                queue_name="fiscal-issue-bill")
            client.lambda_.invoke("issue_bill", event)
    print(peak_rss_mb())


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that over
    ``execve``, so a child started by a large parent would report the parent's peak."""
    for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115 - a short read
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bill_of(deps, code):
    note = deps.notes.get(code)
    return note.bill.bill_code, note.bill.bill_number


if __name__ == "__main__":
    if sys.argv[1:2] == ["--issue"]:
        issue_only(sys.argv[2:])
        sys.exit(0)
    args = [a for a in sys.argv[1:] if a not in ("--profile", "--sm2")]
    main(int(args[0]) if args else 100, profile="--profile" in sys.argv[1:],
         unit_code="340100002" if "--sm2" in sys.argv[1:] else "340100001")
