"""Cross-check our WeChat Pay adapter against the maintained SDK ``wechatpayv3`` (2.0.4).

The SDK runs offline in public-key mode: ``Wechatpay-Serial`` equals its ``public_key_id``,
so it never calls ``/v3/certificates`` (payment-channels.md §5). A proxy on a closed port
makes any accidental network call fail loudly instead of reaching WeChat.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from wechatpayv3 import WeChatPay, WeChatPayType, utils  # type: ignore[import-untyped]

from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.verify import verify_notification
from chalicelib.domain.errors import SignatureInvalid
from devstack.builders.wechatpay import sign_notification, transaction_resource

NOW = 1_760_000_000
MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "0123456789abcdefABCDEF0123456789"
PUB_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"


@pytest.fixture(scope="module")
def platform_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def sdk(platform_key: RSAPrivateKey) -> Any:
    # The SDK insists on a merchant key and certificate serial even to verify: throwaways.
    merchant_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    merchant_pem = merchant_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = platform_key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return WeChatPay(wechatpay_type=WeChatPayType.NATIVE, mchid=MCHID,
                     private_key=merchant_pem.decode(), cert_serial_no="1DDE55AD98ED71D6EDD4",
                     appid=APPID, apiv3_key=APIV3_KEY, public_key=public_pem.decode(),
                     public_key_id=PUB_KEY_ID, proxy={"https": "http://127.0.0.1:9"})


@pytest.fixture(scope="module")
def config(platform_key: RSAPrivateKey) -> WechatPayConfig:
    return WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=APIV3_KEY.encode(),
                           platform_keys={PUB_KEY_ID: platform_key.public_key()})


def resource(**extra: Any) -> dict[str, Any]:
    res = transaction_resource(mchid=MCHID, appid=APPID, out_trade_no="N20250101000001",
                               transaction_id="4200000848202101120290526543", amount_fen=2000,
                               success_time="2025-10-09T16:53:20+08:00")
    return {**res, **extra}


def notify(platform_key: RSAPrivateKey, res: dict[str, Any] | None = None,
           at: int = NOW) -> tuple[bytes, dict[str, str]]:
    return sign_notification(res or resource(), config_apiv3_key=APIV3_KEY.encode(),
                             platform_private_key=platform_key, serial=PUB_KEY_ID, now=at)


def test_the_sdk_accepts_and_decrypts_our_notification_to_the_same_resource(
        platform_key, sdk, config):
    res = resource(attach="不动产登记费")
    body, headers = notify(platform_key, res)
    result = sdk.callback(headers, body)
    assert result is not None
    assert result["resource"] == res
    assert {k: v for k, v in result.items() if k != "resource"} == {
        k: v for k, v in json.loads(body).items() if k != "resource"}
    assert verify_notification(body, headers, config, NOW).raw == result["resource"]


def test_the_sdk_and_we_both_accept_lower_case_header_names(platform_key, sdk, config):
    body, headers = notify(platform_key)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert sdk.callback(lowered, body)["resource"] == resource()
    assert verify_notification(body, lowered, config, NOW).amount_fen == 2000


def test_the_sdk_and_we_both_reject_a_tampered_body(platform_key, sdk, config):
    body, headers = notify(platform_key)
    tampered = body.replace(b'"id":"EV-', b'"id":"EW-', 1)
    assert sdk.callback(headers, tampered) is None
    sdk_verdict = utils.rsa_verify(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"],
                                   tampered.decode(), headers["Wechatpay-Signature"],
                                   platform_key.public_key())
    assert sdk_verdict is False
    with pytest.raises(SignatureInvalid, match="signature does not match the body"):
        verify_notification(tampered, headers, config, NOW)


def test_the_sdk_and_we_both_reject_a_reserialised_body(platform_key, sdk, config):
    body, headers = notify(platform_key)
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert sdk.callback(headers, reserialised) is None
    with pytest.raises(SignatureInvalid, match="signature does not match the body"):
        verify_notification(reserialised, headers, config, NOW)


def test_the_sdk_primitives_agree_with_us_on_the_untouched_body(platform_key):
    body, headers = notify(platform_key)
    assert utils.rsa_verify(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"],
                            body.decode(), headers["Wechatpay-Signature"],
                            platform_key.public_key()) is True
    enc = json.loads(body)["resource"]
    plain = utils.aes_decrypt(enc["nonce"], enc["ciphertext"], enc["associated_data"], APIV3_KEY)
    assert json.loads(plain) == resource()


def test_the_sdk_and_we_both_reject_a_resource_under_another_apiv3_key(platform_key, config):
    body, headers = notify(platform_key)
    enc = json.loads(body)["resource"]
    other_key = "Z" * 32
    assert utils.aes_decrypt(enc["nonce"], enc["ciphertext"], enc["associated_data"],
                             other_key) is None
    other = WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=other_key.encode(),
                            platform_keys=config.platform_keys)
    with pytest.raises(SignatureInvalid, match="could not be decrypted with the APIv3 key"):
        verify_notification(body, headers, other, NOW)


def test_we_accept_a_signature_made_by_the_sdk_signer(platform_key, config):
    body, headers = notify(platform_key)
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body.decode()}\n"
    sdk_signed = {**headers, "Wechatpay-Signature": utils.rsa_sign(platform_key, message)}
    assert verify_notification(body, sdk_signed, config, NOW).out_trade_no == "N20250101000001"


def test_we_reject_a_stale_notification_the_sdk_would_still_accept(platform_key, sdk, config):
    # The SDK has no timestamp check (payment-channels.md §5); we enforce the 5-minute window.
    body, headers = notify(platform_key, at=NOW - 3600)
    assert sdk.callback(headers, body)["resource"] == resource()
    with pytest.raises(SignatureInvalid, match="too old"):
        verify_notification(body, headers, config, NOW)
