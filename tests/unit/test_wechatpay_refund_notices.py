"""verify_event: refund notices (REFUND.*) are read, and a payment notice keeps every check."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.verify import WechatRefund, WechatTransaction, verify_event
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from devstack.builders.wechatpay import (
    refund_resource,
    sign_notification,
    transaction_resource,
)

NOW = 1_772_416_800
MCHID, APPID, KEY = "1900009191", "wx8888888888888888", b"0123456789abcdefABCDEF0123456789"
SERIAL = "PUB_KEY_ID_0114232026112200000000000001"
PLATFORM = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CONFIG = WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=KEY,
                         platform_keys={SERIAL: PLATFORM.public_key()})


def refund(**changes) -> dict:
    return {**refund_resource(mchid=MCHID, out_trade_no="34010026000000000017aB3dE9",
                              transaction_id="4200000001", out_refund_no="R" + "0" * 31,
                              refund_id="50300000001", refund_fen=10000, total_fen=10000,
                              success_time="2026-03-02T10:00:00+08:00"), **changes}


def notice(resource: dict, event_type: str) -> tuple[bytes, dict[str, str]]:
    return sign_notification(resource, event_type=event_type, config_apiv3_key=KEY,
                             platform_private_key=PLATFORM, serial=SERIAL, now=NOW)


def resigned(body: bytes, headers: dict[str, str]) -> dict[str, str]:
    message = b"%d\n%s\n%s\n" % (NOW, headers["Wechatpay-Nonce"].encode(), body)
    return {**headers, "Wechatpay-Signature": base64.b64encode(
        PLATFORM.sign(message, PKCS1v15(), SHA256())).decode()}


def test_a_refund_notice_is_read_without_an_appid():
    event = verify_event(*notice(refund(), "REFUND.SUCCESS"), CONFIG, NOW)
    assert isinstance(event, WechatRefund)
    assert (event.out_refund_no, event.refund_id, event.refund_status, event.refund_fen) == (
        "R" + "0" * 31, "50300000001", "SUCCESS", 10000)


def test_a_refund_notice_to_another_merchant_is_refused():
    with pytest.raises(SignatureInvalid, match="mchid '1900000001' is not ours"):
        verify_event(*notice(refund(mchid="1900000001"), "REFUND.SUCCESS"), CONFIG, NOW)


def test_a_refund_notice_without_its_numbers_is_malformed():
    broken = refund()
    del broken["out_refund_no"]
    with pytest.raises(ValidationFailed, match="out_refund_no"):
        verify_event(*notice(broken, "REFUND.SUCCESS"), CONFIG, NOW)


def test_a_payment_notice_still_needs_our_appid():
    resource = transaction_resource(mchid=MCHID, appid=APPID, out_trade_no="N1",
                                    transaction_id="42", amount_fen=1,
                                    success_time="2026-03-02T10:00:00+08:00")
    assert isinstance(verify_event(*notice(resource, "TRANSACTION.SUCCESS"), CONFIG, NOW),
                      WechatTransaction)
    del resource["appid"]
    with pytest.raises(ValidationFailed, match="appid"):
        verify_event(*notice(resource, "TRANSACTION.SUCCESS"), CONFIG, NOW)


@pytest.mark.parametrize(("event_type", "original_type"), [
    ("REFUND.SUCCESS", "transaction"), ("TRANSACTION.SUCCESS", "refund")])
def test_an_event_type_that_contradicts_the_original_type_is_refused(event_type, original_type):
    body, headers = notice(refund(), event_type)
    outer = json.loads(body)
    outer["resource"]["original_type"] = original_type
    body = json.dumps(outer, ensure_ascii=False, separators=(",", ":")).encode()
    with pytest.raises(SignatureInvalid, match="does not match original_type"):
        verify_event(body, resigned(body, headers), CONFIG, NOW)
