"""verify_notification: one test per failure message, then the happy paths.

Notifications are built with ``sign_notification`` (the same helper the simulator uses), or,
when a test needs a validly signed but odd body, re-signed here with the platform key.
"""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.verify import FAIL_BODY, WechatTransaction, verify_notification
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from devstack.builders.wechatpay import sign_notification, transaction_resource

NOW = 1_760_000_000
MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = b"0123456789abcdefABCDEF0123456789"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUB_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"


@dataclass(frozen=True)
class Keys:
    old: RSAPrivateKey
    new: RSAPrivateKey
    stranger: RSAPrivateKey

    @classmethod
    def generate(cls) -> Keys:
        """Three fresh 2048-bit keys: the platform's old and new, and a stranger's."""
        def make() -> RSAPrivateKey:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)

        return cls(old=make(), new=make(), stranger=make())


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.generate()


@pytest.fixture(scope="module")
def config(keys: Keys) -> WechatPayConfig:
    return WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=APIV3_KEY,
                           platform_keys={CERT_SERIAL: keys.old.public_key(),
                                          PUB_KEY_ID: keys.new.public_key()})


def resource(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(mchid=MCHID, appid=APPID, out_trade_no="N20250101000001",
                                  transaction_id="4200000848202101120290526543",
                                  amount_fen=2000, success_time="2025-10-09T16:53:20+08:00")
    fields.update(changes)
    return transaction_resource(**fields)


def notify(keys: Keys, *, res: dict[str, Any] | None = None, at: int = NOW,
           key: RSAPrivateKey | None = None, serial: str = PUB_KEY_ID,
           apiv3_key: bytes = APIV3_KEY) -> tuple[bytes, dict[str, str]]:
    return sign_notification(res or resource(), config_apiv3_key=apiv3_key,
                             platform_private_key=key or keys.new, serial=serial, now=at)


def resign(body: bytes, headers: dict[str, str], key: RSAPrivateKey) -> dict[str, str]:
    """Sign other body bytes under the same timestamp, nonce and serial."""
    message = b"%s\n%s\n%s\n" % (headers["Wechatpay-Timestamp"].encode(),
                                  headers["Wechatpay-Nonce"].encode(), body)
    signature = base64.b64encode(key.sign(message, PKCS1v15(), SHA256())).decode()
    return {**headers, "Wechatpay-Signature": signature}


def edited(keys: Keys, change: Any) -> tuple[bytes, dict[str, str]]:
    """A validly signed notification whose outer JSON was changed by ``change(dict)``."""
    body, headers = notify(keys)
    outer = json.loads(body)
    change(outer)
    new_body = json.dumps(outer, ensure_ascii=False, separators=(",", ":")).encode()
    return new_body, resign(new_body, headers, keys.new)


# --- each failure, in the order the verifier checks them --------------------------------


@pytest.mark.parametrize("header", ["Wechatpay-Signature", "Wechatpay-Timestamp",
                                    "Wechatpay-Nonce", "Wechatpay-Serial"])
def test_rejects_a_notification_missing_a_required_header(keys, config, header):
    body, headers = notify(keys)
    del headers[header]
    with pytest.raises(SignatureInvalid, match=rf"missing header\(s\): {header}$"):
        verify_notification(body, headers, config, NOW)


def test_rejects_an_empty_header_as_missing(keys, config):
    body, headers = notify(keys)
    headers["Wechatpay-Nonce"] = ""
    with pytest.raises(SignatureInvalid, match="missing header"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_signature_type_other_than_rsa2048(keys, config):
    body, headers = notify(keys)
    headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    with pytest.raises(SignatureInvalid, match="Signature-Type 'WECHATPAY2-SM2-WITH-SM3'"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_signtest_probe_signature(keys, config):
    body, headers = notify(keys)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    with pytest.raises(SignatureInvalid, match="SIGNTEST/ probe"):
        verify_notification(body, headers, config, NOW)


@pytest.mark.parametrize("timestamp", ["abc", "1760000000.0", " 1760000000", "-1", "１２"])
def test_rejects_a_timestamp_that_is_not_an_integer(keys, config, timestamp):
    body, headers = notify(keys)
    headers["Wechatpay-Timestamp"] = timestamp
    with pytest.raises(SignatureInvalid, match="is not an integer"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_timestamp_exactly_five_minutes_old(keys, config):
    body, headers = notify(keys, at=NOW - 300)
    with pytest.raises(SignatureInvalid, match=r"too old \(300 s"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_timestamp_older_than_five_minutes(keys, config):
    body, headers = notify(keys, at=NOW - 86_400)
    with pytest.raises(SignatureInvalid, match="too old"):
        verify_notification(body, headers, config, NOW)


def test_accepts_a_timestamp_just_under_five_minutes_either_way(keys, config):
    for at in (NOW - 299, NOW + 299):
        body, headers = notify(keys, at=at)
        assert verify_notification(body, headers, config, NOW).amount_fen == 2000


def test_rejects_a_timestamp_five_minutes_in_the_future(keys, config):
    body, headers = notify(keys, at=NOW + 300)
    with pytest.raises(SignatureInvalid, match="in the future"):
        verify_notification(body, headers, config, NOW)


def test_rejects_an_unknown_serial(keys, config):
    body, headers = notify(keys, serial="PUB_KEY_ID_0000000000000099999999999999999999")
    with pytest.raises(SignatureInvalid, match="unknown Wechatpay-Serial"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_signature_that_is_not_base64(keys, config):
    body, headers = notify(keys)
    headers["Wechatpay-Signature"] = "not*base64!"
    with pytest.raises(SignatureInvalid, match="not valid base64"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_body_with_one_byte_changed(keys, config):
    body, headers = notify(keys)
    tampered = body.replace(b'"id":"EV-', b'"id":"EW-', 1)
    assert len(tampered) == len(body) and tampered != body
    with pytest.raises(SignatureInvalid, match="signature does not match the body"):
        verify_notification(tampered, headers, config, NOW)


def test_rejects_a_body_reserialised_by_a_framework(keys, config):
    body, headers = notify(keys)
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert json.loads(reserialised) == json.loads(body)
    with pytest.raises(SignatureInvalid, match="signature does not match the body"):
        verify_notification(reserialised, headers, config, NOW)


def test_rejects_a_signature_made_with_another_platform_key(keys, config):
    body, headers = notify(keys, key=keys.stranger)
    with pytest.raises(SignatureInvalid, match=f"signature does not match .*{PUB_KEY_ID}"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_signature_made_with_the_key_of_the_other_serial(keys, config):
    body, headers = notify(keys, key=keys.old, serial=PUB_KEY_ID)
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_resource_encrypted_with_another_apiv3_key(keys, config):
    body, headers = notify(keys, apiv3_key=b"Z" * 32)
    with pytest.raises(SignatureInvalid, match="could not be decrypted with the APIv3 key"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_resource_whose_associated_data_was_changed(keys, config):
    body, headers = edited(keys, lambda o: o["resource"].update(associated_data="refund"))
    with pytest.raises(SignatureInvalid, match="could not be decrypted"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_resource_with_another_algorithm(keys, config):
    body, headers = edited(keys, lambda o: o["resource"].update(algorithm="AEAD_SM4_GCM"))
    with pytest.raises(SignatureInvalid, match="algorithm 'AEAD_SM4_GCM' is not"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_payment_to_another_merchant(keys, config):
    body, headers = notify(keys, res=resource(mchid="1900000001"))
    with pytest.raises(SignatureInvalid, match="mchid '1900000001' is not ours"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_payment_to_another_app(keys, config):
    body, headers = notify(keys, res=resource(appid="wx0000000000000000"))
    with pytest.raises(SignatureInvalid, match="appid 'wx0000000000000000' is not ours"):
        verify_notification(body, headers, config, NOW)


def test_rejects_malformed_json_after_a_valid_signature_as_a_validation_failure(keys, config):
    body, headers = notify(keys)
    broken = body[:-1]
    with pytest.raises(ValidationFailed, match="body is not JSON"):
        verify_notification(broken, resign(broken, headers, keys.new), config, NOW)


def test_rejects_a_signed_body_without_a_resource_as_a_validation_failure(keys, config):
    body, headers = edited(keys, lambda o: o.pop("resource"))
    with pytest.raises(ValidationFailed, match="resource is missing"):
        verify_notification(body, headers, config, NOW)


@pytest.mark.parametrize("total", [True, 20.0, "2000", None])
def test_rejects_an_amount_that_is_not_an_integer_of_fen(keys, config, total):
    res = resource()
    res["amount"]["total"] = total
    body, headers = notify(keys, res=res)
    with pytest.raises(ValidationFailed, match="total is missing or not an integer"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_currency_other_than_cny(keys, config):
    res = resource()
    res["amount"]["currency"] = "USD"
    body, headers = notify(keys, res=res)
    with pytest.raises(ValidationFailed, match="currency 'USD' is not CNY"):
        verify_notification(body, headers, config, NOW)


# --- happy paths ------------------------------------------------------------------------


def test_accepts_either_of_two_platform_keys_during_a_rotation(keys, config):
    for key, serial in ((keys.old, CERT_SERIAL), (keys.new, PUB_KEY_ID)):
        body, headers = notify(keys, key=key, serial=serial)
        assert verify_notification(body, headers, config, NOW).out_trade_no == "N20250101000001"


def test_returns_the_decrypted_transaction(keys, config):
    body, headers = sign_notification(resource(), config_apiv3_key=APIV3_KEY,
                                      platform_private_key=keys.new, serial=PUB_KEY_ID,
                                      now=NOW, event_id="EV-2018022511223320873")
    transaction = verify_notification(body, headers, config, NOW)
    assert transaction == WechatTransaction(
        event_id="EV-2018022511223320873", event_type="TRANSACTION.SUCCESS",
        out_trade_no="N20250101000001", transaction_id="4200000848202101120290526543",
        amount_fen=2000, payer_total_fen=2000, currency="CNY", trade_state="SUCCESS",
        success_time="2025-10-09T16:53:20+08:00", mchid=MCHID, appid=APPID, raw={})
    assert transaction.raw == resource()


def test_accepts_chinese_characters_sent_unescaped(keys, config):
    res = resource()
    res["attach"] = "不动产登记费"
    body, headers = notify(keys, res=res)
    assert "支付成功".encode() in body and b"\\u" not in body
    assert verify_notification(body, headers, config, NOW).raw["attach"] == "不动产登记费"


def test_accepts_lower_case_header_names(keys, config):
    body, headers = notify(keys)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert verify_notification(body, lowered, config, NOW).amount_fen == 2000


def test_accepts_a_notification_without_a_signature_type_header(keys, config):
    body, headers = notify(keys)
    del headers["Wechatpay-Signature-Type"]
    assert verify_notification(body, headers, config, NOW).trade_state == "SUCCESS"


def test_builds_the_body_once_compact_with_a_twelve_character_resource_nonce(keys):
    body, headers = notify(keys)
    outer = json.loads(body)
    assert body == json.dumps(outer, ensure_ascii=False, separators=(",", ":")).encode()
    assert outer["resource_type"] == "encrypt-resource"
    assert outer["resource"]["associated_data"] == "transaction"
    assert len(outer["resource"]["nonce"]) == 12
    assert headers["Wechatpay-Timestamp"] == str(NOW)
    assert headers["Content-Type"] == "application/json"


# --- configuration ----------------------------------------------------------------------


def test_the_config_repr_never_shows_the_apiv3_key(config):
    assert APIV3_KEY.decode() not in repr(config)
    assert "redacted" in repr(config) and PUB_KEY_ID in repr(config)


def test_builds_the_config_from_its_secret(keys):
    pem = keys.new.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    config = WechatPayConfig.from_secret({
        "mchid": MCHID, "appid": APPID, "apiv3_key": APIV3_KEY.decode(),
        "platform_public_keys": {PUB_KEY_ID: pem.decode()}})
    body, headers = notify(keys)
    assert verify_notification(body, headers, config, NOW).mchid == MCHID


def test_refuses_an_apiv3_key_that_is_not_32_bytes(keys):
    with pytest.raises(ValueError, match="32 bytes"):
        WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=b"short",
                        platform_keys={PUB_KEY_ID: keys.new.public_key()})


def test_the_failure_answer_is_wechats_fail_body():
    assert FAIL_BODY == {"code": "FAIL", "message": "失败"}


def test_builds_the_config_from_a_platform_certificate_in_the_secret(keys):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    start = datetime.datetime.fromtimestamp(NOW - 86_400, datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(keys.old.public_key()).serial_number(int(CERT_SERIAL, 16))
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=365))
            .sign(keys.old, SHA256()))
    config = WechatPayConfig.from_secret({
        "mchid": MCHID, "appid": APPID, "apiv3_key": APIV3_KEY.decode(),
        "platform_public_keys": {CERT_SERIAL: cert.public_bytes(Encoding.PEM).decode()}})
    body, headers = notify(keys, key=keys.old, serial=CERT_SERIAL)
    assert verify_notification(body, headers, config, NOW).appid == APPID


# --- hostile sizes: each a 4xx-class refusal, never an unexpected exception ---------------


@pytest.mark.parametrize("digits", [13, 4_301, 5_000])
def test_rejects_a_timestamp_of_too_many_digits(keys, config, digits):
    body, headers = notify(keys)
    headers = resign(body, {**headers, "Wechatpay-Timestamp": "1" * digits}, keys.new)
    with pytest.raises(SignatureInvalid, match="is not an integer of at most 12 digits"):
        verify_notification(body, headers, config, NOW)


def encrypted(keys: Keys, plain: bytes, nonce: str) -> tuple[bytes, dict[str, str]]:
    """A notification signed by the platform whose resource is ``plain`` under ``nonce``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    body, headers = notify(keys)
    outer = json.loads(body)
    sealed = AESGCM(APIV3_KEY).encrypt(nonce.encode() if len(nonce) == 12 else b"0" * 12, plain,
                                       b"transaction")
    outer["resource"].update(ciphertext=base64.b64encode(sealed).decode(), nonce=nonce)
    new_body = json.dumps(outer, ensure_ascii=False, separators=(",", ":")).encode()
    return new_body, resign(new_body, headers, keys.new)


@pytest.mark.parametrize("nonce", ["", "abc", "0123456789a", "0123456789abc", "n" * 200],
                         ids=["empty", "3", "11", "13", "200"])
def test_rejects_a_resource_nonce_that_is_not_twelve_bytes_before_decrypting(keys, config,
                                                                           nonce):
    body, headers = encrypted(keys, json.dumps(resource()).encode(), nonce)
    with pytest.raises(SignatureInvalid, match=f"resource nonce is {len(nonce)} bytes, not 12"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_five_thousand_digit_integer_inside_the_decrypted_resource(keys, config):
    plain = json.dumps(resource()).replace('"total": 2000', '"total": ' + "9" * 5000).encode()
    assert b"9" * 5000 in plain
    body, headers = encrypted(keys, plain, "0123456789ab")
    with pytest.raises(ValidationFailed, match="resource is not JSON: invalid JSON: an integer"):
        verify_notification(body, headers, config, NOW)


def test_rejects_a_five_thousand_digit_integer_in_the_signed_outer_body(keys, config):
    body, headers = edited(keys, lambda o: o.update(create_time=0))
    huge = body.replace(b'"create_time":0', b'"create_time":' + b"7" * 5000)
    with pytest.raises(ValidationFailed, match="body is not JSON"):
        verify_notification(huge, resign(huge, headers, keys.new), config, NOW)


def test_rejects_a_deeply_nested_signed_body_as_a_validation_failure(keys, config):
    body, headers = notify(keys)
    deep = body[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ValidationFailed, match="body is not JSON: invalid JSON: nested"):
        verify_notification(deep, resign(deep, headers, keys.new), config, NOW)
