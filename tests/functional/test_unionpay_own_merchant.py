"""UnionPay for a unit's own merId, end to end: the finance department uploads the signing
certificate UnionPay issued to the unit's merId (PFX and password); the unit's orders are
opened with that merId and signed with that certificate, paid, notified naming the merId,
queried, refunded and reconciled from that merId's own file; a notice naming another merId
than the order's is refused and records nothing; a unit without a merId of its own sends
exactly what it sent before."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from chalicelib.adapters.unionpay.api import form_page, sign_request
from chalicelib.domain.payments import out_refund_no
from devstack.notifications import unionpay_notification
from tests.functional.channel_support import (
    at_cashier,
    deliver_through,
    form_fields,
    later,
    opened,
    paid_before_and_after,
    paid_twice,
    press_pay,
    run_job,
)
from tests.functional.support import assert_error, body_of, get_note, payments

UNIT = "340100001"
MER_ID, OTHER_MER_ID = "898340100000001", "898340100000002"
PASSWORD = "000000"  # UnionPay's test certificates come with this one
MERCHANT = f"/v1/admin/units/{UNIT}/merchants/unionpay"
CALLBACK = "/callbacks/unionpay"


def sim(world):
    return world.channels.servers["unionpay"]


def certificate_for(world, mer_id: str = MER_ID) -> str:
    """The PFX UnionPay issues to ``mer_id`` (the simulator plays UnionPay), in base64."""
    return base64.b64encode(sim(world).issue_merchant_certificate(mer_id, PASSWORD)).decode()


def give_own_merid(world, client, mer_id: str = MER_ID) -> dict:
    body = {"mer_id": mer_id, "sign_cert_pfx": certificate_for(world, mer_id),
            "sign_cert_password": PASSWORD}
    r = client.http.put(MERCHANT, headers=world.finance_auth(), body=json.dumps(body))
    assert r.status_code == 200, r.body
    world.deps.units.forget()  # this process's copy of the unit (others: within a minute)
    return body_of(r)


def form_of(client, view: dict) -> dict[str, str]:
    """The signed fields of the order's form (what the payer's browser posts to UnionPay)."""
    page = client.http.get(urlsplit(view["pay_url"]).path)
    assert page.status_code == 200, page.body
    return form_fields(page.body.decode())


def sent(world, path: str) -> list[dict]:
    return [data for channel, api, data in world.channels.calls
            if channel == "unionpay" and api == path]


def notice(world, view: dict, **overrides: str) -> tuple[bytes, dict]:
    return unionpay_notification(world.stack, view["out_trade_no"], view["amount_fen"],
                                 now=world.clock(), txnTime=overrides.pop(
                                     "txnTime", world.clock().strftime("%Y%m%d%H%M%S")),
                                 **overrides)


def test_a_units_order_is_signed_with_its_own_certificate_paid_and_billed(world, client):
    shown = give_own_merid(world, client)
    world.channels.deliver = deliver_through(client)
    code, view = opened(world, client, "unionpay")
    assert world.deps.notes.get_order(view["out_trade_no"]).merchant == MER_ID
    fields = form_of(client, view)
    cert = sim(world).merchants[MER_ID]
    [merchant] = shown["unit"]["merchants"]
    assert (fields["merId"], fields["certId"], fields["accessType"]) == (
        MER_ID, str(cert.serial_number), "0")
    assert merchant["cert_id"] == str(cert.serial_number)
    assert at_cashier(world, client, "unionpay", view).status == 200  # the signature checked
    assert press_pay(world, "unionpay", view["out_trade_no"]).status == 303  # notified: 200
    [row] = payments(world)
    assert (row["status"], row["merchant"]) == ("applied", MER_ID)
    world.drain()
    assert get_note(world, client, code)["status"] == "issued"


def test_a_unit_without_its_own_merid_sends_exactly_what_it_always_sent(world, client):
    """The form is the one the deployment's merchant always signed: same fields, same order,
    same signature (RSA PKCS#1 v1.5 is deterministic), byte for byte."""
    world.channels.deliver = deliver_through(client)
    _, view = opened(world, client, "unionpay")
    page = client.http.get(urlsplit(view["pay_url"]).path).body.decode()
    up = world.deps.channel("unionpay")
    order = world.deps.notes.get_order(view["out_trade_no"])
    assert order.merchant == ""
    fields = form_fields(page)
    expected = {"version": "5.1.0", "encoding": "utf-8", "signMethod": "01", "accessType": "0",
                "merId": up.mer_id, "certId": str(up.merchant_sign_cert.serial_number),
                "txnType": "01", "txnSubType": "01", "bizType": "000201", "channelType": "08",
                "orderId": view["out_trade_no"], "txnTime": fields["txnTime"],
                "txnAmt": str(view["amount_fen"]), "currencyCode": "156",
                "frontUrl": fields["frontUrl"], "backUrl": fields["backUrl"],
                "payTimeout": fields["payTimeout"]}
    action = f"{world.deps.settings.channel_api_urls['unionpay']}/gateway/api/frontTransReq.do"
    assert page == form_page(action, sign_request(expected, up.merchant_sign_key))
    at_cashier(world, client, "unionpay", view)
    press_pay(world, "unionpay", view["out_trade_no"])
    [row] = payments(world)
    assert row["status"] == "applied" and "merchant" not in row


def test_a_notice_naming_another_merid_than_the_orders_is_refused_and_records_nothing(
        world, client, caplog):
    """The check this feature rests on: without it the deployment's merId (or another unit's)
    would be recorded as paying the unit's order."""
    give_own_merid(world, client)
    code, view = opened(world, client, "unionpay")
    caplog.set_level(logging.WARNING)
    ours = world.stack["channels"]["unionpay"]["mer_id"]
    for mer_id in (ours, OTHER_MER_ID):
        body, headers = notice(world, view, merId=mer_id)
        r = client.http.post(CALLBACK, body=body, headers=headers)
        assert r.status_code == 409, (mer_id, r.body)
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"
    assert f"paid to merchant {OTHER_MER_ID}" in caplog.text
    assert "notification refused" in caplog.text
    body, headers = notice(world, view, merId=MER_ID)
    ok = client.http.post(CALLBACK, body=body, headers=headers)
    assert ok.status_code == 200 and ok.body == b"ok"
    assert get_note(world, client, code)["status"] == "paid"


def test_a_notice_naming_a_units_merid_for_an_order_of_the_deployment_is_refused(world,
                                                                                 client):
    give_own_merid(world, client)
    world.deps.units.remove_merchant(UNIT, "unionpay", world.clock())
    world.deps.units.forget()
    code, view = opened(world, client, "unionpay")
    body, headers = notice(world, view, merId=MER_ID)
    assert client.http.post(CALLBACK, body=body, headers=headers).status_code == 409
    assert payments(world) == [] and get_note(world, client, code)["status"] == "unpaid"


def test_an_order_keeps_the_merid_it_was_opened_for(world, client):
    world.channels.deliver = deliver_through(client)
    code, before = opened(world, client, "unionpay")
    give_own_merid(world, client)
    _, after = opened(world, client, "unionpay", code)
    assert world.deps.notes.get_order(before["out_trade_no"]).merchant == ""
    assert form_of(client, before)["merId"] == world.stack["channels"]["unionpay"]["mer_id"]
    assert form_of(client, after)["merId"] == MER_ID
    at_cashier(world, client, "unionpay", before)
    assert press_pay(world, "unionpay", before["out_trade_no"]).status == 303
    assert get_note(world, client, code)["status"] == "paid"


def test_a_lost_notice_is_found_by_a_query_signed_for_the_units_merid(world, client):
    give_own_merid(world, client)
    code, view = opened(world, client, "unionpay")
    at_cashier(world, client, "unionpay", view)
    world.channels.pay("unionpay", view["out_trade_no"], notify=False)
    later(world, 4)
    run_job("query_open_orders")
    [asked] = sent(world, "/gateway/api/queryTrans.do")
    cert = sim(world).merchants[MER_ID]
    assert (asked["merId"], asked["certId"]) == (MER_ID, str(cert.serial_number))
    assert get_note(world, client, code)["status"] == "paid"
    [row] = payments(world)
    assert (row["notification_id"], row["merchant"]) == ("query", MER_ID)


def test_the_units_merid_refunds_its_exception(world, client):
    give_own_merid(world, client)
    code, exception = paid_twice(world, client, "unionpay")
    assert exception["merchant"] == MER_ID
    run_job("refund_exceptions")
    [request] = sent(world, "/gateway/api/backTransReq.do")
    assert (request["merId"], request["txnType"]) == (MER_ID, "04")
    assert request["orderId"] == out_refund_no(exception["payment_id"])
    later(world, 10)
    run_job("refund_exceptions")  # asked again: the refund order found, by the unit's merId
    [shown] = get_note(world, client, code)["exceptions"]
    assert shown["refund_status"] == "succeeded"


def test_the_day_is_reconciled_from_each_merids_own_file(world, client):
    direct, own, _ = paid_before_and_after(world, client, "unionpay", give_own_merid)
    world.clock.now += timedelta(days=1, minutes=30)
    r = client.http.post("/v1/admin/reconciliations/2026-06-15", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    unionpay = body_of(r)["channels"]["unionpay"]
    assert (unionpay["status"], unionpay["statement_count"]) == ("balanced", 2), unionpay
    asked = sent(world, "/fileTransfer.do")
    assert sorted(a["merId"] for a in asked) == sorted(
        [world.stack["channels"]["unionpay"]["mer_id"], MER_ID])


def test_a_statement_line_of_another_merid_than_the_payments_is_a_status_mismatch(world,
                                                                                  client):
    world.channels.deliver = deliver_through(client)
    give_own_merid(world, client)
    _, view = opened(world, client, "unionpay")
    at_cashier(world, client, "unionpay", view)
    press_pay(world, "unionpay", view["out_trade_no"])
    # UnionPay's file lists the payment under the deployment's merId, not the unit's
    sim(world).s.orders[("unionpay", view["out_trade_no"])].extra["merId"] = \
        world.stack["channels"]["unionpay"]["mer_id"]
    world.clock.now += timedelta(days=1, minutes=30)
    r = client.http.post("/v1/admin/reconciliations/2026-06-15", headers=world.finance_auth())
    unionpay = body_of(r)["channels"]["unionpay"]
    [line] = unionpay["discrepancies"]
    assert line["kind"] == "status_mismatch" and MER_ID in line["detail"], line


def test_the_signing_certificate_is_checked_and_never_shown_stored_or_logged(world, client,
                                                                             caplog):
    caplog.set_level(logging.INFO)
    pfx = certificate_for(world)
    for body, field in (({"mer_id": "89834010000000", "sign_cert_pfx": pfx,
                          "sign_cert_password": PASSWORD}, "mer_id"),
                        ({"mer_id": MER_ID, "sign_cert_pfx": "not base64!",
                          "sign_cert_password": PASSWORD}, "sign_cert_pfx"),
                        ({"mer_id": MER_ID, "sign_cert_pfx": pfx,
                          "sign_cert_password": "wrong-secret-pw"}, "sign_cert_pfx"),
                        ({"mer_id": MER_ID, "sign_cert_pfx": pfx}, "sign_cert_password"),
                        ({"mer_id": MER_ID, "sign_cert_pfx": pfx, "sign_cert_password": PASSWORD,
                          "certId": "1"}, "certId")):
        r = client.http.put(MERCHANT, headers=world.finance_auth(), body=json.dumps(body))
        error = assert_error(r, 400)
        assert field in error["fields"], (body, error)
        assert "wrong-secret-pw" not in r.body.decode() and pfx[:64] not in r.body.decode()
    assert world.deps.units.get(UNIT).merchants == ()
    shown = give_own_merid(world, client)
    [merchant] = shown["unit"]["merchants"]
    assert set(merchant) == {"channel", "since", "mer_id", "cert_id", "cert_until",
                             "sign_cert_set"}
    assert merchant["sign_cert_set"] is True and merchant["cert_until"].startswith("2028-12-")
    stored = world.deps.units.get(UNIT).merchant("unionpay")
    assert "PRIVATE KEY" not in stored.sealed_token and stored.sealed_token not in repr(stored)
    detail = client.http.get(f"/v1/admin/units/{UNIT}", headers=world.finance_auth()).body
    events = json.dumps([e.detail for e in world.deps.audit.query(
        bill_id=f"admin#unit#{UNIT}")], ensure_ascii=False)
    for text in (detail.decode(), events, caplog.text):
        assert stored.sealed_token not in text and "PRIVATE KEY" not in text
        assert pfx[:64] not in text
    assert '"cert_id"' in events
    r = client.http.delete(MERCHANT, headers=world.finance_auth())
    assert r.status_code == 200 and body_of(r)["unit"]["merchants"] == []


def test_only_the_finance_key_of_the_units_region_sets_a_units_merid(world, client):
    body = json.dumps({"mer_id": MER_ID, "sign_cert_pfx": certificate_for(world),
                       "sign_cert_password": PASSWORD})
    assert assert_error(client.http.put(MERCHANT, headers=world.auth(), body=body),
                        403)["code"] == "not_a_finance_key"
    r = client.http.put("/v1/admin/units/340100901/merchants/unionpay",
                        headers=world.finance_auth(), body=body)
    assert assert_error(r, 409)["code"] == "not_a_collecting_unit"
    assert world.deps.units.get(UNIT).merchants == ()


def test_the_simulator_refuses_a_units_request_signed_with_the_deployments_key(world,
                                                                               client):
    """UnionPay checks certId and signature against the merId's own certificate: a form for
    the unit's merId signed with ours is refused (验证签名失败)."""
    give_own_merid(world, client)
    _, view = opened(world, client, "unionpay")
    fields = form_of(client, view)
    up = world.deps.channel("unionpay")
    forged = sign_request({**{k: v for k, v in fields.items() if k != "signature"},
                           "certId": str(up.merchant_sign_cert.serial_number)},
                          up.merchant_sign_key)
    assert forged["signature"] != fields["signature"]
    reply = world.channels.handle("POST", "/unionpay/gateway/api/frontTransReq.do",
                                  {"Content-Type": "application/x-www-form-urlencoded"},
                                  urlencode(forged).encode())
    assert reply.status == 400


def console_upload(client, cookies, fields: dict[str, str], pfx: bytes | None):
    from tests.functional.test_console_sign_in import IP
    from tests.functional.test_finance_console_unit_basics import BOUNDARY

    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             .encode() for name, value in fields.items()]
    if pfx is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="sign_cert_pfx"; '
                     'filename="acp_sign.pfx"\r\nContent-Type: application/x-pkcs12\r\n\r\n'
                     .encode() + pfx + b"\r\n")
    return client.http.post(f"/console/finance/units/{UNIT}/merchants/unionpay",
                            body=b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(), headers={
                                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                                "X-Forwarded-For": IP, "Cookie": "; ".join(cookies)})


