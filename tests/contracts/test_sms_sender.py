"""SmsSender: FakeSms against SnsSms on moto and AliyunSms against the Alibaba Cloud SMS
simulator (in-process, checking our V3 signature). Every provider answers a send with a message
id; a failure is ``ServiceUnavailable`` that never names the number; a refusal of the message
itself, where the provider can tell one (Alibaba Cloud), is ``SmsRejected``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.sms import SmsMessage, SmsRejected
from tests.contracts.conftest import client

PHONE = "13812345678"
MESSAGE = SmsMessage("refund", "【财政电子票据】您的款项已退款20.00元。",
                     {"unit": "合肥市不动产登记中心", "payment_code": "34012600000000000015",
                      "amount": "20.00"}, reference="refund#RF1")
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


class FlakySns:
    """moto's SNS client, but the next ``publish`` fails as SNS does when it throttles
    (its message names the number, as SNS's do)."""

    def __init__(self, sns: Any) -> None:
        self._sns, self.failures = sns, 0

    def publish(self, **request: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise ClientError({"Error": {"Code": "Throttling", "Message":
                                         f"Rate exceeded for {request['PhoneNumber']}"}},
                              "Publish")
        return self._sns.publish(**request)


def aliyun() -> tuple[Any, Any]:
    from chalicelib.adapters.aliyun_sms import AliyunSms, AliyunSmsConfig
    from chalicelib.adapters.channel_http import HttpReply
    from chalicelib.services.sms_templates import TEMPLATES
    from devstack.sim_aliyun_sms import AliyunSmsServer

    state = {"access_key_id": "LTAI5tTestKeyId000000000", "access_key_secret": "s3cr3t-not-real",
             "sign_name": "财政电子票据",
             "template_codes": {key: f"SMS_46{n + 1:07d}" for n, key in
                                enumerate(sorted(TEMPLATES))}}
    sim = AliyunSmsServer(SimpleNamespace(clock=lambda: NOW, lock=threading.RLock()),  # type: ignore[arg-type]
                          {"base_url": "http://pj.test", "channels": {"aliyun_sms": state}})

    def transport(method, url, headers, body):
        parts = urlsplit(url)
        reply = sim.handle(method, parts.path, parts.query,
                           {k.lower(): v for k, v in headers.items()}, body or b"")
        return HttpReply(reply.status, reply.headers, reply.body)

    config = AliyunSmsConfig.from_secret(state)
    return AliyunSms(lambda: config, "http://sms.test/dysmsapi", transport, lambda: NOW), sim


@pytest.fixture(params=["fake", "sns", "aliyun"])
def sending(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(sender, fail_next): ``fail_next()`` makes the provider fail the next send."""
    if request.param == "fake":
        from tests.fakes import FakeSms

        fake = FakeSms()
        return fake, fake.fail_next
    if request.param == "sns":
        from chalicelib.adapters.sns_sms import SnsSms

        request.getfixturevalue("aws")
        flaky = FlakySns(client("sns"))
        return SnsSms(flaky, "财政电子票据"), lambda: setattr(flaky, "failures", 1)
    sender, sim = aliyun()
    return sender, lambda: sim.fail_next("isp.SYSTEM_ERROR")


@pytest.fixture(params=["fake", "aliyun"])
def rejecting(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(sender, reject_next) of the providers that tell a message they will never send."""
    if request.param == "fake":
        from tests.fakes import FakeSms

        fake = FakeSms()
        return fake, lambda: fake.fail_next(
            error=SmsRejected("isv.MOBILE_NUMBER_ILLEGAL", code="sms_rejected"))
    sender, sim = aliyun()
    return sender, lambda: sim.fail_next("isv.MOBILE_NUMBER_ILLEGAL")


class TestSmsSender:
    def test_each_text_sent_has_its_own_message_id(self, sending):
        sender, _ = sending
        first, second = sender.send(PHONE, MESSAGE), sender.send(PHONE, MESSAGE)
        assert isinstance(first, str) and first and second and first != second
        assert isinstance(sender.name, str) and sender.name

    def test_a_provider_failure_is_unavailable_and_never_names_the_number(self, sending):
        sender, fail_next = sending
        fail_next()
        with pytest.raises(ServiceUnavailable) as failed:
            sender.send(PHONE, MESSAGE)
        assert not isinstance(failed.value, SmsRejected)
        assert PHONE not in str(failed.value)
        assert sender.send(PHONE, MESSAGE)

    def test_a_message_the_provider_refuses_for_good_is_rejected(self, rejecting):
        sender, reject_next = rejecting
        reject_next()
        with pytest.raises(SmsRejected) as refused:
            sender.send(PHONE, MESSAGE)
        assert PHONE not in str(refused.value)
