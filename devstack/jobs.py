"""The local stack's jobs: a worker that feeds queued jobs to the app's SQS handlers, as Lambda's
SQS trigger does, and a scheduler that calls its scheduled handlers, as EventBridge does. They run
in a process of their own (``devstack/jobs_process.py``) or, with ``JOBS_IN_PROCESS=1``, in the
stack's (``devstack/stack.py``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from chalicelib.adapters.wall_clock import real_read
from devstack.request_stats import recording, spent, trace, tracing

log = logging.getLogger("localstack")
QUEUES = (("fiscal-issue-bill", "issue_bill", "ISSUE_QUEUE_URL"),
          ("fiscal-send-sms", "send_sms", "SMS_QUEUE_URL"))


# How many invocations of a queue's handler may run at once: the function's reserved concurrency
# in production (.chalice/config.json, issue_bill 20, send_sms 5), as Lambda bounds them;
# $WORKER_CONCURRENCY sets one figure for both queues instead.
DEFAULT_CONCURRENCY = 4  # a handler without a reserved concurrency in the config
# Receives in flight per queue, as Lambda's pollers: each hands what it got to an invocation of
# its own and polls again at once, so a message never waits for another job to finish.
POLLERS = 2
# SQS's longest poll, as Lambda's own pollers use: an idle poller costs the stack one request
# (botocore here, moto's server there, a few ms of CPU each) per 20 s instead of one a second.
WAIT_SECONDS = 20
STOP_SECONDS = 2.0  # what stop() waits for pollers in all; one inside a long poll is left to die
CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"


def lambda_timeout(handler: str, config: Path = CONFIG) -> int:
    """The production stage's timeout of ``handler``'s function in seconds (the stage's, else
    Chalice's default of 60, when the function sets none): a scheduled job that works in slices
    reads how long it has left from its context, as in Lambda."""
    stage = json.loads(config.read_text()).get("stages", {}).get("prod", {})
    function = stage.get("lambda_functions", {}).get(handler, {})
    return int(function.get("lambda_timeout", stage.get("lambda_timeout", 60)))


def reserved_concurrency(handler: str, config: Path = CONFIG) -> int:
    """The production stage's reserved concurrency of ``handler``'s function (Lambda runs no
    more of its instances at once), or ``DEFAULT_CONCURRENCY`` when the config sets none."""
    stages = json.loads(config.read_text()).get("stages", {})
    function = stages.get("prod", {}).get("lambda_functions", {}).get(handler, {})
    return int(function.get("reserved_concurrency", DEFAULT_CONCURRENCY))


class Worker:
    """Long-polls each queue and calls the Chalice SQS handler, as Lambda's trigger would.

    Per queue, ``POLLERS`` receives are in flight; each batch a receive finds (up to the
    handler's ``batch_size``, ``app.py``'s ``on_sqs_message``; no batching window, as there)
    goes to an invocation of its own, in a pool of the handler's ``concurrency`` (its reserved
    concurrency by default), and the poller polls again at once: Lambda runs a queue's batches in
    as many instances at once as the queue holds work, up to the function's reserved
    concurrency, so a payment does not wait behind the bill of the one before it. When every
    invocation is busy the pollers wait for one to end before receiving more (the messages stay
    in the queue, as Lambda throttled). After the handler returns, its messages are deleted but
    those its partial batch response names (``batchItemFailures``); when it raises, none is. A
    message received once ``stop()`` was called is not handled: SQS delivers it again.
    """

    def __init__(self, app: Any, sqs: Any, queues: dict[str, str],
                 concurrency: int | None = None, wait_seconds: int = WAIT_SECONDS,
                 pollers: int = POLLERS) -> None:
        self._app, self._sqs, self._queues = app, sqs, queues
        self._wait = wait_seconds
        self._batch = {source.name: source.batch_size
                       for source in getattr(app, "event_sources", [])
                       if hasattr(source, "batch_size")}
        self._stop = threading.Event()
        self.concurrency = {name: max(1, concurrency or reserved_concurrency(name))
                            for name in queues}
        self._slots = {name: threading.BoundedSemaphore(n) for name, n in self.concurrency.items()}
        self._pools = {name: ThreadPoolExecutor(n, thread_name_prefix=f"worker-{name}")
                       for name, n in self.concurrency.items()}
        self._running: set[Future[None]] = set()  # invocations in progress
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._poll, args=(name, url), daemon=True,
                                          name=f"worker-{name}-{k}")
                         for name, url in queues.items()
                         for k in range(max(1, min(pollers, self.concurrency[name])))]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop polling; waits up to ``STOP_SECONDS`` in all for jobs in progress (pollers still
        inside a long poll are daemons: they end with the process)."""
        self._stop.set()
        with self._lock:
            running = list(self._running)
        wait(running, timeout=STOP_SECONDS)
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def _poll(self, handler: str, url: str) -> None:
        slots = self._slots[handler]
        while not self._stop.is_set():
            if not slots.acquire(timeout=1.0):  # every invocation busy: Lambda's throttle
                continue
            try:
                got = self._sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, self._batch.get(handler, 1)),
                    WaitTimeSeconds=self._wait, AttributeNames=["All"])
            except Exception:  # noqa: BLE001 - moto stopping, or a blip: try again
                slots.release()
                time.sleep(0.5)
                continue
            received = real_read().timestamp()  # measuring, as SQS stamps: the real clock
            messages = got.get("Messages", [])
            if self._stop.is_set() or not messages:
                slots.release()  # stopping: the messages come back once their visibility ends
                continue
            try:
                future = self._pools[handler].submit(self._invoke, handler, url, messages,
                                                     received)
            except RuntimeError:  # the pool is shut down: stopping
                slots.release()
                continue
            with self._lock:
                self._running.add(future)
            future.add_done_callback(self._ended)

    def _ended(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    def _invoke(self, handler: str, url: str, messages: list[dict[str, Any]],
                received: float) -> None:
        try:
            self._handle(handler, url, messages, received)
        finally:
            self._slots[handler].release()

    def _handle(self, handler: str, url: str, messages: list[dict[str, Any]],
                received: float) -> None:
        from chalice.local import LambdaContext

        started = real_read().timestamp()
        sent = [int(m.get("Attributes", {}).get("SentTimestamp", received * 1000)) / 1000
                for m in messages]
        spent(f"worker-{handler} queue wait", sum(received - s for s in sent), len(messages))
        event = {"Records": [{
            "messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"],
            "body": msg["Body"], "attributes": msg.get("Attributes", {}),
            "messageAttributes": {}, "md5OfBody": msg.get("MD5OfBody", ""),
            "eventSource": "aws:sqs", "awsRegion": "cn-north-1",
            "eventSourceARN": f"arn:aws:sqs:cn-north-1:123456789012:{handler}"}
            for msg in messages]}
        failed: set[str] = set()
        with recording() as calls:
            try:
                answer = self._app.handler_map[handler](event, LambdaContext(handler, 1024))
            except Exception:  # noqa: BLE001 - as Lambda: the messages come back later
                log.exception("%s failed; SQS will deliver its messages again", handler)
                failed = {msg["MessageId"] for msg in messages}
                answer = None
            finally:  # each message waited for its whole batch
                handled = real_read().timestamp()
                spent(f"worker-{handler} handler", (handled - received) * len(messages),
                      len(messages))
        if isinstance(answer, dict):
            failed = {str(item.get("itemIdentifier"))
                      for item in answer.get("batchItemFailures", [])}
        if failed and len(failed) < len(messages):
            log.warning("%s: %d of %d messages failed; SQS will deliver them again",
                        handler, len(failed), len(messages))
        for msg in messages:
            if msg["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        if tracing():
            trace({"handler": handler, "jobs": [_job_of(m["Body"]) for m in messages],
                   "sent": sent, "received": received, "started": started, "handled": handled,
                   "deleted": real_read().timestamp(), "calls": calls})


def _job_of(body: str) -> str:
    """What a message asks, for a timeline: the payment code it issues, else its body."""
    try:
        return str(json.loads(body).get("payment_code") or body)
    except (ValueError, AttributeError):
        return body


class Scheduler:
    """Calls the channel jobs (active query, refunds) every ``every`` seconds, as EventBridge
    calls them in production (there, every five minutes), the weekly report's job (there,
    on Mondays; it keeps last week's report once, then only finds it kept) and the merchant
    credentials' check (there, every five minutes too: a round a day from 08:00 Beijing time,
    the slices between rounds only read its state). Each is given the context Lambda gives it,
    its function's timeout included.

    ``run_soon()`` runs them at once instead of at the end of the period (which then starts
    again), so that a test or a developer waiting for the refund job need not wait out the
    minute: the stack calls it on SIGUSR1 (``kill -USR1 <pid in stack.json>``). Wake-ups that
    come while the jobs run make one run more, not one each."""

    HANDLERS = ("query_open_orders", "refund_exceptions", "weekly_report",
                "check_merchant_credentials")

    def __init__(self, app: Any, every: float = 60.0) -> None:
        self._app, self._every = app, every
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="scheduler")

    def start(self) -> None:
        self._thread.start()

    def run_soon(self) -> None:
        """Run the scheduled jobs now (safe from a signal handler: it only sets an event)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from chalice.local import LambdaContext

        event = {"version": "0", "id": "local", "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "000000000000", "time": "",
                 "region": "cn-north-1", "resources": [], "detail": {}}
        while True:
            self._wake.wait(self._every)
            self._wake.clear()
            if self._stop.is_set():
                return
            for name in self.HANDLERS:
                try:
                    self._app.handler_map[name](event, LambdaContext(
                        name, 1024, max_runtime_ms=lambda_timeout(name) * 1000))
                except Exception:  # noqa: BLE001 - as Lambda: the next run tries again
                    log.exception("%s failed", name)


def start_jobs(app: Any, sqs: Any, urls: dict[str, str]) -> list[Any]:
    """Start the worker (each handler's reserved concurrency, or $WORKER_CONCURRENCY, at once)
    and the scheduler ($SCHEDULE_EVERY_SECONDS) for ``app``, the scheduler woken by SIGUSR1
    (from the main thread only, where Python handles signals); returns their stoppers, in the
    order to call them."""
    worker = Worker(app, sqs, urls, int(os.environ.get("WORKER_CONCURRENCY", "0")) or None)
    worker.start()
    scheduler = Scheduler(app, float(os.environ.get("SCHEDULE_EVERY_SECONDS", "60")))
    scheduler.start()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, lambda *_: scheduler.run_soon())
    return [scheduler.stop, worker.stop]
