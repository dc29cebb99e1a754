"""Benchmark: verification (查验) requests through the Chalice app on DynamoDB Local.

``POST /v1/verifications`` with a reimbursing unit's key, through ``chalice.test.Client``, one
thread, cycling over a few issued bills: requests per second, p50 and p99 latency, and the
DynamoDB calls one verification makes, counted on boto3's client (``deps._client("dynamodb")``)
AND on every botocore client pynamodb holds (the models' and the adapters' connections). The aim
for counting a check is one read plus one write; the table shows what a request really does.

    .venv/bin/python -m bench.verification [N]      (all of them: python -m bench)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter

from bench.harness import CallCounter, local_world

BILLS = 20


def _issue(deps, count: int) -> list:
    from chalicelib.domain.payments import Payment
    from chalicelib.services import issuance
    from chalicelib.services import notes as notes_service

    unit = deps.units.get("340100001")
    body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
            "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）",
                       "quantity": 1, "standard_fen": 8000, "amount_fen": 8000}],
            "total_fen": 8000}
    bills = []
    for i in range(count):
        note, _ = notes_service.create_note(deps, unit, body)
        order = notes_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
        deps.payments.record(Payment(channel="wechatpay", channel_txn_id=f"bench-verify-{i}",
                                     out_trade_no=order.out_trade_no, amount_fen=8000,
                                     paid_at="2026-11-22T10:00:00+08:00"))
        bills.append(issuance.issue_bill(deps, note.payment_code))
    return bills


def _calls(counter: CallCounter, post, body: dict) -> tuple[int, list[str]]:
    counter.clear()
    status = post(body).status_code
    return status, list(counter.detailed)


def main(n: int = 400) -> None:
    from chalice.test import Client

    import app as application

    with local_world() as (deps, seeded):
        bills = _issue(deps, BILLS)
        headers = {"Authorization": f"Bearer {seeded.unit_key('340100901')}",
                   "Content-Type": "application/json", "X-Forwarded-For": "198.51.100.7"}
        bodies = [{"bill_code": b.bill_code, "bill_number": b.bill_number,
                   "check_code": b.check_code, "issue_date": b.issued_at[:10],
                   "total_fen": 8000} for b in bills]
        counter = CallCounter()
        with Client(application.app) as client:
            def post(body: dict):
                return client.http.post("/v1/verifications", headers=headers,
                                        body=json.dumps(body))

            for body in bodies:  # warm: connections, the key cache, the unit lookup
                assert post(body).status_code == 200
            counter.attach(deps._client("dynamodb"))
            counter.attach_pynamodb(deps)
            status, authentic = _calls(counter, post, bodies[0])
            assert status == 200, status
            _, wrong = _calls(counter, post, {**bodies[1], "check_code": "zzzzzz"})
            _, unknown = _calls(counter, post, {**bodies[1], "bill_number": "0999999999"})

            latencies = []
            started = time.perf_counter()
            for i in range(n):
                t0 = time.perf_counter()
                response = post(bodies[i % BILLS])
                latencies.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.body
                assert response.json_body["result"] == "authentic", response.json_body
            wall = time.perf_counter() - started

    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000
    print(f"\nVerification POST /v1/verifications, {n} requests, one thread, chalice.test.Client"
          f", DynamoDB Local + moto\n")
    print(f"{'requests/s':<14}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{n / wall:<14.1f}{p50:>9.2f}{p99:>9.2f}")
    print("\nDynamoDB calls per verification (boto3 + pynamodb clients); aim: 1 read + 1 write")
    for label, calls in (("authentic", authentic), ("wrong check code", wrong),
                         ("no such bill", unknown)):
        kinds = Counter(call.split()[0] for call in calls)
        reads = sum(v for k, v in kinds.items() if k in ("GetItem", "Query", "Scan",
                                                         "BatchGetItem"))
        print(f"  {label:<18}{len(calls):>2} calls ({reads} read, {len(calls) - reads} write): "
              f"{', '.join(calls)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