def test_a_finance_admin_uploads_the_units_certificate_on_the_unit_page(client, world):
    from tests.functional.test_console_sign_in import sign_in
    from tests.functional.test_finance_console_people import get

    cookies, token = sign_in(client, world, "finance_admin")
    page = get(client, f"/console/finance/units/{UNIT}", cookies).body.decode()
    assert 'enctype="multipart/form-data"' in page and "保存银联商户号" in page
    password = "Up-Pass-7319"
    pfx = sim(world).issue_merchant_certificate(MER_ID, password)
    wrong = console_upload(client, cookies, {"csrf_token": token, "action": "set",
                                             "mer_id": MER_ID,
                                             "sign_cert_password": "wrong-secret-pw"}, pfx)
    assert wrong.status_code == 400
    assert 'aria-describedby="e-up-sign_cert_pfx"' in wrong.body.decode()
    assert "wrong-secret-pw" not in wrong.body.decode()
    assert world.deps.units.get(UNIT).merchants == ()
    assert console_upload(client, cookies, {"csrf_token": "nope", "action": "set",
                                            "mer_id": MER_ID, "sign_cert_password": password},
                          pfx).status_code == 403
    r = console_upload(client, cookies, {"csrf_token": token, "action": "set", "mer_id": MER_ID,
                                         "sign_cert_password": password}, pfx)
    shown = r.body.decode()
    cert = sim(world).merchants[MER_ID]
    assert r.status_code == 200 and f"已保存银联商户号 {MER_ID}" in shown, shown[-800:]
    assert f"证书序列号 {cert.serial_number}" in shown and password not in shown
    stored = world.deps.units.get(UNIT).merchant("unionpay")
    assert stored.sealed_token not in shown and "PRIVATE KEY" not in shown
    event = world.deps.audit.query(bill_id=f"admin#unit#{UNIT}")[0]
    assert event.action == "set_merchant" and event.client.startswith("person:finance.admin@")


