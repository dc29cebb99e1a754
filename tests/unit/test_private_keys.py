"""A channel's private key is loaded (and checked whole) once per process for a given text."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from chalicelib.adapters.alipay import AlipayConfig
from chalicelib.adapters.wechatpay import WechatPayConfig


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def _public_pem(key) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def test_a_wechatpay_config_made_again_from_the_same_secret_reuses_its_loaded_key(key):
    secret = {"mchid": "1900000109", "appid": "wx8888888888888888", "apiv3_key": "k" * 32,
              "platform_public_keys": {"PUB_KEY_ID_01": _public_pem(key)},
              "merchant_private_key_pem": _pem(key), "merchant_serial": "5157F09EFDC096DE"}
    first, again = WechatPayConfig.from_secret(secret), WechatPayConfig.from_secret(dict(secret))
    assert again.merchant_private_key is first.merchant_private_key
    assert first.merchant_private_key.private_numbers() == key.private_numbers()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rotated = WechatPayConfig.from_secret({**secret, "merchant_private_key_pem": _pem(other)})
    assert rotated.merchant_private_key.private_numbers() == other.private_numbers()


def test_an_alipay_config_made_again_reuses_its_loaded_key_from_pem_or_bare_base64(key):
    bare = base64.b64encode(key.private_bytes(Encoding.DER, PrivateFormat.PKCS8,
                                              NoEncryption())).decode()
    for text in (_pem(key), bare):
        secret = {"app_id": "2021000000000001", "seller_id": "2088000000000001",
                  "alipay_public_key_pem": _public_pem(key), "app_private_key_pem": text}
        first, again = AlipayConfig.from_secret(secret), AlipayConfig.from_secret(dict(secret))
        assert again.app_private_key is first.app_private_key
        assert first.app_private_key.private_numbers() == key.private_numbers()


def test_a_key_text_that_does_not_load_is_refused_every_time(key):
    broken = _pem(key).replace("A", "B", 40)
    secret = {"app_id": "2021000000000001", "seller_id": "2088000000000001",
              "alipay_public_key_pem": _public_pem(key), "app_private_key_pem": broken}
    for _ in range(2):
        with pytest.raises(ValueError):
            AlipayConfig.from_secret(secret)
