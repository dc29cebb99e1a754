"""Benchmark: what one paid note costs on AWS China (Beijing), in yuan per million paid notes.

A real run, not a spreadsheet: for N notes the whole life of a paid note goes through the Chalice
app on DynamoDB Local + moto, each step as the Lambda function that runs it in production:

    POST /v1/notes (a unit)                      api_handler  (API Gateway + Lambda)
    POST /v1/public/notes/{code}/pay (the payer) api_handler  (API Gateway + Lambda; the
                                                 service it calls, without WeChat's API)
    POST /callbacks/wechatpay (WeChat Pay)       callbacks    (API Gateway + Lambda)
    the issuance job (SQS)                       issue_bill   (Lambda)
    the SMS job (SQS)                            send_sms     (Lambda; the text itself excluded)
    the active query (every 5 minutes)           query_open_orders (its share: it takes each
                                                 paid order out of the open-orders index)

Every AWS request any botocore client makes is counted by service and operation (a wrapper
around ``BaseClient._make_api_call``); DynamoDB requests ask for ``ReturnConsumedCapacity``
(``INDEXES``) and the units DynamoDB Local reports are added up, as read or write request units,
and the write units by step, table and index. They are DynamoDB Local's accounting: one unit per
started KB of the larger of the item before and after, each index entry put, changed or removed
one more, and, inside a transaction, twice both (that index entries are doubled in transactions
too was not confirmed against the service's documentation; if they are not, each of the six
transactional index entries of a paid note costs one unit less). ``FLOOR`` lists what each step
must write at the least for its guarantees; the report sets it against what each step wrote,
then models what else the bill could be (provisioned capacity at stated utilisations, HTTP APIs)
and the least this design can cost. Each step's wall
time is its Lambda duration, times the memory the function is configured with
(``.chalice/config.json``, prod stage) → GB-seconds. What the local run cannot see is modelled
and said so: API Gateway's requests. Lambda's own SQS polling is played by the bench: for the
SMS queue one ReceiveMessage and one DeleteMessage per message (batch size 1); the issuing
queue's jobs are handed to ``issue_bill`` ``--batch`` at a time (``--batch=10`` as under load:
one ReceiveMessage, one invocation, one DeleteMessageBatch per batch; the default, 1, is one
job at a time, as at low traffic). With batches, DynamoDB Local under-reports the write units
of the transactions that write several items of one table (it reports one item per table; the
report says so): read requests and Lambda time from a batched run, write units from a run of 1
less what a batch shares (the range's entry). Prices are in ``PRICES`` with their units and
source.

    .venv/bin/python -m bench.cost [N] [--batch=B]      (all of them: python -m bench)

Durations here are pessimistic: every request to DynamoDB Local or moto on this shared machine
takes 5-30 ms where the same request in the region takes a few. The table shows both the
measured figure and one with AWS latency (``AWS_LATENCY_MS`` per request) instead.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from bench.harness import local_world

# AWS China (Beijing) Region, operated by Sinnet: list prices in CNY, excluding VAT. Written on
# 2026-12-01 from what the author knew of the price pages under
# https://www.amazonaws.cn/en/<service>/pricing/ ; re-checked the same day as far as the search
# tool's stored copies of those pages allowed (there is no network on this machine):
#   - DynamoDB (amazonaws.cn/en/dynamodb/pricing, two stored copies, dates unknown): provisioned
#     "¥ 0.058 for every 10 units of write capacity" and "for every 50 units of read capacity"
#     (an hour), SEEN; on-demand "Write requests: ¥ 11.1538 for e[very million ...]", SEEN in one
#     copy cut off mid-sentence (the ¥9.50 this table had could not be found anywhere: replaced);
#     the on-demand read price was not in the excerpt: 1/5 of the write price, as in every
#     region whose page was seen (an inference, NOT seen).
#   - API Gateway: HTTP APIs exist in both China regions (endpoint tables of docs.amazonaws.cn
#     list "API Gateway HTTP API" for cn-north-1 and cn-northwest-1); no China price was found
#     for either kind: REST stays as written, HTTP is modelled (HTTP_API_PRICE below).
#   - Lambda, S3, SQS, KMS, Secrets Manager: no China price page in the stored copies: NOT
#     re-checked (searched again on 2026-12-02: only the global pages, in USD, were found).
# Lambda's duration is modelled (``aws_ms``): below 1,769 MB a function gets that share of one
# vCPU, so its CPU time stretches; each request adds AWS_LATENCY_MS.
# Re-check every figure against those pages (or the AWS Price List API for cn-north-1) before a
# budget relies on it.
PRICES = {
    "lambda_requests": (1.36, "per million requests"),
    "lambda_gb_seconds": (0.000113477, "per GB-second (x86)"),
    "apigateway_requests": (28.92, "per million REST API calls (first 333 million a month)"),
    "dynamodb_write_units": (11.1538, "per million write request units (on-demand)"),
    "dynamodb_read_units": (2.2308, "per million read request units (on-demand; inferred)"),
    "s3_put_requests": (0.00405, "per 1,000 PUT, COPY, POST or LIST requests (S3 Standard)"),
    "s3_get_requests": (0.0135, "per 10,000 GET and other requests (S3 Standard)"),
    "sqs_requests": (3.33, "per million requests (standard queue, 64 KB chunks)"),
    "kms_requests": (0.2, "per 10,000 requests (asymmetric sign: ECC_NIST_P256)"),
    "secretsmanager_requests": (0.34, "per 10,000 API calls"),
}
# Provisioned capacity (seen, above): per capacity unit and hour. One write capacity unit is one
# 1 KB write a second, 3,600 an hour; paid whether used or not, so a unit of work costs the hourly
# price over the share of the provisioned capacity the traffic uses (auto scaling keeps that
# share near its target; daily peaks keep the average below it).
PROVISIONED_WCU_HOUR = 0.058 / 10
PROVISIONED_RCU_HOUR = 0.058 / 50
UTILISATIONS = (0.3, 0.5, 0.7)
# HTTP APIs cost 1.00 USD per million where REST APIs cost 3.50 (us-east-1, the global page);
# no China price was found: modelled at the same ratio to the REST price. NOT a list price.
HTTP_API_PRICE = PRICES["apigateway_requests"][0] * 1.00 / 3.50
UNIT_OF = {"lambda_requests": 1e6, "apigateway_requests": 1e6, "dynamodb_write_units": 1e6,
           "dynamodb_read_units": 1e6, "s3_put_requests": 1e3, "s3_get_requests": 1e4,
           "sqs_requests": 1e6, "kms_requests": 1e4, "secretsmanager_requests": 1e4,
           "lambda_gb_seconds": 1}
FULL_VCPU_MB = 1769  # Lambda gives a function one full vCPU at this memory, a share below it
SIZES = (256, 384, 512, 768, 1024, 1769)
# the issuing process's peak resident set, bench.issuance: 117-119 MB measured (169-170 before
# one botocore session served every client, adapters/aws.botocore_session)
PEAK_MB = 118
AWS_LATENCY_MS = 8.0  # a DynamoDB, S3 or SQS request from Lambda in the same region, typical
S3_PUT = {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2",
          "ListObjectVersions", "CreateMultipartUpload", "UploadPart",
          "CompleteMultipartUpload"}
DDB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
DDB_CAPACITY = DDB_READS | {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                            "TransactWriteItems"}
FUNCTIONS = ("api_handler", "callbacks", "issue_bill", "send_sms")
SCHEDULED = ("query_open_orders",)


class Meter:
    """Every AWS request of this process, by service and operation, with DynamoDB's units."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.units: dict[str, float] = defaultdict(float)
        self.units_by: dict[str, float] = defaultdict(float)  # "op table" → units
        # (function, op, table or table/index) → write units: where each unit goes
        self.writes_by: dict[tuple[str, str, str], float] = defaultdict(float)
        self.function = "?"
        self.step_calls = 0
        self.step_seconds = 0.0

    @contextmanager
    def installed(self):
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        meter = self

        def counted(client, operation_name, api_params):
            service = client.meta.service_model.service_name
            if service == "dynamodb" and operation_name in DDB_CAPACITY:
                api_params = {**api_params, "ReturnConsumedCapacity": "INDEXES"}
            t0 = time.perf_counter()
            answer = original(client, operation_name, api_params)
            meter.step_seconds += time.perf_counter() - t0
            meter.calls[(service, operation_name)] += 1
            meter.step_calls += 1
            if operation_name == "TransactWriteItems":
                tables = [next(iter(item.values())).get("TableName")
                          for item in api_params.get("TransactItems", [])]
                if len(tables) != len(set(tables)):
                    meter.units["shared_transactions"] += 1
            if service == "dynamodb":
                consumed = answer.get("ConsumedCapacity") or []
                if isinstance(consumed, dict):
                    consumed = [consumed]
                kind = "read" if operation_name in DDB_READS else "write"
                total = sum(float(c.get("CapacityUnits", 0)) for c in consumed)
                if not consumed:
                    meter.units[f"{kind}_unreported"] += 1
                meter.units[kind] += total
                for c in consumed:
                    table = str(c.get("TableName", "?")).rsplit("-", 1)[-1]
                    meter.units_by[f"{operation_name} {table}"] += float(
                        c.get("CapacityUnits", 0))
                    if kind != "write":
                        continue
                    where = (meter.function, operation_name)
                    meter.writes_by[(*where, table)] += float(
                        (c.get("Table") or {}).get("CapacityUnits", c.get("CapacityUnits", 0)))
                    for index, used in (c.get("GlobalSecondaryIndexes") or {}).items():
                        meter.writes_by[(*where, f"{table}/{index}")] += float(
                            used.get("CapacityUnits", 0))
            return answer

        BaseClient._make_api_call = counted
        try:
            yield self
        finally:
            BaseClient._make_api_call = original


