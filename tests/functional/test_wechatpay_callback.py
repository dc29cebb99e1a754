"""POST /callbacks/wechatpay: WeChat Pay APIv3 notifications, one test per way they can fail.

WeChat expects 200/204 with no body when we took the notification, and a 4xx/5xx with
``{"code": "FAIL", "message": ...}`` otherwise (payment-channels.md §1.6). A notification that
fails verification changes nothing: the note stays unpaid, no payment is written and no job is
queued.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.domain.china_time import china_iso
from devstack.builders.wechatpay import sign_notification, transaction_resource
from tests.functional.support import (
    bills_count,
    body_of,
    counting_aws_calls,
    create_note,
    get_note,
    notification,
    open_order,
    payments,
    post_notification,
    queued,
)

EVENT = Path(__file__).resolve().parent.parent / "events" / "wechatpay_transaction_success.json"


def unpaid_order(world, client) -> tuple[str, dict]:
    code = create_note(world, client)["payment_code"]
    return code, open_order(client, code)


def forged(world, order: dict, *, key=None, serial: str | None = None,
           apiv3_key: bytes | None = None, seconds: int = 0, **resource_overrides):
    """A notification for ``order`` built like WeChat's, with any of its ingredients replaced."""
    wx = world.stack["channels"]["wechatpay"]
    now = world.clock() + timedelta(seconds=seconds)
    resource = transaction_resource(
        mchid=wx["mchid"], appid=wx["appid"], out_trade_no=order["out_trade_no"],
        transaction_id="4200000848" + now.strftime("%Y%m%d%H%M%S"), amount_fen=order["amount_fen"],
        success_time=now.isoformat(timespec="seconds"))
    resource.update(resource_overrides)
    platform_key = key or serialization.load_pem_private_key(
        Path(wx["platform_private_key_pem"]).read_bytes(), None)
    return sign_notification(resource, config_apiv3_key=apiv3_key or wx["apiv3_key"].encode(),
                             platform_private_key=platform_key,
                             serial=serial or wx["platform_serial"], now=int(now.timestamp()))


def assert_acknowledged(response) -> None:
    assert response.status_code in (200, 204), response.body
    assert response.body in (b"", b"{}") or body_of(response).get("code") == "SUCCESS"


def assert_wechat_failure(response, statuses: range = range(400, 600)) -> str:
    assert response.status_code in statuses, (response.status_code, response.body)
    assert response.headers.get("Content-Type", "").startswith("application/json")
    answer = body_of(response)
    assert answer["code"] == "FAIL"
    assert isinstance(answer["message"], str) and answer["message"]
    assert b"Traceback" not in response.body
    return answer["message"]


def assert_nothing_changed(world, client, code: str) -> None:
    assert get_note(world, client, code)["status"] == "unpaid"
    assert payments(world) == []
    assert queued(world) == 0


def assert_rejected(world, client, code: str, body: bytes, headers: dict) -> str:
    message = assert_wechat_failure(post_notification(client, body, headers), range(400, 500))
    assert_nothing_changed(world, client, code)
    return message


# --- the genuine notification ---------------------------------------------------------------

def test_a_genuine_notification_is_acknowledged_with_no_body_and_pays_the_note(world, client):
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order, transaction_id="4200000848202611220290526543")

    assert_acknowledged(post_notification(client, body, headers))

    note = get_note(world, client, code)
    assert note["status"] == "paid"
    assert note["payment"]["channel"] == "wechatpay"
    assert note["payment"]["channel_txn_id"] == "4200000848202611220290526543"
    assert note["payment"]["amount_fen"] == 10000
    [payment] = payments(world)
    assert payment["status"] == "applied" and payment["out_trade_no"] == order["out_trade_no"]
    assert queued(world) == 1


def test_a_notification_built_from_the_saved_real_shaped_event_is_accepted(world, client):
    event = json.loads(EVENT.read_text(encoding="utf-8"))
    code, order = unpaid_order(world, client)
    wx = world.stack["channels"]["wechatpay"]
    resource = dict(event["resource"], mchid=wx["mchid"], appid=wx["appid"],
                    out_trade_no=order["out_trade_no"],
                    amount={**event["resource"]["amount"], "total": order["amount_fen"],
                            "payer_total": order["amount_fen"]},
                    success_time=china_iso(world.clock()))
    key = serialization.load_pem_private_key(Path(wx["platform_private_key_pem"]).read_bytes(),
                                             None)
    body, headers = sign_notification(resource, config_apiv3_key=wx["apiv3_key"].encode(),
                                      platform_private_key=key, serial=wx["platform_serial"],
                                      now=int(world.clock().timestamp()),
                                      event_id=event["body"]["id"])
    assert set(headers) <= set(event["headers"])
    assert set(json.loads(body)) == set(event["body"])

    assert_acknowledged(post_notification(client, body, headers))

    note = get_note(world, client, code)
    assert note["status"] == "paid"
    assert note["payment"]["channel_txn_id"] == event["resource"]["transaction_id"]
    [payment] = payments(world)
    assert payment["notification_id"] == event["body"]["id"]


