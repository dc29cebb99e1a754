"""Checking a bill file (XML, or PDF with the XML attached) against the public keys.

Used offline (``python -m chalicelib.cli verify-bill``) and by verification by upload. The checks,
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

from chalicelib.domain import bill_xml
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.key_trust import KeyTrust

ROLE_USE = {"unit": "unit", "supervisor": "finance"}


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


def xml_of(data: bytes) -> bytes:
    """The bill XML inside ``data``: the data itself, or the XML attached to a PDF."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed("票据文件过大", {"file": f"at most {MAX_FILE_BYTES} bytes"},
                               code="file_too_large")
    if data[:5] == b"%PDF-":
        from chalicelib.adapters.pdf_bill import extract_attached_xml

        xml = extract_attached_xml(data)
        if xml is None:
            raise ValidationFailed("PDF 中没有附带票据 XML", {"file": "no XML attached to the PDF"})
        return xml
    return data


def verify_bill_file(data: bytes, keys: dict[str, dict], trust: KeyTrust | None = None,
                     ) -> FileReport:
    """Verify ``data`` with ``keys`` (kid → the public key entry of ``GET /v1/public/keys``).

    A unit key must belong to the bill's issuing unit. With ``trust`` (a key list from outside,
    checked against a pinned root: ``domain/key_trust``) each key used must carry the root's
    endorsement; without it the keys are our own registry's.
    """
    from chalicelib.adapters.signers import VERIFIERS

    report = FileReport(ok=False)
    try:
        parsed = bill_xml.parse_document(xml_of(data))
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
        elif sig.alg not in VERIFIERS:
            problem = f"algorithm {sig.alg!r} is not supported by this verifier"
        elif sig.sign_time < key["not_before"] or (key.get("not_after")
                                                   and sig.sign_time >= key["not_after"]):
            problem = "signed outside the key's validity period"
        else:
            try:
                value = base64.b64decode(sig.value_b64, validate=True)
            except (binascii.Error, ValueError):
                value = b""
            if not value or not VERIFIERS[sig.alg](key["public_key_pem"], message, value):
                problem = "signature does not match the content (altered or wrong key)"
        report.checks.append((name, problem is None, problem or "valid"))
        all_ok = all_ok and problem is None
    report.ok = all_ok
    return report
