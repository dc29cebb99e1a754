"""Alipay verify_message (open-platform messages to our application gateway): verified by the
payment notices' own checks before anything is read; a cancellation reduced to hints, each only
if it looks like one, a token only as its digest; an encrypted or unreadable biz_content
ignored; another message named and nothing more."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.adapters.alipay.messages import CANCELLED, verify_message
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.merchants import AuthorisationCancelled, token_digest
from devstack.builders.alipay import message_fields, sign_notification

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


def signed(key: RSAPrivateKey, biz: object = None, method: str = CANCELLED,
           **common: str) -> bytes:
    fields = message_fields(app_id=APP_ID, msg_method=method, now=NOW, notify_id="n-1")
    if biz is not None:
        fields["biz_content"] = biz if isinstance(biz, str) else json.dumps(biz)
    fields.update(common)
    return sign_notification(fields, key)


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