def memory_mb() -> dict[str, int]:
    """Each function's configured memory in the prod stage."""
    config = json.loads((Path(__file__).resolve().parents[1] / ".chalice" / "config.json")
                        .read_text())
    default = int(config.get("lambda_memory_size", 128))
    prod = config["stages"]["prod"]
    default = int(prod.get("lambda_memory_size", default))
    functions = prod.get("lambda_functions", {})
    return {name: int(functions.get(name, {}).get("lambda_memory_size", default))
            for name in (*FUNCTIONS, *SCHEDULED)}


def main(n: int = 40, batch: int = 1) -> None:
    from chalice.test import Client

    import app as application
    from chalicelib.adapters.wall_clock import utc_now
    from chalicelib.services import notes as notes_service
    from chalicelib.services.order_query import QUERY_AFTER, query_open_orders
    from devstack.notifications import wechatpay_notification
    from devstack.seed import stack_document

    meter = Meter()
    durations: dict[str, list[float]] = defaultdict(list)
    requests_of: dict[str, list[int]] = defaultdict(list)
    waited: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)  # CPU of this process (the function's code)
    with local_world() as (deps, seeded), meter.installed():
        stack = stack_document(seeded, "http://bench", "local")

        def later():  # the job's view: every order opened here is past QUERY_AFTER
            return deps.at(lambda: utc_now() + QUERY_AFTER + timedelta(minutes=1))

        sqs = deps._client("sqs")
        unit_headers = {"Authorization": f"Bearer {seeded.unit_key('340100001')}",
                        "Content-Type": "application/json"}
        body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
                "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）",
                           "quantity": 1, "standard_fen": 8000, "amount_fen": 8000}],
                "total_fen": 8000}

        def step(function: str, run, record: bool, label: str | None = None):
            meter.function = label or function  # which step the write units go to
            meter.step_calls, meter.step_seconds = 0, 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            out = run()
            if record:
                durations[function].append(time.perf_counter() - t0)
                cpu[function].append(time.process_time() - c0)
                requests_of[function].append(meter.step_calls)
                waited[function].append(meter.step_seconds)
            return out

        def drain(queue_url: str, handler: str, queue_name: str, record: bool, client) -> None:
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                event = client.events.generate_sqs_event(message_bodies=[message["Body"]],
                                                         queue_name=queue_name)
                step(handler, lambda e=event: client.lambda_.invoke(handler, e), record)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        def drain_batch(record: bool, client) -> None:
            """The issuing queue as Lambda polls it with ``batch`` jobs waiting: one receive,
            one invocation with them all, one batch delete of those it did not name failed."""
            url = deps.settings.issue_queue_url
            messages: list[dict] = []
            for _ in range(10):
                if len(messages) >= batch:
                    break
                messages += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch
                                                - len(messages)).get("Messages", [])
            if not messages:
                return
            event = client.events.generate_sqs_event(
                message_bodies=[m["Body"] for m in messages], queue_name="fiscal-issue-bill")
            answer = step("issue_bill", lambda: client.lambda_.invoke("issue_bill", event),
                          record).payload
            assert not answer["batchItemFailures"], answer
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]}
                for k, m in enumerate(messages)])

        with Client(application.app, stage_name="local") as client:
            warm = 3
            for i in range(warm + n):
                record = i >= warm
                if i == warm:
                    # the warm-up's paid orders leave the open-orders index first
                    step("query_open_orders", lambda: query_open_orders(later()), False)
                    meter.calls.clear()
                    meter.units.clear()
                    meter.units_by.clear()
                    meter.writes_by.clear()
                note = step("api_handler", lambda: client.http.post(
                    "/v1/notes", headers=unit_headers, body=json.dumps(body)), record)
                assert note.status_code == 201, note.body
                code = json.loads(note.body)["payment_code"]
                # the payer's POST /v1/public/notes/{code}/pay, without WeChat's own API
                # (no simulator here): the order is opened by the service the route calls
                order = step("api_handler", lambda c=code: notes_service.open_order(
                    deps, c, {"channel": "wechatpay"}), record, "open_order")
                raw, headers = wechatpay_notification(stack, order.out_trade_no, 8000)
                paid = step("callbacks", lambda r=raw, h=headers: client.http.post(
                    "/callbacks/wechatpay", headers=h, body=r), record)
                assert paid.status_code == 204, paid.body
                if batch == 1:
                    drain(deps.settings.issue_queue_url, "issue_bill", "fiscal-issue-bill",
                          record, client)
                elif i == warm - 1 or (record and ((i - warm + 1) % batch == 0
                                                   or i == warm + n - 1)):
                    drain_batch(record, client)  # the warm-up's jobs apart from the rest
                drain(deps.settings.sms_queue_url, "send_sms", "fiscal-send-sms", record,
                      client)
            # The scheduled active query (every 5 minutes) takes each paid order out of the
            # open-orders index: per paid note, its share of that run.
            step("query_open_orders", lambda: query_open_orders(later()), True)
        # the bench's own receive/delete above stand for Lambda's poller: counted, as in AWS

    report(n, meter, durations, requests_of, waited, cpu)