def test_an_auditor_sees_the_units_merid_but_may_not_upload_one(client, world):
    from tests.functional.test_console_sign_in import sign_in
    from tests.functional.test_finance_console_people import get

    give_own_merid(world, client)
    cookies, token = sign_in(client, world, "finance_auditor")
    page = get(client, f"/console/finance/units/{UNIT}", cookies).body.decode()
    assert MER_ID in page and "保存银联商户号" not in page
    r = console_upload(client, cookies, {"csrf_token": token, "action": "remove"}, None)
    assert r.status_code == 403
    assert world.deps.units.get(UNIT).merchant("unionpay") is not None


def test_the_simulator_issues_a_merchant_its_certificate_as_the_local_stack_needs(world,
                                                                                   client):
    """What a person trying the local stack does: ask the simulated UnionPay for a merId's
    certificate, then put it on the unit."""
    reply = world.channels.handle("POST", "/unionpay/_sim/merchant-certificate",
                                  {"Content-Type": "application/json"},
                                  json.dumps({"mer_id": MER_ID, "password": PASSWORD}).encode())
    issued = json.loads(reply.body)
    assert reply.status == 200 and issued["cert_id"] == str(sim(world).merchants[MER_ID]
                                                            .serial_number)
    r = client.http.put(MERCHANT, headers=world.finance_auth(), body=json.dumps({
        "mer_id": MER_ID, "sign_cert_pfx": issued["sign_cert_pfx"],
        "sign_cert_password": PASSWORD}))
    assert body_of(r)["unit"]["merchants"][0]["cert_id"] == issued["cert_id"]
    ours = world.stack["channels"]["unionpay"]["mer_id"]
    for wrong in ({"mer_id": ours}, {"mer_id": "123"}, {}):
        assert world.channels.handle("POST", "/unionpay/_sim/merchant-certificate", {},
                                     json.dumps(wrong).encode()).status == 400


