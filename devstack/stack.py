"""``make run``: the whole product on this machine, on real AWS APIs running locally.

Starts DynamoDB Local (data in ``.local/dynamodb``), a moto server for S3, SQS, SNS, KMS and
Secrets Manager (S3 journalled to ``.local/s3``), creates the tables from ``infra/resources.json``,
the archive bucket with Object Lock, the short-lived bucket of refused notifications (with the
template's lifecycle), the queues and the channel secret; seeds the demo world; serves the app
on 127.0.0.1:$PORT (default 8000) through Chalice's local server; runs a worker that feeds
queued jobs to the same handlers Lambda would call, several at a time as Lambda does
($WORKER_CONCURRENCY per queue, default 4); serves the payment-channel simulator on
$SIMULATOR_PORT (default 8001); writes ``.local/stack.json``; stops it all on Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("localstack")
ROOT = Path(__file__).resolve().parents[1]
QUEUES = (("fiscal-issue-bill", "issue_bill", "ISSUE_QUEUE_URL"),
          ("fiscal-send-sms", "send_sms", "SMS_QUEUE_URL"))


WORKER_CONCURRENCY = 4  # jobs of one queue at a time ($WORKER_CONCURRENCY)
# SQS's longest poll, as Lambda's own pollers use: an idle poller costs the stack one request
# (botocore here, moto's server there, a few ms of CPU each) per 20 s instead of one a second.
WAIT_SECONDS = 20
STOP_SECONDS = 2.0  # what stop() waits for pollers in all; one inside a long poll is left to die


class Worker:
    """Long-polls each queue and calls the Chalice SQS handler, as Lambda's trigger would.

    ``concurrency`` pollers per queue, each handling one message at a time: Lambda runs a
    queue's jobs in as many instances at once as the queue holds work (up to the function's
    reserved concurrency), so a payment does not wait behind the bill of the one before it.
    A message received once ``stop()`` was called is not handled: SQS delivers it again.
    """

    def __init__(self, app: Any, sqs: Any, queues: dict[str, str],
                 concurrency: int = WORKER_CONCURRENCY, wait_seconds: int = WAIT_SECONDS) -> None:
        self._app, self._sqs, self._queues = app, sqs, queues
        self._wait = wait_seconds
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(name, url), daemon=True,
                                          name=f"worker-{name}-{k}")
                         for name, url in queues.items() for k in range(max(1, concurrency))]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop polling; waits up to ``STOP_SECONDS`` in all for jobs in progress (the threads
        are daemons: one still inside a long poll ends with the process)."""
        self._stop.set()
        deadline = time.monotonic() + STOP_SECONDS
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def _run(self, handler: str, url: str) -> None:
        from chalice.local import LambdaContext

        while not self._stop.is_set():
            try:
                got = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1,
                                                WaitTimeSeconds=self._wait,
                                                AttributeNames=["All"])
            except Exception:  # noqa: BLE001 - moto stopping, or a blip: try again
                time.sleep(0.5)
                continue
            if self._stop.is_set():
                return  # stopping: the message comes back once its visibility times out
            for msg in got.get("Messages", []):
                event = {"Records": [{
                    "messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"],
                    "body": msg["Body"], "attributes": msg.get("Attributes", {}),
                    "messageAttributes": {}, "md5OfBody": msg.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs", "awsRegion": "cn-north-1",
                    "eventSourceARN": f"arn:aws:sqs:cn-north-1:123456789012:{handler}"}]}
                try:
                    self._app.handler_map[handler](event, LambdaContext(handler, 1024))
                except Exception:  # noqa: BLE001 - as Lambda: the message comes back later
                    log.exception("%s failed; SQS will deliver it again", handler)
                    continue
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])


class Scheduler:
    """Calls the channel jobs (active query, refunds) every ``every`` seconds, as EventBridge
    calls them in production (there, every five minutes), and the weekly report's job (there,
    on Mondays; it keeps last week's report once, then only finds it kept)."""

    HANDLERS = ("query_open_orders", "refund_exceptions", "weekly_report")

    def __init__(self, app: Any, every: float = 60.0) -> None:
        self._app, self._every = app, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="scheduler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from chalice.local import LambdaContext

        event = {"version": "0", "id": "local", "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "000000000000", "time": "",
                 "region": "cn-north-1", "resources": [], "detail": {}}
        while not self._stop.wait(self._every):
            for name in self.HANDLERS:
                try:
                    self._app.handler_map[name](event, LambdaContext(name, 1024))
                except Exception:  # noqa: BLE001 - as Lambda: the next run tries again
                    log.exception("%s failed", name)