def test_accepts_a_timestamp_just_inside_the_five_minute_window(world, client):
    code, order = unpaid_order(world, client)
    assert_acknowledged(post_notification(client, *forged(world, order, seconds=-299)))
    assert get_note(world, client, code)["status"] == "paid"


# --- verification failures: each answered FAIL, each changing nothing -----------------------

def test_rejects_a_body_altered_by_one_byte_after_signing(world, client):
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order)
    at = body.index(b'"id":"EV-') + len(b'"id":"EV-')
    tampered = body[:at] + (b"0" if body[at:at + 1] != b"0" else b"1") + body[at + 1:]
    assert len(tampered) == len(body) and tampered != body

    message = assert_rejected(world, client, code, tampered, headers)
    assert "签名" in message or "signature" in message


def test_rejects_a_signature_made_with_another_rsa_key(world, client):
    code, order = unpaid_order(world, client)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_rejected(world, client, code, *forged(world, order, key=stranger))


def test_rejects_a_timestamp_older_than_five_minutes(world, client):
    code, order = unpaid_order(world, client)
    message = assert_rejected(world, client, code, *forged(world, order, seconds=-301))
    assert "old" in message or "过期" in message or "时间" in message


def test_rejects_a_timestamp_more_than_five_minutes_in_the_future(world, client):
    code, order = unpaid_order(world, client)
    message = assert_rejected(world, client, code, *forged(world, order, seconds=301))
    assert "future" in message or "时间" in message


def test_rejects_an_unknown_wechatpay_serial(world, client):
    code, order = unpaid_order(world, client)
    body, headers = forged(world, order, serial="PUB_KEY_ID_0114232026112200000000000999")
    message = assert_rejected(world, client, code, body, headers)
    assert "serial" in message.lower() or "证书" in message


@pytest.mark.parametrize("header", ["Wechatpay-Signature", "Wechatpay-Timestamp",
                                    "Wechatpay-Nonce", "Wechatpay-Serial"])
def test_rejects_a_notification_missing_a_wechatpay_header(world, client, header):
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order)
    del headers[header]
    message = assert_rejected(world, client, code, body, headers)
    assert header in message


def test_rejects_a_notification_with_no_wechatpay_headers_at_all(world, client):
    code, order = unpaid_order(world, client)
    body, _ = notification(world, order)
    assert_rejected(world, client, code, body, {"Content-Type": "application/json"})


def test_rejects_a_signature_probe(world, client):
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    assert_rejected(world, client, code, body, headers)


def test_rejects_a_payment_made_to_another_merchant(world, client):
    code, order = unpaid_order(world, client)
    message = assert_rejected(world, client, code, *notification(world, order, mchid="1900000109"))
    assert "mchid" in message


def test_rejects_a_payment_made_for_another_app(world, client):
    code, order = unpaid_order(world, client)
    message = assert_rejected(world, client, code,
                              *notification(world, order, appid="wxd678efh567hg6787"))
    assert "appid" in message


def test_rejects_a_resource_encrypted_with_another_apiv3_key(world, client):
    code, order = unpaid_order(world, client)
    body, headers = forged(world, order, apiv3_key=b"0123456789abcdef0123456789abcdef")
    message = assert_rejected(world, client, code, body, headers)
    assert "decrypt" in message or "解密" in message


def test_a_failed_notification_does_not_stop_the_genuine_one_that_follows(world, client):
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order)
    assert_rejected(world, client, code, body + b" ", headers)
    assert_acknowledged(post_notification(client, body, headers))
    assert get_note(world, client, code)["status"] == "paid"


# --- genuine notifications that do not simply pay the note ----------------------------------

def test_unknown_out_trade_no_is_refused_and_changes_nothing(world, client):
    code, order = unpaid_order(world, client)
    unknown = dict(order, out_trade_no=code + "ZZZZZZ")  # our form, never opened
    assert_rejected(world, client, code, *notification(world, unknown))


