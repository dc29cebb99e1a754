"""The electronic seal (电子签章) on a bill's OFD: GB/T 33190's signature parts holding a GB/T 38540
``SES_Signature`` (version 4) made by the issuing unit's key, and the reading of one back.

What is written (``sign_package``), beside the package's own parts::

    OFD.xml                                DocBody/Signatures → /Doc_0/Signs/Signatures.xml
    Doc_0/Signs/Signatures.xml             one Signature, Type Seal (left unprotected, so an
                                           archive may add its own seal later)
    Doc_0/Signs/Sign_0/Signature.xml       SignedInfo: Provider, SignatureMethod (SM2-with-SM3
                                           1.2.156.10197.1.501, or ecdsa-with-SHA256 for a unit
                                           that signs ES256), SignatureDateTime, References
                                           (CheckMethod SM3 1.2.156.10197.1.401: the base64
                                           SM3 of every other part of the package), Seal
                                           → SignedValue.dat
    Doc_0/Signs/Sign_0/Seal.esl            the SES_Seal, also inside the signature
    Doc_0/Signs/Sign_0/SignedValue.dat     SES_Signature{TBS_Sign{4, SES_Seal, time,
                                           SM3(Signature.xml), its path}, the unit's
                                           certificate, algorithm, signature over TBS_Sign}

The seal (``SES_Seal``): made by the finance department, the authority that issues units their
bill seals: ``SES_SealInfo`` (header ES/4, an ID, the seal's name and type, the unit's
certificate in its list, validity, and the seal's picture: the uploaded seal as PNG, or the drawn
one as a small OFD of its own), the finance department's certificate and its signature over the
DER of ``SES_SealInfo``. The certificates are X.509 v3 made here: the unit's certifies its
published signing key and is signed by the finance department's key; the finance department's
is self-signed. They are carriers, not a PKI: our verifier trusts a key because it is published
in ``/v1/public/keys`` (and endorsed by the finance root), found by the fingerprint of the
certificate's SubjectPublicKeyInfo. No StampAnnot is written: the seal on the page is page
content, exactly as in the PDF.

Every signature goes through the ``Signer`` port (KMS SM2DSA in production, local keys on the
local stack), so a signed OFD costs one signing of the unit's key per drawing; the certificates
and the seal depend only on the keys, names and picture, and are made once per process.

Reading (``read_signatures``) is for untrusted uploads: the parts are found by following the
package's own references with the bounded reader of ``ofd_attachments``, every DER element is
parsed strictly (``der``), and what was found is handed to the domain's check as
``OfdSignature`` facts; which keys count is the domain's decision (``domain/bill_files``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from chalicelib.adapters import der, ofd_attachments
from chalicelib.adapters.sm2 import sm3
from chalicelib.domain.bill_files import OfdSignature
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.units import ALG_ES256, ALG_SM2, OfdSealing, SigningKey

SM2_WITH_SM3 = "1.2.156.10197.1.501"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
SM3_OID = "1.2.156.10197.1.401"
SIGNATURE_OIDS = {ALG_SM2: SM2_WITH_SM3, ALG_ES256: ECDSA_WITH_SHA256}
ALG_OF_OID = {v: k for k, v in SIGNATURE_OIDS.items()}
SES_VERSION = 4
VENDOR_ID = "FISCALBILL"  # SES_Header.vid: who made the seal structure
SEAL_TYPE = 3  # the value ofdrw's samples write; the standard's list was not at hand
SIGNS = "Doc_0/Signs"
SIGN_DIR = f"{SIGNS}/Sign_0"
NS = "http://www.ofdspec.org/2016"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
SIGNATURES_LOC = f"/{SIGNS}/Signatures.xml"
DEFAULT_VALIDITY = timedelta(days=3650)  # a key without an end date: its certificate's term

Sign = Callable[[str, bytes, str], bytes]  # the Signer port's sign(key_ref, message, alg)


@dataclass(frozen=True)
class Picture:
    """The seal's picture: ``kind`` is ``png`` or ``ofd``; its size in millimetres."""

    kind: str
    data: bytes
    width_mm: int
    height_mm: int