def _env(local: Path, moto_url: str, ddb_url: str, port: int, sim_port: int) -> None:
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "cn-north-1", "AWS_REGION": "cn-north-1",
        "AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_DYNAMODB": ddb_url,
        "STAGE": "local", "SIGNER": "local", "LOCAL_KEYS_DIR": str(local / "keys"),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # The channels' servers: the simulator plays them (channel_servers.py).
        "WECHATPAY_API_BASE": f"http://127.0.0.1:{sim_port}/wechatpay",
        "ALIPAY_GATEWAY": f"http://127.0.0.1:{sim_port}/alipay/gateway.do",
        "UNIONPAY_GATEWAY": f"http://127.0.0.1:{sim_port}/unionpay",
        "BANK_STATEMENT_BASE": f"http://127.0.0.1:{sim_port}/bank",  # the agent bank's 前置机
        # WeChat's web authorisation (open.weixin.qq.com, api.weixin.qq.com): the simulator's.
        "WECHAT_OPEN_BASE": f"http://127.0.0.1:{sim_port}/weixin",
        "WECHAT_API_BASE": f"http://127.0.0.1:{sim_port}/weixin",
        # Texts: SNS on moto unless SMS_PROVIDER=aliyun, then the simulator plays Alibaba Cloud
        # SMS (its messages: GET /_sim/sms on the simulator).
        "ALIYUN_SMS_ENDPOINT": f"http://127.0.0.1:{sim_port}/dysmsapi",
    })


def provision(deps: Any, local: Path) -> dict[str, str]:
    """Tables, buckets, queues and secret (idempotent); returns queue name → URL."""
    from chalicelib.adapters.dynamo_models import LOGICAL_IDS
    from devstack.services import create_lifecycle_bucket, create_tables

    settings = deps.settings
    names = {LOGICAL_IDS[n]: settings.table(n) for n in LOGICAL_IDS}
    create_tables(ROOT / "infra" / "resources.json", names, deps._client("dynamodb"))
    add_missing_indexes(ROOT / "infra" / "resources.json", names, deps._client("dynamodb"))
    date_old_payments(deps)
    s3 = deps._client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if settings.archive_bucket not in existing:
        s3.create_bucket(Bucket=settings.archive_bucket, ObjectLockEnabledForBucket=True,
                         CreateBucketConfiguration={"LocationConstraint": settings.region})
        s3.put_object_lock_configuration(Bucket=settings.archive_bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 30}}})
    create_lifecycle_bucket(ROOT / "infra" / "resources.json", "RejectedIntakeBucket",
                            settings.rejected_intake_bucket, s3, settings.region)
    sqs = deps._client("sqs")
    urls = {}
    for name, handler, _ in QUEUES:
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        urls[handler] = sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": "10",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        })["QueueUrl"]
    return urls


def date_old_payments(deps: Any) -> int:
    """A state folder's payments written before the payments' day index get their day (what
    ``cli backfill-payment-days`` does in a deployment): one Scan page on a fresh stack."""
    from chalicelib.adapters.dynamo_payments import fill_paid_days

    deps.payments  # noqa: B018 - binds the models to the stack's tables
    page = fill_paid_days()
    filled = page.filled
    while page.after is not None:
        page = fill_paid_days(after=page.after)
        filled += page.filled
    if filled:
        log.info("dated %d payments for the payments' day index", filled)
    return filled


def add_missing_indexes(template: Path, names: dict[str, str], dynamodb: Any) -> list[str]:
    """Tables kept from an older run get the indexes the template has added since."""
    resources = json.loads(template.read_text())["Resources"]
    added = []
    for logical_id, table in names.items():
        wanted = resources[logical_id]["Properties"].get("GlobalSecondaryIndexes", [])
        have = {g["IndexName"] for g in dynamodb.describe_table(TableName=table)["Table"].get(
            "GlobalSecondaryIndexes", [])}
        definitions = resources[logical_id]["Properties"]["AttributeDefinitions"]
        for index in wanted:
            if index["IndexName"] in have:
                continue
            dynamodb.update_table(TableName=table, AttributeDefinitions=definitions,
                                  GlobalSecondaryIndexUpdates=[{"Create": index}])
            added.append(f"{table}.{index['IndexName']}")
    if added:
        log.info("added indexes %s", ", ".join(added))
    return added


