"""GET /v1/public/bills/{bill_code}/{bill_number}/ofd (CONTRACT v2): the bill as OFD, drawn on
request from its archived XML, guarded like the PDF; and an OFD given to verification."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import ofdkit

from chalicelib.adapters.ofd_attachments import extract_attached_xml
from chalicelib.services.bills import OFD_RENDERS_PER_BILL_PER_HOUR
from tests.functional.support import assert_error, body_of, issued_bill


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _url(bill: dict, kind: str, check_code: str | None = None) -> str:
    return (f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/{kind}"
            f"?check_code={check_code or bill['check_code']}")


def test_the_ofd_is_the_bill_with_its_archived_xml_attached_byte_for_byte(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.get(_url(bill, "ofd"))
    assert r.status_code == 200, r.body[:300]
    assert r.headers["Content-Type"] == "application/ofd"
    name = f"{bill['bill_code']}-{bill['bill_number']}.ofd"
    assert r.headers["Content-Disposition"] == f'inline; filename="{name}"'
    assert r.body.startswith(b"PK\x03\x04")
    xml = client.http.get(_url(bill, "xml")).body
    assert extract_attached_xml(r.body) == xml
    with ofdkit.open(r.body) as doc:
        assert bill["bill_number"] in doc.text()
        assert doc.info.custom_data["票据号码"] == bill["bill_number"]
    again = client.http.get(_url(bill, "ofd")).body  # drawn again: the same pages; only the
    first, second = _parts(r.body), _parts(again)  # signature (SM2 draws a nonce) differs
    unsigned = {name for name in first if not name.startswith("Doc_0/Signs/Sign_0/")}
    assert unsigned and {n: first[n] for n in unsigned} == {n: second[n] for n in unsigned}
    assert first["Doc_0/Signs/Sign_0/SignedValue.dat"] \
        != second["Doc_0/Signs/Sign_0/SignedValue.dat"]


def test_the_ofd_with_a_wrong_check_code_is_404_and_guessing_is_stopped(world, client):
    _, bill = issued_bill(world, client)
    wrong = bill["check_code"][:-1] + ("A" if bill["check_code"][-1] != "A" else "B")
    for _ in range(10):
        assert_error(client.http.get(_url(bill, "ofd", wrong)), 404)
    r = client.http.get(_url(bill, "ofd", wrong))
    assert_error(r, 429)
    assert int(r.headers["Retry-After"]) > 0


def test_one_bills_ofd_is_drawn_a_bounded_number_of_times_an_hour(world, client):
    _, bill = issued_bill(world, client)
    for _ in range(OFD_RENDERS_PER_BILL_PER_HOUR):
        assert client.http.get(_url(bill, "ofd")).status_code == 200
    assert_error(client.http.get(_url(bill, "ofd")), 429)
    assert client.http.get(_url(bill, "pdf")).status_code == 200  # the archived files still
    world.clock.now += timedelta(hours=1)
    assert client.http.get(_url(bill, "ofd")).status_code == 200


def test_an_unknown_file_kind_is_400_naming_ofd_among_the_kinds(world, client):
    _, bill = issued_bill(world, client)
    error = assert_error(client.http.get(_url(bill, "docx")), 400, "kind")
    assert "ofd" in error["fields"]["kind"]


def test_verification_reads_the_xml_attached_to_an_ofd(world, client):
    _, bill = issued_bill(world, client)
    ofd = client.http.get(_url(bill, "ofd")).body
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/ofd"})
    out = body_of(client.http.post("/v1/verifications/file", headers=headers, body=ofd))
    assert out["result"] == "authentic"
    assert (out["bill"]["bill_code"], out["bill"]["bill_number"]) == (
        bill["bill_code"], bill["bill_number"])


def test_an_ofd_that_is_not_one_is_400_for_verification(world, client):
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/ofd"})
    r = client.http.post("/v1/verifications/file", headers=headers,
                         body=b"PK\x03\x04" + b"\0" * 200)
    assert_error(r, 400, "file")


def test_verify_bill_checks_an_ofd_offline(world, client, tmp_path, capsys):
    from chalicelib import cli

    _, bill = issued_bill(world, client)
    (tmp_path / "keys.json").write_bytes(client.http.get("/v1/public/keys").body)
    (tmp_path / "bill.ofd").write_bytes(client.http.get(_url(bill, "ofd")).body)
    code = cli.main(["verify-bill", "--keys-file", str(tmp_path / "keys.json"),
                     "--root-fingerprint", world.seeded.root_fingerprint,
                     str(tmp_path / "bill.ofd")])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err


def test_the_bill_json_and_page_link_the_ofd(world, client):
    _, bill = issued_bill(world, client)
    view = body_of(client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"
                                   f"?check_code={bill['check_code']}"))
    path = view["ofd_url"].removeprefix("http://testserver")
    assert path == _url(bill, "ofd")
    assert client.http.get(path).headers["Content-Type"] == "application/ofd"
    page = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                           f"?check_code={bill['check_code']}").body.decode()
    assert "下载 OFD 版式文件" in page and f'href="{view["ofd_url"]}"' in page
