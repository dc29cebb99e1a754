"""Text messages through Amazon SNS (direct publish to a phone number), outside mainland China.

SNS cannot text in the China regions (Beijing, Ningxia): there ``SMS_PROVIDER=aliyun`` chooses
``aliyun_sms.AliyunSms``. SNS sends the message's full text: transactional SMS, E.164 number. Every provider error becomes ``ServiceUnavailable`` with the
number masked: SNS names the number in its messages, and errors end up in logs.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.adapters.aws import aws_boundary
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.masking import mask_phone, scrub_phones
from chalicelib.domain.sms import SmsMessage

log = logging.getLogger(__name__)
TRANSACTIONAL = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}


@aws_boundary
class SnsSms:
    """SmsSender over SNS ``Publish``."""

    name = "sns"

    def __init__(self, client: Any, sender_id: str) -> None:
        self._sns = client
        self._sender = sender_id

    def send(self, phone: str, message: SmsMessage) -> str:
        number = phone if phone.startswith("+") else "+86" + phone
        try:
            response = self._sns.publish(PhoneNumber=number, Message=message.text,
                                         MessageAttributes=TRANSACTIONAL)
        except Exception as exc:  # noqa: BLE001 - botocore's errors, and the network's
            raise ServiceUnavailable(f"sns publish failed: {scrub_phones(str(exc))}",
                                     code="sms_unavailable") from None
        log.info("sms sent to %s id=%s", mask_phone(phone), response.get("MessageId"))
        return str(response.get("MessageId", ""))
