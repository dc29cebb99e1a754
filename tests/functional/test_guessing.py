"""Guessing over HTTP (issue 9): every public route that takes a code spends one budget per
client; a storm stops its sender, never the bill's rightful users; a note's open orders are
capped; the lookup masks the phone and credit code."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from chalicelib.domain.codes import make_payment_code
from chalicelib.services.limits import GUESSES_PER_BILL_PER_DAY, GUESSES_PER_CLIENT_PER_HOUR
from tests.functional.support import (
    JSON,
    NOTE,
    assert_error,
    body_of,
    create_note,
    has_chinese,
    issued_bill,
)

FORM = "application/x-www-form-urlencoded"
STORM, OTHER = "198.51.100.66", "203.0.113.5"


def unknown_codes(world, n: int) -> list[str]:
    return [make_payment_code("340100", world.clock().year, 900_000 + i) for i in range(n)]


def pay(client, code: str, ip: str, channel: str = "wechatpay"):
    return client.http.post(f"/v1/public/notes/{code}/pay", body=json.dumps({"channel": channel}),
                            headers={**JSON, "X-Forwarded-For": ip})


def get(client, path: str, ip: str):
    return client.http.get(path, headers={"X-Forwarded-For": ip})


def test_eighty_unknown_codes_posted_to_pay_are_stopped_after_thirty(world, client):
    statuses = [pay(client, code, STORM).status_code for code in unknown_codes(world, 80)]
    assert statuses[:GUESSES_PER_CLIENT_PER_HOUR] == [404] * GUESSES_PER_CLIENT_PER_HOUR
    assert set(statuses[GUESSES_PER_CLIENT_PER_HOUR:]) == {429}
    code = create_note(world, client)["payment_code"]
    refused = pay(client, code, STORM)  # a right code is refused too: no oracle
    error = assert_error(refused, 429)
    assert has_chinese(error["message"]) and int(refused.headers["Retry-After"]) == 3600
    assert pay(client, code, OTHER).status_code == 201


def test_one_budget_covers_every_route_that_takes_a_payment_code(world, client):
    codes = unknown_codes(world, GUESSES_PER_CLIENT_PER_HOUR)
    for i, code in enumerate(codes):  # spread over the routes that look a code up
        path = ("/v1/public/notes/{}", "/pay/{}", "/v1/public/orders/UNKNOWN{}/form")[i % 3]
        assert get(client, path.format(code[-12:] if "orders" in path else code),
                   STORM).status_code == 404
    code = create_note(world, client)["payment_code"]
    assert get(client, f"/v1/public/notes/{code}", STORM).status_code == 429
    page = get(client, f"/pay/{code}", STORM)
    assert page.status_code == 429 and page.headers["Content-Type"].startswith("text/html")
    back = client.http.post(f"/pay/{code}", body="respCode=00",
                            headers={"Content-Type": FORM, "X-Forwarded-For": STORM})
    assert back.status_code == 429
    assert get(client, f"/v1/public/notes/{code}", OTHER).status_code == 200


def test_an_ipv6_client_is_one_client_across_its_64(world, client):
    for i, code in enumerate(unknown_codes(world, GUESSES_PER_CLIENT_PER_HOUR)):
        assert get(client, f"/v1/public/notes/{code}", f"2001:db8:7:8::{i + 1:x}").status_code \
            == 404
    code = create_note(world, client)["payment_code"]
    assert get(client, f"/v1/public/notes/{code}", "2001:db8:7:8:ffff::1").status_code == 429
    assert get(client, f"/v1/public/notes/{code}", "2001:db8:7:9::1").status_code == 200


def test_a_sixth_open_order_for_one_note_is_429_in_chinese(world, client):
    code = create_note(world, client)["payment_code"]
    for i, channel in enumerate(("wechatpay", "alipay", "unionpay", "wechatpay", "alipay")):
        assert pay(client, code, f"203.0.113.{i + 10}", channel).status_code == 201
    refused = pay(client, code, "203.0.113.99")
    error = assert_error(refused, 429)
    assert error["code"] == "too_many_open_orders" and "未完成的支付订单" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 2 * 3600


def bill_path(bill: dict, check_code: str, prefix: str = "/v1/public/bills") -> str:
    return f"{prefix}/{bill['bill_code']}/{bill['bill_number']}?check_code={check_code}"


def wrong_codes(bill: dict, n: int) -> list[str]:
    return [c for c in (f"w{i:05d}" for i in range(n + 1)) if c != bill["check_code"]][:n]


def test_a_wrong_check_code_storm_does_not_lock_the_bill_for_anyone_else(world, client):
    _, bill = issued_bill(world, client)
    for ip in (STORM, "198.51.100.67", "2001:db8:66::1"):
        for code in wrong_codes(bill, GUESSES_PER_BILL_PER_DAY):
            assert get(client, bill_path(bill, code), ip).status_code == 404
        assert get(client, bill_path(bill, bill["check_code"]), ip).status_code == 429
    assert get(client, bill_path(bill, bill["check_code"]), OTHER).status_code == 200
    assert get(client, bill_path(bill, bill["check_code"], "/bills"), OTHER).status_code == 200
    pdf = get(client, f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/pdf"
                      f"?check_code={bill['check_code']}", OTHER)
    assert pdf.status_code == 200
    unit = {"Authorization": f"Bearer {world.api_key(0, 'reimbursers')}", **JSON,
            "X-Forwarded-For": STORM}  # a reimbursing unit, even from the storm's address
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    r = client.http.post("/v1/verifications", headers=unit, body=json.dumps(body))
    assert r.status_code == 200 and body_of(r)["result"] == "authentic"
    r = client.http.post("/v1/reimbursements", headers=unit, body=json.dumps(body))
    assert r.status_code == 201


def test_the_public_verify_page_answers_a_bill_others_looked_up_all_day(world, client):
    from chalicelib.services.public_verification import LOOKUPS_PER_BILL_PER_DAY

    _, bill = issued_bill(world, client)
    fields = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}

    def ask(ip: str, **changes: str):
        return client.http.post("/verify", body=urlencode({**fields, **changes}),
                                headers={"Content-Type": FORM, "X-Forwarded-For": ip})
    for _ in range(LOOKUPS_PER_BILL_PER_DAY):
        ask(STORM, check_code="zzzzzz")
    assert ask(STORM).status_code == 429
    answer = ask(OTHER)
    assert answer.status_code == 200 and "真票" in answer.body.decode("utf-8")


def test_the_lookup_by_code_and_name_masks_the_phone_and_credit_code(world, client):
    organization = {**NOTE, "payer": {"name": "合肥某某科技有限公司", "type": "organization",
                                      "credit_code": "91340100MA2TGXJ81Y",
                                      "phone": "13912345678"}}
    code = create_note(world, client, organization)["payment_code"]
    r = client.http.post("/lookup", body=urlencode({"payment_code": code,
                                                    "payer_name": "合肥某某科技有限公司"}),
                         headers={"Content-Type": FORM, "X-Forwarded-For": OTHER})
    html = r.body.decode("utf-8")
    assert r.status_code == 200 and "合肥某某科技有限公司" in html
    assert "13912345678" not in html and "139****5678" in html
    assert "91340100MA2TGXJ81Y" not in html and "9134**********J81Y" in html


def test_the_active_query_pages_through_the_dynamodb_index_of_open_orders(world, client):
    from datetime import timedelta

    from chalicelib.services.order_query import query_open_orders

    for n in range(3):
        code = create_note(world, client)["payment_code"]
        for channel in ("wechatpay", "alipay"):  # six orders opened in the same second
            assert pay(client, code, f"203.0.113.{n + 20}", channel).status_code == 201
    world.clock.now += timedelta(minutes=4)
    counts = query_open_orders(world.deps, limit=4)  # two pages: 4, then the 2 after the 4th
    assert sum(counts.values()) == 6, counts
    assert len(world.deps.notes.open_orders("9999", 100)) == 6  # all still open and unpaid