# What each step of a paid note must write at the least, in this design (DynamoDB's rules: a
# write costs one unit per started KB of the larger of the item before and after; each secondary
# index whose entry is put, changed or removed costs one more; inside a transaction, twice
# both). The rows are the ones the guarantees need: the note; exactly-once payment (the payment
# and the note's move to paid in one transaction, the order checked in it); a bill number taken
# with its note (range, note, pending bill in one transaction); the bill and the note issued
# together; one text per bill (a claim and its outcome); the sparse indexes the sweeper, the
# repair job, the active query and "my bills" read.
FLOOR: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("POST /v1/notes", (("the note (<= 1 KB)", 1), ("the region's payment-code sequence", 1))),
    ("open an order", (("the order-slot lease", 1), ("the order", 1),
                       ("its open-orders index entry", 1))),
    ("payment callback (tx)", (("the order, checked", 2), ("the payment", 2),
                               ("its by-note index entry", 2), ("the note, paid", 2),
                               ("its awaiting-bill index entry", 2))),
    ("issue: take a number (tx)", (("the range, next + 1", 2), ("the note's reservation", 2),
                                   ("the bill, pending", 2), ("its pending index entry", 2))),
    ("issue: complete (tx)", (("the bill (if its row held <= 1 KB)", 2),
                              ("its pending index entry, removed", 2),
                              ("its payer index entry (<= 1 KB)", 2), ("the note, issued", 2),
                              ("its awaiting-bill index entry, removed", 2))),
    ("text the payer", (("the SMS log claim", 1), ("its outcome", 1))),
    ("active query", (("the paid order leaves the open-orders index", 2),)),
)
STEP_OF = {"api_handler": "POST /v1/notes", "open_order": "open an order",
           "callbacks": "payment callback (tx)", "issue_bill": "issue: take a number + complete",
           "send_sms": "text the payer", "query_open_orders": "active query"}


