"""Offline verification trusts only keys endorsed by the pinned finance root key.

An attacker who serves the key list (a forged server, a man in the middle, a mistyped URL)
can publish any keys; a bill signed with them must still fail ``verify-bill``.
"""

from __future__ import annotations

import base64
import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chalicelib.adapters.bill_files import verify_bill_file
from chalicelib.adapters.signers import LocalSigner, verify_es256
from chalicelib.cli import MAX_KEYS_BYTES, check_keys_url, main
from chalicelib.domain import bill_xml
from chalicelib.domain.key_trust import endorsement_message, fingerprint, trust_of
from chalicelib.services.bills import public_keys
from chalicelib.services.issuance import issue_bill
from chalicelib.services.keys import rotate_key
from devstack.seed import FINANCE_KID, ROOT_KID
from tests.fakes import fake_deps
from tests.unit.scenario import UNIT, paid_note


def bill_xml_of(deps) -> bytes:
    ref = issue_bill(deps, paid_note(deps).payment_code)
    return deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key)


def root_fp(deps) -> str:
    return fingerprint(deps.keys.get(ROOT_KID).public_key_pem)


def verify(tmp_path: Path, doc: dict, bill: bytes, pinned: str, capsys) -> tuple[int, str]:
    (tmp_path / "keys.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "bill.xml").write_bytes(bill)
    code = main(["verify-bill", "--keys-file", str(tmp_path / "keys.json"),
                 "--root-fingerprint", pinned, str(tmp_path / "bill.xml")])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def attacker_seed(tmp_path_factory) -> Path:
    """The attacker's keys and seed state, made once for the module (nine signing keys, the
    channels' RSA keys: ~0.8 CPU-s), none of them the genuine world's."""
    path = tmp_path_factory.mktemp("attacker")
    fake_deps(path)
    return path


@pytest.fixture
def attacker(tmp_path, attacker_seed, deps):
    """A second world with its own keys under the same key ids, and its own root."""
    world = fake_deps(tmp_path / "attacker", seed_from=attacker_seed)
    assert root_fp(world) != root_fp(deps)
    return world


def test_a_genuine_bill_verifies_with_the_published_list_and_the_pinned_root(
        deps, tmp_path, capsys):
    code, out = verify(tmp_path, public_keys(deps), bill_xml_of(deps), root_fp(deps), capsys)
    assert code == 0, out
    assert "VALID" in out


def test_the_published_list_names_the_root_and_endorses_every_key(deps):
    doc = public_keys(deps)
    assert doc["root"]["kid"] == ROOT_KID and doc["root"]["fingerprint"] == root_fp(deps)
    assert ROOT_KID not in {k["kid"] for k in doc["keys"]}
    trust = trust_of(doc, root_fp(deps), verify_es256)
    assert [trust.problem(k) for k in doc["keys"]] == [None] * len(doc["keys"])


def test_a_forged_list_with_the_attackers_root_fails_on_the_pinned_fingerprint(
        deps, attacker, tmp_path, capsys):
    code, out = verify(tmp_path, public_keys(attacker), bill_xml_of(attacker), root_fp(deps),
                       capsys)
    assert code == 1
    assert f"FAIL finance root key: the finance root key {root_fp(attacker)} is not the pinned" \
           in out


def test_a_forged_list_under_the_genuine_root_fails_on_the_endorsements(
        deps, attacker, tmp_path, capsys):
    forged = public_keys(attacker) | {"root": public_keys(deps)["root"]}
    code, out = verify(tmp_path, forged, bill_xml_of(attacker), root_fp(deps), capsys)
    assert code == 1
    assert ("FAIL unit signature (unit-340100001-2026a): key endorsement does not verify with "
            "the pinned finance root key") in out
    assert ("FAIL supervisor signature (finance-34-2026a): key endorsement does not verify "
            "with the pinned finance root key") in out


def test_a_forged_list_without_endorsements_fails(deps, attacker, tmp_path, capsys):
    forged = public_keys(attacker) | {"root": public_keys(deps)["root"]}
    forged["keys"] = [{**k, "endorsement": None} for k in forged["keys"]]
    code, out = verify(tmp_path, forged, bill_xml_of(attacker), root_fp(deps), capsys)
    assert code == 1
    assert "FAIL unit signature (unit-340100001-2026a): key is not endorsed by the finance " \
           "root key" in out


def test_an_endorsed_key_whose_validity_was_widened_fails(deps, tmp_path, capsys):
    """The endorsement covers every field: a retired key cannot be brought back to life."""
    bill = bill_xml_of(deps)
    doc = public_keys(deps)
    doc["keys"] = [{**k, "not_before": "2020-01-01T00:00:00+08:00"} if k["kid"] == FINANCE_KID
                   else k for k in doc["keys"]]
    code, out = verify(tmp_path, doc, bill, root_fp(deps), capsys)
    assert code == 1
    assert f"FAIL supervisor signature ({FINANCE_KID}): key endorsement does not verify" in out


def resign_as(xml: bytes, key_file: Path, kid: str, alg: str = "ES256") -> bytes:
    """``xml`` with its signatures replaced by a unit signature made with ``key_file``."""
    root = ET.fromstring(xml)  # noqa: S314 - our own test bill
    sigs = root.find("EInvoiceSignature")
    for el in list(sigs):
        sigs.remove(el)
    sign_time = "2026-03-02T10:00:00+08:00"
    message = bill_xml.signing_input(root, "unit", kid, alg, sign_time)
    value = LocalSigner(key_file.parent).sign(key_file.name, message, alg)
    bill_xml.append_signature(root, bill_xml.SignatureInfo(
        "unit", kid, alg, sign_time, base64.b64encode(value).decode()))
    # The forger holds no finance key: a copy of the finance signature element at least parses.
    original = ET.fromstring(xml).find("EInvoiceSignature")  # noqa: S314
    sigs.append(original[1])
    return bill_xml.serialize(root)


def test_a_unit_key_of_another_unit_fails_even_when_genuinely_endorsed(deps, tmp_path, capsys):
    other_kid = "unit-340100002-sm2-2026a"  # the traffic police's key (SM2)
    forged = resign_as(bill_xml_of(deps), tmp_path / "keys" / f"{other_kid}.pem", other_kid,
                       "SM2")
    code, out = verify(tmp_path, public_keys(deps), forged, root_fp(deps), capsys)
    assert code == 1
    assert (f"FAIL unit signature ({other_kid}): key belongs to '340100002', not to the issuing "
            f"unit '{UNIT.unit_code}'") in out
    # The same check holds without a root (our own registry: verification by upload).
    report = verify_bill_file(forged, deps.keys.public())
    assert report.failed()[0].startswith(f"unit signature ({other_kid}): key belongs to")


def test_old_and_new_bills_verify_offline_after_both_keys_rotate(deps, clock, tmp_path, capsys):
    old = bill_xml_of(deps)
    clock.advance(days=1)
    rotate_key(deps, kid="finance-34-2026b", use="finance", owner="安徽省财政厅")
    rotate_key(deps, kid="unit-340100001-2026b", use="unit", owner=UNIT.unit_code)
    clock.advance(minutes=5)
    ref = issue_bill(deps, paid_note(deps, txn="4200000001202603020000000002").payment_code)
    new = deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key)
    doc = public_keys(deps)
    assert {k["kid"]: k["not_after"] is None for k in doc["keys"]}[FINANCE_KID] is False
    for bill in (old, new):
        code, out = verify(tmp_path, doc, bill, root_fp(deps), capsys)
        assert code == 0, out
    assert "finance-34-2026b" in out


