"""The job queues between steps: bill issuance and SMS, on SQS.

The SMS queue carries two shapes: ``{bill_code, bill_number}`` (a bill's text, since v1) and
``{"event": name, ...}`` (any other text). Each queue has a dead-letter queue after five
receives; a failed SMS job is hidden for a growing delay first (``retry_sms_later``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.aws import aws_boundary

log = logging.getLogger(__name__)
SQS_BATCH = 10  # messages in one SendMessageBatch, at most


@aws_boundary
class SqsJobs:
    def __init__(self, client: Any, issue_queue_url: str, sms_queue_url: str) -> None:
        self._sqs = client
        self._issue = issue_queue_url
        self._sms = sms_queue_url

    def issue_bill(self, payment_code: str, intake: dict | None = None) -> None:
        """Enqueue issuance; ``intake`` (the notification's intake record) rides along."""
        body: dict = {"payment_code": payment_code}
        if intake is not None:
            body["intake"] = intake
        self._sqs.send_message(QueueUrl=self._issue,
                               MessageBody=json.dumps(body, ensure_ascii=False))

    def finish_reversal(self, red_bill_id: str, original_id: str, reason: str) -> None:
        self._sqs.send_message(QueueUrl=self._issue, MessageBody=json.dumps(
            {"reversal": {"red_bill_id": red_bill_id, "original": original_id,
                          "reason": reason}}, ensure_ascii=False))

    def send_sms(self, bill_code: str, bill_number: str) -> None:
        self._sqs.send_message(QueueUrl=self._sms, MessageBody=json.dumps(
            {"bill_code": bill_code, "bill_number": bill_number}))

    def send_sms_many(self, bills: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """``send_sms`` for each (bill code, bill number), ten to a ``SendMessageBatch``; the
        bills whose job SQS did not take (each entry of a batch succeeds or fails alone)."""
        refused: list[tuple[str, str]] = []
        for start in range(0, len(bills), SQS_BATCH):
            chunk = list(bills[start:start + SQS_BATCH])
            answer = self._sqs.send_message_batch(QueueUrl=self._sms, Entries=[
                {"Id": str(k), "MessageBody": json.dumps({"bill_code": code,
                                                          "bill_number": number})}
                for k, (code, number) in enumerate(chunk)])
            for failed in answer.get("Failed", []):
                log.warning("sms job not queued for a bill: %s", failed.get("Code"))
                refused.append(chunk[int(failed["Id"])])
        return refused

    def sms_event(self, event: str, data: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self._sms, MessageBody=json.dumps(
            {**data, "event": event}, ensure_ascii=False))

    def redrive_dead_letters(self, limit: int = 10_000) -> dict[str, int]:
        """Move each queue's dead-letter messages back to it (send, then delete: a crash in
        between leaves a copy in both, and every job is idempotent). The DLQ is the queue's
        ``RedrivePolicy`` target; receives long-poll a second so an emptied queue is empty."""
        moved: dict[str, int] = {}
        for url in (self._issue, self._sms):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
            if "RedrivePolicy" not in attributes:
                moved[name] = 0
                continue
            arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].split(":")
            dlq = self._sqs.get_queue_url(QueueName=arn[5],
                                          QueueOwnerAWSAccountId=arn[4])["QueueUrl"]
            count = 0
            while count < limit:
                got = self._sqs.receive_message(
                    QueueUrl=dlq, MaxNumberOfMessages=min(10, limit - count),
                    VisibilityTimeout=60, WaitTimeSeconds=1, MessageAttributeNames=["All"])
                messages = got.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    resend: dict[str, Any] = {"QueueUrl": url, "MessageBody": message["Body"]}
                    if message.get("MessageAttributes"):
                        resend["MessageAttributes"] = message["MessageAttributes"]
                    self._sqs.send_message(**resend)
                    self._sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
                    count += 1
            moved[name] = count
            log.info("redrove %d messages from %s to %s", count, arn[5], name)
        return moved

    def retry_sms_later(self, receipt_handle: str, delay_seconds: int) -> None:
        try:
            self._sqs.change_message_visibility(QueueUrl=self._sms, ReceiptHandle=receipt_handle,
                                                VisibilityTimeout=delay_seconds)
        except Exception as exc:  # noqa: BLE001 - the queue's own timeout applies instead
            log.warning("could not delay the sms job: %s", type(exc).__name__)