def aws_ms(cpu_ms: float, requests: float, memory: int) -> float:
    """A function's duration on Lambda: its CPU time stretched by the share of a vCPU its memory
    buys (one vCPU at ``FULL_VCPU_MB``), plus its requests at AWS latency."""
    return max(1.0, cpu_ms * max(1.0, FULL_VCPU_MB / memory) + requests * AWS_LATENCY_MS)


def report(n: int, meter: Meter, durations: dict[str, list[float]],
           requests_of: dict[str, list[int]], waited: dict[str, list[float]],
           cpu: dict[str, list[float]]) -> None:
    memory = memory_mb()
    per_note = {key: count / n for key, count in meter.calls.items()}
    print(f"\nCost of a paid note on AWS China (Beijing), from {n} paid notes through the "
          f"Chalice app on DynamoDB Local + moto\n")
    print("AWS requests per paid note, by service and operation:")
    by_service: Counter[str] = Counter()
    for (service, op), count in sorted(per_note.items()):
        by_service[service] += count
        print(f"  {service:<16}{op:<24}{count:>6.2f}")
    print("  " + ", ".join(f"{s} {c:.2f}" for s, c in sorted(by_service.items()))
          + f"; all {sum(by_service.values()):.2f}")

    print("\nLambda, per paid note (query_open_orders runs every 5 minutes whatever the "
          "traffic: its share of time only):")
    print(f"  {'function':<18}{'calls':>6}{'MB':>6}{'ms (here)':>11}{'CPU ms':>8}"
          f"{'AWS reqs':>9}{'ms (AWS)':>10}{'GB-s':>10}")
    invocations = gb_s = gb_s_aws = 0.0
    sizing: dict[str, tuple[float, float, float]] = {}  # function → (calls, CPU ms, requests)
    for function in (*FUNCTIONS, *SCHEDULED):
        times = durations.get(function, [])
        if not times:
            continue
        calls = len(times) / n
        ms = sum(times) / len(times) * 1000
        cpu_ms = sum(cpu[function]) / len(times) * 1000
        reqs = sum(requests_of[function]) / len(times)
        # the same work on Lambda: this run's CPU at the function's share of a vCPU, each
        # request at AWS latency instead of this machine's
        ms_aws = aws_ms(cpu_ms, reqs, memory[function])
        sizing[function] = (calls, cpu_ms, reqs)
        gb = memory[function] / 1024
        invocations += calls if function in FUNCTIONS else 0.0
        gb_s += calls * gb * ms / 1000
        gb_s_aws += calls * gb * ms_aws / 1000
        print(f"  {function:<18}{calls:>6.2f}{memory[function]:>6}{ms:>11.1f}{cpu_ms:>8.1f}"
              f"{reqs:>9.1f}{ms_aws:>10.1f}{calls * gb * ms_aws / 1000:>10.4f}")
    print(f"  (ms (AWS) = CPU ms x max(1, {FULL_VCPU_MB} / MB) + AWS reqs x {AWS_LATENCY_MS:g} ms: "
          f"below {FULL_VCPU_MB} MB a function has that share of one vCPU)")
    print("\nMemory sizing: each function at other sizes, same work (¥ per million invocations "
          "for GB-seconds, ms on AWS); the least size is twice the issuing process's measured "
          f"peak ({PEAK_MB} MB, bench.issuance), rounded up:")
    sizes = [m for m in SIZES if m >= 2 * PEAK_MB]
    print(f"  {'function':<18}" + "".join(f"{str(m) + ' MB':>17}" for m in sizes))
    for function, (_, cpu_ms, reqs) in sizing.items():
        cells = []
        for m in sizes:
            ms_m = aws_ms(cpu_ms, reqs, m)
            yuan = m / 1024 * ms_m / 1000 * PRICES["lambda_gb_seconds"][0] * 1e6
            mark = "*" if m == memory[function] else " "
            cells.append(f"¥{yuan:>6.2f} {ms_m:>5.0f} ms{mark}")
        print(f"  {function:<18}" + "".join(f"{c:>17}" for c in cells))
    print("  (* configured in .chalice/config.json, prod stage)")

    ddb_read, ddb_write = meter.units["read"] / n, meter.units["write"] / n
    unreported = meter.units["read_unreported"] + meter.units["write_unreported"]
    s3_put = sum(c for (s, op), c in per_note.items() if s == "s3" and op in S3_PUT)
    s3_get = sum(c for (s, op), c in per_note.items() if s == "s3" and op not in S3_PUT)
    sqs = by_service["sqs"]
    api_calls = sum(len(durations.get(f, [])) for f in ("api_handler", "callbacks")) / n
    usage = {
        "lambda_requests": invocations,
        "lambda_gb_seconds": gb_s_aws,
        "apigateway_requests": api_calls,
        "dynamodb_write_units": ddb_write,
        "dynamodb_read_units": ddb_read,
        "s3_put_requests": s3_put,
        "s3_get_requests": s3_get,
        "sqs_requests": sqs,
        "kms_requests": by_service["kms"] + 2 * _local_signatures(per_note),
        "secretsmanager_requests": by_service["secretsmanager"],
    }
    print(f"\nDynamoDB request units per paid note: {ddb_read:.2f} read, {ddb_write:.2f} write"
          + (f" ({unreported:.0f} requests reported no capacity)" if unreported else ""))
    if meter.units["shared_transactions"]:
        print(f"  NOT TO BE USED: {meter.units['shared_transactions']:.0f} transactions wrote "
              "several items of one table, and DynamoDB Local reports such a transaction's "
              "capacity as if it had written one item per table (ten bills' transaction: the "
              "units of one). The service charges every item: take the write units from a "
              "--batch=1 run, less the range's (2 + 2 for its index entry) shared by a batch.")
    for key, units in sorted(meter.units_by.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<40}{units / n:>7.2f}")
    print("\nWrite units per paid note, by step, table and index (a table/index line is what "
          "the index entry cost):")
    steps: dict[str, float] = defaultdict(float)
    for (function, op, where), units in sorted(meter.writes_by.items()):
        if units:
            steps[function] += units / n
            print(f"  {STEP_OF.get(function, function):<34}{op:<20}{where:<45}"
                  f"{units / n:>6.2f}")
    floor = {step: sum(u for _, u in writes) for step, writes in FLOOR}
    floor_total = sum(floor.values())
    print("\nThe floor of this design: what each step must write at the least "
          "(see FLOOR), against what it wrote:")
    measured_of = {STEP_OF.get(f, f): u for f, u in steps.items()}
    issue = floor["issue: take a number (tx)"] + floor["issue: complete (tx)"]
    for step, writes in FLOOR:
        if step.startswith("issue: complete"):
            continue
        name = "issue: take a number + complete" if step.startswith("issue") else step
        least = issue if step.startswith("issue") else floor[step]
        print(f"  {name:<34}least {least:>4.0f}   wrote {measured_of.get(name, 0.0):>6.2f}")
        for what, units in (writes if not step.startswith("issue") else
                            dict(FLOOR)["issue: take a number (tx)"]
                            + dict(FLOOR)["issue: complete (tx)"]):
            print(f"      {units:>2}  {what}")
    print(f"  {'all':<34}least {floor_total:>4.0f}   wrote {ddb_write:>6.2f}")

    print("KMS: the local stack signs with local keys; production signs twice per bill in KMS "
          "(counted as 2 Sign requests per note).")
    print("\nYuan per million paid notes (SMS excluded), AWS China (Beijing) list prices "
          "(see PRICES: which were re-checked, which not):")
    yuan_of: dict[str, float] = {}
    for key, amount in usage.items():
        price, unit = PRICES[key]
        yuan_of[key] = amount * 1e6 / UNIT_OF[key] * price
        print(f"  {key:<26}{amount:>10.4f} /note  x ¥{price:<11g}{unit:<62} "
              f"¥{yuan_of[key]:>9.2f}")
    total = sum(yuan_of.values())
    print(f"  {'total':<111}¥{total:>9.2f}   (aim ≤ ¥70)")
    print(f"  {'without KMS signing':<111}¥{total - yuan_of['kms_requests']:>9.2f}")
    print(f"\nLambda GB-seconds at this machine's latency: {gb_s:.4f} per note "
          f"(¥{gb_s * 1e6 * PRICES['lambda_gb_seconds'][0]:.2f} per million)")

    options(usage, yuan_of, floor_total)


