"""A whole application world on moto (in-process), for functional tests and benchmarks.

Builds the AWS resources from the same definitions the local stack and production use: tables
from ``infra/resources.json``, the archive bucket with Object Lock, the queues, the channel
secret; seeds the demo units and keys; and drains the job queues by calling the Chalice handlers
the way Lambda would.

Building and seeding takes seconds (clients, tables, keys), most of a functional test. So a test
process builds it once (``ProcessWorlds``): one moto mock and one set of boto3/pynamodb clients
for the whole process, the seeded AWS state kept as a snapshot of moto's backends, and each test
gets that state back (``fresh``) with a world of its own around it: its own clock, ``Deps``,
keys folder and channel servers. Nothing a test writes reaches the next one.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
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

        return stack_document(self.seeded, "http://testserver", "moto", self.clock())

    def auth(self, index: int = 0, kind: str = "units") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key(index, kind)}",
                "Content-Type": "application/json"}

    def finance_auth(self) -> dict[str, str]:
        """The provincial finance department's key (the seed's, scope ``34``)."""
        return {"Authorization": f"Bearer {self.stack['finance']['api_key']}",
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


def _point_env_at(tmp: Path) -> None:
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    os.environ.update({"SIGNER": "local", "LOCAL_KEYS_DIR": str(tmp / "keys"),
                       "PUBLIC_BASE_URL": "http://testserver",
                       "WECHATPAY_API_BASE": f"{CHANNELS_URL}/wechatpay",
                       "ALIPAY_GATEWAY": f"{CHANNELS_URL}/alipay/gateway.do",
                       "UNIONPAY_GATEWAY": f"{CHANNELS_URL}/unionpay",
                       "BANK_STATEMENT_BASE": f"{CHANNELS_URL}/bank",
                       "WECHAT_OPEN_BASE": f"{CHANNELS_URL}/weixin",
                       "WECHAT_API_BASE": f"{CHANNELS_URL}/weixin"})


def build_world(tmp: Path, clock: Clock | None = None) -> World:
    """Create resources and seed; must run inside ``moto.mock_aws()`` (or against a server)."""
    _point_env_at(tmp)
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import LOGICAL_IDS
    from chalicelib.config import load_settings
    from devstack.seed import put_channel_secrets, seed
    from devstack.services import create_lifecycle_bucket, create_tables

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
    deps.settings = load_settings()
    seeded = seed(deps, tmp / "state", tmp / "keys")
    put_channel_secrets(deps, seeded.state)
    return _around(deps, seeded, issue_url, sms_url, tmp)


def _around(deps: Any, seeded: Any, issue_url: str, sms_url: str, tmp: Path) -> World:
    """The world around ``deps``'s AWS state, installed as the process's dependencies."""
    from chalicelib import bootstrap
    from devstack.channel_servers import ChannelServers, InProcessTransport
    from devstack.seed import stack_document

    # The channels' servers answer in-process; their notifications go nowhere until a test
    # sets ``world.channels.deliver`` (e.g. to post through the test client).
    channels = ChannelServers(stack_document(seeded, "http://testserver", "moto", deps.clock()),
                              CHANNELS_URL, clock=deps.clock, deliver=lambda url, body, headers: 0)
    deps.overrides["channel_http"] = InProcessTransport(channels)
    bootstrap.use(deps)
    return World(deps=deps, seeded=seeded, clock=deps.clock, issue_queue_url=issue_url,
                 sms_queue_url=sms_url, tmp=tmp, channels=channels)


def freeze_long_lived() -> None:
    """Keep what the process holds for good (modules, botocore's service models, moto's
    backends, the seeded world and its snapshot: ~190,000 objects with one botocore loader,
    ``tests/conftest.py``; ~510,000 before) out of every later garbage collection.

    A full collection walks every tracked object (0.5-1 CPU-s with the larger heap), paid by
    each automatic one during the run and five times over when pytest closes the session (its
    ``unraisableexception`` plugin collects five times to find finalizers that raise). Frozen
    objects are never collected; they live until the process ends anyway, and what tests make
    afterwards is collected as before. ``gc.get_objects()`` no longer lists them: a test that
    searches the heap unfreezes first (``tests/fuzz/writes.py``).
    """
    import gc

    gc.collect()
    gc.freeze()


LOCKS = (type(threading.Lock()), type(threading.RLock()), threading.Condition)


class MotoSnapshot:
    """Every moto backend's state at one moment, to be given back as often as asked.

    A backend is restored in place (its ``__dict__`` replaced by a deep copy of the saved one),
    so whatever holds the backend object keeps working; one that moto dropped since (its reset
    clears every backend) is made again; one made after the snapshot (a service or region a
    test used first) is emptied.
    """

    def __init__(self) -> None:
        self.saved = {(service, account, region): (backend, self._copy(backend, backend.__dict__))
                      for service, account, region, backend in _backends()}

    @staticmethod
    def _copy(backend: Any, state: dict, into: Any = None) -> dict:
        """A deep copy of ``state``: the backend's references to itself point to ``into``,
        and locks are new ones (a lock cannot be copied; moto keeps one per SQS queue)."""
        memo: dict[int, Any] = {id(backend): into if into is not None else backend}
        for value in state.values():
            for model in value.values() if isinstance(value, dict) else ():
                for attr in getattr(model, "__dict__", {}).values():
                    if isinstance(attr, LOCKS):
                        memo[id(attr)] = type(attr)()
        return copy.deepcopy(state, memo)

    def restore(self) -> None:
        from moto.core.model_instances import reset_model_data

        for (service, account, region), (backend, state) in self.saved.items():
            live = service[account][region]  # made again if moto dropped it
            live.__dict__ = self._copy(backend, state, into=live)
        for key in {(s, a, r) for s, a, r, _ in _backends()} - self.saved.keys():
            service, account, region = key
            service[account][region].reset()
        reset_model_data()  # moto keeps every model it made for its dashboard: let them go


def _backends() -> list[tuple[Any, str, str, Any]]:
    """``(BackendDict, account, region, backend)`` of every moto backend made so far."""
    from moto.core.base_backend import BackendDict

    return [(service, account, region, backend) for service in list(BackendDict._instances)
            for account, per_account in list(service.items())
            for region, backend in list(per_account.items())]


def empty_moto() -> None:
    """Every moto backend emptied in place, as a new ``mock_aws()`` would find them (inside the
    process's mock, a nested ``mock_aws()`` keeps the state it finds)."""
    from moto.core.model_instances import reset_model_data

    for _, _, _, backend in _backends():
        backend.reset()
    reset_model_data()


class ProcessWorlds:
    """One seeded world's AWS state per test process, and fresh worlds over it.

    ``start`` opens one moto mock for the process, builds and seeds a world under ``tmp`` and
    snapshots moto's state. ``fresh`` restores that state and returns a new world over it; the
    boto3 and pynamodb clients are the process's (``adapters/aws.py`` caches them), so a test
    pays for no client, no table and no key.
    """

    def __init__(self) -> None:
        self.base: World | None = None
        self.snapshot: MotoSnapshot | None = None
        self._mock: Any = None

    def start(self, tmp: Path) -> World:
        if self.base is None:
            from moto import mock_aws

            from chalicelib.adapters import aws
            from devstack import moto_aliases, moto_tuning, moto_updates
            from tests import moto_dynamodb, moto_transactions

            moto_transactions.install()  # transactions back up what they touch, not whole tables
            moto_aliases.install()  # responses find each attribute's name once per shape
            moto_tuning.remember_name_lookups()  # the dispatcher's name lookups, once each
            moto_dynamodb.install()  # attribute values written directly, updates parsed once
            moto_updates.install()  # update expressions walked without re-asking each node
            self._mock = mock_aws()
            self._mock.start()
            aws.forget_clients()
            self.base = build_world(tmp)
            self.snapshot = MotoSnapshot()
            freeze_long_lived()
        return self.base

    def fresh(self, tmp: Path) -> World:
        """The seeded world again, as if just built under ``tmp``, at ``PINNED_NOW``."""
        from chalicelib import bootstrap
        from chalicelib.config import load_settings

        base, snapshot = self.base, self.snapshot
        assert base is not None and snapshot is not None, "start() first"
        snapshot.restore()
        shutil.copytree(base.tmp / "keys", tmp / "keys")  # a test may add keys of its own
        _point_env_at(tmp)
        os.environ.update({"ISSUE_QUEUE_URL": base.issue_queue_url,
                           "SMS_QUEUE_URL": base.sms_queue_url})
        deps = bootstrap.Deps(settings=load_settings(), clock=Clock())
        return _around(deps, base.seeded, base.issue_queue_url, base.sms_queue_url, tmp)

    def stop(self) -> None:
        from chalicelib import bootstrap

        if self._mock is not None:
            self._mock.stop()
        self._mock, self.base, self.snapshot = None, None, None
        bootstrap.use(None)


PROCESS_WORLDS = ProcessWorlds()
