"""Benchmark: the WeChat Pay notification path against its bare minimum, on the local stack.

Full path: the Chalice app handling ``POST /callbacks/wechatpay`` (header lookup, verification,
decryption, identity checks, the payment transaction, the issuance enqueue, the response).
Bare minimum, with the same clients: verify + decrypt (the same verifier), one conditional
``PutItem`` and one ``SendMessage``. Both run interleaved on DynamoDB Local and moto.
Prints per-notification latency, the ratio, and the AWS calls each path makes; then where the
difference goes: our CPU (``thread_time``), the AWS calls' own time (request sent to answer
parsed), the servers' CPU (DynamoDB Local's JVM, moto, from ``/proc``) and each call's p50.

Both paths share two costs of this bench's servers that production does not have: moto's
server, untuned here, spends ~6-8 ms of CPU on a ``SendMessage``, more as its queue fills (moto
counts the queue's messages to read one attribute; nothing here consumes them), and DynamoDB
Local runs a transaction in ~3 ms more than a ``PutItem`` (all of the full path's extra wall
time but ~1 ms). The full path's own extra CPU is Chalice's (``chalice.test.Client`` emulating
API Gateway ~0.17 ms, the app's routing ~0.14 ms) and the service's (~0.6 ms: the bigger request
of a three-item transaction, the intake record, the verifier's wrapper).

    .venv/bin/python -m bench.wechat_notification [N]      (all of them: python -m bench)
"""

from __future__ import annotations

import json
import sys
import time

from bench.harness import CallCounter, local_world, server_cpu, summary


