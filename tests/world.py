"""A whole application world on moto (in-process), for functional tests and benchmarks.

Builds the AWS resources from the same definitions the local stack and production use: tables
from ``infra/resources.json``, the archive bucket with Object Lock, the queues, the channel
secret; seeds the demo units and keys; and drains the job queues by calling the Chalice handlers
the way Lambda would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "resources.json"
CHANNELS_URL = "http://channels.test"  # where the in-process channels' servers answer
ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "cn-north-1", "AWS_REGION": "cn-north-1",
    "STAGE": "test",
}


# Functional tests run at a pinned instant, never today's date: 10:00 in China on a mid-June
# day, so no test crosses a day, month or year boundary by accident (keys are valid since 2026).
PINNED_NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


class Clock:
    """A clock tests can set and move; it starts at ``PINNED_NOW``."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or PINNED_NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    deps: Any
    seeded: Any
    clock: Clock
    issue_queue_url: str
    sms_queue_url: str
    tmp: Path
    sent: list = field(default_factory=list)
    channels: Any = None  # the channels' servers, played in-process (local/channel_servers.py)

    def api_key(self, index: int = 0, kind: str = "units") -> str:
        units = self.stack["units" if kind == "units" else "reimbursers"]
        return units[index]["api_key"]

    @property
    def stack(self) -> dict:
        from devstack.seed import stack_document

        return stack_document(self.seeded, "http://testserver", "moto")

    def auth(self, index: int = 0, kind: str = "units") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key(index, kind)}",
                "Content-Type": "application/json"}

    def drain(self, handler_client=None) -> int:
        """Run every queued job through its handler, as Lambda's SQS trigger would (on
        Chalice's own SQS events, ``tests/lambda_events.py``)."""
        from tests.lambda_events import handler_client as new_client
        from tests.lambda_events import run_sqs_message

        handlers = handler_client or new_client()
        sqs = self.deps._client("sqs")
        handled = 0
        for _ in range(100):
            progressed = False
            for url, name in ((self.issue_queue_url, "issue_bill"),
                              (self.sms_queue_url, "send_sms")):
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                for msg in got.get("Messages", []):
                    run_sqs_message(handlers, name, msg)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
                    handled += 1
                    progressed = True
            if not progressed:
                return handled
        return handled


def build_world(tmp: Path, clock: Clock | None = None) -> World:
    """Create resources and seed; must run inside ``moto.mock_aws()`` (or against a server)."""
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import LOGICAL_IDS
    from chalicelib.config import load_settings
    from devstack.seed import put_channel_secrets, seed
    from devstack.services import create_lifecycle_bucket, create_tables

    os.environ.update({"SIGNER": "local", "LOCAL_KEYS_DIR": str(tmp / "keys"),
                       "PUBLIC_BASE_URL": "http://testserver",
                       "WECHATPAY_API_BASE": f"{CHANNELS_URL}/wechatpay",
                       "ALIPAY_GATEWAY": f"{CHANNELS_URL}/alipay/gateway.do",
                       "UNIONPAY_GATEWAY": f"{CHANNELS_URL}/unionpay"})
    settings = load_settings()
    clock = clock or Clock()
    deps = bootstrap.Deps(settings=settings, clock=clock)
    create_tables(TEMPLATE, {LOGICAL_IDS[n]: settings.table(n) for n in LOGICAL_IDS},
                  deps._client("dynamodb"))
    s3 = deps._client("s3")
    s3.create_bucket(Bucket=settings.archive_bucket, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": settings.region})
    s3.put_object_lock_configuration(Bucket=settings.archive_bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 30}}})
    create_lifecycle_bucket(TEMPLATE, "RejectedIntakeBucket", settings.rejected_intake_bucket,
                            s3, settings.region)
    sqs = deps._client("sqs")
    issue_url = sqs.create_queue(QueueName="fiscal-issue-bill")["QueueUrl"]
    sms_url = sqs.create_queue(QueueName="fiscal-send-sms")["QueueUrl"]
    os.environ.update({"ISSUE_QUEUE_URL": issue_url, "SMS_QUEUE_URL": sms_url})
    settings = load_settings()
    deps.settings = settings
    seeded = seed(deps, tmp / "state", tmp / "keys")
    put_channel_secrets(deps, seeded.state)
    from devstack.channel_servers import ChannelServers, InProcessTransport
    from devstack.seed import stack_document

    # The channels' servers answer in-process; their notifications go nowhere until a test
    # sets ``world.channels.deliver`` (e.g. to post through the test client).
    channels = ChannelServers(stack_document(seeded, "http://testserver", "moto"), CHANNELS_URL,
                              clock=clock, deliver=lambda url, body, headers: 0)
    deps.overrides["channel_http"] = InProcessTransport(channels)
    bootstrap.use(deps)
    return World(deps=deps, seeded=seeded, clock=clock, issue_queue_url=issue_url,
                 sms_queue_url=sms_url, tmp=tmp, channels=channels)
