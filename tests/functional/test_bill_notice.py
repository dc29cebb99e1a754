"""``GET /v1/bills/{bill_code}/{bill_number}/notice.pdf``: the 告知单, read back as people and
machines read it: its text with pypdf, its QR code with ``zbarimg`` on a ``pdftoppm`` raster."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.services import notices
from tests.functional.support import assert_error, issued_bill
from tests.functional.test_direct_bills import issued_direct_bill


def notice_path(bill: dict) -> str:
    return f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/notice.pdf"


def bill_url(bill: dict) -> str:
    return (f"http://testserver/bills/{bill['bill_code']}/{bill['bill_number']}"
            f"?check_code={bill['check_code']}")


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    """The QR codes on page 1, rasterised at 80 dpi (as the README screenshot is)."""
    for tool in ("pdftoppm", "zbarimg"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: apt-get install poppler-utils zbar-tools")
    (tmp_path / "notice.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", str(tmp_path / "notice.pdf"),
                    str(tmp_path / "notice")], check=True, timeout=60)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(tmp_path / "notice.png")],
                         capture_output=True, check=True, timeout=60)
    return out.stdout.decode().splitlines()


def test_the_issuing_unit_gets_a_slip_with_the_bills_code_number_check_code_and_link(
        world, client, tmp_path):
    _, bill = issued_bill(world, client)
    r = client.http.get(notice_path(bill), headers=world.auth())
    assert r.status_code == 200, r.body[:300]
    assert r.headers["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.body))
    assert len(reader.pages) == 1
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]  # A4
    text = text_of(r.body)
    assert "财政电子票据告知单" in text
    assert bill["bill_code"] in text and bill["bill_number"] in text
    assert " ".join(bill["check_code"]) in text  # spaced out for reading aloud
    assert bill_url(bill) in text
    assert "票据状态" not in text
    assert qr_codes(r.body, tmp_path) == [bill_url(bill)]


def test_a_direct_bill_names_its_slip_and_the_slip_is_served_there(world, client):
    bill = issued_direct_bill(world, client)
    assert bill["notice_pdf_url"] == f"http://testserver{notice_path(bill)}"
    r = client.http.get(notice_path(bill), headers=world.auth())
    assert r.status_code == 200 and bill_url(bill) in text_of(r.body)


def test_another_units_bill_is_404_as_if_it_did_not_exist(world, client):
    _, bill = issued_bill(world, client)
    other = assert_error(client.http.get(notice_path(bill), headers=world.auth(1)), 404)
    missing = dict(bill, bill_number="0000009999")
    none = assert_error(client.http.get(notice_path(missing), headers=world.auth()), 404)
    assert other == none


def test_the_slip_needs_a_collecting_units_key(world, client):
    _, bill = issued_bill(world, client)
    assert_error(client.http.get(notice_path(bill)), 401)
    assert_error(client.http.get(notice_path(bill),
                                 headers={"Authorization": "Bearer not-a-key"}), 401)
    assert_error(client.http.get(notice_path(bill), headers=world.auth(0, "reimbursers")), 403)


def test_a_malformed_bill_code_or_number_is_400_naming_it(world, client):
    assert_error(client.http.get("/v1/bills/1101/0000000001/notice.pdf", headers=world.auth()),
                 400, "bill_code")
    assert_error(client.http.get("/v1/bills/11010126/12/notice.pdf", headers=world.auth()),
                 400, "bill_number")


def test_a_voided_bills_slip_says_it_is_voided(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.post(f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/void",
                         headers=world.auth(), body=json.dumps({"reason": "开票信息填写错误"}))
    assert r.status_code == 200, r.body
    slip = client.http.get(notice_path(bill), headers=world.auth())
    assert slip.status_code == 200
    assert "票据状态：已作废" in text_of(slip.body)


def test_a_reversed_bills_slip_says_so_and_names_the_red_bill(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.post(f"/v1/bills/{bill['bill_code']}/{bill['bill_number']}/reversal",
                         headers=world.auth(), body=json.dumps({"reason": "缴款人申请退费"}))
    assert r.status_code == 201, r.body
    red = json.loads(r.body)
    text = text_of(client.http.get(notice_path(bill), headers=world.auth()).body)
    assert "票据状态：已冲红" in text
    assert f"红字票据代码 {red['bill_code']}、号码 {red['bill_number']}" in text


def test_past_the_units_hourly_budget_the_slip_is_429_until_the_hour_ends(
        world, client, monkeypatch):
    monkeypatch.setattr(notices, "BILL_NOTICES_PER_UNIT_PER_HOUR", 2)
    _, bill = issued_bill(world, client)
    for _ in range(2):
        assert client.http.get(notice_path(bill), headers=world.auth()).status_code == 200
    refused = client.http.get(notice_path(bill), headers=world.auth())
    assert_error(refused, 429)
    assert refused.headers["Retry-After"] == "3600"
    world.clock.now += timedelta(hours=1)
    assert client.http.get(notice_path(bill), headers=world.auth()).status_code == 200
