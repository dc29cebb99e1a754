"""WeChat Pay notifications in service-provider mode (服务商): the same signature and APIv3
decryption as a direct merchant's, then the partner resource's shape: ``sp_mchid``/``sp_appid``
must be ours, ``sub_mchid`` says which sub-merchant was paid; a resource naming both shapes, or
a sub-merchant without a provider, is refused."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.verify import verify_event, verify_notification
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from devstack.builders.wechatpay import partner_transaction_resource, refund_resource
from tests.unit.test_wechatpay_verifier import (
    APIV3_KEY,
    APPID,
    MCHID,
    NOW,
    PUB_KEY_ID,
    Keys,
    notify,
)

SUB_MCHID = "1900000109"


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.generate()


@pytest.fixture(scope="module")
def config(keys: Keys) -> WechatPayConfig:
    return WechatPayConfig(mchid=MCHID, appid=APPID, apiv3_key=APIV3_KEY,
                           platform_keys={PUB_KEY_ID: keys.new.public_key()})


def partner(**changes: Any) -> dict[str, Any]:
    res = partner_transaction_resource(
        sp_mchid=MCHID, sp_appid=APPID, sub_mchid=SUB_MCHID, sub_appid="wx0123456789abcdef",
        out_trade_no="N20250101000001", transaction_id="4200000848202101120290526543",
        amount_fen=2000, success_time="2025-10-09T16:53:20+08:00")
    res.update(changes)
    return {k: v for k, v in res.items() if v is not None}


def test_a_partner_notification_names_the_sub_merchant_paid(keys, config):
    txn = verify_notification(*notify(keys, res=partner()), config, NOW)
    assert (txn.mchid, txn.appid, txn.sub_mchid, txn.sub_appid, txn.amount_fen) == (
        MCHID, APPID, SUB_MCHID, "wx0123456789abcdef", 2000)


def test_a_direct_notification_names_no_sub_merchant(keys, config):
    txn = verify_notification(*notify(keys), config, NOW)
    assert (txn.mchid, txn.sub_mchid) == (MCHID, "")


@pytest.mark.parametrize("changes,error", [
    ({"sp_mchid": "1230000199"}, SignatureInvalid),
    ({"sp_appid": "wx9999999999999999"}, SignatureInvalid),
    ({"mchid": MCHID}, SignatureInvalid),  # both shapes at once
    ({"sp_mchid": None}, SignatureInvalid),  # a sub-merchant without its provider
    ({"sub_mchid": None}, ValidationFailed),
    ({"sub_mchid": "19000x0109"}, ValidationFailed),
    ({"sub_mchid": 1900000109}, ValidationFailed),
])
def test_a_partner_notification_not_naming_us_as_provider_or_a_sub_merchant_is_refused(
        keys, config, changes, error):
    with pytest.raises(error):
        verify_notification(*notify(keys, res=partner(**changes)), config, NOW)


def test_a_partner_refund_notice_names_its_sub_merchant(keys, config):
    from devstack.builders.wechatpay import sign_notification

    res = refund_resource(mchid=MCHID, out_trade_no="N1", transaction_id="4200",
                          out_refund_no="R1", refund_id="5000", refund_fen=2000, total_fen=2000,
                          success_time="2025-10-09T16:53:20+08:00", sub_mchid=SUB_MCHID)
    assert "mchid" not in res and res["sp_mchid"] == MCHID
    body, headers = sign_notification(res, event_type="REFUND.SUCCESS",
                                      config_apiv3_key=APIV3_KEY, platform_private_key=keys.new,
                                      serial=PUB_KEY_ID, now=NOW)
    refund = verify_event(body, headers, config, NOW)
    assert (refund.mchid, refund.sub_mchid) == (MCHID, SUB_MCHID)  # type: ignore[union-attr]
