"""Reading and checking bill files with pypdf, cryptography and tongsuopy (SM2): the
``BillFileChecker`` port.

The rules of the check are the domain's (``domain/bill_files.py``); this adapter lends them the
things they need from outside the standard library: the XML attached to a PDF (pypdf, via
``pdf_bill.extract_attached_xml``) or to an OFD (``ofd_attachments``), an OFD's GB/T 38540
signatures (``ofd_seal``) and the check of an ES256 or SM2 signature (``signers.VERIFIERS``).
``verify_bill_file`` is the whole check, for the offline command and tests.
"""

from __future__ import annotations

from chalicelib.adapters import ofd_attachments, ofd_seal
from chalicelib.adapters.pdf_bill import extract_attached_xml
from chalicelib.adapters.signers import VERIFIERS
from chalicelib.domain.bill_files import (
    MAX_FILE_BYTES,
    FileReport,
    OfdSignature,
    check_bill_file,
)
from chalicelib.domain.key_trust import KeyTrust

__all__ = ["MAX_FILE_BYTES", "BillFiles", "verify_bill_file"]


class BillFiles:
    """BillFileTools (what the domain's check needs) and BillFileChecker (the port)."""

    def attached_xml(self, data: bytes) -> bytes | None:
        if data[:4] == b"PK\x03\x04":
            return ofd_attachments.extract_attached_xml(data)
        return extract_attached_xml(data)

    def ofd_signatures(self, data: bytes) -> list[OfdSignature]:
        return ofd_seal.read_signatures(data)

    def supports(self, alg: str) -> bool:
        return alg in VERIFIERS

    def signature_holds(self, alg: str, public_key_pem: str, message: bytes,
                        signature: bytes) -> bool:
        return VERIFIERS[alg](public_key_pem, message, signature)

    def verify(self, data: bytes, keys: dict[str, dict],
               trust: KeyTrust | None = None) -> FileReport:
        return check_bill_file(data, keys, self, trust)


def verify_bill_file(data: bytes, keys: dict[str, dict],
                     trust: KeyTrust | None = None) -> FileReport:
    """Verify ``data`` with ``keys`` (kid → the public key entry of ``GET /v1/public/keys``);
    with ``trust``, every key used must carry the pinned root's endorsement."""
    return check_bill_file(data, keys, BillFiles(), trust)
