"""The edge's statuses, end to end: AWS failing is a 503 on every kind of route, and callbacks
and pages take their status from the one table (``chalicelib.api.errors``)."""

from __future__ import annotations

import random
from typing import Any

from chalicelib.api import errors
from chalicelib.domain.codes import make_payment_code
from chalicelib.domain.errors import NotFound, SignatureInvalid, ValidationFailed
from devstack.notifications import alipay_notification, bank_notification
from tests.faults.injector import REFUSED, moto_honours_refusals, refusal, skip_sdk_backoff
from tests.functional.support import (
    JSON,
    body_of,
    botocore_hooks,
    create_note,
    notification,
    open_order,
    payments,
)

HTML = {"Accept": "text/html"}


class Outage:
    """Every call to one AWS service answered as a busy or failing service answers (throttled,
    500 or 503: nothing done), while ``active``."""

    def __init__(self, service: str) -> None:
        self.service, self.active, self.refused = service, False, 0
        self._draw = random.Random(11)

    def before_send(self, request, event_name: str = "", **_: Any):
        if not self.active or event_name.split(".")[1:2] != [self.service]:
            return None
        self.refused += 1
        request.context[REFUSED] = True
        return refusal(self.service, self._draw)


def test_dynamodb_failing_is_a_503_to_units_channels_and_payers_and_records_nothing(
        world, client, monkeypatch):
    code = create_note(world, client)["payment_code"]
    wechat = notification(world, open_order(client, code))
    alipay = alipay_notification(world.stack, open_order(client, code, "alipay")["out_trade_no"],
                                 10000, now=world.clock())
    bank = bank_notification(world.stack, code, 10000, now=world.clock())
    outage = Outage("dynamodb")
    moto_honours_refusals(monkeypatch)
    skip_sdk_backoff(monkeypatch)
    with botocore_hooks(monkeypatch, {"before-send": outage.before_send}):
        outage.active = True
        note = client.http.get(f"/v1/notes/{code}", headers=world.auth())
        answers = {channel: client.http.post(f"/callbacks/{channel}", body=body, headers=headers)
                   for channel, (body, headers) in
                   (("wechatpay", wechat), ("alipay", alipay), ("bank", bank))}
        pay_page = client.http.get(f"/pay/{code}", headers=HTML)
        verify_page = client.http.get("/verify?bill_code=34010126&bill_number=0000000001"
                                      "&check_code=abc123", headers=HTML)
        outage.active = False
    assert outage.refused >= 6
    assert note.status_code == 503
    assert body_of(note)["error"]["code"] == "service_unavailable"
    assert answers["wechatpay"].status_code == 503
    assert body_of(answers["wechatpay"]) == {"code": "FAIL", "message": "暂时无法处理，请重试"}
    assert (answers["alipay"].status_code, answers["alipay"].body) == (503, b"fail")
    assert answers["bank"].status_code == 503
    assert body_of(answers["bank"])["error"]["code"] == "service_unavailable"
    for page in (pay_page, verify_page):
        assert page.status_code == 503
        assert page.headers["Content-Type"].startswith("text/html")
        assert "Traceback" not in page.body.decode()
    assert payments(world) == []


def test_callbacks_and_pages_answer_with_the_status_the_table_gives(world, client, monkeypatch):
    """Change the table, and every callback and page follows: none chose its status itself."""
    monkeypatch.setitem(errors.STATUS, SignatureInvalid, 418)
    monkeypatch.setitem(errors.STATUS, NotFound, 410)
    monkeypatch.setitem(errors.STATUS, ValidationFailed, 422)
    monkeypatch.setitem(errors.CHANNEL_STATUS["alipay"], SignatureInvalid, 421)
    code = create_note(world, client)["payment_code"]
    body, headers = notification(world, open_order(client, code))
    forged = body.replace(b'"', b"'", 1)
    assert client.http.post("/callbacks/wechatpay", body=forged, headers=headers).status_code \
        == 418
    bank_body, bank_headers = bank_notification(world.stack, code, 10000, now=world.clock())
    bank_headers = {**bank_headers, "X-Signature": "AAAA"}
    assert client.http.post("/callbacks/bank", body=bank_body, headers=bank_headers) \
        .status_code == 418
    alipay_body, alipay_headers = alipay_notification(
        world.stack, open_order(client, code, "alipay")["out_trade_no"], 10000,
        now=world.clock())
    assert client.http.post("/callbacks/alipay", body=alipay_body + b"&x=1",
                            headers=alipay_headers).status_code == 421

    unknown = make_payment_code("340100", 2026, 999_999)
    assert client.http.get(f"/pay/{unknown}", headers=HTML).status_code == 410
    assert client.http.get("/b/123", headers=HTML).status_code == 410
    lookup = client.http.post("/lookup", headers={
        "Content-Type": "application/x-www-form-urlencoded", **HTML},
        body=f"payment_code={code[:-1]}x&payer_name=x")
    assert lookup.status_code == 422
    assert client.http.get("/verify?bill_code=1", headers=HTML).status_code == 422
    assert client.http.get(f"/v1/public/notes/{unknown}", headers=JSON).status_code == 410
