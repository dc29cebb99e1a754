"""The finance console's units pages, on the admin API's use cases: a finance admin creates a
unit (its key shown once), gives it a fee item with a standard and a number range, adds and
revokes keys with confirmation; the unit's note is then checked against the standard; an
auditor sees the pages without forms and is refused every change."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.functional.test_console_sign_in import post, sign_in
from tests.functional.test_finance_console_people import get


def test_a_finance_admin_sets_up_a_unit_from_nothing_and_its_key_makes_a_note(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/units", {
        "unit_code": "340100077", "name": "合肥市测试收费所", "kind": "collecting",
        "region_code": "340100", "bill_kind": "0301"}, cookies, token)
    html = r.body.decode()
    assert r.status_code == 200 and "已创建单位 340100077" in html
    api_key = html.split('class="code" style="font-size:16px;word-break:break-all">')[1] \
        .split("<")[0]
    r = post(client, "/console/finance/units/340100077/fee-items", {
        "item_code": "103099900001", "name": "测试工本费", "unit": "本", "bill_kind": "0301",
        "standard": "15.00"}, cookies, token)
    assert r.status_code == 200 and "已新增收费项目 103099900001" in r.body.decode()
    r = post(client, "/console/finance/units/340100077/ranges", {"bill_kind": "0301",
                                                                   "count": "100"},
             cookies, token)
    assert r.status_code == 200 and "已分配号段" in r.body.decode()
    detail = get(client, "/console/finance/units/340100077", cookies).body.decode()
    assert "15.00" in detail and "测试工本费" in detail and ">100<" in detail
    note = {"payer": {"name": "王五", "type": "individual"}, "total_fen": 1500,
            "items": [{"item_code": "103099900001", "name": "测试工本费", "quantity": 1,
                       "standard_fen": 1500, "amount_fen": 1500}]}
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    assert client.http.post("/v1/notes", headers=headers,
                            body=json.dumps(note)).status_code == 201
    audit = get(client, "/console/finance/audit?unit_code=340100077", cookies).body.decode()
    assert "person:finance.admin@" in audit


def test_a_wrong_fee_item_is_said_beside_its_field(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/units/340100001/fee-items", {
        "item_code": "103040100109", "name": "", "bill_kind": "0301", "standard": "1.234"},
        cookies, token)
    html = r.body.decode()
    assert r.status_code == 400 and 'id="e-i-standard"' in html


def test_keys_are_added_and_revoked_only_with_the_confirmation_box(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = post(client, "/console/finance/units/340100002/keys", {}, cookies, token)
    assert r.status_code == 400
    r = post(client, "/console/finance/units/340100002/keys", {"confirm": "yes"}, cookies, token)
    html = r.body.decode()
    assert r.status_code == 200 and "仅显示这一次" in html
    new_key = html.split('word-break:break-all">')[1].split("<")[0]
    key_id = html.split("生成新密钥 ")[1].split("；")[0]
    auth = {"Authorization": f"Bearer {new_key}"}
    assert client.http.get("/v1/payment-exceptions", headers=auth).status_code == 200
    world.clock.now += timedelta(seconds=1)
    r = post(client, f"/console/finance/units/340100002/keys/{key_id}/revoke",
             {"confirm": "yes"}, cookies, token)
    assert r.status_code == 200 and "已吊销" in r.body.decode()
    world.clock.now += timedelta(seconds=1)  # a key revoked at t is refused from t on
    assert client.http.get("/v1/payment-exceptions", headers=auth).status_code == 401


def test_an_auditor_sees_units_without_forms_and_every_change_is_refused(client, world):
    cookies, token = sign_in(client, world, "finance_auditor")
    listing = get(client, "/console/finance/units", cookies).body.decode()
    assert "340100001" in listing and "新建单位" not in listing
    detail = get(client, "/console/finance/units/340100001", cookies).body.decode()
    assert "不动产登记费" in detail and "分配号段" not in detail
    r = post(client, "/console/finance/units/340100001/ranges", {"bill_kind": "0301",
                                                                   "count": "10"},
             cookies, token)
    assert r.status_code == 403 and "审计员只读" in r.body.decode()
