"""The daily merchant-credential check's wall time and AWS requests per run, on moto
(in-process) with the Alipay simulator answering in-process.

    .venv/bin/python -m bench.merchant_check [UNITS] [ALIPAY] [RTT_MS] [ENDED]

Adds units until there are UNITS (default 1000), ALIPAY of them (default 200) with an Alipay
merchant that authorised us and ENDED (default 20) with a retired merchant past its keep, then
times ``check_merchant_credentials`` with the Alipay queries one at a time (``AT_ONCE`` 1, as
before) and ``AT_ONCE`` at a time (8), each Alipay call first waiting RTT_MS (default 100: a
round trip to Alipay's gateway from cn-north-1; the simulator itself answers in a few ms of our
CPU). Then one round of the scheduled slices from scratch (a fresh day), counting every AWS
request it makes by operation and table, and one slice between rounds. Last, the re-check of
an Alipay cancellation message (``recheck``): one naming the cancelled merchant's PID, one
naming nobody.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path


def main(units: int, alipay: int, rtt_ms: float, ended: int) -> None:
    import botocore.client

    from chalicelib.domain.merchants import UnitMerchant
    from chalicelib.domain.units import Unit, UnitKind
    from chalicelib.services import merchant_checks
    from chalicelib.services.merchants import seal_token
    from tests.world import PROCESS_WORLDS

    world = PROCESS_WORLDS.start(Path(tempfile.mkdtemp(prefix="bench-merchants-")))
    deps, channels = world.deps, world.channels
    inner = deps.overrides["channel_http"]

    def far_alipay(method, url, headers, body):  # Alipay across the network
        if "/alipay/" in url:
            time.sleep(rtt_ms / 1000)
        return inner(method, url, headers, body)

    deps.overrides["channel_http"] = far_alipay
    have = len(deps.units.in_region("", 5000)[0])
    started = time.perf_counter()
    for n in range(units - have):
        code = f"36{n:07d}"
        deps.units.add(Unit(unit_code=code, name=f"单位{n}", kind=UnitKind.COLLECTING,
                            region_code="360100"))
        if n < alipay:
            seller = f"2088{n + 100000:012d}"
            grant = channels.servers["alipay"].grant(seller)
            deps.units.set_merchant(code, UnitMerchant(
                "alipay", seller, grant["auth_app_id"], since="2026-06-15T09:00:00+08:00",
                sealed_token=seal_token(deps, code, "alipay", grant["app_auth_token"]),
                token_until="2027-06-01T00:00:00+08:00"), deps.clock())
        elif n < alipay + ended:
            gone = UnitMerchant("wechatpay", f"19{n:08d}", since="2025-01-01T10:00:00+08:00")
            deps.units.set_merchant(code, gone, deps.clock() - timedelta(days=400))
            deps.units.remove_merchant(code, "wechatpay", deps.clock() - timedelta(days=380))
    print(f"{units} units ({alipay} with Alipay, {ended} with an ended retired merchant) "
          f"made in {time.perf_counter() - started:.1f} s; Alipay round trip {rtt_ms:g} ms")

    print(f"{'Alipay at once':>15} {'units':>6} {'asked':>6} {'seconds':>8} {'ms/Alipay unit':>15}")
    default = merchant_checks.AT_ONCE
    for at_once in (1, default):
        merchant_checks.AT_ONCE = at_once
        started = time.perf_counter()
        report = merchant_checks.check_merchant_credentials(deps)
        took = time.perf_counter() - started
        merchant_checks.AT_ONCE = default
        print(f"{at_once:>15} {report.units:>6} {report.asked:>6} {took:>8.2f} "
              f"{1000 * took / max(1, report.asked):>15.1f}")

    counted: Counter[str] = Counter()
    real_call = botocore.client.BaseClient._make_api_call

    def counting(self, operation, params):
        table = params.get("TableName", "") if isinstance(params, dict) else ""
        counted[f"{operation} {table.rsplit('-', 1)[-1]}".strip()] += 1
        return real_call(self, operation, params)

    world.clock.now += timedelta(days=1)  # a day on, 08:00 passed: a round is due
    for ended_at in range(ended):  # the first run dropped them: ended ones again
        code = f"36{alipay + ended_at:07d}"
        gone = UnitMerchant("wechatpay", f"19{ended_at:08d}", since="2025-01-01T10:00:00+08:00")
        deps.units.set_merchant(code, gone, deps.clock() - timedelta(days=400))
        deps.units.remove_merchant(code, "wechatpay", deps.clock() - timedelta(days=380))
    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        slices, started = 0, time.perf_counter()
        while True:
            slices += 1
            report = merchant_checks.check_merchant_credentials_slice(deps, lambda: 250.0)
            if report.round_finished:
                break
        took = time.perf_counter() - started
        round_calls = dict(counted)
        counted.clear()
        idle = merchant_checks.check_merchant_credentials_slice(deps, lambda: 250.0)
        assert idle.idle
    finally:
        botocore.client.BaseClient._make_api_call = real_call  # type: ignore[method-assign]
    state, _ = deps.job_state.load(merchant_checks.JOB)
    print(f"one round in {slices} slice(s), {took:.2f} s: {state['last_round']}")
    print("AWS requests of the round: " + ", ".join(f"{k} {v}" for k, v in
                                                    sorted(round_calls.items())))
    print("AWS requests of a slice between rounds: " + ", ".join(
        f"{k} {v}" for k, v in sorted(counted.items())))
    recheck(deps, channels, alipay, counted, counting, real_call)
    PROCESS_WORLDS.stop()


def recheck(deps, channels, alipay: int, counted, counting, real_call) -> None:
    """The re-check of an Alipay cancellation message (``services/merchant_rechecks``): the
    first Alipay merchant cancels; a message naming its PID, then one naming nobody, each
    queued and re-checked by one pass: wall time, Alipay calls, AWS requests."""
    import botocore.client

    from chalicelib.domain.merchants import AuthorisationCancelled
    from chalicelib.services import merchant_rechecks

    gone = f"2088{100000:012d}"
    channels.cancelled.add(gone)
    for label, message in (("naming the PID", AuthorisationCancelled("bench-1", (gone,))),
                           ("naming nobody", AuthorisationCancelled("bench-2"))):
        counted.clear()
        botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
        try:
            merchant_rechecks.queue_recheck(deps, message)
            queued = dict(counted)
            counted.clear()
            started = time.perf_counter()
            report = merchant_rechecks.recheck_cancelled(deps, lambda: 250.0)
            took = time.perf_counter() - started
        finally:
            botocore.client.BaseClient._make_api_call = real_call  # type: ignore[method-assign]
        assert report.round_finished
        print(f"re-check of a message {label} ({alipay} Alipay merchants): {took:.2f} s, "
              f"{report.asked} Alipay calls, {report.updated} answers kept, due {report.due}")
        print("  AWS requests queueing it: " + ", ".join(
            f"{k} {v}" for k, v in sorted(queued.items())))
        print("  AWS requests of the pass: " + ", ".join(
            f"{k} {v}" for k, v in sorted(counted.items())))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 1000, int(args[1]) if len(args) > 1 else 200,
         float(args[2]) if len(args) > 2 else 100.0, int(args[3]) if len(args) > 3 else 20)
