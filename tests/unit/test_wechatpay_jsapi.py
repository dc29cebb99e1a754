"""WeChat Pay inside WeChat (JSAPI) and from a desktop (Native): the orders we open and the
``getBrandWCPayRequest`` parameters we sign, cross-checked with the independent ``wechatpayv3``
package, with WeChat's documented example and with ``openssl`` run as WeChat's guide runs it."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from wechatpayv3 import SignType, WeChatPay, WeChatPayType  # type: ignore[import-untyped]
from wechatpayv3 import utils as their_utils

from chalicelib.adapters.channel_http import HttpReply
from chalicelib.adapters.wechatpay.api import WechatPayApi
from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.jsapi import (
    jsapi_params,
    pay_sign_message,
    verify_pay_sign,
)
from chalicelib.domain.errors import ServiceUnavailable, SignatureInvalid, ValidationFailed
from chalicelib.domain.payments import ChannelOrder
from devstack.builders.wechatpay import sign_response

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MCHID, APPID, SERIAL = "1900009191", "wx8888888888888888", "PUB_KEY_ID_0114232026112200000000000001"
MERCHANT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD6F8D4B1A"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PREPAY = "wx201410272009395522657a690389285100"  # WeChat's documented example


def order(mode: str) -> ChannelOrder:
    return ChannelOrder(out_trade_no="34010026000000000017aB3dE9",
                        payment_code="34010026000000000017", channel="wechatpay",
                        amount_fen=10000, created_at="2026-03-02T10:00:00+08:00",
                        expires_at="2026-03-02T12:00:00+08:00", mode=mode)


@pytest.fixture(scope="module")
def keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


def pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def theirs(keys) -> WeChatPay:
    """wechatpayv3's client for the same merchant (public-key mode: it makes no request)."""
    platform, merchant = keys
    return WeChatPay(wechatpay_type=WeChatPayType.JSAPI, mchid=MCHID, private_key=pem(merchant),
                     cert_serial_no=MERCHANT_SERIAL, appid=APPID, apiv3_key="k" * 32,
                     notify_url="https://x/cb", public_key=platform.public_key().public_bytes(
                         serialization.Encoding.PEM,
                         serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
                     public_key_id=SERIAL)


def test_the_signed_string_is_four_lines_each_ending_in_a_newline_as_wechat_documents():
    assert pay_sign_message(APPID, "1414561699", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                            f"prepay_id={PREPAY}") == (
        b"wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        b"prepay_id=wx201410272009395522657a690389285100\n")


def test_pay_sign_is_the_one_wechatpayv3_computes_for_the_same_four_values(keys):
    _, merchant = keys
    ours = jsapi_params(APPID, PREPAY, merchant, timestamp=1414561699,
                        nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
    assert ours == {"appId": APPID, "timeStamp": "1414561699",
                    "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                    "package": f"prepay_id={PREPAY}", "signType": "RSA",
                    "paySign": theirs(keys).sign([APPID, "1414561699",
                                                  "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                                                  f"prepay_id={PREPAY}"], SignType.RSA_SHA256)}


def test_pay_sign_is_what_openssl_gives_run_as_wechats_guide_runs_it(keys, tmp_path):
    _, merchant = keys
    (tmp_path / "apiclient_key.pem").write_text(pem(merchant))
    message = pay_sign_message(APPID, "1414561699", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                               f"prepay_id={PREPAY}")
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                             str(tmp_path / "apiclient_key.pem")], input=message,
                            capture_output=True, check=True).stdout
    ours = jsapi_params(APPID, PREPAY, merchant, timestamp=1414561699,
                        nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
    assert ours["paySign"] == base64.b64encode(digest).decode()


def test_wechatpayv3_verifies_the_parameters_we_sign(keys):
    _, merchant = keys
    ours = jsapi_params(APPID, PREPAY, merchant, timestamp=1772416800, nonce="N" * 32)
    # rsa_verify signs "a\nb\nc\n": the four lines fit as a, b and "nonceStr\npackage".
    assert their_utils.rsa_verify(ours["appId"], ours["timeStamp"],
                                  f"{ours['nonceStr']}\n{ours['package']}", ours["paySign"],
                                  merchant.public_key())
    tampered = {**ours, "package": "prepay_id=wx_someone_elses_order"}
    assert not their_utils.rsa_verify(tampered["appId"], tampered["timeStamp"],
                                      f"{tampered['nonceStr']}\n{tampered['package']}",
                                      tampered["paySign"], merchant.public_key())


def test_we_verify_the_parameters_wechatpayv3_signs_and_refuse_any_change(keys):
    _, merchant = keys
    values = [APPID, "1772416800", "A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6", f"prepay_id={PREPAY}"]
    params = dict(zip(("appId", "timeStamp", "nonceStr", "package"), values, strict=True))
    params.update(signType="RSA", paySign=theirs(keys).sign(values, SignType.RSA_SHA256))
    verify_pay_sign(params, merchant.public_key())
    for name, value in (("appId", "wx0000000000000000"), ("timeStamp", "1772416801"),
                        ("nonceStr", "X" * 32), ("package", "prepay_id=wx1")):
        with pytest.raises(SignatureInvalid):
            verify_pay_sign({**params, name: value}, merchant.public_key())
    with pytest.raises(SignatureInvalid, match="signType"):
        verify_pay_sign({**params, "signType": "MD5"}, merchant.public_key())
    with pytest.raises(SignatureInvalid, match="timeStamp"):
        verify_pay_sign({**params, "timeStamp": 1772416800}, merchant.public_key())


class Channel:
    def __init__(self, platform: RSAPrivateKey, answer: dict | None, status: int = 200) -> None:
        self.platform, self.answer, self.status, self.requests = platform, answer, status, []

    def __call__(self, method, url, headers, body):
        self.requests.append((method, url, dict(headers), json.loads(body or b"{}")))
        raw = json.dumps(self.answer).encode() if self.answer is not None else b""
        signed = sign_response(raw, platform_private_key=self.platform, serial=SERIAL,
                               now=int(NOW.timestamp()))
        return HttpReply(self.status, {k.lower(): v for k, v in signed.items()}, raw)


def client(keys, channel: Channel) -> WechatPayApi:
    platform, merchant = keys
    config = WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=b"k" * 32,
                             platform_keys={SERIAL: platform.public_key()},
                             merchant_private_key=merchant, merchant_serial=MERCHANT_SERIAL)
    return WechatPayApi(config, "https://api.mch.weixin.qq.com", channel, lambda: NOW)


def test_a_jsapi_order_carries_the_payers_openid_and_gives_signed_bridge_parameters(keys):
    channel = Channel(keys[0], {"prepay_id": PREPAY})
    opened = client(keys, channel).checkout(
        order("jsapi"), description="非税收入缴款", notify_url="https://x/callbacks/wechatpay",
        return_url="https://x/pay/34010026000000000017", client_ip="203.0.113.9", payer=OPENID)
    [(method, url, _, body)] = channel.requests
    assert (method, url) == ("POST", "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi")
    assert body == {"appid": APPID, "mchid": MCHID, "description": "非税收入缴款",
                    "out_trade_no": "34010026000000000017aB3dE9",
                    "time_expire": "2026-03-02T12:00:00+08:00",
                    "notify_url": "https://x/callbacks/wechatpay",
                    "amount": {"total": 10000, "currency": "CNY"}, "payer": {"openid": OPENID}}
    assert opened.pay_url == "https://x/pay/34010026000000000017" and opened.code_url is None
    assert opened.jsapi is not None
    assert (opened.jsapi["appId"], opened.jsapi["package"], opened.jsapi["signType"]) == (
        APPID, f"prepay_id={PREPAY}", "RSA")
    assert opened.jsapi["timeStamp"] == str(int(NOW.timestamp()))
    assert len(opened.jsapi["nonceStr"]) == 32
    verify_pay_sign(opened.jsapi, keys[1].public_key())


def test_a_jsapi_order_without_the_payers_openid_is_refused_before_wechat_is_asked(keys):
    channel = Channel(keys[0], {"prepay_id": PREPAY})
    with pytest.raises(ValidationFailed) as refused:
        client(keys, channel).checkout(order("jsapi"), description="d", notify_url="n",
                                       return_url="r", client_ip="ip", payer=None)
    assert refused.value.code == "wechat_session_required" and channel.requests == []


def test_a_native_order_gives_the_code_url_to_show_as_a_qr_code(keys):
    channel = Channel(keys[0], {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"})
    opened = client(keys, channel).checkout(order("native"), description="非税收入缴款",
                                            notify_url="https://x/cb", return_url="https://x/pay",
                                            client_ip="203.0.113.9")
    [(_, url, _, body)] = channel.requests
    assert url == "https://api.mch.weixin.qq.com/v3/pay/transactions/native"
    assert "payer" not in body and "scene_info" not in body
    assert opened.code_url == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz" and opened.jsapi is None


@pytest.mark.parametrize("mode", ["jsapi", "native"])
def test_wechat_refusing_an_order_or_answering_without_its_field_is_service_unavailable(
        keys, mode):
    for channel in (Channel(keys[0], {"code": "PARAM_ERROR", "message": "appid和openid不匹配"},
                            status=400), Channel(keys[0], {})):
        with pytest.raises(ServiceUnavailable):
            client(keys, channel).checkout(order(mode), description="d", notify_url="n",
                                           return_url="r", client_ip="ip", payer=OPENID)


def test_an_h5_order_is_still_opened_for_a_phones_browser(keys):
    channel = Channel(keys[0], {"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?"
                                          "prepay_id=wx1&package=1"})
    opened = client(keys, channel).checkout(order("h5"), description="d", notify_url="n",
                                            return_url="https://x/pay", client_ip="203.0.113.9")
    assert channel.requests[0][1].endswith("/v3/pay/transactions/h5")
    assert channel.requests[0][3]["scene_info"]["h5_info"] == {"type": "Wap"}
    assert opened.pay_url.endswith("&redirect_url=https%3A%2F%2Fx%2Fpay")
