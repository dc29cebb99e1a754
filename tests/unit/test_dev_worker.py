"""The local stack's worker runs a queue's jobs several at a time, as Lambda does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from devstack.jobs import POLLERS, Worker


def run_until(worker: Worker, done: Callable[[], bool], seconds: float) -> None:
    """Start ``worker``, wait until ``done()`` or ``seconds`` have passed, and stop it."""
    worker.start()
    try:
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()


class OneQueue:
    """An SQS client holding ``count`` messages on one queue; deletes are remembered."""

    def __init__(self, count: int) -> None:
        self._left = [f"m{k}" for k in range(count)]
        self._lock = threading.Lock()
        self.deleted: list[str] = []

    def receive_message(self, **_: object) -> dict:
        with self._lock:
            if self._left:
                body = self._left.pop()
                return {"Messages": [{"MessageId": body, "ReceiptHandle": body,
                                      "Body": "{}"}]}
        time.sleep(0.01)  # a long poll that found nothing
        return {}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803
        with self._lock:
            self.deleted.append(ReceiptHandle)


@pytest.mark.parametrize("pollers", [POLLERS, 1], ids=["the default pollers", "one poller"])
def test_four_jobs_of_one_queue_run_at_the_same_time(pollers: int):
    """Even one poller hands each batch to an invocation of its own and polls again at once."""
    together = threading.Barrier(4, timeout=10)  # broken unless four handlers wait at once

    def handler(event: dict, context: object) -> None:
        together.wait()

    sqs = OneQueue(4)
    worker = Worker(SimpleNamespace(handler_map={"issue_bill": handler}), sqs,
                    {"issue_bill": "http://sqs/issue"}, concurrency=4, pollers=pollers)
    run_until(worker, lambda: len(sqs.deleted) >= 4, seconds=15)
    assert sorted(sqs.deleted) == ["m0", "m1", "m2", "m3"]
    assert not together.broken


def test_with_one_at_a_time_a_job_waits_for_the_one_before():
    together = threading.Barrier(2, timeout=0.5)
    failed: list[str] = []

    def handler(event: dict, context: object) -> None:
        try:
            together.wait()
        except threading.BrokenBarrierError:
            failed.append(event["Records"][0]["body"])
            raise

    sqs = OneQueue(2)
    worker = Worker(SimpleNamespace(handler_map={"issue_bill": handler}), sqs,
                    {"issue_bill": "http://sqs/issue"}, concurrency=1)
    run_until(worker, lambda: bool(failed), seconds=5)
    assert failed and sqs.deleted == []


class IdleQueue:
    """An SQS client whose queue stays empty: each receive holds until ``release`` is set, as a
    long poll on an empty queue would; the polls' arguments are remembered."""

    def __init__(self) -> None:
        self.polls: list[dict] = []
        self.deleted: list[str] = []
        self.release = threading.Event()

    def receive_message(self, **kwargs: object) -> dict:
        self.polls.append(kwargs)
        self.release.wait(10)
        return {"Messages": [{"MessageId": "late", "ReceiptHandle": "late", "Body": "{}"}]}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803
        self.deleted.append(ReceiptHandle)


