"""Reconciliation over the simulated channels (in-process) through the API: a day of payments on
the four channels, some notifications lost, one note paid twice and refunded, a notification the
channel never processed, one whose amount is not the channel's; the next morning the finance
department runs the day. Every lost payment is found, recorded and billed once; every other
difference is classified; a re-run changes nothing; a person resolves what is left."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.functional.channel_support import at_cashier, deliver_through, opened, run_job
from tests.functional.support import JSON, NOTE, body_of, create_note, post_notification
from tests.functional.support import notification as wechat_notification

DAY = "2026-06-15"


def at_channel(world, client, channel: str, code: str | None = None) -> tuple[str, dict]:
    """A note's order opened through the API, and the payer at the channel's cashier (Alipay
    and UnionPay learn of an order only then)."""
    code, view = opened(world, client, channel, code)
    assert at_cashier(world, client, channel, view).status == 200
    return code, view


def sim_pay(world, **body) -> dict:
    reply = world.channels.handle("POST", "/_sim/pay", JSON, json.dumps(body).encode())
    assert reply.status == 200, reply.body
    return json.loads(reply.body)


def note_of(client, world, code: str) -> dict:
    r = client.http.get(f"/v1/notes/{code}", headers=world.auth())
    assert r.status_code == 200, r.body
    return body_of(r)


def a_day(world, client) -> dict:
    """The day's traffic; what each case's note and transaction is."""
    world.channels.deliver = deliver_through(client)
    day: dict = {"lost": [], "notified": [], "bank_lost": []}
    for channel in ("wechatpay", "alipay", "unionpay"):
        for i in range(3):
            code, view = at_channel(world, client, channel)
            paid = sim_pay(world, channel=channel, out_trade_no=view["out_trade_no"],
                           notify=i != 2)
            day["lost" if i == 2 else "notified"].append((channel, code, paid["channel_txn_id"]))
    for i in range(2):
        code = create_note(world, client)["payment_code"]
        paid = sim_pay(world, channel="bank", payment_code=code, amount_fen=NOTE["total_fen"],
                       notify=i == 0)
        day["lost" if i else "notified"].append(("bank", code, paid["channel_txn_id"]))
    # Paid twice: WeChat Pay first, then Alipay; the second is an exception, refunded.
    code, first = at_channel(world, client, "wechatpay")
    _, second = at_channel(world, client, "alipay", code)
    sim_pay(world, channel="wechatpay", out_trade_no=first["out_trade_no"])
    twice = sim_pay(world, channel="alipay", out_trade_no=second["out_trade_no"])
    day["twice"] = (code, twice["channel_txn_id"])
    # A notification for an order the channel never took money for (recorded only).
    code, view = opened(world, client, "wechatpay")
    body, headers = wechat_notification(world, view, transaction_id="4200FORGED0000000001")
    assert post_notification(client, body, headers).status_code in (200, 204)
    day["recorded_only"] = "4200FORGED0000000001"
    # The channel took 100.00; a notification said 100.01 (amount mismatch).
    code, view = opened(world, client, "wechatpay")
    paid = sim_pay(world, channel="wechatpay", out_trade_no=view["out_trade_no"], notify=False)
    body, headers = wechat_notification(world, view, amount=NOTE["total_fen"] + 1,
                                        transaction_id=paid["channel_txn_id"])
    assert post_notification(client, body, headers).status_code in (200, 204)
    day["amount_mismatch"] = paid["channel_txn_id"]
    world.drain()
    run_job("refund_exceptions")  # the second payment of the note paid twice goes back
    world.drain()
    return day


def reconcile(world, client, date: str = DAY):
    return client.http.post(f"/v1/admin/reconciliations/{date}", headers=world.finance_auth())


def test_a_day_on_four_channels_is_reconciled_and_every_lost_payment_billed_once(world, client):
    day = a_day(world, client)
    for _, code, _ in day["lost"]:
        assert note_of(client, world, code)["status"] == "unpaid"  # nobody told us
    world.clock.now += timedelta(days=1, minutes=30)  # 10:30 the next morning
    r = reconcile(world, client)
    assert r.status_code == 200, r.body
    world.drain()
    view = body_of(r)
    assert view["date"] == DAY and set(view["channels"]) == {"wechatpay", "alipay", "unionpay",
                                                             "bank"}
    for _, code, txn in day["lost"]:
        note = note_of(client, world, code)
        assert note["status"] == "issued" and note["payment"]["channel_txn_id"] == txn
        assert note["bill"]["bill_number"]
    found = {(c, d["channel_txn_id"]): d for c, v in view["channels"].items()
             for d in v["discrepancies"]}
    for channel, _, txn in day["lost"]:
        assert found[(channel, txn)]["kind"] == "channel_only"
        assert found[(channel, txn)]["resolution"] == "recorded"
    assert found[("wechatpay", day["recorded_only"])]["kind"] == "recorded_only"
    assert found[("wechatpay", day["amount_mismatch"])]["kind"] == "amount_mismatch"
    assert found[("wechatpay", day["amount_mismatch"])]["recorded_fen"] == NOTE["total_fen"] + 1
    kinds = sorted(d["kind"] for d in found.values())
    assert kinds == ["amount_mismatch"] + ["channel_only"] * 4 + ["recorded_only"]
    alipay = view["channels"]["alipay"]
    assert alipay["status"] == "balanced"  # the refund of the note paid twice matched
    assert (alipay["statement_count"], alipay["statement_total_fen"],
            alipay["statement_refund_fen"]) == (4, 40000, 10000)
    assert alipay["statement_fee_fen"] == 3 * 60 + 60 - 60  # 0.6 %, given back with the refund
    assert view["channels"]["unionpay"]["status"] == "balanced"
    assert view["channels"]["bank"]["status"] == "balanced"
    assert view["channels"]["wechatpay"]["status"] == "discrepancies"
    wechat = view["channels"]["wechatpay"]
    assert (wechat["statement_count"], wechat["recorded_count"]) == (5, 6)

    # Again, as often as anyone likes: nothing settled changes, nothing is recorded twice.
    again = body_of(reconcile(world, client))
    for channel in again["channels"]:
        assert again["channels"][channel]["discrepancies"] == \
            view["channels"][channel]["discrepancies"]
    world.drain()
    for _, code, _ in day["lost"]:
        r = client.http.get(f"/v1/notes/{code}", headers=world.auth())
        assert body_of(r)["status"] == "issued"
    assert world.channels.servers  # the same simulated day

    # A person resolves the forged one; the day's WeChat Pay status follows.
    line_id = f"pay-{day['recorded_only']}"
    r = client.http.post(f"/v1/admin/reconciliations/{DAY}/wechatpay/{line_id}/resolution",
                         headers=world.finance_auth(),
                         body=json.dumps({"resolution": "渠道无此交易，已报警并冻结"}))
    assert r.status_code == 200, r.body
    resolved = body_of(r)["discrepancy"]
    assert resolved["resolved_by"].startswith("finance:") and resolved["resolution"]
    r = client.http.post(f"/v1/admin/reconciliations/{DAY}/wechatpay/{line_id}/resolution",
                         headers=world.finance_auth(), body=json.dumps({"resolution": "x"}))
    assert r.status_code == 409


def test_an_auditor_re_derives_the_kept_lines_from_the_archived_statement_files(world, client,
                                                                               capsys):
    from dataclasses import replace

    from chalicelib import cli

    a_day(world, client)
    world.clock.now += timedelta(days=1, minutes=30)
    view = body_of(reconcile(world, client))
    files = {c: v["statement_files"] for c, v in view["channels"].items()}
    assert all(len(f) == 1 and len(f[0]["sha256"]) == 64 for f in files.values()), files
    assert cli.main(["check-statements", "--date", DAY]) == 0
    assert "4 statement files re-read, 0 problems" in capsys.readouterr().out
    # A kept line that its file does not bear out (here: an open one altered) is reported.
    store = world.deps.reconciliations
    line = next(li for li in store.lines(DAY, "wechatpay") if li.status == "amount_mismatch")
    store.put_line(replace(line, amount_fen=line.amount_fen + 100))
    assert cli.main(["check-statements", "--date", DAY, "--channel", "wechatpay"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL wechatpay {line.line_id}: kept {line.amount_fen + 100} fen" in out


def test_the_statement_of_today_so_far_is_served_and_an_empty_day_balances(world, client):
    world.channels.deliver = deliver_through(client)
    code, view = at_channel(world, client, "unionpay")
    sim_pay(world, channel="unionpay", out_trade_no=view["out_trade_no"], notify=False)
    r = reconcile(world, client)  # today, 10:00: what the channel processed so far
    assert r.status_code == 200, r.body
    channels = body_of(r)["channels"]
    assert channels["unionpay"]["discrepancies"][0]["resolution"] == "recorded"
    assert channels["wechatpay"]["status"] == "balanced"
    assert channels["wechatpay"]["statement_count"] == 0
    r = client.http.get("/v1/admin/reconciliations/2026-06-10", headers=world.finance_auth())
    assert body_of(r)["channels"]["alipay"]["status"] == "pending"  # never run


def test_only_a_provincial_finance_key_reaches_reconciliation(world, client):
    r = client.http.get(f"/v1/admin/reconciliations/{DAY}", headers=world.auth())
    assert r.status_code == 403
    r = client.http.post(f"/v1/admin/reconciliations/{DAY}")
    assert r.status_code == 401
    r = client.http.get("/v1/admin/reconciliations/2026-13-01", headers=world.finance_auth())
    assert r.status_code == 400 and body_of(r)["error"]["fields"] == {"date": "must be YYYY-MM-DD"}
    r = client.http.post(f"/v1/admin/reconciliations/{DAY}/wechatpay/pay-x/resolution",
                         headers=world.finance_auth(), body="[]")
    assert r.status_code == 400
    r = client.http.post(f"/v1/admin/reconciliations/{DAY}", headers=world.finance_auth(),
                         body=json.dumps({"channels": ["paypal"]}))
    assert r.status_code == 400 and "channels" in body_of(r)["error"]["fields"]
    r = client.http.post(f"/v1/admin/reconciliations/{DAY}/paypal/pay-x/resolution",
                         headers=world.finance_auth(), body=json.dumps({"resolution": "x"}))
    assert r.status_code == 404
