"""The simulator's WeChat Pay holds an independent client to WeChat's rules: ``wechatpayv3``
(its own request signing, its own check of the answers' platform signature) opens JSAPI and
Native orders on it over HTTP and builds the ``getBrandWCPayRequest`` parameters itself, which
the simulator's WeChat client (our ``verify_pay_sign``) accepts and pays; a request signed with
another key is refused."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import SignType, WeChatPay, WeChatPayType  # type: ignore[import-untyped]

from devstack.seed import public_pem_of
from devstack.sim_weixin import openid_of


@pytest.fixture
def simulator(simulator_over_http, world, monkeypatch):
    """The simulator over HTTP on the world's clock; wechatpayv3 signs at that time too."""
    from wechatpayv3 import utils

    monkeypatch.setattr(utils.time, "time", lambda: world.clock().timestamp())
    return simulator_over_http


def theirs(wx: dict, base: str, kind, private_pem: str | None = None,
           partner_mode: bool = False) -> WeChatPay:
    client = WeChatPay(
        wechatpay_type=kind, mchid=wx["mchid"], partner_mode=partner_mode,
        private_key=private_pem or Path(wx["merchant_private_key_pem"]).read_text(),
        cert_serial_no=wx["merchant_serial"], appid=wx["appid"], apiv3_key=wx["apiv3_key"],
        notify_url="http://testserver/callbacks/wechatpay",
        public_key=public_pem_of(wx["platform_private_key_pem"]),
        public_key_id=wx["platform_serial"])
    client._core._gate_way = f"{base}/wechatpay"
    return client


def bridge_pay(base: str, user: str, params: dict) -> dict:
    request = urllib.request.Request(f"{base}/wechatpay/_sim/jsapi-pay", method="POST",
                                     data=json.dumps({"user": user, "params": params}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_wechatpayv3_opens_a_jsapi_order_and_its_signed_parameters_are_paid(world, simulator):
    base, _ = simulator
    wx = world.stack["channels"]["wechatpay"]
    client = theirs(wx, base, WeChatPayType.JSAPI)
    status, text = client.pay(description="非税收入缴款", out_trade_no="34010026000000000017aB3dE9",
                              amount={"total": 100, "currency": "CNY"},
                              payer={"openid": openid_of(wx["appid"], "alice")})
    assert status == 200, text
    prepay_id = json.loads(text)["prepay_id"]
    values = [wx["appid"], "1781488800", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
              f"prepay_id={prepay_id}"]
    params = dict(zip(("appId", "timeStamp", "nonceStr", "package"), values, strict=True))
    params |= {"signType": "RSA", "paySign": client.sign(values, SignType.RSA_SHA256)}
    assert bridge_pay(base, "bob", params)["err_msg"] == "get_brand_wcpay_request:fail"
    tampered = {**params, "nonceStr": "X" * 32}
    assert "paySign" in bridge_pay(base, "alice", tampered)["err_desc"]
    assert bridge_pay(base, "alice", params)["err_msg"] == "get_brand_wcpay_request:ok"


def test_wechatpayv3_opens_a_native_order_and_the_same_order_keeps_its_code(world, simulator):
    base, _ = simulator
    client = theirs(world.stack["channels"]["wechatpay"], base, WeChatPayType.NATIVE)
    answers = [client.pay(description="非税收入缴款", out_trade_no="34010026000000000017Native1",
                          amount={"total": 100}) for _ in range(2)]
    assert [status for status, _ in answers] == [200, 200]
    codes = {json.loads(text)["code_url"] for _, text in answers}
    assert len(codes) == 1 and codes.pop().startswith("weixin://wxpay/bizpayurl?pr=")


def test_an_order_signed_with_another_merchant_key_is_refused(world, simulator):
    base, _ = simulator
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    client = theirs(world.stack["channels"]["wechatpay"], base, WeChatPayType.NATIVE, stranger)
    status, text = client.pay(description="d", out_trade_no="34010026000000000017Native2",
                              amount={"total": 100})
    assert status == 401 and "SIGN_ERROR" in str(text)


def test_wechatpayv3_in_service_provider_mode_opens_and_queries_a_sub_merchants_order(
        world, simulator):
    """The library's own partner requests (``partner_mode``: sp_appid, sp_mchid, sub_mchid,
    ``/v3/pay/partner/…``) against the simulator's service-provider mode."""
    base, _ = simulator
    wx = world.stack["channels"]["wechatpay"]
    client = theirs(wx, base, WeChatPayType.NATIVE, partner_mode=True)
    number = "34010026000000000017pT3dE9"
    status, text = client.pay(description="非税收入缴款", out_trade_no=number,
                              amount={"total": 100, "currency": "CNY"}, sub_mchid="1900000109")
    assert status == 200, text
    assert json.loads(text)["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    status, text = client.query(out_trade_no=number, sub_mchid="1900000109")
    assert status == 200, text
    answer = json.loads(text)
    assert (answer["sp_mchid"], answer["sub_mchid"], answer["trade_state"]) == (
        wx["mchid"], "1900000109", "NOTPAY")
    status, _ = client.query(out_trade_no=number, sub_mchid="1900000110")
    assert status == 404  # another sub-merchant's order is not found
    direct = theirs(wx, base, WeChatPayType.NATIVE)
    assert direct.query(out_trade_no=number)[0] == 404  # nor the provider's own
