"""The job queues between steps: bill issuance and SMS, on SQS."""

from __future__ import annotations

import json
from typing import Any


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
