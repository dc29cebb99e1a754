"""Benchmark: bills issued per second on one core, against the bare minimum, with a step split.

Full path on the local stack (DynamoDB Local + moto S3/SQS): read the note, take the number
(transaction), compose, build the XML, sign twice, check both signatures, render the PDF while
the XML uploads, archive the PDF, save the bill and mark the note issued, enqueue the SMS. Two
ways, in turns on the same world, so that their ratio is fair: one bill at a time
(``issuance.issue_bill``, what the handler did when SQS gave it one message), and ten bills
together (``issuance.issue_bills``, what it does with a batch of ten: the notes read in one
request, the numbers taken in one transaction, the bills saved in one, the texts queued in one).
Bare minimum: each bill's PDF drawn once and two signatures (no storage at all), in CPU and wall:
compare CPU with CPU (a loaded machine's wall time holds the waits for a core too).

    .venv/bin/python -m bench.issuance [N] [--profile] [--sm2] [--tls]   (all of them: python -m bench)

``--sm2`` issues as the seeded unit that signs with SM2 (the traffic police, 340100002), so both
signatures are SM2 with SM3 instead of ECDSA P-256 (``bench.signing`` compares the two alone).
``--tls`` reaches moto (S3, SQS) through a TLS front that keeps its connections
(``bench.tls_front``), as the product reaches AWS in production: over moto's plain HTTP each
request opens a new connection, and botocore treats S3 bodies as it does only over plain HTTP.

Also printed: the AWS calls one bill and ten bills make, by service and operation (a botocore hook on every
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
from dataclasses import dataclass, field

from bench.harness import CallCounter, local_world

BATCH = 10  # bills issued together: an SQS batch as app.py's issue_bill takes it
TIMINGS: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)  # the same steps' CPU time, in the thread that ran them
CHILD_BILLS = 20


@dataclass
class Mode:
    """What one way of issuing cost, added up over its turns."""

    bills: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    calls: int = 0
    steps: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu_steps: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, bills: int, wall: float, cpu: float, calls: int) -> None:
        self.bills += bills
        self.wall += wall
        self.cpu += cpu
        self.calls += calls


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


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红梅欣怡子涵浩然思远"


def payer_name(i: int) -> str:
    """The i-th note's payer: names differ from note to note, as payers' do (each name's
    characters are drawn into its bill's PDF; one name for every bill would flatter the
    PDF's font work)."""
    return (SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
            + GIVEN[(i * 13 + 5) % len(GIVEN)])


def main(n: int = 100, profile: bool = False, unit_code: str = "340100001",
         tls: bool = False) -> None:
    from chalicelib.domain.payments import Payment
    from chalicelib.services import issuance
    from chalicelib.services import notes as notes_service
    from chalicelib.services.seals import seal_png_of

    with local_world(tls=tls) as (deps, _):
        unit = deps.units.get(unit_code)
        assert unit is not None
        body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
                "items": ITEMS[unit_code], "total_fen": 10000}
        codes = []
        n = max(2 * BATCH, n - n % (2 * BATCH))  # whole turns
        for i in range(5 + BATCH + 2 * n + CHILD_BILLS):
            body["payer"]["name"] = payer_name(i)
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
        counter.clear()
        issuance.issue_bills(deps, codes[5:5 + BATCH])
        one_batch = list(counter.detailed)
        TIMINGS.clear()
        CPU.clear()
        # The two ways, in turns of BATCH bills on the same world: one bill at a time (the
        # handler before batching: SQS gave it one message), then BATCH bills together.
        modes = {"one at a time": Mode(), f"batches of {BATCH}": Mode()}
        profiler = cProfile.Profile() if profile else None
        todo = codes[5 + BATCH:5 + BATCH + n]
        for turn in range(0, n, 2 * BATCH):
            for (name, mode), part in zip(modes.items(), (todo[turn:turn + BATCH],
                                                         todo[turn + BATCH:turn + 2 * BATCH]),
                                          strict=True):
                counter.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                if profiler and name != "one at a time":
                    profiler.enable()
                if name == "one at a time":
                    refs = [issuance.issue_bill(deps, code) for code in part]
                else:
                    refs = list(issuance.issue_bills(deps, part).values())
                if profiler:
                    profiler.disable()
                mode.add(len(part), time.perf_counter() - started,
                         time.process_time() - cpu_started, len(counter.calls))
                assert all(ref is not None and not isinstance(ref, Exception) for ref in refs)
                for step, spent in TIMINGS.items():
                    mode.steps[step] += spent
                for step, spent in CPU.items():
                    mode.cpu_steps[step] += spent
                TIMINGS.clear()
                CPU.clear()
        issuance.render_pdf = original_render

        # The issuing process alone, as Lambda runs it: a fresh interpreter that imports what
        # the issue_bill function imports and issues CHILD_BILLS bills; its own peak RSS.
        child = subprocess.run([sys.executable, "-m", "bench.issuance", "--issue",
                                *codes[5 + BATCH + n:]], capture_output=True, text=True,
                               check=False)
        if child.returncode:
            raise RuntimeError(f"the issuing child failed:\n{child.stderr[-3000:]}")
        child_mb = float(child.stdout.strip().splitlines()[-1])

        # The bare minimum: each bill's own PDF (with its seal) drawn once and two signatures
        # of the same length as its XML, nothing stored: the last n bills issued above, each
        # read before the clock starts (one document drawn n times would flatter it: its QR
        # code and font subset are the same every time).
        drawn = []
        for code in todo[-n:]:
            record = deps.bills.get(*_bill_of(deps, code))
            drawn.append((record.bill, deps.archive.get(record.xml.key)))
        signer = deps.signer
        unit_key = deps.keys.get(unit.signing_kid)
        finance_key = issuance.current_finance_key(deps, drawn[-1][0].issued_at, unit_key.alg)
        seal = seal_png_of(deps, unit, drawn[-1][0].issued_at)
        started = time.perf_counter()
        cpu_started = time.process_time()
        for bill, xml in drawn:
            signer.sign(unit_key.key_ref, xml, unit_key.alg)
            signer.sign(finance_key.key_ref, xml, finance_key.alg)
            issuance.render_pdf(deps, bill, xml, unit_seal_png=seal)
        bare = time.perf_counter() - started
        bare_cpu = time.process_time() - cpu_started

    print(f"\nBill issuance, {n} bills each way in turns of {BATCH}, one thread, DynamoDB "
          f"Local + moto{' behind a TLS front (kept connections)' if tls else ''}, unit "
          f"{unit_code} signing {unit_key.alg}, finance {finance_key.alg}\n")
    print(f"{'path':<40}{'bills/s':>9}{'ms/bill':>9}{'calls/bill':>12}{'ratio to bare':>15}")
    for name, mode in modes.items():
        print(f"{'full, ' + name + ' (CPU)':<40}{mode.bills / mode.cpu:>9.1f}"
              f"{mode.cpu / mode.bills * 1000:>9.2f}{mode.calls / mode.bills:>12.2f}"
              f"{bare_cpu / n / (mode.cpu / mode.bills):>15.2f}")
        print(f"{'full, ' + name + ' (wall)':<40}{mode.bills / mode.wall:>9.1f}"
              f"{mode.wall / mode.bills * 1000:>9.2f}")
    print(f"{'bare minimum, PDF + 2 signatures (CPU)':<40}{n / bare_cpu:>9.1f}"
          f"{bare_cpu / n * 1000:>9.2f}")
    print(f"{'bare minimum, PDF + 2 signatures (wall)':<40}{n / bare:>9.1f}"
          f"{bare / n * 1000:>9.2f}")
    print("\nratio to bare: the bare minimum's CPU per bill over the path's (aim ≥ 0.8). Compare "
          "CPU with CPU: on a loaded machine wall time also holds the waits for a core.")
    batched = modes[f"batches of {BATCH}"]
    print(f"\nper-step split, batches of {BATCH} (ms per bill, wall and CPU of the thread that "
          "ran it; the PDF is drawn while the XML uploads, so render_pdf and archive.put_once "
          "overlap in wall):")
    print(f"  {'step':<26}{'wall':>8}{'CPU':>8}")
    per_bill = {k: v / batched.bills * 1000 for k, v in batched.steps.items()}
    cpu_per_bill = {k: v / batched.bills * 1000 for k, v in batched.cpu_steps.items()}
    for step, ms in sorted(per_bill.items(), key=lambda kv: -cpu_per_bill.get(kv[0], 0)):
        print(f"  {step:<26}{ms:>8.2f}{cpu_per_bill.get(step, 0.0):>8.2f}")
    rest = batched.wall / batched.bills * 1000 - sum(per_bill.values())
    cpu_rest = batched.cpu / batched.bills * 1000 - sum(cpu_per_bill.values())
    print(f"  {'(compose, XML, rest)':<26}{rest:>8.2f}{cpu_rest:>8.2f}"
          + ("   (wall less than nothing: the overlap)" if rest < 0 else ""))
    print("\nAWS calls of one bill alone:")
    for call, count in sorted(Counter(one_bill).items()):
        print(f"  {count} x {call}")
    print(f"AWS calls of {BATCH} bills together:")
    for call, count in sorted(Counter(one_batch).items()):
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
        for start in range(0, len(codes), BATCH):  # as SQS hands them: BATCH at a time
            event = client.events.generate_sqs_event(
                message_bodies=[json.dumps({"payment_code": code})
                                for code in codes[start:start + BATCH]],
                queue_name="fiscal-issue-bill")
            answer = client.lambda_.invoke("issue_bill", event).payload
            assert not answer["batchItemFailures"], answer
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
    args = [a for a in sys.argv[1:] if a not in ("--profile", "--sm2", "--tls")]
    main(int(args[0]) if args else 100, profile="--profile" in sys.argv[1:],
         unit_code="340100002" if "--sm2" in sys.argv[1:] else "340100001",
         tls="--tls" in sys.argv[1:])
