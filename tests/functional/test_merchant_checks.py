"""The daily check of the units' merchant credentials (``app.check_merchant_credentials``), on
pinned clocks, against the Alipay simulator and moto's CloudWatch: Alipay is asked whether each
unit's authorisation still holds; what it says is kept by one conditional write (a finance
admin's change meanwhile wins); Alipay unreachable keeps everything as it was; each unit with an
expiring, expired or lost credential is audited once a day and counted in the metric the
operations alarm watches."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.adapters.aws import client as aws_client
from chalicelib.domain.merchants import UnitMerchant
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services import merchant_checks
from chalicelib.services.merchant_checks import (
    DROPPED,
    MerchantCheckFailed,
    check_merchant_credentials,
    check_merchant_credentials_slice,
)
from chalicelib.services.merchants import seal_token
from devstack.sim_alipay import AlipayServer
from tests.functional.support import body_of
from tests.functional.test_alipay_isv import SELLER, UNIT, authorised, give_alipay_merchant, sent

JOB = "check_merchant_credentials"
WHO = "job:check_merchant_credentials"
QUERY = "alipay.open.auth.token.app.query"
NEAR_END = "2027-05-21T08:00:00+08:00"  # 10 days (and 16 h) before the simulator's auth_end


def run_check() -> None:
    """The scheduled handler, invoked as Lambda invokes it: EventBridge's event and a context
    with its function's timeout (``.chalice/config.json``; the test client's 3 s is less than
    a slice keeps in reserve)."""
    from chalice.local import LambdaContext

    import app as application
    from devstack.jobs import lambda_timeout
    from tests.lambda_events import handler_client, scheduled_event

    application.app.handler_map[JOB](scheduled_event(handler_client()), LambdaContext(
        JOB, 1024, max_runtime_ms=lambda_timeout(JOB) * 1000))


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
    run_check()
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

    world.clock.now += timedelta(hours=2)  # the same day: the round is done, nothing due
    run_check()
    check_merchant_credentials(world.deps)  # and a whole run again (an operator's retry)
    assert len(events(world, "merchant_warning")) == 1
    world.clock.now += timedelta(days=1)  # the next day: one more
    run_check()
    assert [e.at[:10] for e in events(world, "merchant_warning")] == ["2027-05-22",
                                                                       "2027-05-21"]


def test_an_end_alipay_moved_is_kept_by_the_job_and_audited_as_its_change(world, client):
    give_alipay_merchant(world, client)
    read = alipay_of(world)
    earlier = replace(read, token_until="2026-07-01T00:00:00+08:00")
    assert world.deps.units.replace_merchant(UNIT, earlier, read.sealed_token)
    assert warnings(world, client) == ["merchant_token_expiring"]
    run_check()
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
    run_check()
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
    run_check()
    assert published(world)[-1] == 0.0


def test_alipay_unreachable_keeps_the_token_and_the_warning(world, client):
    give_alipay_merchant(world, client)
    kept = alipay_of(world)
    at(world, NEAR_END)
    world.channels.failing["alipay"] = 503
    run_check()
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
    run_check()
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
    run_check()
    assert published(world) == [1.0]  # the certificate; Alipay's ends in a year
    assert [w["code"] for w in events(world, "merchant_warning", cert)[0].detail["warnings"]] \
        == ["merchant_cert_expiring"]
    assert events(world, "merchant_warning") == [] == events(world, "merchant_warning", wechat)
    at(world, NEAR_END)  # a year on: the certificate has ended, the authorisation nears its end
    run_check()
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
    answer = json.loads(r.body)
    assert (r.status, answer["user_id"], answer["status"]) == (200, SELLER, "invalid")
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


def alipay_units(world, count: int) -> dict[str, str]:
    """``count`` more collecting units, each with an Alipay merchant that authorised us (as
    a finance admin's PUT stores it, with Alipay's end): their tokens by unit code."""
    tokens = {}
    for n in range(count):
        code, seller = f"3401077{n:02d}", f"20880000000077{n:02d}"
        world.deps.units.add(Unit(unit_code=code, name=f"某某单位{n}", kind=UnitKind.COLLECTING,
                                  region_code="110101"))  # listed before the seeded units
        grant = authorised(world, seller)
        world.deps.units.set_merchant(code, UnitMerchant(
            "alipay", seller, grant["auth_app_id"], since="2026-06-15T09:00:00+08:00",
            sealed_token=seal_token(world.deps, code, "alipay", grant["app_auth_token"]),
            token_until="2027-06-01T00:00:00+08:00"), world.clock())
        tokens[code] = grant["app_auth_token"]
    return tokens


def asked(world) -> list[str]:
    return [data["app_auth_token"] for data in sent(world, QUERY)]


def test_alipay_is_asked_about_several_merchants_at_once_and_never_more_than_the_bound(
        world, monkeypatch):
    monkeypatch.setattr(merchant_checks, "AT_ONCE", 3)
    tokens = alipay_units(world, 10)
    lock, running, most = threading.Lock(), [0], [0]
    original = AlipayServer.auth_query

    def slow(self, name, token):  # an Alipay round trip of 50 ms
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)
            return original(self, name, token)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(AlipayServer, "auth_query", slow)
    report = check_merchant_credentials(world.deps)
    assert most[0] == 3  # three at once, never four
    assert report.asked == 10 and sorted(asked(world)) == sorted(tokens.values())
    assert report.updated == 0 and report.units == len(world.deps.units.in_region("", 500)[0])


def time_for(checks: int):
    """seconds_left of an invocation that runs short after ``checks`` looks at the time (one
    before each page, one before each unit)."""
    left = iter([100.0] * checks)
    lock = threading.Lock()

    def seconds_left() -> float:
        with lock:
            return next(left, 0.0)
    return seconds_left


def test_a_round_cut_short_goes_on_in_the_next_slice_and_checks_every_unit_once(
        world, monkeypatch):
    monkeypatch.setattr(merchant_checks, "AT_ONCE", 1)  # one after the other: cut where told
    tokens = alipay_units(world, 9)
    units = len(world.deps.units.in_region("", 500)[0])

    # the first page of 4, the second page and 2 of its units, then no time left: cut midway
    first = check_merchant_credentials_slice(world.deps, time_for(1 + 4 + 1 + 2), page=4)
    assert not first.round_finished and (first.units, first.asked) == (6, 6)
    assert published(world) == []  # the round is not over: no count yet
    state, _ = world.deps.job_state.load(merchant_checks.JOB)
    assert state["in_round"] and state["totals"]["units"] == first.units
    second = check_merchant_credentials_slice(world.deps, lambda: 100.0, page=4)
    assert second.round_finished
    assert sorted(asked(world)) == sorted(tokens.values())  # each asked once, none twice
    assert first.units + second.units == units
    assert published(world) == [0.0]
    state, _ = world.deps.job_state.load(merchant_checks.JOB)
    assert state["last_round"]["units"] == units and state["last_round"]["slices"] == 2
    assert state["next_round_at"] == "2026-06-16T08:00:00+08:00"

    world.clock.now += timedelta(hours=21, minutes=59)  # 07:59 the next day: not yet
    assert check_merchant_credentials_slice(world.deps, lambda: 100.0).idle
    world.clock.now += timedelta(minutes=1)
    again = check_merchant_credentials_slice(world.deps, lambda: 100.0)
    assert again.round_finished and again.units == units and len(asked(world)) == 18


def test_a_slice_with_no_time_left_checks_nothing_and_loses_no_unit(world):
    tokens = alipay_units(world, 3)
    nothing = check_merchant_credentials_slice(world.deps, lambda: 0.0, page=2)
    assert (nothing.units, nothing.round_finished, asked(world)) == (0, False, [])
    done = check_merchant_credentials_slice(world.deps, lambda: 100.0, page=2)
    assert done.round_finished and sorted(asked(world)) == sorted(tokens.values())


def test_a_unit_whose_check_fails_holds_up_no_other_and_the_run_fails_once_it_is_saved(world):
    import pytest

    tokens = alipay_units(world, 3)
    broken = min(tokens)
    mine = world.deps.units.get(broken).merchant("alipay")
    elsewhere = seal_token(world.deps, UNIT, "alipay", tokens[broken])  # cannot be opened here
    assert world.deps.units.replace_merchant(broken, replace(mine, sealed_token=elsewhere),
                                             mine.sealed_token)
    with pytest.raises(MerchantCheckFailed, match="^1 units"):
        check_merchant_credentials_slice(world.deps, lambda: 100.0)
    assert sorted(asked(world)) == sorted(t for code, t in tokens.items() if code != broken)
    state, _ = world.deps.job_state.load(merchant_checks.JOB)
    assert not state["in_round"] and state["last_round"]["failed"] == 1
    assert published(world) == [0.0]  # the round ended: counted without it


def test_retired_merchants_past_their_keep_are_dropped_by_the_job_and_audited(world, client):
    units, now = world.deps.units, world.clock()
    ended = UnitMerchant("alipay", "2088000000000801", "2021000000000801",
                         sealed_token="ZW5kZWQgc2VhbGVk", since="2025-05-01T10:00:00+08:00")
    kept = replace(ended, merchant_id="2088000000000802", app_id="2021000000000802",
                   sealed_token="a2VwdCBzZWFsZWQ=")
    units.set_merchant(UNIT, ended, now - timedelta(days=400))
    units.remove_merchant(UNIT, "alipay", now - timedelta(days=380))  # kept until 8 days ago
    units.set_merchant(UNIT, kept, now - timedelta(days=20))
    units.remove_merchant(UNIT, "alipay", now - timedelta(days=10))
    assert [m.merchant_id for m in alipay_retired(world)] == [ended.merchant_id,
                                                              kept.merchant_id]
    run_check()
    assert [m.merchant_id for m in alipay_retired(world)] == [kept.merchant_id]
    [dropped] = events(world, DROPPED)
    assert (dropped.client, dropped.outcome) == (WHO, "ok")
    [view] = dropped.detail["dropped"]
    assert (view["seller_id"], view["keep_until"]) == (ended.merchant_id,
                                                      "2026-06-07T10:00:00+08:00")
    assert ended.sealed_token not in json.dumps(dropped.detail)
    from tests.functional.test_console_sign_in import sign_in
    from tests.functional.test_finance_console_people import get

    cookies, _ = sign_in(client, world, "finance_auditor")  # the finance console's audit page
    page = get(client, f"/console/finance/audit?unit_code={UNIT}", cookies).body.decode()
    assert re.search(r"删除保留期满的已停用商户号</td><td>成功", page), page

    [other] = alipay_retired(world)
    assert other.keep_until == "2027-06-12T10:00:00+08:00"  # retired 10 days ago
    at(world, "2027-06-11T10:00:00+08:00")  # a day of its keep left: kept, no event
    run_check()
    assert [m.merchant_id for m in alipay_retired(world)] == [kept.merchant_id]
    assert len(events(world, DROPPED)) == 1
    world.clock.now += timedelta(days=1)
    run_check()
    assert alipay_retired(world) == () and len(events(world, DROPPED)) == 2


def alipay_retired(world) -> tuple[UnitMerchant, ...]:
    world.deps.units.forget()
    return tuple(m for m in world.deps.units.get(UNIT).retired_merchants
                 if m.channel == "alipay")
