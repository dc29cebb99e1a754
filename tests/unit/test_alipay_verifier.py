"""Alipay verify_notification: one test per failure message, the happy paths, and a cross-check.

Notices are built with ``sign_notification`` (the simulator's helper) or, when a test needs a
validly signed but odd notice, re-signed here with Alipay's key. The cross-check runs the
independent ``python-alipay-sdk`` 3.4.0 (pycryptodomex, payment-channels.md §5) both ways.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from alipay import AliPay  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.adapters.alipay.verify import SUCCESS_BODY, signing_string, verify_notification
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from devstack.builders.alipay import sign_notification, trade_fields

NOW = datetime(2025, 10, 9, 8, 53, 20, tzinfo=UTC)
APP_ID = "2021000117650139"
SELLER_ID = "2088721000000001"
OUT_TRADE_NO = "53010025000000000017Ab3xQ9"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def alipay_key() -> RSAPrivateKey:
    return new_key()


@pytest.fixture(scope="module")
def config(alipay_key: RSAPrivateKey) -> AlipayConfig:
    return AlipayConfig(app_id=APP_ID, seller_id=SELLER_ID,
                        alipay_public_key=alipay_key.public_key())


def fields(**changes: Any) -> dict[str, str]:
    charset = changes.pop("charset", "utf-8")
    data = trade_fields(app_id=APP_ID, seller_id=SELLER_ID, out_trade_no=OUT_TRADE_NO,
                        total_fen=2000, now=NOW, charset=charset,
                        trade_no="2025100922001476871234567890", notify_id="2c1f0a8e9d3b4f5a6b7c")
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def notify(key: RSAPrivateKey, charset: str = "utf-8", **changes: Any) -> bytes:
    return sign_notification(fields(charset=charset, **changes), key, charset=charset)


def form(body: bytes, charset: str = "utf-8") -> list[tuple[str, str]]:
    return parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding=charset)


# --- each failure, in the order the verifier checks them --------------------------------


def without(name: str) -> Callable[[bytes], bytes]:
    """Drop one field from a form body, keeping every other byte."""
    return lambda body: b"&".join(part for part in body.split(b"&")
                                  if not part.startswith(name.encode() + b"="))


# (what is wrong, how the received body is changed, the message) in the verifier's order
TAMPERED: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("the charset field sent twice", lambda b: b + b"&charset=gbk",
     "field 'charset' appears more than once"),
    ("an unknown charset", lambda b: b.replace(b"charset=utf-8", b"charset=iso-8859-1"),
     "charset 'iso-8859-1' is not one of"),
    ("a percent-encoded charset name",
     lambda b: b.replace(b"charset=utf-8", b"%63harset=gbk"),
     "field 'charset' was sent under a percent-encoded name"),
    ("bytes that do not decode in the charset", lambda b: b + b"&x=%FF%FE",
     "body is not valid utf-8 form data"),
    ("a field sent twice", lambda b: b + b"&out_trade_no=53010025000000000099Zz9xQ9",
     "field 'out_trade_no' appears more than once"),
    ("no sign_type", without("sign_type"), "sign_type is missing"),
    ("the legacy RSA sign_type", lambda b: b.replace(b"sign_type=RSA2", b"sign_type=RSA"),
     "sign_type 'RSA' is not RSA2"),
    ("no sign", without("sign"), "sign is missing"),
    ("a sign that is not base64", lambda b: b.replace(b"&sign=", b"&sign=%2A"),
     "sign is not valid base64"),
    ("a tampered total_amount",
     lambda b: b.replace(b"total_amount=20.00", b"total_amount=0.01"),
     "sign does not match the fields"),
    ("an added field", lambda b: b + b"&passback_params=x", "sign does not match the fields"),
]


@pytest.mark.parametrize(("edit", "message"), [t[1:] for t in TAMPERED],
                         ids=[t[0] for t in TAMPERED])
def test_rejects_a_notice_changed_after_signing(alipay_key, config, edit, message):
    body = notify(alipay_key)
    assert edit(body) != body
    with pytest.raises(SignatureInvalid, match=message):
        verify_notification(edit(body), FORM, config, NOW)


def test_rejects_a_content_type_other_than_a_form(alipay_key, config):
    with pytest.raises(SignatureInvalid, match="Content-Type 'application/json' is not"):
        verify_notification(notify(alipay_key), "application/json", config, NOW)


def test_rejects_a_sign_whose_plus_was_not_percent_encoded(alipay_key, config):
    body = signed_with_plus_and_slash(alipay_key)
    with pytest.raises(SignatureInvalid, match="sign contains a space: a '\\+' was sent"):
        verify_notification(body.replace(b"%2B", b"+"), FORM, config, NOW)


def test_rejects_a_notice_signed_with_another_key(config):
    with pytest.raises(SignatureInvalid, match="sign does not match the fields"):
        verify_notification(notify(new_key()), FORM, config, NOW)


def test_rejects_a_gbk_notice_read_as_utf_8(alipay_key, config):
    body = notify(alipay_key, charset="gbk").replace(b"charset=gbk", b"charset=utf-8")
    with pytest.raises(SignatureInvalid, match="body is not valid utf-8|sign does not match"):
        verify_notification(body, FORM, config, NOW)


# (what is wrong, the fields Alipay signed, the error, the message)
SIGNED_BUT_WRONG: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("another app_id", {"app_id": "2021000000000000"}, SignatureInvalid,
     "app_id '2021000000000000' is not ours"),
    ("another seller naming our application", {"seller_id": "2088000000000002"},
     SignatureInvalid, "a merchant's trade naming our own application as authorising"),
    ("no seller_id", {"seller_id": None}, SignatureInvalid, "seller_id '' is not ours nor"),
    ("a seller_id that is no PID", {"seller_id": "1088000000000002", "auth_app_id": None},
     SignatureInvalid, "seller_id '1088000000000002' is not ours nor a merchant's"),
    ("our seller with another application", {"auth_app_id": "2021000000000009"},
     SignatureInvalid, "auth_app_id '2021000000000009' is not ours for our seller"),
    ("a merchant's trade with a malformed auth_app_id",
     {"seller_id": "2088000000000002", "auth_app_id": "20210000x"}, ValidationFailed,
     "auth_app_id '20210000x' is not an app_id"),
    ("an unknown trade_status", {"trade_status": "TRADE_PENDING"}, ValidationFailed,
     "unknown trade_status 'TRADE_PENDING'"),
    ("no out_trade_no", {"out_trade_no": None}, ValidationFailed, "out_trade_no is missing"),
    ("no total_amount", {"total_amount": None}, ValidationFailed, "total_amount is missing"),
    ("a malformed gmt_payment", {"gmt_payment": "2025/10/09"}, ValidationFailed,
     "gmt_payment '2025/10/09' is not yyyy-MM-dd HH:mm:ss"),
    ("a paid trade without gmt_payment", {"gmt_payment": None}, ValidationFailed,
     "gmt_payment is missing from a paid trade"),
    ("a paid trade with an empty gmt_payment", {"gmt_payment": ""}, ValidationFailed,
     "gmt_payment is missing from a paid trade"),
] + [(f"total_amount {amount!r}", {"total_amount": amount}, ValidationFailed,
      "total_amount .* is not a yuan amount")
     for amount in ("20.005", "1e3", "-1.00", "20,00", " 20.00", "020.00")]


@pytest.mark.parametrize(("changes", "error", "message"), [t[1:] for t in SIGNED_BUT_WRONG],
                         ids=[t[0] for t in SIGNED_BUT_WRONG])
def test_rejects_an_authentic_notice_that_is_not_for_us_or_malformed(
        alipay_key, config, changes, error, message):
    with pytest.raises(error, match=message):
        verify_notification(notify(alipay_key, **changes), FORM, config, NOW)


# --- happy paths ---------------------------------------------------------------------------


def test_accepts_a_payment_notice_and_converts_yuan_to_fen(alipay_key, config):
    trade = verify_notification(notify(alipay_key), FORM, config, NOW)
    assert (trade.out_trade_no, trade.trade_no, trade.total_amount_fen, trade.paid) == (
        OUT_TRADE_NO, "2025100922001476871234567890", 2000, True)
    assert (trade.notify_id, trade.app_id, trade.seller_id) == (
        "2c1f0a8e9d3b4f5a6b7c", APP_ID, SELLER_ID)
    assert trade.gmt_payment == "2025-10-09 16:53:20"
    assert trade.paid_at == "2025-10-09T16:53:20+08:00"
    assert trade.refund_fee_fen is None and trade.out_biz_no is None
    assert trade.raw["subject"] == "非税收入缴款 水&电费"
    assert trade.raw["fund_bill_list"] == '[{"amount":"20.00","fundChannel":"ALIPAYACCOUNT"}]'
    assert SUCCESS_BODY == b"success"


def test_a_payment_to_our_own_seller_names_no_merchant(alipay_key, config):
    for auth_app in (APP_ID, None):
        trade = verify_notification(notify(alipay_key, auth_app_id=auth_app), FORM, config, NOW)
        assert (trade.merchant, trade.merchant_app) == ("", "")


def test_a_payment_to_a_merchant_that_authorised_us_names_its_seller_and_application(
        alipay_key, config):
    """第三方应用授权: app_id is ours (the third party), seller_id and auth_app_id the unit's."""
    trade = verify_notification(notify(alipay_key, seller_id="2088000000000102",
                                       auth_app_id="2021000000000102"), FORM, config, NOW)
    assert (trade.app_id, trade.merchant, trade.merchant_app) == (
        APP_ID, "2088000000000102", "2021000000000102")
    bare = verify_notification(notify(alipay_key, seller_id="2088000000000102",
                                      auth_app_id=None), FORM, config, NOW)
    assert (bare.merchant, bare.merchant_app) == ("2088000000000102", "")


