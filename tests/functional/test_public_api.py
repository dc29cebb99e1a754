"""Payers' routes, no credential: the note (JSON and page), channel orders, bills, files, keys."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.adapters.signers import alg_of_public_key
from chalicelib.domain.codes import make_payment_code
from tests.functional.support import (
    JSON,
    NOTE,
    assert_error,
    body_of,
    create_note,
    has_chinese,
    iso_with_offset,
    issued_bill,
    open_order,
    paid_note,
)

ORGANIZATION = {**NOTE, "payer": {"name": "合肥某某科技有限公司", "type": "organization",
                                  "credit_code": "91340100MA2XXXXX1F", "phone": "13912345678"}}


def wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def unknown_code(world) -> str:
    return make_payment_code("340100", world.clock().year, 987_654)


def text_of(response) -> str:
    return response.body.decode("utf-8")


def pay(client, code: str, body: object):
    return client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON, body=json.dumps(body))


# --- the note as JSON ------------------------------------------------------------------------

def test_the_public_note_masks_the_payers_name_and_phone(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.get(f"/v1/public/notes/{code}")

    assert r.status_code == 200, r.body
    note = body_of(r)
    assert note["payer"]["name"] == "张*"
    assert note["payer"]["phone"] == "138****5678"
    shown = json.dumps(note, ensure_ascii=False)
    assert "张三" not in shown and "13812345678" not in shown
    assert note["total_fen"] == 10000 and note["status"] == "unpaid"
    assert "notice_pdf_url" not in note


def test_the_public_note_hides_an_organizations_credit_code(world, client):
    code = create_note(world, client, ORGANIZATION)["payment_code"]
    note = body_of(client.http.get(f"/v1/public/notes/{code}"))
    shown = json.dumps(note, ensure_ascii=False)
    assert "91340100MA2XXXXX1F" not in shown and "13912345678" not in shown
    assert note["payer"]["name"] != "合肥某某科技有限公司"


def test_the_public_note_of_a_paid_note_does_not_show_the_channel_transaction(world, client):
    code, _ = paid_note(world, client)
    note = body_of(client.http.get(f"/v1/public/notes/{code}"))
    assert note["status"] == "paid"
    assert "channel_txn_id" not in (note.get("payment") or {})


def test_a_poll_of_the_public_note_is_one_read_of_the_note_and_the_guessing_budget(
        world, client, monkeypatch):
    """A payer's page polls this until the bill is there: the note and the client's guessing
    counter come in one ``BatchGetItem``, not a ``GetItem`` each."""
    from tests.functional.support import counting_aws_calls

    code, _ = paid_note(world, client)
    with counting_aws_calls(monkeypatch) as calls:
        r = client.http.get(f"/v1/public/notes/{code}")
    assert body_of(r)["status"] == "paid"
    assert calls.calls == ["dynamodb.BatchGetItem"]


def test_a_payment_code_with_a_wrong_check_digit_is_400_in_chinese(world, client):
    code = create_note(world, client)["payment_code"]
    error = assert_error(client.http.get(f"/v1/public/notes/{wrong_check_digit(code)}"), 400,
                         "payment_code")
    assert has_chinese(error["message"])


@pytest.mark.parametrize("code", ["1234", "3401002600000000000x", "340100260000000000001"])
def test_a_payment_code_that_is_not_20_digits_is_400(world, client, code):
    assert_error(client.http.get(f"/v1/public/notes/{code}"), 400, "payment_code")


def test_an_unknown_payment_code_is_404(world, client):
    error = assert_error(client.http.get(f"/v1/public/notes/{unknown_code(world)}"), 404)
    assert has_chinese(error["message"])


# --- channel orders --------------------------------------------------------------------------

def test_opening_a_wechat_order_gives_an_out_trade_no_every_channel_accepts(world, client):
    code = create_note(world, client)["payment_code"]
    r = pay(client, code, {"channel": "wechatpay"})

    assert r.status_code == 201, r.body
    order = body_of(r)
    assert order["channel"] == "wechatpay"
    assert re.fullmatch(r"[0-9A-Za-z]{8,32}", order["out_trade_no"])
    assert order["amount_fen"] == 10000
    assert open_order(client, code)["out_trade_no"] != order["out_trade_no"]


@pytest.mark.parametrize("body", [{"channel": "paypal"}, {}, {"channel": None},
                                  {"channel": ["wechatpay"]}, ["wechatpay"]],
                         ids=["unknown", "missing", "null", "list", "not-an-object"])
def test_an_unknown_channel_is_400_naming_the_channel(world, client, body):
    code = create_note(world, client)["payment_code"]
    expected = ("channel",) if isinstance(body, dict) else ()
    assert_error(pay(client, code, body), 400, *expected)


def test_paying_a_cancelled_note_is_409(world, client):
    code = create_note(world, client)["payment_code"]
    assert client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth()).status_code == 200
    assert_error(pay(client, code, {"channel": "wechatpay"}), 409)


def test_paying_a_paid_note_is_409(world, client):
    code, _ = paid_note(world, client)
    assert_error(pay(client, code, {"channel": "wechatpay"}), 409)


def test_paying_with_a_bad_or_unknown_payment_code_is_400_or_404(world, client):
    code = create_note(world, client)["payment_code"]
    assert_error(pay(client, wrong_check_digit(code), {"channel": "wechatpay"}), 400)
    assert_error(pay(client, unknown_code(world), {"channel": "wechatpay"}), 404)


def test_the_pay_pages_button_redirects_the_browser_to_the_cashier(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", body="channel=wechatpay", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
    assert r.status_code == 303, r.body
    location = r.headers["Location"]  # WeChat's h5_url, sending the payer back to the pay page
    assert location.startswith("http://channels.test/wechatpay?prepay_id=")
    assert location.endswith(f"&redirect_url=http%3A%2F%2Ftestserver%2Fpay%2F{code}")


# --- the pay page ----------------------------------------------------------------------------

def test_the_pay_page_is_small_chinese_html_with_the_masked_payer_and_the_amount(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.get(f"/pay/{code}")

    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert len(r.body) < 100_000
    page = text_of(r)
    assert 'lang="zh-CN"' in page
    assert "张*" in page and "138****5678" in page
    assert "张三" not in page and "13812345678" not in page
    assert "100.00" in page


def test_the_pay_page_of_a_bad_payment_code_is_a_400_page(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.get(f"/pay/{wrong_check_digit(code)}")
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html") and has_chinese(text_of(r))


def test_the_pay_page_of_an_unknown_payment_code_is_a_404_page(world, client):
    r = client.http.get(f"/pay/{unknown_code(world)}")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html") and has_chinese(text_of(r))


# --- bills -----------------------------------------------------------------------------------

def other_code(check_code: str) -> str:
    return check_code[:-1] + ("A" if check_code[-1] != "A" else "B")


def test_the_bill_json_with_the_right_check_code(world, client):
    code, bill = issued_bill(world, client)
    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={bill['check_code']}")

    assert r.status_code == 200, r.body
    view = body_of(r)
    assert (view["bill_code"], view["bill_number"]) == (bill["bill_code"], bill["bill_number"])
    assert view["status"] == "normal"
    assert view["total_fen"] == 10000
    assert view["payment_code"] == code
    assert "/pdf?" in view["pdf_url"] and "/xml?" in view["xml_url"]
    iso_with_offset(view["issued_at"])


def test_the_bill_page_with_a_wrong_check_code_is_a_404_page(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={other_code(bill['check_code'])}")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html") and has_chinese(text_of(r))


def test_the_check_code_is_case_sensitive(world, client):
    _, bill = issued_bill(world, client)
    swapped = bill["check_code"].swapcase()
    if swapped == bill["check_code"]:  # all digits: nothing to swap
        pytest.skip("check code has no letters")
    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={swapped}")
    assert_error(r, 404)


def test_the_bill_json_without_a_check_code_is_400(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}")
    assert_error(r, 400, "check_code")


def guess_ten_times(client, bill: dict, path: str) -> None:
    for _ in range(10):
        r = client.http.get(f"{path}/{bill['bill_code']}/{bill['bill_number']}"
                            f"?check_code={other_code(bill['check_code'])}")
        assert r.status_code == 404, r.status_code


def test_after_ten_wrong_check_codes_the_bill_json_is_429_with_retry_after(world, client):
    _, bill = issued_bill(world, client)
    guess_ten_times(client, bill, "/v1/public/bills")

    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={other_code(bill['check_code'])}")
    error = assert_error(r, 429)
    assert has_chinese(error["message"])
    assert int(r.headers["Retry-After"]) > 0


def test_after_ten_wrong_check_codes_the_bill_page_is_429_in_chinese_with_retry_after(
        world, client):
    _, bill = issued_bill(world, client)
    guess_ten_times(client, bill, "/bills")

    r = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={other_code(bill['check_code'])}")
    assert r.status_code == 429
    assert r.headers["Content-Type"].startswith("text/html")
    assert has_chinese(text_of(r)) and "再试" in text_of(r)
    assert int(r.headers["Retry-After"]) > 0


def test_the_bill_page_with_the_right_check_code_shows_the_bill(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                        f"?check_code={bill['check_code']}")
    assert r.status_code == 200
    assert 'lang="zh-CN"' in text_of(r) and "壹佰元整" in text_of(r)


@pytest.mark.parametrize("accept", [None, "*/*"], ids=["no-accept", "accept-any"])
@pytest.mark.parametrize("kind, content_type, magic", [
    ("pdf", "application/pdf", b"%PDF-"), ("xml", "application/xml", b"<?xml")])
def test_bill_files_download_whatever_the_accept_header(world, client, accept, kind,
                                                        content_type, magic):
    _, bill = issued_bill(world, client)
    headers = {"Accept": accept} if accept else {}
    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/{kind}"
                        f"?check_code={bill['check_code']}", headers=headers)
    assert r.status_code == 200, r.body[:200]
    assert r.headers["Content-Type"] == content_type
    assert r.body.startswith(magic)


def test_bill_files_with_a_wrong_check_code_are_404(world, client):
    _, bill = issued_bill(world, client)
    for kind in ("pdf", "xml"):
        r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/{kind}"
                            f"?check_code={other_code(bill['check_code'])}")
        assert_error(r, 404)


# --- keys ------------------------------------------------------------------------------------

def test_the_keys_list_the_finance_key_and_unit_keys_with_the_contract_fields(world, client):
    r = client.http.get("/v1/public/keys")

    assert r.status_code == 200
    keys = body_of(r)["keys"]
    for key in keys:
        assert {"kid", "alg", "use", "owner", "public_key_pem", "not_before"} <= set(key)
        assert "not_after" in key  # null while in force
        assert key["use"] in ("unit", "finance")
        assert alg_of_public_key(key["public_key_pem"]) == key["alg"]  # ES256 or SM2
        iso_with_offset(key["not_before"])
        assert "private" not in json.dumps(key).lower()
    assert [k for k in keys if k["use"] == "finance"]
    assert {k["owner"] for k in keys if k["use"] == "unit"} >= {"340100001", "340100002"}
    # The finance root key that endorses them, and each key's endorsement (domain/key_trust).
    root = body_of(r)["root"]
    assert set(root) == {"kid", "alg", "public_key_pem", "fingerprint"}
    assert root["fingerprint"] == world.seeded.root_fingerprint
    assert all(isinstance(k["endorsement"], str) and k["endorsement"] for k in keys)
