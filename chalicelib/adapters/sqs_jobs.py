"""The job queues between steps: bill issuance and SMS, on SQS.

The SMS queue carries two shapes: ``{bill_code, bill_number}`` (a bill's text, since v1) and
``{"event": name, ...}`` (any other text). Each queue has a dead-letter queue after five
receives; a failed SMS job is hidden for a growing delay first (``retry_sms_later``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)


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

    def send_sms(self, bill_code: str, bill_number: str) -> None:
        self._sqs.send_message(QueueUrl=self._sms, MessageBody=json.dumps(
            {"bill_code": bill_code, "bill_number": bill_number}))

    def sms_event(self, event: str, data: dict[str, Any]) -> None:
        self._sqs.send_message(QueueUrl=self._sms, MessageBody=json.dumps(
            {**data, "event": event}, ensure_ascii=False))

    def retry_sms_later(self, receipt_handle: str, delay_seconds: int) -> None:
        try:
            self._sqs.change_message_visibility(QueueUrl=self._sms, ReceiptHandle=receipt_handle,
                                                VisibilityTimeout=delay_seconds)
        except Exception as exc:  # noqa: BLE001 - the queue's own timeout applies instead
            log.warning("could not delay the sms job: %s", type(exc).__name__)
