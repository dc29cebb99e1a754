"""Text messages through Amazon SNS (direct publish to a phone number)."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain.masking import mask_phone

log = logging.getLogger(__name__)


class SnsSms:
    def __init__(self, client: Any, sender_id: str) -> None:
        self._sns = client
        self._sender = sender_id

    def send(self, phone: str, text: str) -> str:
        number = phone if phone.startswith("+") else "+86" + phone
        response = self._sns.publish(PhoneNumber=number, Message=text, MessageAttributes={
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}})
        log.info("sms sent to %s id=%s", mask_phone(phone), response.get("MessageId"))
        return str(response.get("MessageId", ""))
