"""Text messages through Amazon SNS (direct publish to a phone number).

Transactional SMS, E.164 number. Every provider error becomes ``ServiceUnavailable`` with the
number masked: SNS names the number in its messages, and errors end up in logs.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.masking import mask_phone
from chalicelib.services.phones import scrub

log = logging.getLogger(__name__)


class SnsSms:
    """SmsSender over SNS ``Publish``."""

    name = "sns"

    def __init__(self, client: Any, sender_id: str) -> None:
        self._sns = client
        self._sender = sender_id

    def send(self, phone: str, text: str) -> str:
        number = phone if phone.startswith("+") else "+86" + phone
        try:
            response = self._sns.publish(PhoneNumber=number, Message=text, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}})
        except Exception as exc:  # noqa: BLE001 - botocore's errors, and the network's
            raise ServiceUnavailable(f"sns publish failed: {scrub(str(exc))}",
                                     code="sms_unavailable") from None
        log.info("sms sent to %s id=%s", mask_phone(phone), response.get("MessageId"))
        return str(response.get("MessageId", ""))