# --- certificates and the seal ----------------------------------------------------------------

def _spki(public_key_pem: str) -> bytes:
    lines = [ln.strip() for ln in public_key_pem.strip().splitlines()]
    return base64.b64decode("".join(lines[1:-1]))


def _name(organisation: str, common_name: str) -> bytes:
    return der.seq(
        der.set_of(der.seq(der.oid("2.5.4.6"), der.printable("CN"))),
        der.set_of(der.seq(der.oid("2.5.4.10"), der.utf8(organisation))),
        der.set_of(der.seq(der.oid("2.5.4.3"), der.utf8(common_name))))


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _validity(key: SigningKey) -> tuple[datetime, datetime]:
    start = _moment(key.not_before)
    return start, _moment(key.not_after) if key.not_after else start + DEFAULT_VALIDITY


def certificate(subject_key: SigningKey, subject: tuple[str, str], issuer_key: SigningKey,
                issuer: tuple[str, str], sign: Sign, *, authority: bool) -> bytes:
    """An X.509 v3 certificate of ``subject_key`` (its validity), signed by ``issuer_key``."""
    algorithm = der.seq(der.oid(SIGNATURE_OIDS[issuer_key.alg]))
    start, end = _validity(subject_key)
    # keyUsage: digitalSignature and keyCertSign for the finance department, digitalSignature
    # for a unit (BIT STRINGs with their unused bits: 2 and 7)
    usage = b"\x03\x02\x02\x84" if authority else b"\x03\x02\x07\x80"
    extensions = [der.seq(der.oid("2.5.29.15"), der.boolean(True), der.octets(usage))]
    if authority:
        extensions.append(der.seq(der.oid("2.5.29.19"), der.boolean(True),
                                  der.octets(der.seq(der.boolean(True)))))
    serial = int.from_bytes(hashlib.sha256(f"cert:{subject_key.kid}".encode()).digest()[:15],
                            "big") | 1
    tbs = der.seq(der.explicit(0, der.integer(2)), der.integer(serial), algorithm,
                  _name(*issuer), der.seq(der.x509_time(start), der.x509_time(end)),
                  _name(*subject), _spki(subject_key.public_key_pem),
                  der.explicit(3, der.seq(*extensions)))
    value = sign(issuer_key.key_ref, tbs, issuer_key.alg)
    return der.seq(tbs, algorithm, der.bits(value))


def make_seal(sealing: OfdSealing, picture: Picture, unit_cert: bytes, maker_cert: bytes,
              sign: Sign) -> bytes:
    """The DER ``SES_Seal`` (v4) of the unit's bill seal, signed by the finance department."""
    unit = sealing.unit_key
    start, end = _validity(unit)
    info = der.seq(
        der.seq(der.ia5("ES"), der.integer(SES_VERSION), der.ia5(VENDOR_ID)),
        der.ia5(f"{unit.owner}-{hashlib.sha256(unit.kid.encode()).hexdigest()[:16]}"),
        der.seq(der.integer(SEAL_TYPE), der.utf8(f"{sealing.unit_name}票据专用章"),
                der.integer(1), der.seq(der.octets(unit_cert)),
                der.generalized_time(start), der.generalized_time(start),
                der.generalized_time(end)),
        der.seq(der.ia5(picture.kind), der.octets(picture.data),
                der.integer(picture.width_mm), der.integer(picture.height_mm)))
    maker = sealing.maker_key
    value = sign(maker.key_ref, info, maker.alg)
    return der.seq(info, der.octets(maker_cert), der.oid(SIGNATURE_OIDS[maker.alg]),
                   der.bits(value))


_SEALS: dict[tuple, tuple[bytes, bytes]] = {}  # per process: (seal, unit certificate)


