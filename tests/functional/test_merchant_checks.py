"""The daily check of the units' merchant credentials (``app.check_merchant_credentials``), on
pinned clocks, against the Alipay simulator and moto's CloudWatch: Alipay is asked whether each
unit's authorisation still holds; what it says is kept by one conditional write (a finance
admin's change meanwhile wins); Alipay unreachable keeps everything as it was; each unit with an
expiring, expired or lost credential is audited once a day and counted in the metric the
operations alarm watches."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.adapters.aws import client as aws_client
from chalicelib.domain.merchants import UnitMerchant
from devstack.sim_alipay import AlipayServer
from tests.functional.channel_support import run_job
from tests.functional.support import body_of
from tests.functional.test_alipay_isv import SELLER, UNIT, authorised, give_alipay_merchant, sent

JOB = "check_merchant_credentials"
WHO = "job:check_merchant_credentials"
QUERY = "alipay.open.auth.token.app.query"
NEAR_END = "2027-05-21T08:00:00+08:00"  # 10 days (and 16 h) before the simulator's auth_end


def at(world, moment: str) -> None:
    world.clock.now = datetime.fromisoformat(moment)


def published(world) -> list[float]:
    """The MerchantCredentialsDue datapoints of the day around the world's clock, oldest first."""
    now = world.clock.now
    answer = aws_client("cloudwatch", world.deps.settings).get_metric_statistics(
        Namespace="FiscalBills", MetricName="MerchantCredentialsDue",
        Dimensions=[{"Name": "Stage", "Value": world.deps.settings.stage}],
        StartTime=now - timedelta(hours=12), EndTime=now + timedelta(hours=12), Period=60,
        Statistics=["Maximum"])
    return [p["Maximum"] for p in sorted(answer["Datapoints"], key=lambda p: p["Timestamp"])]


def events(world, action: str, unit: str = UNIT) -> list:
    return [e for e in world.deps.audit.query(unit_code=unit) if e.action == action]


