"""Alipay's message that a merchant cancelled its authorisation of our application
(``alipay.open.auth.appauth.cancelled``), posted to our application gateway
(``/callbacks/alipay/gateway``) and re-checked by the merchant check's next slice, on pinned
clocks, against the Alipay simulator (which posts the message when a merchant cancels): a
message Alipay did not sign for us changes nothing; a genuine one is queued once, whatever
number of times it comes; the re-check asks Alipay and records what it says exactly as the
daily round does, the same day the round already ran; what the message's ``biz_content`` says
is a hint at most."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.domain.errors import Conflict
from chalicelib.services import merchant_rechecks
from devstack.builders.alipay import message_fields, sign_notification
from devstack.notifications import alipay_message, own_private_key
from tests.functional.channel_support import deliver_through
from tests.functional.test_alipay_isv import SELLER, give_alipay_merchant
from tests.functional.test_merchant_checks import (
    WHO,
    alipay_of,
    alipay_units,
    asked,
    events,
    published,
    run_check,
    warnings,
)

GATEWAY = "/callbacks/alipay/gateway"
CANCELLED = "alipay.open.auth.appauth.cancelled"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def post(client, body: bytes, headers: dict | None = None):
    return client.http.post(GATEWAY, body=body, headers=headers or FORM)


def message(world, **kwargs):
    return alipay_message(world.stack, CANCELLED, now=world.clock(), **kwargs)


def queued(world) -> dict:
    state, _ = world.deps.job_state.load(merchant_rechecks.JOB)
    return state


def cancel(world, seller: str = SELLER, **asked_for) -> dict:
    """The merchant cancels its authorisation at the simulator, which posts Alipay's message
    to the app (through the test client once ``world.channels.deliver`` says so)."""
    r = world.channels.handle("POST", "/alipay/_sim/app-auth-cancel", {},
                              json.dumps({"seller_id": seller, **asked_for}).encode())
    assert r.status == 200, r.body
    return json.loads(r.body)


def after_the_days_round(world, client) -> None:
    """The unit's merchant is set and today's round has run: the next is tomorrow 08:00."""
    give_alipay_merchant(world, client)
    run_check()
    assert alipay_of(world).token_invalid == "" and published(world) == [0.0]
    world.clock.now += timedelta(minutes=5)


def test_a_forged_or_altered_message_is_refused_and_queues_nothing(world, client):
    fields = message_fields(app_id=world.stack["channels"]["alipay"]["app_id"],
                            msg_method=CANCELLED, now=world.clock())
    ours = own_private_key(world.stack["channels"]["alipay"]["app_private_key_pem"])
    forged = sign_notification(fields, ours)  # signed, but not with Alipay's key
    r = post(client, forged)
    assert (r.status_code, r.body) == (400, b"fail")
    body, headers = message(world, biz_content={"user_id": SELLER})
    altered = body.replace(b"2088000000000101", b"2088000000000102")
    assert altered != body
    assert (post(client, altered, headers).status_code, post(client, b"", headers).body) == (
        400, b"fail")
    assert queued(world) == {}
    run_check()  # the slice finds nothing pending: the round alone
    assert asked(world) == [] and queued(world) == {}


def test_a_message_to_another_application_is_refused(world, client):
    body, headers = message(world, app_id="2021009999999999")  # signed by Alipay, not to us
    r = post(client, body, headers)
    assert (r.status_code, r.body) == (400, b"fail")
    assert queued(world) == {}


def test_a_message_over_the_callbacks_cap_is_refused_before_it_is_read(world, client):
    body, headers = message(world, biz_content={"padding": "x" * 17_000})
    r = post(client, body, headers)
    assert (r.status_code, r.body) == (413, b"fail") and queued(world) == {}


def test_a_genuine_cancellation_queues_one_recheck_however_often_it_comes(world, client):
    body, headers = message(world, notify_id="2026061500222100000000000001")
    for _ in range(3):  # Alipay sends it again until it is answered success
        r = post(client, body, headers)
        assert (r.status_code, r.body, r.headers["Content-Type"]) == (
            200, b"success", "text/plain; charset=utf-8")
    state = queued(world)
    assert [m["notify_id"] for m in state["pending"]] == ["2026061500222100000000000001"]
    assert list(state["seen"]) == ["2026061500222100000000000001"]
    world.clock.now += timedelta(minutes=5)
    run_check()
    assert queued(world)["pending"] == [] and queued(world)["pass"] is None
    world.clock.now += timedelta(days=2)  # still remembered: nothing queued again
    assert post(client, body, headers).body == b"success"
    assert queued(world)["pending"] == []
    other, _ = message(world)  # another message is another re-check
    assert post(client, other, headers).body == b"success"
    assert len(queued(world)["pending"]) == 1


def test_another_message_to_the_gateway_is_answered_and_queues_nothing(world, client):
    body, headers = alipay_message(world.stack, "alipay.open.auth.userauth.cancelled",
                                   now=world.clock())
    assert post(client, body, headers).body == b"success"
    assert queued(world) == {}


def test_a_message_that_cannot_be_queued_is_answered_5xx_so_alipay_sends_it_again(
        world, client, monkeypatch):
    def moved(job, state, version):
        raise Conflict("job state moved under us", code="job_state_moved")

    monkeypatch.setattr(world.deps.job_state, "save", moved)
    body, headers = message(world)
    r = post(client, body, headers)
    assert (r.status_code, r.body) == (503, b"fail")
    monkeypatch.undo()
    assert post(client, body, headers).body == b"success" and len(queued(world)["pending"]) == 1


def test_the_recheck_finds_the_cancelled_token_the_same_day_and_records_it_as_the_round_does(
        world, client):
    after_the_days_round(world, client)
    world.channels.deliver = deliver_through(client)
    sent = cancel(world)
    assert sent["message_status"] == 200
    run_check()  # the next slice, minutes later; the day's round is not due
    gone = alipay_of(world)
    assert gone.token_invalid == "2026-06-15T10:05:00+08:00"
    assert len(asked(world)) == 1 + 1 + 1  # the PUT's, the round's, the re-check's
    [change] = events(world, "check_merchant")
    assert change.client == WHO and change.detail["token_invalid"] == gone.token_invalid
    assert change.detail["previous"]["token_invalid"] is None
    [audited] = events(world, "merchant_warning")
    assert (audited.client, audited.outcome) == (WHO, "warning")
    assert [w["code"] for w in audited.detail["warnings"]] == ["merchant_token_invalid"]
    assert warnings(world, client) == ["merchant_token_invalid"]
    assert published(world) == [0.0, 1.0]  # the round's, then the re-check's: the day's maximum 1
    assert queued(world)["pass"] is None and queued(world)["pending"] == []
    run_check()  # nothing pending: no more Alipay calls
    assert len(asked(world)) == 3


def test_a_message_naming_one_unit_has_it_checked_and_no_other_once_alipay_confirms(
        world, client):
    tokens = alipay_units(world, 3)
    after_the_days_round(world, client)
    mine = alipay_of(world)
    world.channels.deliver = deliver_through(client)
    before = len(asked(world))
    cancel(world, biz_content={"user_id": SELLER})
    run_check()
    assert alipay_of(world).token_invalid and asked(world)[before:] == [
        asked(world)[0]]  # the unit's own token, the one the PUT showed Alipay
    assert alipay_of(world).sealed_token == mine.sealed_token
    assert all(world.deps.units.get(code).merchant("alipay").token_invalid == ""
               for code in tokens)


def test_an_unknown_biz_content_rechecks_every_unit_with_its_own_alipay_merchant(
        world, client):
    tokens = alipay_units(world, 3)
    after_the_days_round(world, client)
    world.channels.deliver = deliver_through(client)
    before = len(asked(world))
    cancel(world, biz_content={"some": {"unknown": ["shape", 1]}})
    run_check()
    assert sorted(asked(world)[before:]) == sorted([asked(world)[0], *tokens.values()])
    assert alipay_of(world).token_invalid == "2026-06-15T10:05:00+08:00"
    assert all(world.deps.units.get(code).merchant("alipay").token_invalid == ""
               for code in tokens)


def test_a_hint_alipay_does_not_confirm_leads_to_every_alipay_unit_being_checked(
        world, client):
    """The message names the unit, but Alipay says its authorisation holds: the cancelled
    one is another unit's, found by checking them all."""
    tokens = alipay_units(world, 2)
    after_the_days_round(world, client)
    world.channels.deliver = deliver_through(client)
    other = sorted(tokens)[0]
    seller = f"20880000000077{0:02d}"
    before = len(asked(world))
    cancel(world, seller, biz_content={"user_id": SELLER})  # names the wrong merchant
    run_check()
    assert len(asked(world)[before:]) == 3 and asked(world)[before] == asked(world)[0]
    assert world.deps.units.get(other).merchant("alipay").token_invalid
    assert alipay_of(world).token_invalid == ""


