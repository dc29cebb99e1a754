"""The local stack's jobs: a worker that feeds queued jobs to the app's SQS handlers, as Lambda's
SQS trigger does, and a scheduler that calls its scheduled handlers, as EventBridge does. They run
in a process of their own (``devstack/jobs_process.py``) or, with ``JOBS_IN_PROCESS=1``, in the
stack's (``devstack/stack.py``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from chalicelib.adapters.wall_clock import real_read
from devstack.request_stats import spent

log = logging.getLogger("localstack")
QUEUES = (("fiscal-issue-bill", "issue_bill", "ISSUE_QUEUE_URL"),
          ("fiscal-send-sms", "send_sms", "SMS_QUEUE_URL"))


WORKER_CONCURRENCY = 4  # jobs of one queue at a time ($WORKER_CONCURRENCY)
# SQS's longest poll, as Lambda's own pollers use: an idle poller costs the stack one request
# (botocore here, moto's server there, a few ms of CPU each) per 20 s instead of one a second.
WAIT_SECONDS = 20
STOP_SECONDS = 2.0  # what stop() waits for pollers in all; one inside a long poll is left to die


class Worker:
    """Long-polls each queue and calls the Chalice SQS handler, as Lambda's trigger would.

    ``concurrency`` pollers per queue, each handling one batch at a time: Lambda runs a
    queue's jobs in as many instances at once as the queue holds work (up to the function's
    reserved concurrency), so a payment does not wait behind the bill of the one before it.
    A batch is what one receive finds, up to the handler's ``batch_size`` (``app.py``'s
    ``on_sqs_message``; no batching window, as there). After the handler returns, its messages
    are deleted but those its partial batch response names (``batchItemFailures``); when it
    raises, none is. A message received once ``stop()`` was called is not handled: SQS delivers
    it again.
    """

    def __init__(self, app: Any, sqs: Any, queues: dict[str, str],
                 concurrency: int = WORKER_CONCURRENCY, wait_seconds: int = WAIT_SECONDS) -> None:
        self._app, self._sqs, self._queues = app, sqs, queues
        self._wait = wait_seconds
        self._batch = {source.name: source.batch_size
                       for source in getattr(app, "event_sources", [])
                       if hasattr(source, "batch_size")}
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
                got = self._sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, self._batch.get(handler, 1)),
                    WaitTimeSeconds=self._wait, AttributeNames=["All"])
            except Exception:  # noqa: BLE001 - moto stopping, or a blip: try again
                time.sleep(0.5)
                continue
            if self._stop.is_set():
                return  # stopping: the messages come back once their visibility times out
            if not (messages := got.get("Messages", [])):
                continue
            received = real_read().timestamp()  # measuring, as SQS stamps: the real clock
            spent(f"worker-{handler} queue wait", sum(
                received - int(m.get("Attributes", {}).get("SentTimestamp", received * 1000))
                / 1000 for m in messages), len(messages))
            event = {"Records": [{
                "messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"],
                "body": msg["Body"], "attributes": msg.get("Attributes", {}),
                "messageAttributes": {}, "md5OfBody": msg.get("MD5OfBody", ""),
                "eventSource": "aws:sqs", "awsRegion": "cn-north-1",
                "eventSourceARN": f"arn:aws:sqs:cn-north-1:123456789012:{handler}"}
                for msg in messages]}
            try:
                answer = self._app.handler_map[handler](event, LambdaContext(handler, 1024))
            except Exception:  # noqa: BLE001 - as Lambda: the messages come back later
                log.exception("%s failed; SQS will deliver its messages again", handler)
                continue
            finally:  # each message waited for its whole batch
                spent(f"worker-{handler} handler", (real_read().timestamp() - received) * len(messages),
                      len(messages))
            failed = {str(item.get("itemIdentifier")) for item in
                      (answer or {}).get("batchItemFailures", [])} if isinstance(answer, dict) \
                else set()
            if failed:
                log.warning("%s: %d of %d messages failed; SQS will deliver them again",
                            handler, len(failed), len(messages))
            for msg in messages:
                if msg["MessageId"] not in failed:
                    self._sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])


class Scheduler:
    """Calls the channel jobs (active query, refunds) every ``every`` seconds, as EventBridge
    calls them in production (there, every five minutes), and the weekly report's job (there,
    on Mondays; it keeps last week's report once, then only finds it kept).

    ``run_soon()`` runs them at once instead of at the end of the period (which then starts
    again), so that a test or a developer waiting for the refund job need not wait out the
    minute: the stack calls it on SIGUSR1 (``kill -USR1 <pid in stack.json>``). Wake-ups that
    come while the jobs run make one run more, not one each."""

    HANDLERS = ("query_open_orders", "refund_exceptions", "weekly_report")

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
                    self._app.handler_map[name](event, LambdaContext(name, 1024))
                except Exception:  # noqa: BLE001 - as Lambda: the next run tries again
                    log.exception("%s failed", name)


def start_jobs(app: Any, sqs: Any, urls: dict[str, str]) -> list[Any]:
    """Start the worker ($WORKER_CONCURRENCY per queue) and the scheduler
    ($SCHEDULE_EVERY_SECONDS) for ``app``, the scheduler woken by SIGUSR1 (from the main
    thread only, where Python handles signals); returns their stoppers, in the order to call
    them."""
    worker = Worker(app, sqs, urls, int(os.environ.get("WORKER_CONCURRENCY",
                                                       str(WORKER_CONCURRENCY))))
    worker.start()
    scheduler = Scheduler(app, float(os.environ.get("SCHEDULE_EVERY_SECONDS", "60")))
    scheduler.start()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, lambda *_: scheduler.run_soon())
    return [scheduler.stop, worker.stop]