def test_an_out_trade_no_not_of_our_form_is_refused_and_changes_nothing(world, client):
    code, order = unpaid_order(world, client)
    foreign = dict(order, out_trade_no="1217752501201407033233368018")
    assert_rejected(world, client, code, *notification(world, foreign))


def test_an_amount_mismatch_is_acknowledged_and_recorded_as_an_exception(world, client):
    code, order = unpaid_order(world, client)

    assert_acknowledged(post_notification(client, *notification(world, order, amount=1)))

    assert get_note(world, client, code)["status"] == "unpaid"
    [payment] = payments(world)
    assert payment["status"] == "exception"
    assert payment["amount_fen"] == 1
    assert payment["out_trade_no"] == order["out_trade_no"]
    assert queued(world) == 0


def test_the_same_notification_twice_is_acknowledged_twice_and_records_one_payment(world, client):
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order)

    assert_acknowledged(post_notification(client, body, headers))
    assert_acknowledged(post_notification(client, body, headers))

    assert len(payments(world)) == 1
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"
    assert bills_count(world) == 1


def test_a_redelivery_with_a_new_event_id_for_the_same_transaction_records_one_payment(
        world, client):
    code, order = unpaid_order(world, client)
    for _ in range(2):  # WeChat re-signs each delivery: new nonce, new event id, same txn
        assert_acknowledged(post_notification(client, *notification(
            world, order, transaction_id="4200000848202611220290526543")))
    assert len(payments(world)) == 1


def test_a_second_genuine_payment_through_a_second_order_is_an_exception_with_one_bill(
        world, client):
    code, first = unpaid_order(world, client)
    second = open_order(client, code)  # the payer opened two cashiers before paying
    assert first["out_trade_no"] != second["out_trade_no"]

    assert_acknowledged(post_notification(client, *notification(
        world, first, transaction_id="4200000848202611220000000001")))
    assert_acknowledged(post_notification(client, *notification(
        world, second, transaction_id="4200000848202611220000000002")))

    rows = {p["channel_txn_id"]: p for p in payments(world)}
    assert rows["4200000848202611220000000001"]["status"] == "applied"
    assert rows["4200000848202611220000000002"]["status"] == "exception"
    world.drain()
    note = get_note(world, client, code)
    assert note["status"] == "issued"
    assert note["payment"]["channel_txn_id"] == "4200000848202611220000000001"
    assert bills_count(world) == 1


def test_money_arriving_for_a_cancelled_note_is_recorded_as_an_exception(world, client):
    code, order = unpaid_order(world, client)
    r = client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth())
    assert r.status_code == 200, r.body

    assert_acknowledged(post_notification(client, *notification(world, order)))

    assert get_note(world, client, code)["status"] == "cancelled"
    [payment] = payments(world)
    assert payment["status"] == "exception"
    assert queued(world) == 0


# --- cost of the acknowledgement -------------------------------------------------------------

def test_the_acknowledgement_makes_at_most_two_aws_calls_first_time_and_on_a_duplicate(
        world, client, monkeypatch):
    # Warm the process as Lambda would be after its first notification: channel keys fetched.
    _, warm = unpaid_order(world, client)
    assert_acknowledged(post_notification(client, *notification(world, warm)))
    code, order = unpaid_order(world, client)
    body, headers = notification(world, order)

    with counting_aws_calls(monkeypatch) as first:
        assert_acknowledged(post_notification(client, body, headers))
    with counting_aws_calls(monkeypatch) as duplicate:
        assert_acknowledged(post_notification(client, body, headers))

    print(f"\nacknowledgement AWS calls: first={first.calls} duplicate={duplicate.calls}")
    assert "dynamodb.TransactWriteItems" in first.calls  # the count does see pynamodb's calls
    assert len(first) <= 2, first.calls
    assert len(duplicate) <= 2, duplicate.calls
    assert get_note(world, client, code)["status"] == "paid"


def test_a_cold_process_fetches_the_channel_secret_once_on_its_first_notification(
        world, client, monkeypatch):
    code, order = unpaid_order(world, client)
    # Opening the order (WeChat's prepay) read the secret; the notification may well reach
    # another Lambda instance, a cold one: forget what this process cached.
    for cached in ("secrets", "_wechatpay_cfg"):
        world.deps.overrides.pop(cached, None)
    with counting_aws_calls(monkeypatch) as cold:
        assert_acknowledged(post_notification(client, *notification(world, order)))
    print(f"\ncold acknowledgement AWS calls: {cold.calls}")
    assert [c for c in cold.calls if c.startswith("secretsmanager.")] == \
        ["secretsmanager.GetSecretValue"]
    assert len(cold) <= 3, cold.calls
