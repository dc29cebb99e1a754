"""The electronic seal on a bill's OFD (GB/T 38540 v4 ``SES_Signature`` in GB/T 33190's signature
parts): made through the ``Signer`` port, checked by our verifier (every signed part, the keys
published for the issuing unit and the finance department), and by independent code: OpenSSL
verifies both certificates and the signatures over ``TBS_Sign`` and ``SES_SealInfo``;
``cryptography``'s X.509 parser reads the certificates; pure-Python ``gmssl`` plays KMS.

ofd.js (a browser reader with its own SM2 in sm-crypto) opens and verifies the same OFD in
``tests/integration/test_ofd_readers.py``.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import secrets
import subprocess
import zipfile
from datetime import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from gmssl import sm2 as gm

from chalicelib.adapters import der, ofd_seal, sm2
from chalicelib.adapters.bill_files import BillFiles
from chalicelib.adapters.ofd_attachments import extract_attached_xml
from chalicelib.adapters.ofd_bill import render_bill_ofd
from chalicelib.adapters.signers import KmsSigner
from chalicelib.domain.bill_files import check_ofd_signatures
from chalicelib.domain.units import OfdSealing, SigningKey
from tests.ofd_sealing import SINCE, Sealer, local_sealer
from tests.unit.test_pdf_rendering import BILL, FONT, VERIFY_URL, XML

SIGN = "Doc_0/Signs/Sign_0/"


@pytest.fixture(scope="module")
def sealer(tmp_path_factory) -> Sealer:
    return local_sealer(tmp_path_factory.mktemp("keys"), "SM2", BILL.issuing_unit_code,
                        BILL.issuing_unit_name)


def _sealed(sealer: Sealer, **kwargs: Any) -> bytes:
    return render_bill_ofd(BILL, verify_url=VERIFY_URL, xml_bytes=XML, font_path=FONT,
                           supervisor_name="北京市财政局", sealing=sealer.sealing,
                           sign=sealer.signer.sign, **kwargs)


@pytest.fixture(scope="module")
def sealed(sealer: Sealer) -> bytes:
    return _sealed(sealer)


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def _problems(data: bytes, sealer: Sealer, keys: dict | None = None) -> list[str]:
    return [f"{name}: {problem}" for name, problem in check_ofd_signatures(
        data, BILL.issuing_unit_code, sealer.keys() if keys is None else keys, BillFiles())
        if problem is not None]


def test_a_sealed_ofd_verifies_with_the_unit_and_finance_keys_published(sealed, sealer):
    checks = check_ofd_signatures(sealed, BILL.issuing_unit_code, sealer.keys(), BillFiles())
    assert checks == [("OFD signature (unit-SM2)", None), ("OFD seal (finance-SM2)", None)]
    assert extract_attached_xml(sealed) == XML  # the bill XML is still attached byte for byte


def test_the_signature_parts_are_where_gbt_33190_puts_them(sealed):
    parts = _parts(sealed)
    assert "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>" in \
        parts["OFD.xml"].decode()
    signatures = parts["Doc_0/Signs/Signatures.xml"].decode()
    assert 'Type="Seal" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"' in signatures
    signature = parts[SIGN + "Signature.xml"].decode()
    assert "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>" in signature
    assert 'CheckMethod="1.2.156.10197.1.401"' in signature
    assert "<ofd:SignatureDateTime>2026-06-15 10:00:00</ofd:SignatureDateTime>" in signature
    referenced = set(re.findall(r'FileRef="/([^"]+)"', signature))
    assert referenced == {n for n in parts if not n.startswith("Doc_0/Signs/")}
    assert 'StampAnnot ID="1" PageRef="3"' in signature  # page 1's ID: the seal's appearance


def test_the_signed_value_is_a_version_4_ses_signature_over_the_signature_xml(sealed):
    parts = _parts(sealed)
    top = der.read_whole(parts[SIGN + "SignedValue.dat"], der.SEQUENCE).children()
    tbs = top[0].children()
    assert tbs[0].as_int() == 4
    assert tbs[3].as_bits() == sm2.sm3(parts[SIGN + "Signature.xml"])
    assert tbs[4].as_text() == "/Doc_0/Signs/Sign_0/Signature.xml"
    assert top[2].as_oid() == "1.2.156.10197.1.501"
    seal = tbs[1].children()
    assert parts[SIGN + "Seal.esl"] == tbs[1].raw  # the seal file is the seal signed in
    info = seal[0].children()
    assert [e.as_text() for e in info[0].children()[::2]] == ["ES", "FISCALBILL"]
    prop = info[2].children()
    assert prop[1].as_text() == f"{BILL.issuing_unit_name}票据专用章"
    assert prop[3].children()[0].content == top[1].content  # the signer's cert is the seal's
    picture = info[3].children()
    assert picture[0].as_text() == "ofd" and picture[1].content[:4] == b"PK\x03\x04"


def _tampered(data: bytes, part: str) -> bytes:
    parts = _parts(data)
    body = parts[part]
    if part.endswith(".xml"):  # still well-formed XML: one more character in the last text
        at = body.rindex(b"</")
        parts[part] = body[:at] + b"x" + body[at:]
    else:
        parts[part] = body[:-1] + bytes([body[-1] ^ 1])
    return _zip(parts)


def test_tampering_with_any_signed_part_breaks_the_seal(sealed, sealer):
    names = [n for n in _parts(sealed) if n != "Doc_0/Signs/Signatures.xml"]
    assert len(names) >= 12
    for name in names:
        problems = _problems(_tampered(sealed, name), sealer)
        assert problems, f"tampering with {name} went unnoticed"


def test_the_untampered_repacked_ofd_still_verifies(sealed, sealer):
    assert _problems(_zip(_parts(sealed)), sealer) == []  # the check reads parts, not zip bytes


def test_a_part_added_after_sealing_is_reported(sealed, sealer):
    parts = _parts(sealed)
    parts["Doc_0/Res/extra.png"] = b"\x89PNG"
    assert any("extra.png is not covered" in p for p in _problems(_zip(parts), sealer))


def test_an_ofd_with_its_signatures_removed_is_reported_unprotected(sealed, sealer):
    parts = _parts(sealed)
    parts["OFD.xml"] = parts["OFD.xml"].replace(
        b"<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>", b"")
    assert _problems(_zip(parts), sealer) == [
        "OFD signature: the OFD carries no signature: its pages are not protected"]


def test_a_seal_by_a_key_of_another_unit_or_an_unpublished_key_is_refused(sealed, sealer):
    other = {**sealer.keys(), "unit-SM2": {**sealer.unit_key.public(), "owner": "999999"}}
    assert any("not 'unit' of" in p for p in _problems(sealed, sealer, other))
    unpublished = {sealer.finance_key.kid: sealer.finance_key.public()}
    assert any("not published" in p for p in _problems(sealed, sealer, unpublished))
    expired = {**sealer.keys(), "unit-SM2": {**sealer.unit_key.public(),
                                             "not_after": "2026-06-01T00:00:00+08:00"}}
    assert any("validity" in p for p in _problems(sealed, sealer, expired))


def test_a_seal_made_by_a_key_that_is_not_the_finance_departments_is_refused(sealed, sealer):
    keys = {**sealer.keys(), "finance-SM2": {**sealer.finance_key.public(), "use": "unit"}}
    assert any(p.startswith("OFD seal") for p in _problems(sealed, sealer, keys))


def test_a_unit_that_signs_es256_seals_its_ofd_too(tmp_path):
    sealer = local_sealer(tmp_path, "ES256", BILL.issuing_unit_code, BILL.issuing_unit_name)
    data = _sealed(sealer)
    assert _problems(data, sealer) == []
    assert b"<ofd:SignatureMethod>1.2.840.10045.4.3.2<" in _parts(data)[SIGN + "Signature.xml"]


def test_an_uploaded_seal_is_the_seals_png_picture_fitted_in_its_box(sealer):
    from PIL import Image

    picture = Image.new("RGBA", (400, 200), (200, 0, 0, 255))
    out = io.BytesIO()
    picture.save(out, "PNG")
    data = _sealed(sealer, unit_seal_png=out.getvalue())
    assert _problems(data, sealer) == []
    info = der.read(_parts(data)[SIGN + "Seal.esl"]).children()[0].children()
    kind, png = info[3].children()[0].as_text(), info[3].children()[1].content
    assert kind == "png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    box = re.search(r'Boundary="([^"]+)"',
                                  _parts(data)[SIGN + "Signature.xml"].decode()).group(1)
    w, h = (float(v) for v in box.split()[2:])
    assert w == pytest.approx(2 * h)  # the 2:1 picture keeps its proportions


def _openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60,
                          check=False)


def test_openssl_verifies_the_certificates_and_both_signatures(sealed, tmp_path):
    parts = _parts(sealed)
    top = der.read_whole(parts[SIGN + "SignedValue.dat"], der.SEQUENCE).children()
    seal = top[0].children()[1].children()
    files = {"unit.der": top[1].content, "maker.der": seal[1].content,
             "tbs.der": top[0].raw, "tbs.sig": top[3].as_bits(),
             "info.der": seal[0].raw, "info.sig": seal[3].as_bits()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    for name in ("unit", "maker"):
        result = _openssl("x509", "-inform", "DER", "-in", str(tmp_path / f"{name}.der"),
                          "-out", str(tmp_path / f"{name}.pem"))
        assert result.returncode == 0, result.stderr
        result = _openssl("x509", "-in", str(tmp_path / f"{name}.pem"), "-pubkey", "-noout")
        (tmp_path / f"{name}.pub").write_bytes(result.stdout)
    at = str(int(datetime.fromisoformat("2026-06-15T10:00:00+08:00").timestamp()))
    result = _openssl("verify", "-CAfile", str(tmp_path / "maker.pem"), "-vfyopt",
                      "distid:1234567812345678", "-attime", at, str(tmp_path / "unit.pem"))
    assert result.returncode == 0 and b"unit.pem: OK" in result.stdout, result.stderr
    for key, message, signature in (("unit", "tbs.der", "tbs.sig"),
                                    ("maker", "info.der", "info.sig")):
        result = _openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / f"{key}.pub"),
                          "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                          "-in", str(tmp_path / message), "-sigfile", str(tmp_path / signature))
        assert b"Signature Verified Successfully" in result.stdout, (key, result.stderr)


def test_cryptography_reads_the_es256_certificates_and_verifies_the_units(tmp_path):
    sealer = local_sealer(tmp_path, "ES256", BILL.issuing_unit_code, BILL.issuing_unit_name)
    top = der.read_whole(_parts(_sealed(sealer))[SIGN + "SignedValue.dat"],
                         der.SEQUENCE).children()
    unit = x509.load_der_x509_certificate(top[1].content)
    maker = x509.load_der_x509_certificate(top[0].children()[1].children()[1].content)
    assert unit.issuer == maker.subject and unit.version == x509.Version.v3
    assert unit.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "414001"
    key = maker.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(unit.signature, unit.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert maker.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


class GmsslKms:
    """A KMS client for SM2 keys played by pure-Python gmssl (independent of tongsuopy):
    RAW messages hashed as SM3(Z ‖ M) with the default ID, DIGESTs signed as given."""

    def __init__(self, keys: dict[str, tuple[int, str]]) -> None:
        self.keys = keys  # key id → (private value, public PEM)
        self.calls: list[tuple[str, str]] = []

    def _crypt(self, key_id: str) -> gm.CryptSM2:
        d, pem = self.keys[key_id]
        numbers = sm2._public_key(pem).public_numbers()
        crypt = gm.CryptSM2(private_key=f"{d:064x}", public_key="", asn1=True)
        crypt.public_key = f"{numbers.x:064x}{numbers.y:064x}"
        return crypt

    def get_public_key(self, KeyId: str) -> dict:  # noqa: N803 - boto3's names
        pem = self.keys[KeyId][1]
        return {"KeyId": KeyId, "KeySpec": "SM2",
                "PublicKey": base64.b64decode("".join(pem.splitlines()[1:-1]))}

    def sign(self, *, KeyId: str, Message: bytes, MessageType: str,  # noqa: N803
             SigningAlgorithm: str) -> dict:  # noqa: N803
        assert SigningAlgorithm == "SM2DSA"
        self.calls.append((KeyId, MessageType))
        k = f"{secrets.randbelow(sm2.N - 1) + 1:064x}"
        crypt = self._crypt(KeyId)
        value = crypt.sign_with_sm3(Message, k) if MessageType == "RAW" else crypt.sign(
            Message, k)
        return {"KeyId": KeyId, "Signature": bytes.fromhex(value), "SigningAlgorithm": "SM2DSA"}


def test_through_the_kms_signer_an_ofd_is_sealed_with_sm2dsa_raw_and_digest(sealer):
    private = {kid: (sealer.signer._key(f"{kid}.pem").private_numbers().private_value,
                     key.public_key_pem)
               for kid, key in (("unit-SM2", sealer.unit_key),
                                ("finance-SM2", sealer.finance_key))}
    kms = GmsslKms({f"kms-{kid}": value for kid, value in private.items()})
    unit = SigningKey("unit-SM2", "SM2", "unit", BILL.issuing_unit_code,
                      sealer.unit_key.public_key_pem, SINCE, None, "kms-unit-SM2")
    finance = SigningKey("finance-SM2", "SM2", "finance", "finance",
                         sealer.finance_key.public_key_pem, SINCE, None, "kms-finance-SM2")
    sealing = OfdSealing(unit, "KMS 测试单位", finance, "北京市财政局", sealer.sealing.at)
    data = render_bill_ofd(BILL, verify_url=VERIFY_URL, xml_bytes=XML, font_path=FONT,
                           supervisor_name="北京市财政局", sealing=sealing,
                           sign=KmsSigner(kms).sign)
    assert _problems(data, sealer) == []
    # the certificates go RAW (under 4 KB); the seal and TBS_Sign, with the seal's picture in
    # them, go as their e = SM3(Z ‖ M)
    assert ("kms-unit-SM2", "DIGEST") in kms.calls and ("kms-finance-SM2", "RAW") in kms.calls
    assert ("kms-finance-SM2", "DIGEST") in kms.calls


def test_a_hostile_signed_value_is_unreadable_not_a_crash(sealed, sealer):
    for garbage in (b"", b"\x30\x84\xff\xff\xff\xff", b"\x30\x03\x02\x01\x04" * 3,
                    secrets.token_bytes(200)):
        parts = _parts(sealed)
        parts[SIGN + "SignedValue.dat"] = garbage
        problems = _problems(_zip(parts), sealer)
        assert problems and "unreadable OFD" in problems[0], problems


def test_der_reading_refuses_what_is_not_der():
    for bad in (b"\x30\x80\x00\x00", b"\x30\x81\x05\x00\x00\x00\x00\x00",
                b"\x30\x05\x00", b"\x02\x00"):
        with pytest.raises(der.DerError):
            element = der.read_whole(bad, bad[0])
            element.as_int()
    assert der.read(der.oid("1.2.156.10197.1.501")).as_oid() == "1.2.156.10197.1.501"
    assert der.read(der.integer(2 ** 64)).as_int() == 2 ** 64
    assert der.read(der.tlv(0x04, bytes(70_000))).content == bytes(70_000)


def test_the_certificates_and_seal_are_made_once_per_process_for_a_units_bills(sealer):
    calls: list[str] = []

    def counting(key_ref: str, message: bytes, alg: str) -> bytes:
        calls.append(key_ref)
        return sealer.signer.sign(key_ref, message, alg)
    ofd_seal._SEALS.clear()
    bills = [dataclasses.replace(BILL, bill_number=f"000012345{k}",
                                 issued_at=f"2026-03-0{k + 2}T10:20:30+08:00") for k in range(3)]
    for bill in bills:
        render_bill_ofd(bill, verify_url=VERIFY_URL, xml_bytes=XML, font_path=FONT,
                        supervisor_name="北京市财政局", sealing=sealer.sealing, sign=counting)
    assert calls.count(sealer.finance_key.key_ref) == 3  # two certificates and the seal, once
    assert calls.count(sealer.unit_key.key_ref) == 3  # one signature per drawing


def test_a_renderer_without_a_signer_refuses_to_seal(sealer):
    from chalicelib.adapters.ofd_bill import OfdBillRenderer

    with pytest.raises(ValueError, match="no signer"):
        OfdBillRenderer(FONT, "北京市财政局").render(BILL, verify_url=VERIFY_URL, xml_bytes=XML,
                                                     sealing=sealer.sealing)

