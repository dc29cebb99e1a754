"""Checking a bill file (XML, or PDF with the XML attached) against the public keys.

Used offline (``python -m chalicelib.cli verify-bill``), by verification by upload and by
issuance (a freshly signed bill is checked before it is archived). The rules are here; the two
things they need from outside the standard library, the XML attached to a PDF and the check of
one signature with a public key, come in a ``BillFileTools`` (``adapters/bill_files.py``: pypdf
and cryptography), which also offers the whole check as ``verify_bill_file``. The checks,
in order, each with its own message: the file is within the size limit and holds a bill that
carries exactly the unit's and then the finance department's signature (refused while reading,
before any canonical form is computed: ``bill_xml.parse_document``); each key id is known, is of
the right use (a unit key of the issuing unit), is endorsed by the finance root key when the
keys come from outside, and was in force at signing time; each signature holds over what it
covers.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain import bill_xml
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.key_trust import KeyTrust, fingerprint

ROLE_USE = {"unit": "unit", "supervisor": "finance"}


@dataclass(frozen=True)
class OfdSignature:
    """What an OFD's GB/T 38540 signature says, read by the adapter (``adapters/ofd_seal``):
    keys by the SHA-256 fingerprint of their SubjectPublicKeyInfo, what each key signed, and
    the problems found in what it protects (altered or unprotected parts)."""

    signer_fingerprint: str
    alg: str  # ES256 | SM2, or the unknown OID
    sign_time: str  # ISO 8601, China time
    signed: bytes  # TBS_Sign, as encoded
    value: bytes  # the unit's signature over it (DER)
    maker_fingerprint: str  # the seal's maker (the finance department)
    maker_alg: str
    seal_signed: bytes  # SES_SealInfo, as encoded
    seal_value: bytes
    certificate_signed: bytes  # the signer's TBSCertificate, signed by the maker
    certificate_alg: str
    certificate_value: bytes
    problems: tuple[str, ...] = ()


class BillFileTools(Protocol):
    """What checking a bill file needs from outside the standard library."""

    def attached_xml(self, data: bytes) -> bytes | None:
        """The bill XML attached to a PDF or an OFD, None if it carries none;
        ``ValidationFailed`` when the file cannot be read."""

    def ofd_signatures(self, data: bytes) -> list[OfdSignature]:
        """The GB/T 38540 signatures of the OFD ``data`` (none: an empty list);
        ``ValidationFailed`` when one cannot be read."""

    def supports(self, alg: str) -> bool:
        """Whether signatures of algorithm ``alg`` (``ES256``, ``SM2``) can be checked."""

    def signature_holds(self, alg: str, public_key_pem: str, message: bytes,
                        signature: bytes) -> bool:
        """Whether ``signature`` over ``message`` holds with the public key."""


@dataclass
class FileReport:
    ok: bool
    bill: bill_xml.ParsedBill | None = None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (check, passed, detail)
    error: ValidationFailed | None = None  # why the file was refused before any signature check

    def failed(self) -> list[str]:
        return [f"{name}: {detail}" for name, passed, detail in self.checks if not passed]

    def checks_view(self) -> list[dict]:
        return [{"check": name, "ok": passed, "detail": detail}
                for name, passed, detail in self.checks]


# The largest file either route accepts (a PDF; an XML is held to bill_xml.MAX_XML_BYTES).
# The PDF reader holds a PDF to the same figure; this one also bounds what the offline command
# reads from disk.
MAX_FILE_BYTES = 1024 * 1024


def xml_of(data: bytes, tools: BillFileTools) -> bytes:
    """The bill XML inside ``data``: the data itself, or the XML attached to a PDF or an OFD."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed("票据文件过大", {"file": f"at most {MAX_FILE_BYTES} bytes"},
                               code="file_too_large")
    if data[:5] == b"%PDF-" or data[:4] == b"PK\x03\x04":  # a PDF, or an OFD (a zip)
        xml = tools.attached_xml(data)
        if xml is None:
            kind = "PDF" if data[:1] == b"%" else "OFD"
            raise ValidationFailed(f"{kind} 中没有附带票据 XML",
                                   {"file": f"no XML attached to the {kind}"})
        return xml
    return data