def test_a_new_root_re_endorses_every_key_and_the_old_pin_then_fails(deps, tmp_path, capsys):
    bill = bill_xml_of(deps)
    old_fp = root_fp(deps)
    new_root = rotate_key(deps, kid="finance-root-34-2027a", use="root", owner="安徽省财政厅")
    doc = public_keys(deps)
    assert doc["root"]["kid"] == new_root.kid
    assert verify(tmp_path, doc, bill, fingerprint(new_root.public_key_pem), capsys)[0] == 0
    code, out = verify(tmp_path, doc, bill, old_fp, capsys)
    assert code == 1 and "is not the pinned" in out


def test_an_endorsement_is_over_the_canonical_entry_with_its_purpose(deps):
    entry = deps.keys.get(FINANCE_KID).public()
    message = endorsement_message(entry)
    assert message.startswith(b'{"alg":"ES256","kid":"finance-34-2026a","not_after":null,')
    assert b'"purpose":"fiscal-bill-key-endorsement/v1"' in message
    assert b'"endorsement"' not in message


@pytest.mark.parametrize("url", [
    "http://keys.example.com/v1/public/keys", "http://10.0.0.8:8000/v1/public/keys",
    "ftp://127.0.0.1/keys", "file:///etc/passwd", "https:///v1/public/keys",
    "http://127.0.0.1.evil.example/keys", "http://localhost@evil.example/keys"])
