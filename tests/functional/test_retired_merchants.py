"""A unit's merchant replaced (PUT with another) or removed (DELETE) is retired, not forgotten:
money paid to it is still found (its open orders queried with its own credentials), refunded
(with its own key or token) and reconciled (its own statement fetched for the days that may
hold its payments or our refunds of them); a notice for one of its orders must still name it,
exactly; the API and the finance console show it (never its secret) and until when it is kept.
The clock is pinned (``world.clock``, 2026-06-15)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.merchants import RETIRED_KEEP
from tests.functional.channel_support import (
    at_cashier,
    deliver_through,
    later,
    opened,
    paid_before_and_after,
    paid_twice,
    run_job,
)
from tests.functional.support import body_of, get_note, payments
from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_finance_console_people import get
from tests.functional.test_unionpay_own_merchant import (
    CALLBACK,
    MER_ID,
    MERCHANT,
    OTHER_MER_ID,
    UNIT,
    give_own_merid,
    notice,
    sent,
    sim,
)

DAY = "2026-06-15"


def replace_merid(world, client) -> dict:
    """The unit's merId replaced by another (its own certificate too)."""
    return give_own_merid(world, client, OTHER_MER_ID)


def reconcile(world, client, day: str) -> dict:
    r = client.http.post(f"/v1/admin/reconciliations/{day}", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    return body_of(r)["channels"]["unionpay"]


def test_a_replaced_merids_payment_is_refunded_with_its_own_certificate(world, client):
    give_own_merid(world, client)
    code, exception = paid_twice(world, client, "unionpay")
    assert exception["merchant"] == MER_ID
    old_cert = sim(world).merchants[MER_ID]
    replace_merid(world, client)
    run_job("refund_exceptions")
    [request] = sent(world, "/gateway/api/backTransReq.do")
    assert (request["merId"], request["certId"], request["txnType"]) == (
        MER_ID, str(old_cert.serial_number), "04")  # the old merId's, signed with its key
    later(world, 10)
    run_job("refund_exceptions")
    [shown] = get_note(world, client, code)["exceptions"]
    assert shown["refund_status"] == "succeeded"


def test_a_removed_merids_open_order_is_found_by_a_query_signed_for_it(world, client):
    give_own_merid(world, client)
    old_cert = sim(world).merchants[MER_ID]
    code, view = opened(world, client, "unionpay")
    at_cashier(world, client, "unionpay", view)
    r = client.http.delete(MERCHANT, headers=world.finance_auth())
    assert r.status_code == 200 and body_of(r)["unit"]["merchants"] == []
    world.deps.units.forget()
    world.channels.pay("unionpay", view["out_trade_no"], notify=False)
    later(world, 4)
    run_job("query_open_orders")
    [asked] = sent(world, "/gateway/api/queryTrans.do")
    assert (asked["merId"], asked["certId"]) == (MER_ID, str(old_cert.serial_number))
    assert get_note(world, client, code)["status"] == "paid"
    [row] = payments(world)
    assert (row["notification_id"], row["merchant"]) == ("query", MER_ID)


def test_a_retired_merids_statement_is_fetched_and_the_day_balances(world, client):
    direct, own, _ = paid_before_and_after(world, client, "unionpay", give_own_merid)
    later(world, 30)
    replace_merid(world, client)  # the same day: the old merId's payment is on its own file
    world.clock.now += timedelta(days=1, minutes=30)
    world.channels.calls.clear()
    unionpay = reconcile(world, client, DAY)
    # the new merId's file holds nothing that day: the old one's is the unit's statement
    assert (unionpay["status"], unionpay["statement_count"]) == ("balanced", 2), unionpay
    assert f"ZM_{MER_ID}" in unionpay["detail"]
    ours = world.stack["channels"]["unionpay"]["mer_id"]
    assert sorted(a["merId"] for a in sent(world, "/fileTransfer.do")) == sorted(
        [ours, MER_ID, OTHER_MER_ID])


def test_a_retired_merids_file_is_fetched_on_a_later_day_only_for_our_refund_of_its_payment(
        world, client):
    give_own_merid(world, client)
    code, exception = paid_twice(world, client, "unionpay")
    replace_merid(world, client)
    world.clock.now += timedelta(days=5)  # past the days its payments may be listed on
    refund_day = world.clock().astimezone(CHINA_TZ).date().isoformat()
    run_job("refund_exceptions")
    later(world, 10)
    run_job("refund_exceptions")
    [shown] = get_note(world, client, code)["exceptions"]
    assert shown["refund_status"] == "succeeded"
    quiet_day = (world.clock() - timedelta(days=1)).astimezone(CHINA_TZ).date().isoformat()
    world.clock.now += timedelta(days=1, minutes=30)
    world.channels.calls.clear()
    refunded = reconcile(world, client, refund_day)
    assert refunded["status"] == "balanced", refunded
    assert MER_ID in [a["merId"] for a in sent(world, "/fileTransfer.do")]
    world.channels.calls.clear()
    reconcile(world, client, quiet_day)  # nothing of the old merId's that day: not asked
    assert MER_ID not in [a["merId"] for a in sent(world, "/fileTransfer.do")]


def test_a_notice_for_a_retired_merids_order_must_still_name_it_exactly(world, client):
    give_own_merid(world, client)
    code, view = opened(world, client, "unionpay")
    replace_merid(world, client)
    ours = world.stack["channels"]["unionpay"]["mer_id"]
    for mer_id in (OTHER_MER_ID, ours):  # the unit's merchant now, and the deployment's
        body, headers = notice(world, view, merId=mer_id)
        assert client.http.post(CALLBACK, body=body, headers=headers).status_code == 409
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"
    body, headers = notice(world, view, merId=MER_ID)
    ok = client.http.post(CALLBACK, body=body, headers=headers)
    assert ok.status_code == 200 and ok.body == b"ok"
    [row] = payments(world)
    assert (row["status"], row["merchant"]) == ("applied", MER_ID)


def test_the_api_the_audit_log_and_the_console_show_the_retired_merid_never_its_key(
        world, client):
    world.channels.deliver = deliver_through(client)
    first = give_own_merid(world, client)["unit"]["merchants"][0]
    retired_at = world.clock().astimezone(CHINA_TZ)
    shown = replace_merid(world, client)["unit"]
    assert [m["mer_id"] for m in shown["merchants"]] == [OTHER_MER_ID]
    [old] = shown["retired_merchants"]
    assert old == {**first, "retired_at": retired_at.isoformat(timespec="seconds"),
                   "keep_until": (retired_at + RETIRED_KEEP).isoformat(timespec="seconds")}
    assert old["keep_until"].startswith("2027-06-22")  # 372 days
    detail = client.http.get(f"/v1/admin/units/{UNIT}", headers=world.finance_auth())
    assert body_of(detail)["unit"]["retired_merchants"] == [old]
    stored = world.deps.units.get(UNIT).retired_merchants[0]
    assert stored.sealed_token and stored.sealed_token not in detail.body.decode()
    assert "PRIVATE KEY" not in detail.body.decode()
    events = [e.detail for e in world.deps.audit.query(bill_id=f"admin#unit#{UNIT}")]
    assert [e.get("retired") for e in events if e.get("channel") == "unionpay"
            and e.get("mer_id") == OTHER_MER_ID] == [MER_ID]  # the PUT that replaced it
    assert stored.sealed_token not in json.dumps(events, ensure_ascii=False)
    r = client.http.delete(MERCHANT, headers=world.finance_auth())
    both = body_of(r)["unit"]["retired_merchants"]
    assert [m["mer_id"] for m in both] == [OTHER_MER_ID, MER_ID]  # latest retirement first
    cookies, _ = sign_in(client, world, "finance_auditor")  # anyone of the console sees them
    page = get(client, f"/console/finance/units/{UNIT}", cookies).body.decode()
    section = page[page.index('id="retired-merchants"'):]
    section = section[:section.index("</table>")]
    assert "已停用的商户号" in page and MER_ID in section and OTHER_MER_ID in section
    assert "2027-06-22" in section and "PRIVATE KEY" not in page
    assert stored.sealed_token not in page


def test_a_merchant_given_again_is_current_not_retired_and_a_renewal_retires_nothing(
        world, client):
    give_own_merid(world, client)
    give_own_merid(world, client)  # a renewed certificate of the same merId: nothing retired
    assert world.deps.units.get(UNIT).retired_merchants == ()
    replace_merid(world, client)
    shown = give_own_merid(world, client)["unit"]  # back to the first: the second retired
    assert [m["mer_id"] for m in shown["retired_merchants"]] == [OTHER_MER_ID]


def test_a_retired_merchant_is_dropped_once_its_keep_is_over(world, client):
    give_own_merid(world, client)
    replace_merid(world, client)
    world.clock.now += RETIRED_KEEP + timedelta(days=1)
    shown = give_own_merid(world, client, "898340100000003")["unit"]
    assert [m["mer_id"] for m in shown["retired_merchants"]] == [OTHER_MER_ID]
    [kept] = world.deps.units.get(UNIT).retired_merchants
    assert datetime.fromisoformat(kept.keep_until) > world.clock()
    assert not re.search(MER_ID, json.dumps(shown))