def test_the_simulator_posts_the_message_the_app_accepts(world, client):
    world.channels.deliver = deliver_through(client)
    give_alipay_merchant(world, client)
    sent = cancel(world, message={"msg_uid": SELLER})
    assert sent["message_status"] == 200
    [pending] = queued(world)["pending"]
    assert (pending["notify_id"], pending["merchant_ids"]) == (sent["notify_id"], [SELLER])


def test_the_answer_costs_one_read_and_one_conditional_write_and_a_repeat_one_read(
        world, client, monkeypatch):
    from tests.functional.support import counting_aws_calls

    body, headers = message(world)
    post(client, alipay_message(world.stack, "alipay.open.auth.userauth.cancelled",
                                now=world.clock())[0], headers)  # Alipay's secret read once
    with counting_aws_calls(monkeypatch) as first:
        assert post(client, body, headers).body == b"success"
    with counting_aws_calls(monkeypatch) as again:
        assert post(client, body, headers).body == b"success"
    assert (first.calls, again.calls) == (["dynamodb.GetItem", "dynamodb.PutItem"],
                                          ["dynamodb.GetItem"])
    run_check()  # the pass
    with counting_aws_calls(monkeypatch) as idle:
        run_check()  # between rounds, nothing pending: the two states read
    assert idle.calls == ["dynamodb.GetItem", "dynamodb.GetItem"]