def test_accepts_a_gbk_notice_with_a_chinese_subject(alipay_key, config):
    body = notify(alipay_key, charset="gbk", subject="不动产登记费 & 工本费")
    assert "不".encode("gbk") == b"\xb2\xbb" and b"subject=%B2%BB" in body
    trade = verify_notification(body, "application/x-www-form-urlencoded", config, NOW)
    assert trade.raw["subject"] == "不动产登记费 & 工本费"
    assert trade.raw["charset"] == "gbk"


def test_accepts_a_gb2312_notice(alipay_key, config):
    body = notify(alipay_key, charset="gb2312", subject="水费")
    assert verify_notification(body, FORM, config, NOW).raw["subject"] == "水费"


def signed_with_plus_and_slash(key: RSAPrivateKey) -> bytes:
    for attempt in range(50):
        body = notify(key, notify_id=f"2c1f0a8e9d3b4f5a6b{attempt:02d}")
        sign = dict(form(body))["sign"]
        if "+" in sign and "/" in sign:
            return body
    raise AssertionError("no signature with both + and / in 50 tries")


def test_accepts_a_sign_with_plus_and_slash_percent_encoded(alipay_key, config):
    body = signed_with_plus_and_slash(alipay_key)
    raw_sign = body.split(b"&sign=")[1].split(b"&")[0]
    assert b"%2B" in raw_sign and b"%2F" in raw_sign and b"+" not in raw_sign
    assert verify_notification(body, FORM, config, NOW).total_amount_fen == 2000