def run() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if os.environ.get("VERBOSE") != "1":
        # The moto server logs every request (the worker polls SQS twice a second) and botocore
        # every credential lookup: quiet unless VERBOSE=1. What the product logs stays.
        for noisy in ("werkzeug", "botocore.credentials", "pynamodb.settings"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    local = Path(os.environ.get("LOCAL_DIR", ROOT / ".local")).resolve()
    port = int(os.environ.get("PORT", "8000"))
    sim_port = int(os.environ.get("SIMULATOR_PORT", "8001"))
    moto_port = int(os.environ.get("MOTO_PORT", "8002"))
    ddb_port = int(os.environ.get("DYNAMODB_PORT", "8003"))
    local.mkdir(parents=True, exist_ok=True)

    from devstack import services

    started = time.monotonic()
    jar_dir = services.install_dynamodb_local(local / "node")
    ddb = services.start_dynamodb_local(jar_dir, local / "dynamodb", ddb_port)
    moto = services.start_moto(moto_port, local)
    stoppers: list = [lambda: services.stop_process_group(ddb), moto.stop]
    try:
        _env(local, moto.endpoint_url, f"http://127.0.0.1:{ddb_port}", port, sim_port)
        from devstack.request_stats import from_environment

        if (stats := from_environment()) is not None:  # $STACK_STATS: benchmarks only
            stoppers.insert(0, stats.stop)
        from chalicelib import bootstrap
        from chalicelib.config import load_settings
        from devstack.seed import put_channel_secrets, seed, stack_document

        deps = bootstrap.Deps(settings=load_settings())
        urls = provision(deps, local)
        for _, handler, env_name in QUEUES:
            os.environ[env_name] = urls[handler]
        deps = bootstrap.Deps(settings=load_settings())
        bootstrap.use(deps)
        seeded = seed(deps, local, local / "keys")
        put_channel_secrets(deps, seeded.state)
        stack = stack_document(seeded, deps.settings.public_base_url, moto.endpoint_url)
        stack["dynamodb_endpoint_url"] = f"http://127.0.0.1:{ddb_port}"
        stack["simulator_url"] = f"http://127.0.0.1:{sim_port}"
        (local / "stack.json").write_text(json.dumps(stack, ensure_ascii=False, indent=2))

        from chalice.local import LocalDevServer  # noqa: F401 - fail early if missing

        import app as application
        from devstack.simulator import serve

        server = _serve_app(application.app, port)
        stoppers.insert(0, server.shutdown)
        worker = Worker(application.app, deps._client("sqs"), urls, int(
            os.environ.get("WORKER_CONCURRENCY", str(WORKER_CONCURRENCY))))
        worker.start()
        stoppers.insert(0, worker.stop)
        sim = serve(local / "stack.json", "127.0.0.1", sim_port)
        stoppers.insert(0, sim.shutdown)
        scheduler = Scheduler(application.app,
                              float(os.environ.get("SCHEDULE_EVERY_SECONDS", "60")))
        scheduler.start()
        stoppers.insert(0, scheduler.stop)
        log.info("ready in %.1f s: app %s, simulator http://127.0.0.1:%d, stack %s",
                 time.monotonic() - started, deps.settings.public_base_url, sim_port,
                 local / "stack.json")
        print(f"\n  App:        {deps.settings.public_base_url}\n"
              f"  Simulator:  http://127.0.0.1:{sim_port}\n"
              f"  Stack file: {local / 'stack.json'}\n  Stop:       Ctrl-C\n", flush=True)
        _wait_for_signal()
        return 0
    finally:
        log.info("stopping")
        for stop in stoppers:
            try:
                stop()
            except Exception:  # noqa: BLE001 - stop the rest regardless
                log.exception("while stopping")


def _serve_app(app: Any, port: int) -> Any:
    # Chalice's local server, answering unknown routes as production does and timing out
    # connections whose body never arrives (devstack/gateway.py).
    from devstack.gateway import serve_app

    return serve_app(app, "127.0.0.1", port)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(1)


if __name__ == "__main__":
    sys.exit(run())
