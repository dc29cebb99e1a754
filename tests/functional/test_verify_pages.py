"""The public verification page (/verify) and the reimbursing unit's page (/reimburse)."""

import re
from urllib.parse import urlencode

import pytest

from chalicelib.services.public_verification import (
    LOOKUPS_PER_BILL_PER_DAY,
    LOOKUPS_PER_CLIENT_PER_DAY,
)
from tests.functional.test_reimbursements_api import issued_bill

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_PAGE_BYTES = 100 * 1024
PAYER_NAME, PAYER_PHONE = "张三", "13812345678"  # tests.functional.test_end_to_end.NOTE


def ask(client, client_ip="198.51.100.7", **fields):
    headers = dict(FORM, **{"X-Forwarded-For": client_ip})
    response = client.http.post("/verify", headers=headers, body=urlencode(fields))
    return response, response.body.decode("utf-8")


def elements(bill, **changes):
    return {**{k: bill[k] for k in ("bill_code", "bill_number", "check_code")}, **changes}


def qr_url(bill):
    return (f"https://bills.example.gov.cn/bills/{bill['bill_code']}/{bill['bill_number']}"
            f"?check_code={bill['check_code']}")


@pytest.fixture
def bill(world, client):
    return issued_bill(world, client)


def test_the_empty_form_is_small_public_and_needs_no_script(client):
    response = client.http.get("/verify")
    html = response.body.decode("utf-8")
    assert response.status_code == 200
    assert len(response.body) < MAX_PAGE_BYTES
    assert "<script" not in html and 'method="post" action="/verify"' in html
    for label in ("票据代码", "票据号码", "校验码", "开票日期", "金额", "二维码"):
        assert label in html
    assert "http://" not in html and "https://" not in html  # no external resources


def test_a_genuine_bill_shows_its_status_and_nothing_personal(world, client, bill):
    response, html = ask(client, **elements(bill))
    assert response.status_code == 200
    assert "真票" in html and "正常" in html and "查无此票" not in html
    assert "合肥" in html or bill["bill_code"] in html
    assert bill["bill_number"] in html and "100.00" in html
    record = world.deps.bills.get(bill["bill_code"], bill["bill_number"])
    assert record.bill.issuing_unit_name in html and record.bill.title in html
    assert record.bill.issue_date in html
    assert PAYER_NAME not in html and PAYER_PHONE not in html and "<dt>交款人" not in html
    assert "信用代码" not in html and 'href="/bills/' not in html  # no link to the full bill
    assert len(response.body) < MAX_PAGE_BYTES


def test_the_form_also_works_as_a_get_with_query_parameters(client, bill):
    response = client.http.get("/verify?" + urlencode(elements(bill)),
                               headers={"X-Forwarded-For": "198.51.100.8"})
    assert response.status_code == 200 and "真票" in response.body.decode("utf-8")


def test_a_wrong_check_code_is_no_such_bill(client, bill):
    _, html = ask(client, **elements(bill, check_code=bill["check_code"].swapcase()
                                     if bill["check_code"].swapcase() != bill["check_code"]
                                     else "zzzzzz"))
    assert "查无此票" in html and "真票" not in html
    assert "正常" not in html and "100.00" not in html


def test_a_pasted_qr_url_is_verified(client, bill):
    response, html = ask(client, qr=f"  {qr_url(bill)}\n")
    assert response.status_code == 200 and "真票" in html and "正常" in html


def test_an_unreadable_qr_text_is_explained(client):
    response, html = ask(client, qr="https://example.com/not-a-bill")
    assert response.status_code == 400 and "无法识别该二维码内容" in html


def test_a_wrong_issue_date_is_named_as_the_field_that_does_not_match(client, bill):
    _, html = ask(client, **elements(bill, issue_date="2001-02-03"))
    assert "查无此票" in html and "开票日期" in html and "与票据不符" in html
    assert "金额</strong>" not in html


def test_a_wrong_total_is_named_and_a_right_one_is_genuine(client, bill):
    _, html = ask(client, **elements(bill, total="99.99"))
    assert "查无此票" in html and "<strong>金额</strong>与票据不符" in html
    _, html = ask(client, **elements(bill, total="¥100.00"))
    assert "真票" in html


def test_malformed_fields_are_explained_one_by_one(client):
    response, html = ask(client, bill_code="1234", bill_number="12", check_code="abc")
    assert response.status_code == 400
    assert "票据代码应为8位数字" in html and "票据号码应为10位数字" in html
    assert "校验码应为6位字母或数字" in html and 'aria-invalid="true"' in html


def test_one_bill_looked_up_too_often_by_one_client_gets_a_429_page_with_retry_after(
        client, bill):
    for _ in range(LOOKUPS_PER_BILL_PER_DAY):
        response, _ = ask(client, "203.0.113.1", **elements(bill))
        assert response.status_code == 200
    other, _ = ask(client, "203.0.113.2", **elements(bill))
    assert other.status_code == 200  # the bill is not locked for anyone else
    response, html = ask(client, "203.0.113.1", **elements(bill))
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 86400
    assert "查验次数已达上限" in html and "该票据今日的查验次数已达上限" in html
    assert re.search(r"请于 <strong>\d{4}-\d\d-\d\d \d\d:\d\d</strong>（北京时间）之后再试", html)
    assert "真票" not in html


def test_one_client_looking_up_too_often_gets_a_429_page(client, bill):
    for _ in range(LOOKUPS_PER_CLIENT_PER_DAY):
        ask(client, "192.0.2.50", **elements(bill))  # past the 20th: 429 for the bill
    response, html = ask(client, "192.0.2.50", bill_code="34010126", bill_number="0000000099",
                         check_code="abcdef")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert f"您今日的查验次数已达上限（每日 {LOOKUPS_PER_CLIENT_PER_DAY} 次）" in html
    other, _ = ask(client, "192.0.2.51", bill_code="34010126", bill_number="0000000099",
                   check_code="abcdef")
    assert other.status_code == 200  # another client is not affected


def test_the_reimbursing_page_is_small_and_runs_only_its_own_script(client):
    response = client.http.get("/reimburse")
    html = response.body.decode("utf-8")
    assert response.status_code == 200 and len(response.body) < MAX_PAGE_BYTES
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert html.count("<script") == 1 and f'<script nonce="{nonce}">' in html
    assert "connect-src 'self'" in csp and "form-action 'none'" in csp
    assert "<noscript>" in html and "sessionStorage" in html
    assert not re.search(r"<input[^>]* name=", html)  # nothing a form could ever submit
    assert "http://" not in html and "https://" not in html
    second = client.http.get("/reimburse").headers["Content-Security-Policy"]
    assert second != csp  # a fresh nonce every time
