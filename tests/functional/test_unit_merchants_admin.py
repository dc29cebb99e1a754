"""A collecting unit's own merchant number, set by the finance department only (the admin API
under a finance key, or a finance admin in the console): shown on the unit, audited, scoped to
the key's region; refused for channels where it is not supported; a token never echoed."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.services.finance_keys import create_finance_key
from chalicelib.services.merchants import open_token
from tests.functional.support import assert_error, body_of
from tests.functional.test_console_sign_in import post, sign_in
from tests.functional.test_finance_console_people import get

UNIT = "/v1/admin/units/340100001"
WECHAT = f"{UNIT}/merchants/wechatpay"
PAGE = "/console/finance/units/340100001"


def _put(client, world, url, body, headers=None):
    return client.http.put(url, headers=headers or world.finance_auth(), body=json.dumps(body))


def test_a_sub_merchant_is_set_shown_on_the_unit_audited_and_removed(world, client):
    r = _put(client, world, WECHAT, {"sub_mchid": "1900000109", "sub_appid": "wx0123456789abcdef"})
    assert r.status_code == 200, r.body
    merchants = body_of(r)["unit"]["merchants"]
    assert merchants == [{"channel": "wechatpay", "sub_mchid": "1900000109",
                          "sub_appid": "wx0123456789abcdef", "since": "2026-06-15T10:00:00+08:00"}]
    detail = body_of(client.http.get(UNIT, headers=world.finance_auth()))
    assert detail["unit"]["merchants"] == merchants
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_merchant" and event.client.startswith("finance:key_")
    assert event.detail["sub_mchid"] == "1900000109" and event.detail["previous"] is None
    world.clock.now += timedelta(minutes=1)  # the audit log lists the newest first
    r = client.http.delete(WECHAT, headers=world.finance_auth())
    assert r.status_code == 200 and body_of(r)["unit"]["merchants"] == []
    assert world.deps.units.get("340100001").merchant("wechatpay") is None
    assert world.deps.audit.query(bill_id="admin#unit#340100001")[0].action == "remove_merchant"
    assert assert_error(client.http.delete(WECHAT, headers=world.finance_auth()),
                        404)["code"] == "merchant_not_found"


def test_a_unit_without_its_own_merchant_shows_none(world, client):
    detail = body_of(client.http.get(UNIT, headers=world.finance_auth()))
    assert detail["unit"]["merchants"] == []


def test_a_wrong_sub_merchant_is_a_400_naming_each_field_and_changes_nothing(world, client):
    for body, fields in (({"sub_mchid": "19000x0109"}, {"sub_mchid"}),
                         ({}, {"sub_mchid"}),
                         ({"sub_mchid": 1900000109}, {"sub_mchid"}),
                         ({"sub_mchid": "1900000109", "sub_appid": "wxNOTHEX"}, {"sub_appid"}),
                         ({"sub_mchid": "1900000109", "mchid": "1"}, {"mchid"})):
        error = assert_error(_put(client, world, WECHAT, body), 400)
        assert set(error["fields"]) == fields, (body, error)
    assert_error(client.http.put(WECHAT, headers=world.finance_auth(), body="{"), 400)
    assert world.deps.units.get("340100001").merchants == ()
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []


def test_channels_without_own_merchants_and_unknown_ones_are_refused_with_a_clear_400(
        world, client):
    for channel, code in (("bank", "channel_not_supported"), ("paypal", "validation_failed")):
        r = _put(client, world, f"{UNIT}/merchants/{channel}",
                 {"seller_id": "2088000000000001", "app_auth_token": "202606BBsecrettoken0001"})
        error = assert_error(r, 400)
        assert error["code"] == code, (channel, error)
        assert "202606BBsecrettoken0001" not in r.body.decode()
    assert world.deps.units.get("340100001").merchants == ()


def test_an_alipay_merchant_with_wrong_fields_is_refused_naming_each_and_never_the_token(
        world, client):
    token = "202606BBsecrettoken0001"
    for body, fields in (({"seller_id": "2088000000000001", "app_auth_token": token},
                          {"auth_app_id"}),
                         ({"seller_id": "1088", "auth_app_id": "2021",
                           "app_auth_token": "short"},
                          {"seller_id", "auth_app_id", "app_auth_token"}),
                         ({"seller_id": "2088000000000001", "auth_app_id": "2021000000000001",
                           "app_auth_token": token, "sub_mchid": "1900000109"}, {"sub_mchid"}),
                         ({"seller_id": "2088000000000001", "auth_app_id": "2021000000000001",
                           "app_auth_token": token + " x"}, {"app_auth_token"})):
        r = _put(client, world, f"{UNIT}/merchants/alipay", body)
        error = assert_error(r, 400)
        assert set(error["fields"]) == fields, (body, error)
        assert token not in r.body.decode()
    assert world.deps.units.get("340100001").merchants == ()
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []


def test_a_reimbursing_unit_has_no_merchant(world, client):
    r = _put(client, world, "/v1/admin/units/340100901/merchants/wechatpay",
             {"sub_mchid": "1900000109"})
    assert assert_error(r, 409)["code"] == "not_a_collecting_unit"


def test_only_a_finance_key_of_the_units_region_may_set_or_remove_a_merchant(world, client):
    body = json.dumps({"sub_mchid": "1900000109"})
    for method in ("PUT", "DELETE"):
        r = client.http.request(method, WECHAT, body=body, headers=world.auth())
        assert assert_error(r, 403)["code"] == "not_a_finance_key"
        r = client.http.request(method, WECHAT, body=body,
                                headers={"Content-Type": "application/json"})
        assert r.status_code == 401
        _, wuhu = create_finance_key(world.deps, scope="3402", label="芜湖市财政局")
        r = client.http.request(method, WECHAT, body=body, headers={
            "Authorization": f"Bearer {wuhu}", "Content-Type": "application/json"})
        assert assert_error(r, 404)["code"] == "unit_not_found"
    assert world.deps.units.get("340100001").merchants == ()


def test_an_alipay_merchant_is_set_with_its_token_sealed_shown_audited_and_removed(
        world, client):
    """第三方应用授权: seller_id, auth_app_id and the app_auth_token; the token is sealed so
    that only its unit and channel open it, and the API, the audit log and the page show only
    that one is set."""
    from tests.functional.test_alipay_isv import authorised

    token = authorised(world, "2088000000000101")["app_auth_token"]
    r = _put(client, world, f"{UNIT}/merchants/alipay",
             {"seller_id": "2088000000000101", "auth_app_id": "2021000000000101",
              "app_auth_token": token})
    assert r.status_code == 200, r.body
    assert token not in r.body.decode()
    [shown] = body_of(r)["unit"]["merchants"]
    assert shown == {"channel": "alipay", "seller_id": "2088000000000101",
                     "auth_app_id": "2021000000000101", "app_auth_token_set": True,
                     "since": "2026-06-15T10:00:00+08:00",
                     "token_until": "2027-06-01T00:00:00+08:00",  # Alipay's auth_end
                     "token_invalid": None}  # Alipay holds it (services/merchant_checks)
    stored = world.deps.units.get("340100001").merchant("alipay")
    assert stored is not None and token not in stored.sealed_token and token not in repr(stored)
    assert open_token(world.deps, "340100001", "alipay", stored.sealed_token) == token
    import pytest
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        open_token(world.deps, "340100002", "alipay", stored.sealed_token)
    detail = client.http.get(UNIT, headers=world.finance_auth())
    assert token not in detail.body.decode() and stored.sealed_token not in detail.body.decode()
    assert body_of(detail)["unit"]["merchants"][0]["app_auth_token_set"] is True
    r = client.http.delete(f"{UNIT}/merchants/alipay", headers=world.finance_auth())
    assert r.status_code == 200 and body_of(r)["unit"]["merchants"] == []
    assert world.deps.units.get("340100001").merchants == ()
    events = world.deps.audit.query(bill_id="admin#unit#340100001")
    by_action = {e.action: e for e in events}  # one clock second: in no particular order
    assert sorted(by_action) == ["remove_merchant", "set_merchant"] and len(events) == 2
    assert all(e.client.startswith("finance:key_") for e in events)
    assert by_action["set_merchant"].detail["channel"] == "alipay"
    assert by_action["remove_merchant"].detail["previous"]["seller_id"] == "2088000000000101"
    kept = json.dumps([e.detail for e in events], ensure_ascii=False)
    assert token not in kept and stored.sealed_token not in kept
    assert "2088000000000101" in kept
    r = client.http.delete(f"{UNIT}/merchants/alipay", headers=world.finance_auth())
    assert assert_error(r, 404)["code"] == "merchant_not_found"


def test_a_finance_admin_sets_and_removes_the_sub_merchant_on_the_unit_page(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    page = get(client, PAGE, cookies).body.decode()
    assert "收款商户号" in page and "本部署的商户号" in page
    r = post(client, f"{PAGE}/merchants/wechatpay",
             {"action": "set", "sub_mchid": "19000"}, cookies, token)
    assert r.status_code == 400 and 'aria-invalid="true" aria-describedby="e-mch-sub_mchid"' \
        in r.body.decode()
    r = post(client, f"{PAGE}/merchants/wechatpay",
             {"action": "set", "sub_mchid": "1900000109"}, cookies, token)
    assert r.status_code == 200 and "已保存微信支付子商户号 1900000109" in r.body.decode()
    assert "1900000109（特约商户）" in r.body.decode()
    assert world.deps.units.get("340100001").merchant("wechatpay").merchant_id == "1900000109"
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_merchant" and event.client.startswith("person:finance.admin@")
    r = post(client, f"{PAGE}/merchants/wechatpay", {"action": "remove"}, cookies, token)
    assert r.status_code == 200 and "已改回本部署的商户号" in r.body.decode()
    assert world.deps.units.get("340100001").merchants == ()


def test_an_auditor_sees_the_merchant_numbers_but_may_not_change_them(client, world):
    cookies, token = sign_in(client, world, "finance_auditor")
    page = get(client, PAGE, cookies).body.decode()
    assert "收款商户号" in page and "保存微信支付商户号" not in page
    r = post(client, f"{PAGE}/merchants/wechatpay",
             {"action": "set", "sub_mchid": "1900000109"}, cookies, token)
    assert r.status_code == 403
    assert world.deps.units.get("340100001").merchants == ()


def test_a_console_form_without_its_csrf_token_changes_nothing(client, world):
    cookies, _ = sign_in(client, world, "finance_admin")
    r = post(client, f"{PAGE}/merchants/wechatpay",
             {"action": "set", "sub_mchid": "1900000109"}, cookies, "wrong-token")
    assert r.status_code == 403
    assert world.deps.units.get("340100001").merchants == ()