def test_an_idle_worker_long_polls_for_twenty_seconds_and_stops_without_waiting_for_the_poll():
    handled: list[dict] = []

    def handler(event: dict, context: object) -> None:
        handled.append(event)

    sqs = IdleQueue()
    worker = Worker(SimpleNamespace(handler_map={"issue_bill": handler}), sqs,
                    {"issue_bill": "http://sqs/issue"}, concurrency=2)
    worker.start()
    deadline = time.monotonic() + 5
    while len(sqs.polls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    worker.stop()
    stopping = time.monotonic() - started
    sqs.release.set()  # the polls answer a message after the stop: it is left to SQS
    time.sleep(0.2)
    assert [p["WaitTimeSeconds"] for p in sqs.polls] == [20, 20]
    assert stopping < 3
    assert handled == [] and sqs.deleted == []


class BatchQueue:
    """An SQS client holding ``count`` messages that one receive hands out together, up to
    ``MaxNumberOfMessages``; deletes are remembered."""

    def __init__(self, count: int) -> None:
        self._left = [f"m{k}" for k in range(count)]
        self._lock = threading.Lock()
        self.asked: list[int] = []
        self.deleted: list[str] = []

    def receive_message(self, MaxNumberOfMessages: int, **_: object) -> dict:  # noqa: N803
        with self._lock:
            self.asked.append(MaxNumberOfMessages)
            taken, self._left = (self._left[:MaxNumberOfMessages],
                                 self._left[MaxNumberOfMessages:])
        if not taken:
            time.sleep(0.01)
        return {"Messages": [{"MessageId": m, "ReceiptHandle": f"r-{m}", "Body": "{}"}
                             for m in taken]}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803
        with self._lock:
            self.deleted.append(ReceiptHandle)


def test_a_batch_handler_gets_what_one_receive_finds_and_its_failed_messages_are_kept():
    batches: list[list[str]] = []

    def handler(event: dict, context: object) -> dict:
        batches.append([r["messageId"] for r in event["Records"]])
        return {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    app = SimpleNamespace(handler_map={"issue_bill": handler},
                          event_sources=[SimpleNamespace(name="issue_bill", batch_size=10)])
    sqs = BatchQueue(3)
    worker = Worker(app, sqs, {"issue_bill": "http://sqs/issue"}, concurrency=1)
    run_until(worker, lambda: len(sqs.deleted) >= 2, seconds=10)
    assert batches == [["m0", "m1", "m2"]]
    assert set(sqs.asked) == {10}
    assert sorted(sqs.deleted) == ["r-m0", "r-m2"]


def test_when_a_batch_handler_raises_none_of_its_messages_is_deleted():
    def handler(event: dict, context: object) -> None:
        raise RuntimeError("every bill of the batch failed")

    app = SimpleNamespace(handler_map={"issue_bill": handler},
                          event_sources=[SimpleNamespace(name="issue_bill", batch_size=10)])
    sqs = BatchQueue(2)
    worker = Worker(app, sqs, {"issue_bill": "http://sqs/issue"}, concurrency=1)
    run_until(worker, lambda: len(sqs.asked) >= 2, seconds=10)
    assert sqs.deleted == []


def test_the_worker_tells_the_request_counter_how_long_each_job_waited_and_ran(tmp_path):
    import json

    from devstack.request_stats import RequestStats

    sent = int(time.time() * 1000) - 2000  # queued two seconds ago

    class Queued(OneQueue):
        def receive_message(self, **kwargs: object) -> dict:
            got = super().receive_message(**kwargs)
            for msg in got.get("Messages", []):
                msg["Attributes"] = {"SentTimestamp": str(sent)}
            return got

    def handler(event: dict, context: object) -> None:
        time.sleep(0.2)

    stats = RequestStats(tmp_path / "requests.json")
    stats.install()
    try:
        sqs = Queued(2)
        worker = Worker(SimpleNamespace(handler_map={"send_sms": handler}), sqs,
                        {"send_sms": "http://sqs/sms"}, concurrency=1)
        run_until(worker, lambda: len(sqs.deleted) >= 2, seconds=10)
        stats.stop()
    finally:
        stats.uninstall()
    written = json.loads((tmp_path / "requests.json").read_text())
    assert written["counts"] == {"worker-send_sms queue wait": 2, "worker-send_sms handler": 2}
    assert 4.0 <= written["seconds"]["worker-send_sms queue wait"] < 8.0
    assert 0.4 <= written["seconds"]["worker-send_sms handler"] < 3.0


def test_the_scheduler_runs_its_jobs_at_once_when_asked_and_otherwise_waits_its_period():
    from devstack.jobs import Scheduler

    runs: list[str] = []
    app = SimpleNamespace(handler_map={name: lambda event, context, name=name: runs.append(name)
                                       for name in Scheduler.HANDLERS})
    scheduler = Scheduler(app, every=3600)
    scheduler.start()
    try:
        time.sleep(0.2)
        assert runs == []  # an hour's period: nothing before it is asked
        scheduler.run_soon()
        deadline = time.monotonic() + 10
        while len(runs) < len(Scheduler.HANDLERS) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert runs == list(Scheduler.HANDLERS)  # each job once, then the period again
    finally:
        scheduler.stop()


def test_the_scheduler_runs_the_merchant_check_with_its_functions_timeout_as_lambda_does():
    from devstack.jobs import Scheduler, lambda_timeout

    left: dict[str, float] = {}
    app = SimpleNamespace(handler_map={
        name: lambda event, context, name=name: left.__setitem__(
            name, context.get_remaining_time_in_millis() / 1000)
        for name in Scheduler.HANDLERS})
    scheduler = Scheduler(app, every=3600)
    scheduler.start()
    try:
        scheduler.run_soon()
        deadline = time.monotonic() + 10
        while len(left) < len(Scheduler.HANDLERS) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()
    assert lambda_timeout("check_merchant_credentials") == 300  # .chalice/config.json
    assert 290 < left["check_merchant_credentials"] <= 300  # not chalice's 3 s default
    assert 50 < left["query_open_orders"] <= 60  # no timeout of its own: Lambda's 60 s


def test_sigusr1_wakes_the_scheduler_of_start_jobs():
    import os
    import signal

    from devstack.jobs import Scheduler, start_jobs

    ran = threading.Event()
    handlers = {name: lambda event, context: None for name in Scheduler.HANDLERS}
    handlers["refund_exceptions"] = lambda event, context: ran.set()
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)  # unless start_jobs sets one
    stoppers = start_jobs(SimpleNamespace(handler_map=handlers), IdleQueue(), {})
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert ran.wait(10), "SIGUSR1 did not run the scheduled jobs"
    finally:
        for stop in stoppers:
            stop()
        signal.signal(signal.SIGUSR1, previous)


def test_no_more_invocations_run_at_once_than_the_concurrency_and_the_rest_wait_in_the_queue():
    running: list[str] = []
    most = [0]
    release = threading.Event()
    lock = threading.Lock()

    def handler(event: dict, context: object) -> None:
        with lock:
            running.append(event["Records"][0]["body"])
            most[0] = max(most[0], len(running))
        release.wait(10)
        with lock:
            running.pop()

    sqs = OneQueue(5)
    worker = Worker(SimpleNamespace(handler_map={"issue_bill": handler}), sqs,
                    {"issue_bill": "http://sqs/issue"}, concurrency=2, pollers=2)
    worker.start()
    try:
        time.sleep(0.5)
        assert most[0] == 2
        assert len(sqs._left) == 3  # not received: Lambda's throttle leaves them in the queue
        release.set()
        deadline = time.monotonic() + 10
        while len(sqs.deleted) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        release.set()
        worker.stop()
    assert len(sqs.deleted) == 5 and most[0] == 2


def test_by_default_a_handler_runs_as_many_at_once_as_its_functions_reserved_concurrency(
        tmp_path):
    from devstack.jobs import DEFAULT_CONCURRENCY, reserved_concurrency

    assert reserved_concurrency("issue_bill") == 20  # .chalice/config.json, prod stage
    assert reserved_concurrency("send_sms") == 5
    config = tmp_path / "config.json"
    config.write_text('{"stages": {"prod": {"lambda_functions": {"send_sms": {}}}}}')
    assert reserved_concurrency("send_sms", config) == DEFAULT_CONCURRENCY
    worker = Worker(SimpleNamespace(handler_map={}), IdleQueue(),
                    {"issue_bill": "http://sqs/issue", "send_sms": "http://sqs/sms"})
    assert worker.concurrency == {"issue_bill": 20, "send_sms": 5}


def test_the_worker_keeps_each_jobs_timeline_with_the_aws_requests_its_handler_made(tmp_path):
    import json

    import boto3
    from botocore.stub import Stubber

    from devstack.request_stats import RequestStats

    sent = int(time.time() * 1000) - 1000
    sqs_client = boto3.client("sqs", region_name="cn-north-1", aws_access_key_id="x",
                              aws_secret_access_key="x")
    stub = Stubber(sqs_client)
    stub.add_response("list_queues", {"QueueUrls": []})

    class Queued:
        def __init__(self) -> None:
            self.given = False
            self.deleted: list[str] = []

        def receive_message(self, **_: object) -> dict:
            if self.given:
                time.sleep(0.01)
                return {}
            self.given = True
            return {"Messages": [{"MessageId": "m", "ReceiptHandle": "r",
                                  "Body": '{"payment_code": "P1"}',
                                  "Attributes": {"SentTimestamp": str(sent)}}]}

        def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803
            self.deleted.append(ReceiptHandle)

    def handler(event: dict, context: object) -> None:
        sqs_client.list_queues()

    stats = RequestStats(tmp_path / "requests.json")
    stats.install()
    try:
        with stub:
            queue = Queued()
            worker = Worker(SimpleNamespace(handler_map={"issue_bill": handler}), queue,
                            {"issue_bill": "http://sqs/issue"}, concurrency=1)
            run_until(worker, lambda: bool(queue.deleted) and bool(stats.trace), seconds=10)
        stats.stop()
    finally:
        stats.uninstall()
    (job,) = json.loads((tmp_path / "requests.json").read_text())["trace"]
    assert job["handler"] == "issue_bill" and job["jobs"] == ["P1"]
    assert job["sent"] == [sent / 1000]
    assert job["sent"][0] < job["received"] <= job["started"] <= job["handled"] <= job["deleted"]
    ((operation, began, ended),) = job["calls"]
    assert operation == "SQS.ListQueues"
    assert job["started"] - 0.01 <= began <= ended <= job["handled"] + 0.01
