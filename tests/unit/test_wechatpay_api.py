"""The WeChat Pay client: our requests' signatures (cross-checked with wechatpayv3), and how
each answer is read. The channel is a scripted transport: no network."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from wechatpayv3 import utils  # type: ignore[import-untyped]

from chalicelib.adapters.channel_http import HttpReply
from chalicelib.adapters.wechatpay.api import WechatPayApi, authorization
from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.payments import ChannelOrder, RefundRequest
from devstack.builders.wechatpay import sign_response, transaction_resource

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MCHID, APPID, SERIAL = "1900009191", "wx8888888888888888", "PUB_KEY_ID_0114232026112200000000000001"
MERCHANT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD6F8D4B1A"  # 商户API证书序列号
ORDER = ChannelOrder(out_trade_no="34010026000000000017aB3dE9", payment_code="34010026000000000017",
                     channel="wechatpay", amount_fen=10000, created_at="2026-03-02T10:00:00+08:00",
                     expires_at="2026-03-02T12:00:00+08:00")


@pytest.fixture(scope="module")
def keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def config(keys) -> WechatPayConfig:
    platform, merchant = keys
    return WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=b"k" * 32,
                           platform_keys={SERIAL: platform.public_key()},
                           merchant_private_key=merchant, merchant_serial=MERCHANT_SERIAL)


class Channel:
    """A transport that records each request and answers with ``reply(method, url, body)``."""

    def __init__(self, reply: Callable[[str, str, bytes], HttpReply]) -> None:
        self.reply, self.requests = reply, []

    def __call__(self, method, url, headers, body):
        self.requests.append((method, url, dict(headers), body or b""))
        return self.reply(method, url, body or b"")


def signed(platform: RSAPrivateKey, status: int, data: dict[str, Any] | None,
           at: datetime = NOW) -> HttpReply:
    body = json.dumps(data, ensure_ascii=False).encode() if data is not None else b""
    headers = sign_response(body, platform_private_key=platform, serial=SERIAL,
                            now=int(at.timestamp()))
    return HttpReply(status, {k.lower(): v for k, v in headers.items()}, body)


def api(config, reply) -> tuple[WechatPayApi, Channel]:
    channel = Channel(reply)
    return WechatPayApi(config, "https://api.mch.weixin.qq.com", channel, lambda: NOW), channel


def test_the_authorization_header_is_the_one_wechatpayv3_builds(keys, monkeypatch):
    _, merchant = keys
    body = '{"mchid":"1900009191","out_trade_no":"N1","amount":{"total":1}}'
    monkeypatch.setattr(utils.time, "time", lambda: 1_772_416_800)
    theirs = utils.build_authorization("/v3/pay/transactions/h5", "POST", MCHID, MERCHANT_SERIAL,
                                       merchant, data=body, nonce_str="5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
    ours = authorization("POST", "/v3/pay/transactions/h5", body.encode(), mchid=MCHID,
                         serial=MERCHANT_SERIAL, private_key=merchant, timestamp=1_772_416_800,
                         nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
    assert ours == theirs


def test_a_prepay_request_is_signed_over_method_url_time_nonce_and_body(keys, config):
    platform, merchant = keys
    client, channel = api(config, lambda *_: signed(platform, 200, {
        "h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=1"}))
    opened = client.checkout(ORDER, description="非税收入缴款", notify_url="https://x/cb",
                             return_url="https://x/pay/1", client_ip="203.0.113.9")
    assert opened.pay_url.endswith("&package=1&redirect_url=https%3A%2F%2Fx%2Fpay%2F1")
    [(method, url, headers, body)] = channel.requests
    assert (method, url) == ("POST", "https://api.mch.weixin.qq.com/v3/pay/transactions/h5")
    params = dict(re.findall(r'(\w+)="([^"]*)"', headers["Authorization"]))
    assert headers["Authorization"].startswith("WECHATPAY2-SHA256-RSA2048 ")
    assert (params["mchid"], params["serial_no"]) == (MCHID, MERCHANT_SERIAL)
    assert params["timestamp"] == str(int(NOW.timestamp()))
    message = f"POST\n/v3/pay/transactions/h5\n{params['timestamp']}\n{params['nonce_str']}\n"
    merchant.public_key().verify(base64.b64decode(params["signature"]),
                                 message.encode() + body + b"\n", PKCS1v15(), SHA256())
    sent = json.loads(body)
    assert sent["amount"] == {"total": 10000, "currency": "CNY"}
    assert (sent["appid"], sent["time_expire"]) == (APPID, "2026-03-02T12:00:00+08:00")
    assert sent["scene_info"] == {"payer_client_ip": "203.0.113.9", "h5_info": {"type": "Wap"}}


@pytest.mark.parametrize("answer", [
    lambda platform: HttpReply(200, {}, b'{"h5_url":"https://evil.example/"}'),  # unsigned
    lambda platform: signed(platform, 200, {"h5_url": "x"}, datetime(2026, 3, 2, 1, 50,
                                                                     tzinfo=UTC)),  # stale
    lambda platform: signed(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                            200, {"h5_url": "x"}),  # another key
    lambda platform: signed(platform, 500, {"code": "SYSTEM_ERROR", "message": "系统错误"}),
    lambda platform: signed(platform, 400, {"code": "PARAM_ERROR", "message": "参数错误"}),
])
def test_an_answer_that_is_not_authentic_or_not_an_h5_url_is_service_unavailable(keys, config,
                                                                                 answer):
    client, _ = api(config, lambda *_: answer(keys[0]))
    with pytest.raises(ServiceUnavailable):
        client.checkout(ORDER, description="d", notify_url="n", return_url="r", client_ip="ip")


def test_a_query_reads_a_paid_order_as_its_payment(keys, config):
    resource = transaction_resource(mchid=MCHID, appid=APPID, out_trade_no=ORDER.out_trade_no,
                                    transaction_id="4200000001", amount_fen=10000,
                                    success_time="2026-03-02T10:01:00+08:00")
    client, channel = api(config, lambda *_: signed(keys[0], 200, resource))
    payment = client.query(ORDER)
    assert channel.requests[0][1].endswith(
        f"/v3/pay/transactions/out-trade-no/{ORDER.out_trade_no}?mchid={MCHID}")
    assert payment is not None
    assert (payment.channel_txn_id, payment.amount_fen, payment.paid_at) == (
        "4200000001", 10000, "2026-03-02T10:01:00+08:00")


def test_a_query_of_an_unknown_or_unpaid_order_is_none(keys, config):
    for reply in (signed(keys[0], 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}),
                  signed(keys[0], 200, {"trade_state": "NOTPAY", "mchid": MCHID})):
        client, _ = api(config, lambda *_, r=reply: r)
        assert client.query(ORDER) is None


def test_a_query_answer_for_another_merchant_is_refused(keys, config):
    resource = transaction_resource(mchid="1900000001", appid=APPID,
                                    out_trade_no=ORDER.out_trade_no, transaction_id="42",
                                    amount_fen=10000, success_time="2026-03-02T10:01:00+08:00")
    client, _ = api(config, lambda *_: signed(keys[0], 200, resource))
    with pytest.raises(ServiceUnavailable, match="mchid"):
        client.query(ORDER)


REFUND = RefundRequest(payment_id="wechatpay#4200000001", channel="wechatpay",
                       channel_txn_id="4200000001", out_trade_no=ORDER.out_trade_no,
                       amount_fen=10000, out_refund_no="R0123456789abcdef0123456789abcde",
                       requested_at=NOW, notify_url="https://x/callbacks/wechatpay")


@pytest.mark.parametrize(("status", "expected"), [
    ("PROCESSING", "requested"), ("SUCCESS", "succeeded"), ("CLOSED", "failed"),
    ("ABNORMAL", "failed")])
def test_a_refund_answer_maps_to_our_refund_status(keys, config, status, expected):
    client, channel = api(config, lambda *_: signed(keys[0], 200, {
        "refund_id": "50300000001", "out_refund_no": REFUND.out_refund_no, "status": status}))
    result = client.refund(REFUND)
    assert (result.status, result.refund_id) == (expected, "50300000001")
    sent = json.loads(channel.requests[0][3])
    assert (sent["transaction_id"], sent["out_refund_no"]) == ("4200000001", REFUND.out_refund_no)
    assert sent["amount"] == {"refund": 10000, "total": 10000, "currency": "CNY"}


def test_a_refused_refund_is_failed_and_a_busy_channel_is_unavailable(keys, config):
    client, _ = api(config, lambda *_: signed(keys[0], 403, {"code": "NO_AUTH", "message": "无权限"}))
    assert client.refund(REFUND).status == "failed"
    client, _ = api(config, lambda *_: signed(keys[0], 429, {"code": "FREQUENCY_LIMITED"}))
    with pytest.raises(ServiceUnavailable):
        client.refund(REFUND)


def test_without_a_merchant_key_the_client_cannot_be_made(keys):
    bare = WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=b"k" * 32,
                           platform_keys={SERIAL: keys[0].public_key()})
    with pytest.raises(ServiceUnavailable, match="merchant key"):
        WechatPayApi(bare, "https://api.mch.weixin.qq.com", Channel(lambda *_: None), lambda: NOW)
    assert "merchant_serial=None" in repr(bare)
