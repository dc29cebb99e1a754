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


def _repacked(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_an_ofd_is_sealed_by_its_unit_and_the_seal_is_checked_on_upload(world, client):
    _, bill = issued_bill(world, client)
    ofd = client.http.get(_url(bill, "ofd")).body
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/ofd"})
    out = body_of(client.http.post("/v1/verifications/file", headers=headers, body=ofd))
    names = [c["check"] for c in out["signatures"]]
    assert any(n.startswith("OFD signature (") for n in names), names
    assert any(n.startswith("OFD seal (") for n in names), names
    assert all(c["ok"] for c in out["signatures"]), out["signatures"]


def test_an_ofd_whose_page_was_altered_after_sealing_is_tampered(world, client):
    _, bill = issued_bill(world, client)
    parts = _parts(client.http.get(_url(bill, "ofd")).body)
    page = parts["Doc_0/Pages/Page_0/Content.xml"]
    # one more digit in the first text a reader shows; the attached XML is untouched
    altered = page.replace(b"</ofd:TextCode>", b"9</ofd:TextCode>", 1)
    assert altered != page
    parts["Doc_0/Pages/Page_0/Content.xml"] = altered
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/ofd"})
    out = body_of(client.http.post("/v1/verifications/file", headers=headers,
                                   body=_repacked(parts)))
    assert out["result"] == "tampered" and out["reason"] == "signature_invalid"
    failed = [c for c in out["signatures"] if not c["ok"]]
    assert failed and "Content.xml was altered after signing" in failed[0]["detail"]


def test_an_ofd_stripped_of_its_seal_is_tampered(world, client):
    _, bill = issued_bill(world, client)
    parts = _parts(client.http.get(_url(bill, "ofd")).body)
    parts = {n: d for n, d in parts.items() if not n.startswith("Doc_0/Signs/")}
    parts["OFD.xml"] = parts["OFD.xml"].replace(
        b"<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>", b"")
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/ofd"})
    out = body_of(client.http.post("/v1/verifications/file", headers=headers,
                                   body=_repacked(parts)))
    assert out["result"] == "tampered"
    assert any("no signature" in c["detail"] for c in out["signatures"] if not c["ok"])


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