def warnings(world, client, unit: str = UNIT) -> list[str]:
    r = client.http.get(f"/v1/admin/units/{unit}", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    return [w["code"] for w in body_of(r)["warnings"] if w["code"].startswith("merchant_")]


def alipay_of(world, unit: str = UNIT) -> UnitMerchant:
    world.deps.units.forget()
    mine = world.deps.units.get(unit).merchant("alipay")
    assert mine is not None
    return mine


def test_an_authorisation_ten_days_from_its_end_is_asked_about_audited_once_a_day_and_counted(
        world, client):
    give_alipay_merchant(world, client)
    kept = alipay_of(world)
    at(world, NEAR_END)
    run_job(JOB)
    assert sent(world, QUERY)[-1] == {"app_auth_token": authorised(world)["app_auth_token"]}
    assert alipay_of(world) == kept  # Alipay says what it said: nothing written
    assert events(world, "check_merchant") == []
    [audited] = events(world, "merchant_warning")
    assert (audited.client, audited.outcome, audited.at[:10]) == (WHO, "warning", "2027-05-21")
    [warned] = audited.detail["warnings"]
    assert (warned["code"], warned["days_left"]) == ("merchant_token_expiring", 10)
    assert kept.sealed_token not in json.dumps(audited.detail, ensure_ascii=False)
    assert warnings(world, client) == ["merchant_token_expiring"]
    assert published(world) == [1.0]

    world.clock.now += timedelta(hours=2)  # run again the same day (a retry): no second event
    run_job(JOB)
    assert len(events(world, "merchant_warning")) == 1
    world.clock.now += timedelta(days=1)  # the next day: one more
    run_job(JOB)
    assert [e.at[:10] for e in events(world, "merchant_warning")] == ["2027-05-22",
                                                                       "2027-05-21"]


def test_an_end_alipay_moved_is_kept_by_the_job_and_audited_as_its_change(world, client):
    give_alipay_merchant(world, client)
    read = alipay_of(world)
    earlier = replace(read, token_until="2026-07-01T00:00:00+08:00")
    assert world.deps.units.replace_merchant(UNIT, earlier, read.sealed_token)
    assert warnings(world, client) == ["merchant_token_expiring"]
    run_job(JOB)
    assert alipay_of(world) == read  # Alipay's auth_end again: 2027-06-01
    [change] = events(world, "check_merchant")
    assert change.client == WHO and change.detail["token_until"] == "2027-06-01T00:00:00+08:00"
    assert change.detail["previous"]["token_until"] == "2026-07-01T00:00:00+08:00"
    assert warnings(world, client) == [] and events(world, "merchant_warning") == []
    assert published(world) == [0.0]


def test_an_authorisation_the_merchant_cancelled_is_marked_warned_and_counted_until_saved_again(
        world, client):
    give_alipay_merchant(world, client)
    r = world.channels.handle("POST", "/alipay/_sim/app-auth-cancel", {},
                              json.dumps({"seller_id": SELLER}).encode())
    assert r.status == 200, r.body
    run_job(JOB)
    gone = alipay_of(world)
    assert gone.token_invalid == "2026-06-15T10:00:00+08:00"
    [change] = events(world, "check_merchant")
    assert change.client == WHO and change.detail["token_invalid"] == gone.token_invalid
    assert warnings(world, client) == ["merchant_token_invalid"]
    [audited] = events(world, "merchant_warning")
    assert [w["code"] for w in audited.detail["warnings"]] == ["merchant_token_invalid"]
    assert published(world) == [1.0]
    from tests.functional.test_console_sign_in import sign_in
    from tests.functional.test_finance_console_people import get

    cookies, _ = sign_in(client, world, "finance_auditor")  # the finance console's audit page
    page = get(client, f"/console/finance/audit?unit_code={UNIT}", cookies).body.decode()
    assert re.search(r"商户证书或授权到期提醒</td><td>提醒", page), page
    assert re.search(r"核验支付宝应用授权</td><td>成功", page) and WHO in page

    world.clock.now += timedelta(days=1)
    give_alipay_merchant(world, client)  # the unit authorised us again; the admin saved it
    assert alipay_of(world).token_invalid == "" and warnings(world, client) == []
    run_job(JOB)
    assert published(world)[-1] == 0.0


def test_alipay_unreachable_keeps_the_token_and_the_warning(world, client):
    give_alipay_merchant(world, client)
    kept = alipay_of(world)
    at(world, NEAR_END)
    world.channels.failing["alipay"] = 503
    run_job(JOB)
    del world.channels.failing["alipay"]
    assert alipay_of(world) == kept
    assert events(world, "check_merchant") == []
    assert warnings(world, client) == ["merchant_token_expiring"]
    assert len(events(world, "merchant_warning")) == 1
    assert published(world) == [1.0]


def test_a_finance_admins_put_while_the_job_asks_alipay_is_not_overwritten(
        world, client, monkeypatch):
    give_alipay_merchant(world, client)
    before = alipay_of(world)
    original = AlipayServer.auth_query
    calls: list[str] = []

    def meanwhile(self, name, token):
        calls.append(token)
        if len(calls) > 1:  # the admin's own PUT asks Alipay too: answered as always
            return original(self, name, token)
        give_alipay_merchant(world, client)  # the admin saves the merchant again, now
        self.s.cancelled.add(SELLER)  # ... and the job's answer would mark it invalid
        try:
            return original(self, name, token)
        finally:
            self.s.cancelled.discard(SELLER)

    monkeypatch.setattr(AlipayServer, "auth_query", meanwhile)
    run_job(JOB)
    assert len(calls) == 2
    after = alipay_of(world)
    assert after.token_invalid == "" and after.sealed_token != before.sealed_token
    assert events(world, "check_merchant") == []  # the job's answer was dropped
    assert warnings(world, client) == [] and published(world) == [0.0]


def test_the_metric_counts_units_with_any_expiring_or_lost_merchant_credential(world, client):
    give_alipay_merchant(world, client)
    units = [u.unit_code for u in world.deps.units.in_region("", 500)[0] if u.unit_code != UNIT]
    cert, wechat = units[0], units[1]
    world.deps.units.set_merchant(cert, UnitMerchant(  # a merId whose certificate ends soon
        "unionpay", "777290058110097", sealed_token="c2VhbGVk", cert_id="42",
        cert_until="2026-07-01T08:00:00+08:00"), world.clock())
    world.deps.units.set_merchant(wechat, UnitMerchant("wechatpay", "1900000109"), world.clock())
    run_job(JOB)
    assert published(world) == [1.0]  # the certificate; Alipay's ends in a year
    assert [w["code"] for w in events(world, "merchant_warning", cert)[0].detail["warnings"]] \
        == ["merchant_cert_expiring"]
    assert events(world, "merchant_warning") == [] == events(world, "merchant_warning", wechat)
    at(world, NEAR_END)  # a year on: the certificate has ended, the authorisation nears its end
    run_job(JOB)
    assert published(world) == [2.0]
    assert warnings(world, client, cert) == ["merchant_cert_expired"]


def test_the_simulator_answers_the_query_of_a_cancelled_authorisation_signed_as_alipay(world):
    """Through our own client (which verifies Alipay's signature over each answer): valid until
    the merchant cancels, then invalid, its other calls refused (20001); valid once it
    authorises us again; a token never issued unknown."""
    import pytest

    from chalicelib.domain.errors import ServiceUnavailable
    from chalicelib.domain.merchants import Authorisation
    from chalicelib.domain.payments import ChannelOrder

    token = authorised(world)["app_auth_token"]
    api = world.deps.channel_api("alipay")
    held = Authorisation(SELLER, "2021" + SELLER[4:], True, "2027-06-01 00:00:00")
    assert api.authorisation(token) == held
    r = world.channels.handle("POST", "/alipay/_sim/app-auth-cancel", {},
                              json.dumps({"seller_id": SELLER}).encode())
    assert (r.status, json.loads(r.body)) == (200, {"user_id": SELLER, "status": "invalid"})
    assert api.authorisation(token) == replace(held, valid=False)
    order = ChannelOrder(out_trade_no="34012600000000000015A1",
                         payment_code="34012600000000000015", channel="alipay", amount_fen=100,
                         created_at="2026-06-15T10:00:00+08:00",
                         expires_at="2026-06-15T12:00:00+08:00", merchant=SELLER,
                         merchant_app="2021" + SELLER[4:], merchant_token=token)
    with pytest.raises(ServiceUnavailable, match="authorise again"):
        api.query(order)
    assert authorised(world)["app_auth_token"] == token  # authorised again
    assert api.authorisation(token) == held
    assert api.authorisation(token[:-4] + "ffff") is None
