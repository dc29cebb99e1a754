"""``make run``: the whole product on this machine, on real AWS APIs running locally.

Starts DynamoDB Local (data in ``.local/dynamodb``), a moto server for S3, SQS, SNS, KMS and
Secrets Manager (S3 journalled to ``.local/s3``), creates the tables from ``infra/resources.json``,
the archive bucket with Object Lock, the short-lived bucket of refused notifications (with the
template's lifecycle), the queues and the channel secret; seeds the demo world; serves the app
on 127.0.0.1:$PORT (default 8000) through Chalice's local server; runs a worker that feeds
queued jobs to the same handlers Lambda would call, several at a time as Lambda does (a
batch per invocation, up to each function's reserved concurrency at once, or
$WORKER_CONCURRENCY: ``devstack/jobs.py``); serves the payment-channel simulator on
$SIMULATOR_PORT (default 8001); writes ``.local/stack.json``; stops it all on Ctrl-C.

Four processes: DynamoDB Local (a JVM), moto's server (``devstack/moto_process.py``), the jobs
(worker and scheduler, ``devstack/jobs_process.py``) and this one (the app and the simulator),
so that they do not queue for one interpreter lock (``devstack/processes.py``).
``MOTO_IN_PROCESS=1`` and ``JOBS_IN_PROCESS=1`` put moto or the jobs back in this process.
``LOCAL_CLOCK_AT`` (an instant) or ``LOCAL_CLOCK_OFFSET`` (seconds) runs the stack's clock from
that instant or that far from real time (``devstack/clock.py``).
``DYNAMODB_IN_MEMORY=1`` keeps DynamoDB Local's tables in its memory only (``-inMemory``: cheaper
per write, and nothing of them survives a stop, so only for a stack that is never restarted,
e.g. a test's own stack on a fresh state folder).
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

from devstack.jobs import QUEUES, start_jobs

log = logging.getLogger("localstack")
ROOT = Path(__file__).resolve().parents[1]


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
    from devstack.clock import behind
    from devstack.services import create_lifecycle_bucket, create_tables

    settings = deps.settings
    names = {LOGICAL_IDS[n]: settings.table(n) for n in LOGICAL_IDS}
    create_tables(ROOT / "infra" / "resources.json", names, deps._client("dynamodb"),
                  ttl=not behind())  # DynamoDB Local's TTL sweep reads the machine's clock
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
    """A state folder's payments written before the payments' day index get their day, its
    accounts written before the people's list index their place, and its bills issued before
    the bills' unit index their unit, and its notes created before the payer indexes their
    payer's search keys (what ``cli backfill-payment-days``, ``backfill-people-places``,
    ``backfill-bill-listing`` and ``backfill-payer-search`` do in a deployment): one Scan page
    each on a fresh stack. Returns the payments dated."""
    from chalicelib.adapters.dynamo_bills import fill_bill_listing
    from chalicelib.adapters.dynamo_models import fill_all
    from chalicelib.adapters.dynamo_notes import fill_payer_search
    from chalicelib.adapters.dynamo_payments import fill_paid_days
    from chalicelib.adapters.dynamo_people import fill_people_places

    deps.payments, deps.people, deps.bills, deps.notes  # noqa: B018 - binds the models
    filled = fill_all(fill_paid_days).filled
    if filled:
        log.info("dated %d payments for the payments' day index", filled)
    if placed := fill_all(fill_people_places).filled:
        log.info("placed %d accounts in the people's list index", placed)
    if listed := fill_all(fill_bill_listing).filled:
        log.info("listed %d bills in the bills' unit index", listed)
    if keyed := fill_all(fill_payer_search).filled:
        log.info("keyed %d notes for the payer indexes", keyed)
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
    from devstack.processes import configure_logging

    configure_logging()
    local = Path(os.environ.get("LOCAL_DIR", ROOT / ".local")).resolve()
    port = int(os.environ.get("PORT", "8000"))
    sim_port = int(os.environ.get("SIMULATOR_PORT", "8001"))
    moto_port = int(os.environ.get("MOTO_PORT", "8002"))
    ddb_port = int(os.environ.get("DYNAMODB_PORT", "8003"))
    local.mkdir(parents=True, exist_ok=True)

    from devstack import services

    started = time.monotonic()
    jar_dir = services.install_dynamodb_local(local / "node")
    ddb = services.start_dynamodb_local(jar_dir, local / "dynamodb", ddb_port,
                                        in_memory=os.environ.get("DYNAMODB_IN_MEMORY") == "1")
    if os.environ.get("MOTO_IN_PROCESS") == "1":  # the old way: moto behind the stack's GIL
        moto: Any = services.start_moto(moto_port, local)
    else:
        from devstack import moto_process

        moto = moto_process.start(moto_port, local)
    stoppers: list = [lambda: services.stop_process_group(ddb), moto.stop]
    # SIGUSR1 runs the scheduled jobs now (devstack/jobs.Scheduler.run_soon): ignored until the
    # jobs can take it (the jobs child inherits "ignored" until it sets its own handler), so an
    # early one is lost rather than fatal.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        _env(local, moto.endpoint_url, f"http://127.0.0.1:{ddb_port}", port, sim_port)
        from devstack import clock

        # LOCAL_CLOCK_AT / LOCAL_CLOCK_OFFSET: this process and the jobs read one moved clock
        if (offset := clock.use_environment()) is not None:
            log.info("clock moved by %s: it reads %s", offset, clock.wall_clock.utc_now())
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
        stack["clock_offset_seconds"] = offset.total_seconds() if offset is not None else 0.0
        stack["pid"] = os.getpid()  # kill -USR1 it: run the scheduled jobs now
        (local / "stack.json").write_text(json.dumps(stack, ensure_ascii=False, indent=2))

        from chalice.local import LocalDevServer  # noqa: F401 - fail early if missing

        import app as application
        from devstack.simulator import serve

        server = _serve_app(application.app, port)
        stoppers.insert(0, server.shutdown)
        sim = serve(local / "stack.json", "127.0.0.1", sim_port)
        stoppers.insert(0, sim.shutdown)
        if os.environ.get("JOBS_IN_PROCESS") == "1":  # the old way: jobs behind the app's GIL
            stoppers[0:0] = start_jobs(application.app, deps._client("sqs"), urls)
        else:
            from devstack import jobs_process

            jobs = jobs_process.start()
            stoppers.insert(0, jobs.stop)
            signal.signal(signal.SIGUSR1, lambda *_: jobs.proc.send_signal(signal.SIGUSR1))
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