def seal_and_certificate(sealing: OfdSealing, picture: Picture,
                         sign: Sign) -> tuple[bytes, bytes]:
    """The seal and the unit's certificate, made once per process for the same keys, names and
    picture (three signatures: the two certificates and the seal)."""
    unit, maker = sealing.unit_key, sealing.maker_key
    cache_key = (unit.kid, unit.public_key_pem, unit.not_after, maker.kid,
                 maker.public_key_pem, maker.not_after, sealing.unit_name,
                 sealing.maker_name, hashlib.sha256(picture.data).digest(), picture.kind)
    if cache_key not in _SEALS:
        maker_name = (sealing.maker_name, f"{sealing.maker_name}电子印章制作")
        maker_cert = certificate(maker, maker_name, maker, maker_name, sign, authority=True)
        unit_cert = certificate(unit, (sealing.unit_name, unit.owner), maker, maker_name,
                                sign, authority=False)
        if len(_SEALS) >= 256:
            _SEALS.clear()
        _SEALS[cache_key] = (make_seal(sealing, picture, unit_cert, maker_cert, sign),
                             unit_cert)
    return _SEALS[cache_key]


# --- the package --------------------------------------------------------------------------------

def _n(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _b64_sm3(data: bytes) -> str:
    return base64.b64encode(sm3(data)).decode()


def sign_package(files: list[tuple[str, bytes]], sealing: OfdSealing, picture: Picture,
                 sign: Sign, stamps: list[tuple[int, tuple[float, float, float, float]]],
                 ) -> list[tuple[str, bytes]]:
    """``files`` (an OFD package whose OFD.xml already names ``SIGNATURES_LOC``) with the
    signature parts added: every file is referenced by its SM3, the seal's appearance placed
    by ``stamps`` (page ID, box in mm), then the unit signs."""
    seal, unit_cert = seal_and_certificate(sealing, picture, sign)
    unit = sealing.unit_key
    at = sealing.at.astimezone(CHINA_TZ)
    appearance = "".join(
        f'<ofd:StampAnnot ID="{k + 1}" PageRef="{page_id}" '
        f'Boundary="{" ".join(_n(v) for v in box)}"/>' for k, (page_id, box) in enumerate(stamps))
    references = "".join(
        f'<ofd:Reference FileRef="/{escape(path)}"><ofd:CheckValue>{_b64_sm3(data)}'
        "</ofd:CheckValue></ofd:Reference>" for path, data in files)
    signature_xml = (
        f'{HEAD}<ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo>'
        '<ofd:Provider ProviderName="财政电子票据系统" Version="1.0"/>'
        f"<ofd:SignatureMethod>{SIGNATURE_OIDS[unit.alg]}</ofd:SignatureMethod>"
        f"<ofd:SignatureDateTime>{at:%Y-%m-%d %H:%M:%S}</ofd:SignatureDateTime>"
        f'<ofd:References CheckMethod="{SM3_OID}">{references}</ofd:References>{appearance}'
        f"<ofd:Seal><ofd:BaseLoc>/{SIGN_DIR}/Seal.esl</ofd:BaseLoc></ofd:Seal>"
        f"</ofd:SignedInfo><ofd:SignedValue>/{SIGN_DIR}/SignedValue.dat</ofd:SignedValue>"
        "</ofd:Signature>").encode()
    tbs = der.seq(der.integer(SES_VERSION), seal, der.generalized_time(at),
                  der.bits(sm3(signature_xml)), der.ia5(f"/{SIGN_DIR}/Signature.xml"))
    value = sign(unit.key_ref, tbs, unit.alg)
    signed_value = der.seq(tbs, der.octets(unit_cert), der.oid(SIGNATURE_OIDS[unit.alg]),
                           der.bits(value))
    signatures_xml = (
        f'{HEAD}<ofd:Signatures xmlns:ofd="{NS}"><ofd:MaxSignId>1</ofd:MaxSignId>'
        f'<ofd:Signature ID="1" Type="Seal" BaseLoc="/{SIGN_DIR}/Signature.xml"/>'
        "</ofd:Signatures>").encode()
    return [*files, (f"{SIGNS}/Signatures.xml", signatures_xml),
            (f"{SIGN_DIR}/Signature.xml", signature_xml), (f"{SIGN_DIR}/Seal.esl", seal),
            (f"{SIGN_DIR}/SignedValue.dat", signed_value)]


# --- reading one back -------------------------------------------------------------------------

OFD_NS = "{http://www.ofdspec.org/2016}"
MAX_SIGNATURES = 8


def _fingerprint(spki: bytes) -> str:
    return hashlib.sha256(spki).hexdigest()


def _certificate_facts(cert: bytes) -> tuple[str, bytes, str, bytes]:
    """(fingerprint of its SubjectPublicKeyInfo, its TBSCertificate, its signature algorithm,
    its signature) of a DER certificate."""
    parts = der.read_whole(cert, der.SEQUENCE).children()
    if len(parts) != 3:
        raise der.DerError("a certificate has three parts")
    tbs = parts[0].expect(der.SEQUENCE)
    fields = tbs.children()
    at = 1 if fields and fields[0].tag == 0xA0 else 0
    if len(fields) < at + 6:
        raise der.DerError("a TBSCertificate too short")
    spki = fields[at + 5].expect(der.SEQUENCE).raw
    algorithm = parts[1].expect(der.SEQUENCE).children()[0].as_oid()
    return _fingerprint(spki), tbs.raw, algorithm, parts[2].as_bits()


def _ses_signature(value: bytes, signature_xml: bytes, signature_path: str) -> OfdSignature:
    top = der.read_whole(value, der.SEQUENCE).children()
    if len(top) not in (4, 5):
        raise der.DerError("SES_Signature has four or five parts")
    tbs = top[0].expect(der.SEQUENCE)
    fields = tbs.children()
    if len(fields) not in (5, 6) or fields[0].as_int() != SES_VERSION:
        raise der.DerError("not a version 4 TBS_Sign")
    seal = fields[1].expect(der.SEQUENCE).children()
    if len(seal) != 4:
        raise der.DerError("SES_Seal has four parts")
    seal_info = seal[0].expect(der.SEQUENCE)
    header, _, prop, _ = seal_info.children()[:4]
    head = header.children()
    if head[0].as_text() != "ES" or head[1].as_int() != SES_VERSION:
        raise der.DerError("not a version 4 ES seal")
    prop_fields = prop.children()
    cert_list = [c.expect(der.OCTET_STRING).content for c in prop_fields[3].children()] \
        if prop_fields[2].as_int() == 1 else []
    signer_cert = top[1].expect(der.OCTET_STRING).content
    maker_cert = seal[1].expect(der.OCTET_STRING).content
    signer_fp, _, _, _ = _certificate_facts(signer_cert)
    maker_fp, _, _, _ = _certificate_facts(maker_cert)
    _, unit_cert_tbs, unit_cert_alg, unit_cert_value = _certificate_facts(signer_cert)
    problems = []
    if fields[3].as_bits() != sm3(signature_xml):
        problems.append("Signature.xml does not match the hash the seal signed (altered)")
    if fields[4].as_text() != signature_path:
        problems.append(f"the signature names {fields[4].as_text()!r}, not {signature_path!r}")
    if signer_cert not in cert_list:
        problems.append("the signer's certificate is not among the seal's")
    return OfdSignature(
        signer_fingerprint=signer_fp,
        alg=ALG_OF_OID.get(top[2].as_oid(), top[2].as_oid()),
        sign_time=fields[2].as_time().astimezone(CHINA_TZ).isoformat(timespec="seconds"),
        signed=tbs.raw, value=top[3].as_bits(),
        maker_fingerprint=maker_fp,
        maker_alg=ALG_OF_OID.get(seal[2].as_oid(), seal[2].as_oid()),
        seal_signed=seal_info.raw, seal_value=seal[3].as_bits(),
        certificate_signed=unit_cert_tbs,
        certificate_alg=ALG_OF_OID.get(unit_cert_alg, unit_cert_alg),
        certificate_value=unit_cert_value,
        problems=tuple(problems))


def read_signatures(data: bytes) -> list[OfdSignature]:
    """The signatures of the OFD ``data`` with what they protect checked: each referenced part's
    SM3, every part of the package referenced (but the signature parts), Signature.xml's hash
    in the signed data. ``ValidationFailed`` (``unreadable_ofd``) for a package or signature
    that cannot be read; an empty list for an OFD that has no signatures."""
    reader = ofd_attachments.Package(data)
    found: list[OfdSignature] = []
    with reader:
        root = reader.xml("OFD.xml")
        listing = None
        for body in root.iter(f"{OFD_NS}DocBody"):
            listing = body.findtext(f"{OFD_NS}Signatures") or listing
        if not listing:
            return []
        listing_path = reader.resolve("OFD.xml", listing)
        records = list(reader.xml(listing_path).iter(f"{OFD_NS}Signature"))
        if len(records) > MAX_SIGNATURES:
            raise ofd_attachments.unreadable("too many signatures")
        signature_parts = {listing_path}
        for record in records:
            path = reader.resolve(listing_path, record.get("BaseLoc") or "")
            signature = reader.xml(path)
            signed_value = reader.resolve(path, signature.findtext(f"{OFD_NS}SignedValue") or "")
            signature_parts |= {path, signed_value}
            seal_loc = signature.findtext(f"{OFD_NS}SignedInfo/{OFD_NS}Seal/{OFD_NS}BaseLoc")
            if seal_loc:
                signature_parts.add(reader.resolve(path, seal_loc))
        for record in records:
            path = reader.resolve(listing_path, record.get("BaseLoc") or "")
            found.append(_one(reader, path, signature_parts))
    return found


def _one(reader: ofd_attachments.Package, path: str, signature_parts: set[str]) -> OfdSignature:
    signature_xml = reader.read(path)
    signature = reader.xml(path)
    info = signature.find(f"{OFD_NS}SignedInfo")
    references = info.find(f"{OFD_NS}References") if info is not None else None
    if references is None:
        raise ofd_attachments.unreadable(f"{path} has no References")
    problems = []
    method = (references.get("CheckMethod") or "").strip()
    if method.lower() not in (SM3_OID, "sm3"):
        problems.append(f"the parts are hashed with {method!r}, not SM3")
    covered = set()
    for reference in references.iter(f"{OFD_NS}Reference"):
        part = reader.resolve(path, reference.get("FileRef") or "")
        covered.add(part)
        try:
            expected = base64.b64decode((reference.findtext(f"{OFD_NS}CheckValue") or "").strip(),
                                        validate=True)
        except ValueError:
            expected = b""
        if part not in reader.names:
            problems.append(f"{part} is signed but missing")
        elif sm3(reader.read(part)) != expected:
            problems.append(f"{part} was altered after signing")
    for part in sorted(reader.names - covered - signature_parts):
        problems.append(f"{part} is not covered by the signature")
    value_loc = signature.findtext(f"{OFD_NS}SignedValue") or ""
    try:
        facts = _ses_signature(reader.read(reader.resolve(path, value_loc)), signature_xml,
                               "/" + path)
    except (der.DerError, IndexError) as exc:
        raise ofd_attachments.unreadable(f"{path}: SignedValue is not a GB/T 38540 v4 "
                                         f"signature ({exc})") from None
    seal_loc = signature.findtext(f"{OFD_NS}SignedInfo/{OFD_NS}Seal/{OFD_NS}BaseLoc")
    if seal_loc and reader.read(reader.resolve(path, seal_loc)) != _seal_bytes(facts):
        problems.append("Seal.esl is not the seal inside the signature")
    return OfdSignature(**{**facts.__dict__, "problems": facts.problems + tuple(problems)})


def _seal_bytes(facts: OfdSignature) -> bytes:
    """The SES_Seal inside a TBS_Sign (its second element), as encoded there."""
    return der.read(facts.signed).children()[1].raw