def options(usage: dict[str, float], yuan_of: dict[str, float], floor_total: float) -> None:
    """What else the bill could be, each figure modelled from this run's usage."""
    write_price = PRICES["dynamodb_write_units"][0]
    read_price = PRICES["dynamodb_read_units"][0]
    total = sum(yuan_of.values())
    ddb = yuan_of["dynamodb_write_units"] + yuan_of["dynamodb_read_units"]
    http = usage["apigateway_requests"] * HTTP_API_PRICE
    print("\nOptions, per million paid notes (modelled from this run; not list prices where "
          "said):")
    print(f"  HTTP API instead of REST (¥{HTTP_API_PRICE:.2f}/million, modelled): API Gateway "
          f"¥{yuan_of['apigateway_requests']:.2f} -> ¥{http:.2f}; total ¥{total:.2f} -> "
          f"¥{total - yuan_of['apigateway_requests'] + http:.2f}")
    print(f"  DynamoDB writes at the floor ({floor_total:.0f} units, on-demand): "
          f"¥{floor_total * write_price:.2f} alone; ¥70 buys "
          f"{70 / write_price:.1f} on-demand write units")
    for share in UTILISATIONS:
        w = PROVISIONED_WCU_HOUR / (3600 * share) * 1e6
        r = PROVISIONED_RCU_HOUR / (3600 * share) * 1e6
        provisioned = usage["dynamodb_write_units"] * w + usage["dynamodb_read_units"] * r
        print(f"  provisioned capacity used {share:.0%} on average: ¥{w:.2f} per million write "
              f"units (on-demand ¥{write_price:g}), ¥{r:.2f} per million read (¥{read_price:g}):"
              f" DynamoDB ¥{ddb:.2f} -> ¥{provisioned:.2f}; with HTTP APIs, total "
              f"¥{total - ddb + provisioned - yuan_of['apigateway_requests'] + http:.2f}")
    rest = {k: v for k, v in yuan_of.items()
            if k not in ("dynamodb_write_units", "dynamodb_read_units", "apigateway_requests")}
    print(f"  everything but DynamoDB and API Gateway (Lambda, KMS, SQS, S3, Secrets Manager): "
          f"¥{sum(rest.values()):.2f}; KMS alone (two signatures a bill) "
          f"¥{yuan_of['kms_requests']:.2f}")
    floor_all = sum(rest.values()) + http + floor_total * PROVISIONED_WCU_HOUR / (3600 * 0.7) * 1e6
    print(f"  so the least this design costs, at its floor of writes on provisioned capacity "
          f"used 70 % and with HTTP APIs: ¥{floor_all:.2f} per million paid notes: ¥70 is "
          f"{'below' if floor_all > 70 else 'within'} it")


def _local_signatures(per_note: dict[tuple[str, str], float]) -> float:
    """Bills signed locally per note (no KMS calls seen): one per issued bill."""
    return 0.0 if any(s == "kms" for s, _ in per_note) else 1.0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--batch")]
    sizes = [int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--batch=")]
    main(int(args[0]) if args else 40, batch=sizes[0] if sizes else 1)