def test_a_key_list_url_must_be_https_unless_it_is_loopback(url):
    with pytest.raises(ValueError, match="must come over https"):
        check_keys_url(url)


@pytest.mark.parametrize("url", [
    "https://bills.example.gov.cn/v1/public/keys", "http://127.0.0.1:8000/v1/public/keys",
    "http://localhost:8000/v1/public/keys", "http://[::1]:8000/v1/public/keys"])
def test_https_and_loopback_key_list_urls_are_accepted(url):
    check_keys_url(url)


def test_verify_bill_refuses_a_plain_http_key_list_from_another_host(deps, tmp_path, capsys):
    (tmp_path / "bill.xml").write_bytes(bill_xml_of(deps))
    code = main(["verify-bill", "--keys-url", "http://keys.example.com/v1/public/keys",
                 "--root-fingerprint", root_fp(deps), str(tmp_path / "bill.xml")])
    assert code == 2
    assert "must come over https" in capsys.readouterr().err


class _Serve(BaseHTTPRequestHandler):
    body = b""
    location = ""

    def do_GET(self):  # noqa: N802 - the http.server name
        if self.location:
            self.send_response(302)
            self.send_header("Location", self.location)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def key_server():
    def start(body: bytes = b"", location: str = "") -> str:
        handler = type("Handler", (_Serve,), {"body": body, "location": location})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1/public/keys"

    servers: list[ThreadingHTTPServer] = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_key_list_over_loopback_http_verifies(deps, key_server, tmp_path, capsys):
    url = key_server(json.dumps(public_keys(deps)).encode())
    (tmp_path / "bill.xml").write_bytes(bill_xml_of(deps))
    assert main(["verify-bill", "--keys-url", url, "--root-fingerprint", root_fp(deps),
                 str(tmp_path / "bill.xml")]) == 0


def test_an_oversized_key_list_is_refused(deps, key_server, tmp_path, capsys):
    doc = public_keys(deps) | {"padding": "x" * MAX_KEYS_BYTES}
    url = key_server(json.dumps(doc).encode())
    (tmp_path / "bill.xml").write_bytes(bill_xml_of(deps))
    assert main(["verify-bill", "--keys-url", url, "--root-fingerprint", root_fp(deps),
                 str(tmp_path / "bill.xml")]) == 2
    assert f"larger than {MAX_KEYS_BYTES} bytes" in capsys.readouterr().err


def test_a_redirect_of_the_key_list_is_refused(deps, key_server, tmp_path, capsys):
    url = key_server(location="http://keys.example.com/v1/public/keys")
    (tmp_path / "bill.xml").write_bytes(bill_xml_of(deps))
    assert main(["verify-bill", "--keys-url", url, "--root-fingerprint", root_fp(deps),
                 str(tmp_path / "bill.xml")]) == 2
    assert "redirects (302)" in capsys.readouterr().err


def test_without_a_pinned_root_nothing_is_trusted(deps, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BILL_ROOT_FINGERPRINT", raising=False)
    (tmp_path / "keys.json").write_text(json.dumps(public_keys(deps)))
    (tmp_path / "bill.xml").write_bytes(bill_xml_of(deps))
    assert main(["verify-bill", "--keys-file", str(tmp_path / "keys.json"),
                 str(tmp_path / "bill.xml")]) == 2
    assert "no finance root fingerprint is pinned" in capsys.readouterr().err
    monkeypatch.setenv("BILL_ROOT_FINGERPRINT", root_fp(deps).upper())
    assert main(["verify-bill", "--keys-file", str(tmp_path / "keys.json"),
                 str(tmp_path / "bill.xml")]) == 0


def test_rotation_without_a_root_key_is_refused(deps):
    from chalicelib.domain.errors import NotFound

    root = deps.keys.get(ROOT_KID)
    deps.keys.put(replace(root, not_after="2026-01-02T00:00:00+08:00"))
    with pytest.raises(NotFound, match="no finance root key"):
        rotate_key(deps, kid="finance-34-2026z", use="finance", owner="安徽省财政厅")
    assert deps.keys.get("finance-34-2026z") is None
