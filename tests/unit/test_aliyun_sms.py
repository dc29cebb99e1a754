"""Alibaba Cloud SMS: the V3 request signature, SendSms as we send it, and the simulator that
checks it with the same AccessKey secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from chalicelib.adapters.aliyun_sms import (
    EMPTY_SHA256,
    AliyunSms,
    AliyunSmsConfig,
    authorization,
    canonical_query,
    canonical_request,
)
from chalicelib.adapters.channel_http import HttpReply
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.sms import SmsMessage, SmsRejected
from chalicelib.services.sms_templates import TEMPLATES, login_code
from devstack.sim_aliyun_sms import AliyunSmsServer

PHONE = "13812345678"
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
CODES = {key: f"SMS_46{n + 1:07d}" for n, key in enumerate(sorted(TEMPLATES))}
STATE = {"access_key_id": "LTAI5tTestKeyId000000000", "access_key_secret": "s3cr3t-not-real",
         "sign_name": "财政电子票据", "template_codes": CODES}
ENDPOINT = "http://sms.test/dysmsapi"
REFUND = SmsMessage("refund", "…", {"unit": "合肥市不动产登记中心",
                                     "payment_code": "34012600000000000015", "amount": "20.00"},
                    reference="refund#RF1")


def test_the_signature_reproduces_the_worked_example_of_alibaba_clouds_documentation():
    # "V3版本请求体&签名机制" (help.aliyun.com/zh/sdk/product-overview/
    # v3-request-structure-and-signature), 固定参数示例: AccessKey YourAccessKeyId /
    # YourAccessKeySecret, POST https://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_
    # dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai, RunInstances 2014-05-26, x-acs-date
    # 2023-10-26T10:22:32Z, nonce 3156853299f313e23d1673dc12e1703d, empty body. Published:
    # HashedCanonicalRequest 7ea06492…b1e259 and the Authorization below.
    headers = {"host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances",
               "x-acs-version": "2014-05-26", "x-acs-date": "2023-10-26T10:22:32Z",
               "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
               "x-acs-content-sha256": EMPTY_SHA256}
    query = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
             "RegionId": "cn-shanghai"}
    canonical, _ = canonical_request("POST", "/", query, headers, EMPTY_SHA256)
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259")
    assert authorization("YourAccessKeyId", "YourAccessKeySecret", "POST", "/", query,
                         headers) == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")


def test_the_query_is_percent_encoded_as_rfc_3986_and_sorted():
    assert canonical_query({"b": "a b*~/", "A": "缴", "a": '{"x":"1"}'}) == (
        "A=%E7%BC%B4&a=%7B%22x%22%3A%221%22%7D&b=a%20b%2A~%2F")


def client(transport, *, secret: str = STATE["access_key_secret"], nonces=None) -> AliyunSms:
    config = AliyunSmsConfig.from_secret({**STATE, "access_key_secret": secret})
    counter = iter(nonces or (f"nonce-{n}" for n in range(1000)))
    return AliyunSms(lambda: config, ENDPOINT, transport, lambda: NOW, lambda: next(counter))


def test_send_sms_is_signed_over_exactly_what_is_sent():
    seen = []

    def transport(method, url, headers, body):
        seen.append((method, url, dict(headers), body))
        return HttpReply(200, {}, b'{"Code":"OK","Message":"OK","BizId":"9^1","RequestId":"R"}')

    assert client(transport).send(PHONE, REFUND) == "9^1"
    [(method, url, headers, body)] = seen
    parts = urlsplit(url)
    assert (method, parts.netloc, parts.path, body) == ("POST", "sms.test", "/dysmsapi/", b"")
    template_param = json.dumps(dict(REFUND.params), ensure_ascii=False, separators=(",", ":"))
    query = {"PhoneNumbers": PHONE, "SignName": "财政电子票据", "TemplateCode": CODES["refund"],
             "TemplateParam": template_param, "OutId": "refund#RF1"}
    assert parts.query == canonical_query(query)
    # The documented steps, written out independently of the adapter.
    from urllib.parse import quote
    enc = {quote(k, safe="-_.~"): quote(v, safe="-_.~") for k, v in query.items()}
    signed = {"host": "sms.test", "x-acs-action": "SendSms",
              "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
              "x-acs-date": "2026-06-15T02:00:00Z", "x-acs-signature-nonce": "nonce-0",
              "x-acs-version": "2017-05-25"}
    canonical = "\n".join([
        "POST", "/dysmsapi/", "&".join(f"{k}={enc[k]}" for k in sorted(enc)),
        "".join(f"{k}:{v}\n" for k, v in sorted(signed.items())), ";".join(sorted(signed)),
        hashlib.sha256(b"").hexdigest()])
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(b"s3cr3t-not-real", string_to_sign.encode(), hashlib.sha256).hexdigest()
    assert headers["Authorization"] == (
        f"ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId000000000,SignedHeaders="
        f"{';'.join(sorted(signed))},Signature={expected}")
    assert {k: headers[k] for k in signed} == signed


def answering(status: int, body: bytes):
    return lambda method, url, headers, data: HttpReply(status, {}, body)


@pytest.mark.parametrize("code", ["isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS",
                                  "isv.BLACK_KEY_CONTROL_LIMIT"])
def test_a_refusal_of_the_message_itself_is_permanent(code):
    body = json.dumps({"Code": code, "Message": f"+86{PHONE} refused", "RequestId": "R"})
    with pytest.raises(SmsRejected) as exc:
        client(answering(200, body.encode())).send(PHONE, REFUND)
    assert code in str(exc.value) and PHONE not in str(exc.value)


@pytest.mark.parametrize(("status", "body"), [
    (200, b'{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"flow control","RequestId":"R"}'),
    (200, b'{"Code":"isv.AMOUNT_NOT_ENOUGH","Message":"balance","RequestId":"R"}'),
    (200, b'{"Code":"isp.SYSTEM_ERROR","Message":"busy","RequestId":"R"}'),
    (400, b'{"Code":"SignatureDoesNotMatch","Message":"mismatch","RequestId":"R"}'),
    (200, b'{"Code":"OK","Message":"OK","RequestId":"R"}'),  # no BizId: not a sent message
    (502, b"<html>bad gateway</html>"),
])
def test_flow_control_account_problems_and_server_errors_are_retried_later(status, body):
    with pytest.raises(ServiceUnavailable) as exc:
        client(answering(status, body)).send(PHONE, REFUND)
    assert not isinstance(exc.value, SmsRejected)


def test_a_template_without_an_approved_code_is_a_configuration_failure():
    with pytest.raises(ServiceUnavailable, match="no approved"):
        client(answering(200, b"{}")).send(PHONE, SmsMessage("unknown", "x", {}))


def test_the_secret_never_shows_in_the_config_nor_in_a_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    config = AliyunSmsConfig.from_secret(STATE)
    assert STATE["access_key_secret"] not in repr(config)
    client(answering(200, b'{"Code":"OK","BizId":"1^2","RequestId":"R"}')).send(PHONE, REFUND)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "138****5678" in logged
    assert PHONE not in logged and STATE["access_key_secret"] not in logged


@pytest.mark.parametrize("change", [{"sign_name": "财"}, {"access_key_secret": ""},
                                    {"template_codes": {"refund": "12345"}}])
def test_a_malformed_secret_is_refused(change):
    with pytest.raises(ValueError):
        AliyunSmsConfig.from_secret({**STATE, **change})


# ---- the simulator -------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sim():
    servers = SimpleNamespace(clock=Clock(), lock=threading.RLock())
    return AliyunSmsServer(servers, {"base_url": "http://pj.test",  # type: ignore[arg-type]
                                     "channels": {"aliyun_sms": STATE}})


def through(sim, tamper=None):
    """A transport that hands the request to the simulator (after ``tamper``, if any)."""

    def transport(method, url, headers, body):
        parts = urlsplit(url)
        lowered = {k.lower(): v for k, v in headers.items()}
        path, query = parts.path, parts.query
        if tamper:
            path, query, lowered = tamper(path, query, lowered)
        reply = sim.handle(method, path, query, lowered, body or b"")
        return HttpReply(reply.status, reply.headers, reply.body)

    return transport


def test_the_simulator_accepts_our_signed_request_and_records_the_text_the_payer_reads(sim):
    biz_id = client(through(sim)).send(PHONE, REFUND)
    [message] = sim.messages
    assert message["biz_id"] == biz_id and message["phone"] == PHONE
    assert message["template_code"] == CODES["refund"] and message["out_id"] == "refund#RF1"
    assert message["text"] == ("【财政电子票据】您向合肥市不动产登记中心缴纳的款项（缴款码"
                               "34012600000000000015）已退款20.00元，将按原支付方式退回，请注意查收。")


def test_the_simulator_rejects_a_signature_made_with_another_secret(sim):
    with pytest.raises(ServiceUnavailable, match="SignatureDoesNotMatch"):
        client(through(sim), secret="another-secret").send(PHONE, REFUND)
    assert sim.messages == []


def test_the_simulator_rejects_a_request_changed_after_signing(sim):
    def other_number(path, query, headers):
        return path, query.replace(PHONE, "13912345678"), headers

    with pytest.raises(ServiceUnavailable, match="SignatureDoesNotMatch"):
        client(through(sim, other_number)).send(PHONE, REFUND)
    assert sim.messages == []


def test_the_simulator_rejects_a_stale_date_and_a_replayed_nonce(sim):
    sim.s.clock.now = NOW + timedelta(minutes=16)
    with pytest.raises(ServiceUnavailable, match="InvalidTimeStamp.Expired"):
        client(through(sim)).send(PHONE, REFUND)
    sim.s.clock.now = NOW
    client(through(sim), nonces=["same", "same"]).send(PHONE, REFUND)
    with pytest.raises(ServiceUnavailable, match="SignatureNonceUsed"):
        client(through(sim), nonces=["same"]).send(PHONE, REFUND)
    assert len(sim.messages) == 1


@pytest.mark.parametrize(("params", "code"), [
    ({"unit": "x", "payment_code": "1"}, "isv.TEMPLATE_MISSING_PARAMETERS"),
    ({"unit": "x" * 36, "payment_code": "1", "amount": "1.00"}, "isv.TEMPLATE_PARAMS_ILLEGAL"),
])
def test_the_simulator_refuses_parameters_that_do_not_fit_the_template(sim, params, code):
    with pytest.raises(SmsRejected, match=code):
        client(through(sim)).send(PHONE, SmsMessage("refund", "", params))


def test_the_simulator_applies_the_documented_flow_control_to_verification_codes(sim):
    sender = client(through(sim))
    sender.send(PHONE, login_code("财政电子票据", "123456", 5))
    with pytest.raises(ServiceUnavailable, match="isv.BUSINESS_LIMIT_CONTROL") as exc:
        sender.send(PHONE, login_code("财政电子票据", "654321", 5))
    assert not isinstance(exc.value, SmsRejected)
    sim.s.clock.now = NOW + timedelta(minutes=1)
    sender.send(PHONE, login_code("财政电子票据", "654321", 5))
    assert [m["params"] for m in sim.messages] == [{"code": "123456"}, {"code": "654321"}]


def test_find_sent_sees_a_message_whose_answer_was_lost_and_nothing_else(sim):
    from datetime import date

    sender = client(through(sim))
    sim.lose_next_answer()
    with pytest.raises(ServiceUnavailable, match="HTTP 504"):
        sender.send(PHONE, REFUND)
    assert len(sim.messages) == 1  # it went out all the same
    today = [date(2026, 6, 15)]
    assert sender.find_sent(PHONE, "refund#RF1", today) == "outid:refund#RF1"
    assert sender.find_sent(PHONE, "refund#RF2", today) is None
    assert sender.find_sent("13912345678", "refund#RF1", today) is None
    assert sender.find_sent(PHONE, "refund#RF1", [date(2026, 6, 14)]) is None


def test_find_sent_that_cannot_tell_raises_rather_than_answer_no(sim):
    from datetime import date

    failed = b'{"Code":"isp.SYSTEM_ERROR","Message":"busy","RequestId":"R"}'
    with pytest.raises(ServiceUnavailable, match="could not say"):
        client(answering(200, failed)).find_sent(PHONE, "refund#RF1", [date(2026, 6, 15)])


def test_find_sent_ignores_a_record_the_carrier_failed(sim):
    from datetime import date

    body = json.dumps({"Code": "OK", "RequestId": "R", "SmsSendDetailDTOs": {
        "SmsSendDetailDTO": [{"OutId": "refund#RF1", "SendStatus": 2, "ErrCode": "MK:0001"}]}})
    assert client(answering(200, body.encode())).find_sent(
        PHONE, "refund#RF1", [date(2026, 6, 15)]) is None
