"""Alipay verify_message (open-platform messages to our application gateway): verified by the
payment notices' own checks before anything is read; a cancellation reduced to hints, each only
if it looks like one, a token only as its digest; an encrypted or unreadable biz_content
ignored; another message named and nothing more."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.adapters.alipay.messages import CANCELLED, verify_message
from chalicelib.adapters.alipay.verify import V1, V2, signing_string, verify_notification
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.merchants import AuthorisationCancelled, token_digest
from devstack.builders.alipay import message_fields, sign_notification, trade_fields

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
APP_ID = "2021000117650139"
PID = "2088000000000101"
TOKEN = "202606BB2088000000000101a1b2c3d4e5f60718"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@pytest.fixture(scope="module")
def alipay_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def config(alipay_key: RSAPrivateKey) -> AlipayConfig:
    return AlipayConfig(app_id=APP_ID, seller_id="2088721000000001",
                        alipay_public_key=alipay_key.public_key())


def signed(key: RSAPrivateKey, biz: object = None, method: str = CANCELLED, rule: str = V2,
           **common: str) -> bytes:
    fields = message_fields(app_id=APP_ID, msg_method=method, now=NOW, notify_id="n-1")
    if biz is not None:
        fields["biz_content"] = biz if isinstance(biz, str) else json.dumps(biz)
    fields.update(common)
    return sign_notification(fields, key, rule=rule)


@pytest.mark.parametrize("rule", [V2, V1])
def test_a_message_signed_under_either_rule_is_alipays(config, alipay_key, rule):
    """Our reference says V2 for application-gateway messages (sign_type signed too), one SDK
    checks them under V1: Alipay's signature under either is accepted."""
    assert verify_message(signed(alipay_key, {}, rule=rule), FORM, config).notify_id == "n-1"


def test_a_message_signed_under_v2_names_its_sign_type_in_what_was_signed(config, alipay_key):
    """Under V2 the signed string holds sign_type=RSA2: the signature does not hold for the
    same fields without it, so the rule really is V2 (not V1 by another name)."""
    body = signed(alipay_key, {}, rule=V2)
    fields = dict(parse_qsl(body.decode()))
    signature = base64.b64decode(fields["sign"])
    with pytest.raises(InvalidSignature):
        alipay_key.public_key().verify(signature, signing_string(fields, rule=V1).encode(),
                                       PKCS1v15(), SHA256())
    alipay_key.public_key().verify(signature, signing_string(fields, rule=V2).encode(),
                                   PKCS1v15(), SHA256())


def test_a_payment_notice_is_still_checked_under_v1_only(config, alipay_key):
    fields = trade_fields(app_id=APP_ID, seller_id="2088721000000001", out_trade_no="A1",
                          total_fen=100, now=NOW)
    verify_notification(sign_notification(fields, alipay_key), FORM, config)
    with pytest.raises(SignatureInvalid):
        verify_notification(sign_notification(fields, alipay_key, rule=V2), FORM, config)


def test_a_cancellation_is_reduced_to_the_hints_it_names_and_a_token_to_its_digest(
        config, alipay_key):
    body = signed(alipay_key, {"user_id": PID, "detail": [{"auth_app_id": "2021000000000101",
                                                           "app_auth_token": TOKEN}],
                               "user_name": "2088000000000999"}, msg_uid="2088000000000102")
    message = verify_message(body, FORM, config)
    assert (message.method, message.notify_id) == (CANCELLED, "n-1")
    assert message.cancelled == AuthorisationCancelled(
        "n-1", merchant_ids=("2088000000000102", PID), app_ids=("2021000000000101",),
        token_digests=(token_digest(TOKEN),))
    assert TOKEN not in repr(message)


def test_values_that_do_not_look_like_what_their_name_says_are_not_hints(config, alipay_key):
    body = signed(alipay_key, {"user_id": "someone", "auth_app_id": "12",
                               "app_auth_token": "短"}, msg_app_id=APP_ID[:-1])
    cancelled = verify_message(body, FORM, config).cancelled
    assert cancelled is not None and not cancelled.hints


@pytest.mark.parametrize("biz", ["not json", "[1, 2]", json.dumps({"user_id": PID})])
def test_an_unreadable_or_encrypted_biz_content_still_is_a_cancellation(
        config, alipay_key, biz):
    extra = {"encrypt_type": "AES"} if "user_id" in biz else {}
    cancelled = verify_message(signed(alipay_key, biz, **extra), FORM, config).cancelled
    assert cancelled == AuthorisationCancelled("n-1")


def test_another_message_is_named_and_nothing_more(config, alipay_key):
    message = verify_message(signed(alipay_key, {"user_id": PID},
                                    method="alipay.open.auth.userauth.cancelled"), FORM, config)
    assert (message.method, message.cancelled) == ("alipay.open.auth.userauth.cancelled", None)


def test_the_payment_notices_checks_come_first(config, alipay_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_message(signed(other), FORM, config)
    with pytest.raises(SignatureInvalid, match="app_id"):
        verify_message(signed(alipay_key, app_id="2021000000009999"), FORM, config)
    with pytest.raises(ValidationFailed, match="msg_method"):
        verify_message(signed(alipay_key, method=""), FORM, config)
