"""GET /v1/admin/anomalies through the app on moto: a payment left unbilled is found, with
its link; finance key only; a bad period is 400."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.functional.test_end_to_end import create_and_open, notify

DAY = "2026-06-15"


def test_a_payment_never_billed_is_listed_with_its_note(world, client):
    code, order = create_and_open(world, client)
    assert notify(world, client, order).status_code == 204  # its issuance job never runs
    world.clock.now += timedelta(hours=2)
    r = client.http.get(f"/v1/admin/anomalies?from={DAY}&to={DAY}",
                        headers=world.finance_auth())
    assert r.status_code == 200, r.body
    [anomaly] = json.loads(r.body)["anomalies"]
    assert anomaly["kind"] == "unbilled_payment"
    assert anomaly["records"] == [{"type": "note", "payment_code": code,
                                   "url": f"http://testserver/pay/{code}"}]


def test_anomalies_take_the_finance_key_and_a_period(world, client):
    path = f"/v1/admin/anomalies?from={DAY}&to={DAY}"
    assert client.http.get(path).status_code == 401
    assert client.http.get(path, headers=world.auth()).status_code == 403
    r = client.http.get("/v1/admin/anomalies?from=2026-01-01&to=2026-06-15",
                        headers=world.finance_auth())
    assert r.status_code == 400 and "to" in json.loads(r.body)["error"]["fields"]
