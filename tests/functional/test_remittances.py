"""Remittance (划款) through the app on moto: the contract's object, instructing, the bank's
file, confirmation, account settings; finance key only."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.reconciliation import ChannelDay, ReconLine
from tests.functional.test_end_to_end import create_and_open, notify

DATE = "2026-06-15"  # tests/world.py's pinned day


def paid_and_reconciled(world, client) -> str:
    code, order = create_and_open(world, client)
    assert notify(world, client, order).status_code == 204
    for channel in ("wechatpay", "alipay", "unionpay", "bank"):
        world.deps.reconciliations.put_day(ChannelDay(date=DATE, channel=channel,
                                                      status="balanced"))
    world.deps.reconciliations.put_line(ReconLine(
        date=DATE, channel="wechatpay", line_id="pay-1", kind="payment", status="matched",
        channel_txn_id="1", payment_code=code, amount_fen=10000, recorded_fen=10000,
        fee_fen=60, recorded_status="applied"))
    return code


def post(client, path, headers, body=None):
    return client.http.post(path, headers={**headers, "Content-Type": "application/json"},
                            body=json.dumps(body) if body is not None else "")


def test_a_day_is_shown_instructed_filed_and_confirmed(world, client):
    paid_and_reconciled(world, client)
    auth = world.finance_auth()
    r = client.http.get(f"/v1/admin/remittances/{DATE}", headers=auth)
    assert r.status_code == 200, r.body
    view = json.loads(r.body)
    assert view["date"] == DATE and view["state"] == "pending"
    [entry] = view["remittances"]
    assert set(entry) == {"unit_code", "account", "total_fen", "items", "status"}
    assert (entry["account"], entry["total_fen"]) == ("treasury", 10000)
    r = post(client, f"/v1/admin/remittances/{DATE}/instruct", auth)
    assert r.status_code == 201, r.body
    assert post(client, f"/v1/admin/remittances/{DATE}/instruct", auth).status_code == 200
    r = client.http.get(f"/v1/admin/remittances/{DATE}/instruction.csv", headers=auth)
    assert r.status_code == 200 and "gb18030" in r.headers["Content-Type"]
    assert r.body.decode("gb18030").splitlines()[-1].startswith("TOTAL,1,100.00,10000,SHA256:")
    body = {"unit_code": entry["unit_code"], "account": "treasury", "bank_reference": "B1"}
    r = post(client, f"/v1/admin/remittances/{DATE}/confirm", auth, body)
    assert r.status_code == 200, r.body
    assert json.loads(r.body)["state"] == "confirmed"
    view = json.loads(client.http.get(f"/v1/admin/remittances/{DATE}", headers=auth).body)
    assert view["remittances"][0]["status"] == "confirmed"


def test_an_account_set_for_a_unit_takes_its_money_to_the_special_account(world, client):
    paid_and_reconciled(world, client)
    auth = world.finance_auth()
    unit = world.stack["units"][0]["unit_code"]
    r = client.http.put(f"/v1/admin/units/{unit}/remittance-account",
                        headers={**auth, "Content-Type": "application/json"},
                        body=json.dumps({"account": "special"}))
    assert r.status_code == 200, r.body
    view = json.loads(client.http.get(f"/v1/admin/remittances/{DATE}", headers=auth).body)
    assert [e["account"] for e in view["remittances"]] == ["special"]
    r = client.http.put(f"/v1/admin/units/{unit}/remittance-account",
                        headers={**auth, "Content-Type": "application/json"},
                        body=json.dumps({"account": "bank"}))
    assert r.status_code == 400 and "account" in json.loads(r.body)["error"]["fields"]


def test_a_day_not_reconciled_is_409_and_nothing_is_filed(world, client):
    r = post(client, f"/v1/admin/remittances/{DATE}/instruct", world.finance_auth())
    assert r.status_code == 409
    assert json.loads(r.body)["error"]["code"] == "day_not_reconciled"
    r = client.http.get(f"/v1/admin/remittances/{DATE}/instruction.csv",
                        headers=world.finance_auth())
    assert r.status_code == 404


@pytest.mark.parametrize("path", [f"/v1/admin/remittances/{DATE}",
                                  f"/v1/admin/remittances/{DATE}/instruction.csv"])
def test_only_the_finance_key_sees_remittances(world, client, path):
    assert client.http.get(path).status_code == 401
    assert client.http.get(path, headers=world.auth()).status_code == 403


def test_a_bad_date_is_400(world, client):
    r = client.http.get("/v1/admin/remittances/2026-02-30", headers=world.finance_auth())
    assert r.status_code == 400 and "date" in json.loads(r.body)["error"]["fields"]


def test_a_city_key_cannot_read_the_days_bank_file_of_units_outside_its_city(world, client):
    from chalicelib.services.finance_keys import create_finance_key

    paid_and_reconciled(world, client)
    assert post(client, f"/v1/admin/remittances/{DATE}/instruct",
                world.finance_auth()).status_code == 201
    _, wuhu = create_finance_key(world.deps, scope="3402", label="芜湖市财政局")
    r = client.http.get(f"/v1/admin/remittances/{DATE}/instruction.csv",
                        headers={"Authorization": f"Bearer {wuhu}"})
    assert r.status_code == 403, r.body
    assert json.loads(r.body)["error"]["code"] == "remittance_scope"
    assert world.stack["units"][0]["unit_code"].encode() not in r.body