def test_skips_empty_values_when_verifying(alipay_key, config):
    body = notify(alipay_key, body="", passback_params="")
    assert b"&body=&" in body or body.endswith(b"&body=")
    assert verify_notification(body, FORM, config, NOW).raw["body"] == ""


def test_accepts_a_partial_refund_notice(alipay_key, config):
    body = notify(alipay_key, refund_fee="5.50", out_biz_no="R20251009000001",
                  gmt_refund="2025-10-10 09:00:00.123")
    trade = verify_notification(body, FORM, config, NOW)
    assert (trade.refund_fee_fen, trade.out_biz_no, trade.paid) == (550, "R20251009000001", True)


def test_accepts_a_closed_trade_and_reports_it_unpaid(alipay_key, config):
    trade = verify_notification(notify(alipay_key, trade_status="TRADE_CLOSED",
                                       gmt_payment=None), FORM, config, NOW)
    assert (trade.paid, trade.gmt_payment, trade.paid_at) == (False, None, None)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
       charset=st.sampled_from(["utf-8", "gbk"]))
def test_any_subject_round_trips_in_its_charset(alipay_key, config, subject, charset):
    if charset == "gbk":
        subject = subject.encode("gbk", "ignore").decode("gbk")
    body = notify(alipay_key, charset=charset, subject=subject)
    assert verify_notification(body, FORM, config, NOW).raw["subject"] == subject