def test_the_unit_warns_a_month_before_its_merids_certificate_ends_and_once_it_has(world, client):
    until = datetime.fromisoformat(give_own_merid(world, client)["unit"]["merchants"][0]
                                   ["cert_until"])

    def cert_warnings() -> list[dict]:
        r = client.http.get(f"/v1/admin/units/{UNIT}", headers=world.finance_auth())
        assert r.status_code == 200, r.body
        return [w for w in body_of(r)["warnings"] if w["code"].startswith("merchant_cert")]

    assert cert_warnings() == []
    world.clock.now = until - timedelta(days=30, seconds=1)
    assert cert_warnings() == []
    world.clock.now = until - timedelta(days=12, hours=1)
    [soon] = cert_warnings()
    assert (soon["code"], soon["merchant_id"], soon["days_left"]) == (
        "merchant_cert_expiring", MER_ID, 12)
    assert "剩余 12 天" in soon["message"]
    world.clock.now = until + timedelta(seconds=1)
    [gone] = cert_warnings()
    assert (gone["code"], gone["merchant_id"]) == ("merchant_cert_expired", MER_ID)


def test_a_certificate_not_issued_by_the_configured_merchant_ca_or_not_for_signing_is_refused(
        world, client):
    """The stack trusts its own stand-in for CFCA (merchant_cert_roots_pem); a self-issued
    certificate, one of another CA, and an encryption certificate of the right CA are 400
    naming sign_cert_pfx, and nothing is kept."""
    from devstack.builders.unionpay import ENCRYPTION_USAGE, make_merchant_ca

    assert world.deps.channel("unionpay").merchant_cert_roots == (sim(world).merchant_ca[0],)
    for how, why in (({"issuer": None}, "does not chain"),
                     ({"issuer": make_merchant_ca("Another CA")}, "does not chain"),
                     ({"usage": ENCRYPTION_USAGE}, "not a signing certificate")):
        pfx = sim(world).issue_merchant_certificate(MER_ID, PASSWORD, **how)
        r = client.http.put(MERCHANT, headers=world.finance_auth(), body=json.dumps({
            "mer_id": MER_ID, "sign_cert_pfx": base64.b64encode(pfx).decode(),
            "sign_cert_password": PASSWORD}))
        error = assert_error(r, 400)
        assert why in error["fields"]["sign_cert_pfx"], (how, error)
    assert world.deps.units.get(UNIT).merchants == ()
    give_own_merid(world, client)  # the stack's merchant CA's signing certificate: kept