def main(n: int = 150) -> None:
    from chalice.test import Client

    import app as application
    from chalicelib.adapters.wechatpay.verify import verify_notification
    from chalicelib.domain.units import UnitKind
    from chalicelib.services import notes as notes_service
    from devstack.notifications import wechatpay_notification
    from devstack.seed import stack_document

    with local_world() as (deps, seeded):
        stack = stack_document(seeded, "http://bench", "local")
        unit = deps.units.get("340100001")
        assert unit is not None and unit.kind is UnitKind.COLLECTING
        body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
                "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）",
                           "quantity": 1, "standard_fen": 8000, "amount_fen": 8000}],
                "total_fen": 8000}
        orders = []
        for _ in range(2 * n + 20):
            note, _ = notes_service.create_note(deps, unit, body)
            orders.append(notes_service.open_order(deps, note.payment_code,
                                                   {"channel": "wechatpay"}))
        ddb, sqs = deps._client("dynamodb"), deps._client("sqs")
        counter = CallCounter()
        counter.attach(ddb)
        counter.attach(sqs)
        config = deps.wechatpay()
        table = deps.settings.table("PAYMENTS")
        queue = deps.settings.issue_queue_url

        def bare(raw: bytes, headers: dict) -> None:
            txn = verify_notification(raw, headers, config, int(time.time()))
            ddb.put_item(TableName=table, Item={
                "payment_id": {"S": f"wechatpay#{txn.transaction_id}"},
                "payment_code": {"S": txn.out_trade_no[:20]},
                "amount_fen": {"N": str(txn.amount_fen)}},
                ConditionExpression="attribute_not_exists(payment_id)")
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(
                {"payment_code": txn.out_trade_no[:20]}))

        with Client(application.app) as client:
            # pynamodb has its own botocore client: count its calls too.
            counter.attach(deps.payments._conn().client)
            warm = [wechatpay_notification(stack, o.out_trade_no, o.amount_fen)
                    for o in orders[:10]]
            for raw, headers in warm:  # warm caches, connections, secrets
                client.http.post("/callbacks/wechatpay", headers=headers, body=raw)
                bare(*wechatpay_notification(stack, orders[-1].out_trade_no, 8000))
            counter.calls.clear()
            raw, headers = wechatpay_notification(stack, orders[10].out_trade_no, 8000)
            assert client.http.post("/callbacks/wechatpay", headers=headers,
                                    body=raw).status_code == 204
            full_calls = list(counter.calls)
            counter.calls.clear()
            raw_dup = raw
            client.http.post("/callbacks/wechatpay", headers=headers, body=raw_dup)
            dup_calls = list(counter.calls)
            counter.calls.clear()
            bare(*wechatpay_notification(stack, orders[11].out_trade_no, 8000))
            bare_calls = list(counter.calls)

            full_t, bare_t = [], []
            cpu = {"full": 0.0, "bare": 0.0}
            servers: dict[str, dict[str, float]] = {"full": {}, "bare": {}}
            waits: dict[str, dict[str, list[float]]] = {"full": {}, "bare": {}}

            def timed(path: str, samples: list[float], call) -> None:
                before = server_cpu()
                counter.clear()
                t0, c0 = time.perf_counter(), time.thread_time()
                call()
                samples.append(time.perf_counter() - t0)
                cpu[path] += time.thread_time() - c0
                for name, used in server_cpu().items():
                    servers[path][name] = servers[path].get(name, 0.0) + used - before.get(name, 0)
                for name, spent in counter.waits.items():
                    waits[path].setdefault(name, []).extend(spent)

            def post(raw: bytes, headers: dict) -> None:
                r = client.http.post("/callbacks/wechatpay", headers=headers, body=raw)
                assert r.status_code == 204, r.body

            for i in range(n):
                raw, headers = wechatpay_notification(stack, orders[12 + i].out_trade_no, 8000)
                timed("full", full_t, lambda: post(raw, headers))  # noqa: B023 - called at once
                raw, headers = wechatpay_notification(stack, orders[12 + n + i].out_trade_no, 8000)
                timed("bare", bare_t, lambda: bare(raw, headers))  # noqa: B023 - called at once

    f50, f95 = summary(full_t)
    b50, b95 = summary(bare_t)
    print(f"\nWeChat Pay notification, {n} each, interleaved, DynamoDB Local + moto\n")
    print(f"{'path':<28}{'p50 ms':>9}{'p95 ms':>9}{'per s':>8}  AWS calls")
    print(f"{'full (Chalice app)':<28}{f50:>9.2f}{f95:>9.2f}{1000 / f50:>8.0f}  "
          f"{len(full_calls)}: {', '.join(full_calls)}")
    print(f"{'  same, duplicate':<28}{'':>9}{'':>9}{'':>8}  "
          f"{len(dup_calls)}: {', '.join(dup_calls)}")
    print(f"{'bare minimum':<28}{b50:>9.2f}{b95:>9.2f}{1000 / b50:>8.0f}  "
          f"{len(bare_calls)}: {', '.join(bare_calls)}")
    print(f"\nratio bare/full (p50): {b50 / f50:.2f}   (1.00 = no overhead over the minimum)")
    print(f"full / bare (p50): {f50 / b50:.2f}x   (aim: at most 1.2x)")
    _split(n, cpu, servers, waits)


def _split(n: int, cpu: dict[str, float], servers: dict[str, dict[str, float]],
           waits: dict[str, dict[str, list[float]]]) -> None:
    """Where the full path's time goes beyond the bare one's, per notification (means; the
    servers' CPU is counted by the kernel in 10 ms ticks, so it is a mean over many)."""
    def per(seconds: float) -> str:
        return f"{seconds / n * 1000:>8.2f}"

    inside = {path: sum(sum(w) for w in waits[path].values()) for path in waits}
    print(f"\nper notification (mean ms)        {'full':>8}{'bare':>8}  full/bare")
    print(f"{'our CPU (thread_time)':<33}{per(cpu['full'])}{per(cpu['bare'])}"
          f"  {cpu['full'] / cpu['bare']:.2f}x")
    print(f"{'AWS calls, request to answer':<33}{per(inside['full'])}{per(inside['bare'])}")
    for name, label in (("dynamodb", "DynamoDB Local's CPU"), ("moto", "moto's CPU")):
        full, bare = servers["full"].get(name, 0.0), servers["bare"].get(name, 0.0)
        print(f"{label:<33}{per(full)}{per(bare)}" + (f"  {full / bare:.2f}x" if bare else ""))
    for path in ("full", "bare"):
        calls = ", ".join(f"{name} {summary(spent)[0]:.2f}" for name, spent in waits[path].items())
        print(f"{path} path, each call's p50 ms: {calls}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