# --- configuration -------------------------------------------------------------------------


def test_config_repr_shows_ids_but_not_the_key(config):
    assert repr(config) == (f"AlipayConfig(app_id='{APP_ID}', seller_id='{SELLER_ID}', "
                            "alipay_public_key=<RSA-2048>)")


def test_config_from_secret_accepts_pem_bare_base64_and_a_certificate(alipay_key, config):
    public = alipay_key.public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    bare = base64.b64encode(public.public_bytes(Encoding.DER,
                                                PublicFormat.SubjectPublicKeyInfo)).decode()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "支付宝(中国)网络技术有限公司")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + timedelta(days=1))
            .sign(alipay_key, SHA256()).public_bytes(Encoding.PEM).decode())
    body = notify(alipay_key)
    for key_text in (pem, bare, cert):
        loaded = AlipayConfig.from_secret({"app_id": APP_ID, "seller_id": SELLER_ID,
                                           "alipay_public_key_pem": key_text})
        assert verify_notification(body, FORM, loaded, NOW).total_amount_fen == 2000


def test_sign_notification_refuses_fields_that_already_carry_a_sign(alipay_key):
    with pytest.raises(ValueError, match="sign or sign_type"):
        sign_notification({**fields(), "sign": "x"}, alipay_key)


def test_the_signing_string_drops_sign_sign_type_and_empties_and_sorts():
    assert signing_string({"b": "2", "sign": "s", "a": "1", "sign_type": "RSA2", "c": ""}) == (
        "a=1&b=2")


# --- cross-check with python-alipay-sdk 3.4.0 -------------------------------------------


def make_sdk(app_key: RSAPrivateKey, alipay_key: RSAPrivateKey) -> Any:
    return AliPay(appid=APP_ID, app_private_key_string=app_key.private_bytes(
                      Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode(),
                  alipay_public_key_string=alipay_key.public_key().public_bytes(
                      Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
                  sign_type="RSA2")


@pytest.fixture(scope="module")
def sdk(alipay_key: RSAPrivateKey) -> Any:
    """The SDK as a merchant holds it: a (throwaway) app key, and Alipay's public key."""
    return make_sdk(new_key(), alipay_key)


@pytest.fixture(scope="module")
def sdk_as_alipay(alipay_key: RSAPrivateKey) -> Any:
    """The SDK holding Alipay's private key as its "app key", so that it signs as Alipay."""
    return make_sdk(alipay_key, alipay_key)


def test_the_sdk_verifies_a_notice_we_signed(alipay_key, sdk):
    data = dict(form(notify(alipay_key)))
    signature = data.pop("sign")
    assert sdk.verify(data, signature) is True


def test_the_sdk_and_we_both_reject_a_tampered_notice(alipay_key, sdk, config):
    tampered = notify(alipay_key).replace(b"total_amount=20.00", b"total_amount=0.01")
    data = dict(form(tampered))
    assert sdk.verify(data, data.pop("sign")) is False
    with pytest.raises(SignatureInvalid, match="sign does not match"):
        verify_notification(tampered, FORM, config, NOW)


def test_we_verify_a_notice_the_sdk_signed(sdk_as_alipay, config):
    signed = sdk_as_alipay.sign_data(fields())  # sorted k=quote_plus(v)&…&sign=…
    body = (signed + "&sign_type=RSA2").encode("ascii")
    trade = verify_notification(body, FORM, config, NOW)
    assert trade.raw["subject"] == "非税收入缴款 水&电费" and trade.total_amount_fen == 2000


def test_the_sdk_signature_matches_ours_byte_for_byte(alipay_key, sdk_as_alipay):
    # PKCS#1 v1.5 is deterministic: same key, same string, same signature.
    ours = dict(form(notify(alipay_key)))["sign"]
    theirs = dict(parse_qsl(sdk_as_alipay.sign_data(fields())))["sign"]
    assert ours == theirs
    expected = alipay_key.sign(signing_string(fields()).encode(), PKCS1v15(), SHA256())
    assert base64.b64decode(ours) == expected