def check_bill_file(data: bytes, keys: dict[str, dict], tools: BillFileTools,
                    trust: KeyTrust | None = None) -> FileReport:
    """Verify ``data`` with ``keys`` (kid → the public key entry of ``GET /v1/public/keys``).

    A unit key must belong to the bill's issuing unit. With ``trust`` (a key list from outside,
    checked against a pinned root: ``domain/key_trust``) each key used must carry the root's
    endorsement; without it the keys are our own registry's.
    """
    report = FileReport(ok=False)
    try:
        parsed = bill_xml.parse_document(xml_of(data, tools))
    except ValidationFailed as exc:
        report.checks.append(("file", False, f"{exc.message} ({exc.fields.get('file', '')})"))
        report.error = exc
        return report
    report.bill = parsed  # it carries exactly the unit's then the supervisor's signature
    all_ok = True
    for sig, message in zip(parsed.signatures, parsed.signed_inputs, strict=True):
        name = f"{sig.role} signature ({sig.kid})"
        key = keys.get(sig.kid)
        problem = None
        if key is None:
            problem = "unknown key id"
        elif key.get("use") != ROLE_USE[sig.role]:
            problem = f"key is for use {key.get('use')!r}, not {ROLE_USE[sig.role]!r}"
        elif sig.role == "unit" and key.get("owner") != parsed.bill.issuing_unit_code:
            problem = (f"key belongs to {key.get('owner')!r}, not to the issuing unit "
                       f"{parsed.bill.issuing_unit_code!r}")
        elif trust is not None and (untrusted := trust.problem(key)):
            problem = untrusted
        elif key.get("alg") != sig.alg:
            problem = f"algorithm {sig.alg!r} does not match the key ({key.get('alg')!r})"
        elif not tools.supports(sig.alg):
            problem = f"algorithm {sig.alg!r} is not supported by this verifier"
        elif sig.sign_time < key["not_before"] or (key.get("not_after")
                                                   and sig.sign_time >= key["not_after"]):
            problem = "signed outside the key's validity period"
        else:
            try:
                value = base64.b64decode(sig.value_b64, validate=True)
            except (binascii.Error, ValueError):
                value = b""
            if not value or not tools.signature_holds(sig.alg, key["public_key_pem"], message,
                                                        value):
                problem = "signature does not match the content (altered or wrong key)"
        report.checks.append((name, problem is None, problem or "valid"))
        all_ok = all_ok and problem is None
    if data[:4] == b"PK\x03\x04":
        for name, problem in check_ofd_signatures(data, parsed.bill.issuing_unit_code, keys,
                                                  tools, trust):
            report.checks.append((name, problem is None, problem or "valid"))
            all_ok = all_ok and problem is None
    report.ok = all_ok
    return report


def _key_problem(key: dict, use: str, owner: str | None, alg: str, at: str,
                 trust: KeyTrust | None, tools: BillFileTools) -> str | None:
    if key.get("use") != use or (owner is not None and key.get("owner") != owner):
        return (f"the key is {key.get('use')!r} of {key.get('owner')!r}, not {use!r}"
                + (f" of {owner!r}" if owner else ""))
    if trust is not None and (untrusted := trust.problem(key)):
        return untrusted
    if key.get("alg") != alg:
        return f"algorithm {alg!r} does not match the key ({key.get('alg')!r})"
    if not tools.supports(alg):
        return f"algorithm {alg!r} is not supported by this verifier"
    if at < key["not_before"] or (key.get("not_after") and at >= key["not_after"]):
        return "signed outside the key's validity period"
    return None


def check_ofd_signatures(data: bytes, unit_code: str, keys: dict[str, dict],
                         tools: BillFileTools, trust: KeyTrust | None = None,
                         ) -> list[tuple[str, str | None]]:
    """(check, problem or None) for the signatures of an OFD: there must be one, every part
    must be covered and unaltered, the signer must be a published key of the issuing unit in
    force when it signed, the seal made (and the signer's certificate issued) by a published
    finance department key."""
    try:
        signatures = tools.ofd_signatures(data)
    except ValidationFailed as exc:
        return [("OFD signature", f"{exc.message} ({exc.fields.get('file', '')})")]
    if not signatures:
        return [("OFD signature", "the OFD carries no signature: its pages are not protected")]
    by_fingerprint = {}
    for key in keys.values():
        try:
            by_fingerprint[fingerprint(key["public_key_pem"])] = key
        except (KeyError, ValueError, TypeError):
            continue
    out: list[tuple[str, str | None]] = []
    for sig in signatures:
        signer = by_fingerprint.get(sig.signer_fingerprint)
        maker = by_fingerprint.get(sig.maker_fingerprint)
        name = f"OFD signature ({signer['kid'] if signer else 'unknown key'})"
        problem = "; ".join(sig.problems) or None
        if problem is None:
            if signer is None:
                problem = "signed by a key that is not published"
            else:
                problem = _key_problem(signer, "unit", unit_code, sig.alg, sig.sign_time,
                                       trust, tools)
                if problem is None and not tools.signature_holds(
                        sig.alg, signer["public_key_pem"], sig.signed, sig.value):
                    problem = "signature does not match the content (altered or wrong key)"
        out.append((name, problem))
        seal_name = f"OFD seal ({maker['kid'] if maker else 'unknown key'})"
        if maker is None:
            seal_problem: str | None = "the seal was made by a key that is not published"
        else:
            seal_problem = _key_problem(maker, "finance", None, sig.maker_alg, sig.sign_time,
                                        trust, tools)
            if seal_problem is None and not tools.signature_holds(
                    sig.maker_alg, maker["public_key_pem"], sig.seal_signed, sig.seal_value):
                seal_problem = "the seal's signature does not hold"
            elif seal_problem is None and (sig.certificate_alg != sig.maker_alg
                                           or not tools.signature_holds(
                                               sig.maker_alg, maker["public_key_pem"],
                                               sig.certificate_signed,
                                               sig.certificate_value)):
                seal_problem = "the signer's certificate was not issued by the seal's maker"
        out.append((seal_name, seal_problem))
    return out
