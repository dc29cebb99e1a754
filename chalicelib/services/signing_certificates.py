"""A unit's own UnionPay signing certificate (``acp_*_sign.pfx``), as the finance department
uploads it: opened, checked and turned into what is kept.

UnionPay issues each merchant number (merId) a signing certificate with its private key, as a
PKCS#12 file and a password (its SDKs' ``acpsdk.signCert.path``/``pwd``); a deployment serving
several merIds signs each one's requests with that merId's own certificate (the official SDK's
``AcpService.signByCertInfo``, "多证书签名": "如果有多个商户号接入银联,每个商户号对应不同的证书").
A request names the certificate by ``certId``, its serial number in decimal
(``CertUtil.getCertIdByKeyStoreMap``).

What is kept of an upload is the private key (PKCS#8) and the certificate, as PEM, to be
sealed (``services/merchants``: AES-256-GCM bound to the unit and channel), and the serial and
expiry shown to people. The password and the PFX itself are never stored. A file that does not
open with its password, holds no RSA key and certificate, holds a key that is not the
certificate's, or a certificate not valid now, is refused with a field error that repeats
neither the password nor the file.

The certificate must also be one CFCA issued for signing (``check_merchant_chain``): UnionPay's
merchant certificates come from CFCA (the genuine test-environment one chains leaf ← CFCA TEST
OCA1 ← CFCA TEST CS CA, all SHA-1 signed), so it must chain to one of the deployment's trust
roots for merchant certificates (the UnionPay secret's ``merchant_cert_roots_pem``: CFCA's in
production, the local stack's own test CA there), every certificate on the way valid now, and
say it signs (key usage ``digitalSignature``, not a CA). A file that does not is refused naming
``sign_cert_pfx``; a deployment with no such roots configured refuses every upload (503), it
never takes an unchecked one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed

if TYPE_CHECKING:
    from cryptography import x509

MAX_CHAIN = 4  # certificates between the merchant's and a root: CFCA's is one (OCA1)


def _refused(why: str) -> ValidationFailed:
    return ValidationFailed("签名证书无法使用：" + why, {"sign_cert_pfx": why})


def open_signing_pfx(pfx_base64: str, password: str, now: datetime,
                     roots: Sequence[x509.Certificate]) -> tuple[str, str, str]:
    """``(secret, cert_id, cert_until)``: the key and certificate as PEM (the secret to seal),
    the certificate's serial in decimal, and its expiry in China time; the certificate checked
    against ``roots`` (``check_merchant_chain``)."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        pkcs12,
    )

    refused = _refused
    try:
        raw = base64.b64decode(pfx_base64, validate=True)
        key, cert, extra = pkcs12.load_key_and_certificates(raw, password.encode("utf-8"))
    except (binascii.Error, ValueError, TypeError):
        raise refused("not a PKCS#12 file that opens with this password") from None
    if not isinstance(key, RSAPrivateKey) or cert is None:
        raise refused("the file must hold an RSA private key and its certificate")
    spki = PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(Encoding.DER, spki) != \
            cert.public_key().public_bytes(Encoding.DER, spki):
        raise refused("the private key is not the certificate's")
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise refused(f"the certificate is valid from {china_iso(cert.not_valid_before_utc)} "
                      f"to {china_iso(cert.not_valid_after_utc)}, not now")
    check_merchant_chain(cert, extra, roots, now)
    secret = (key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
              + cert.public_bytes(Encoding.PEM)).decode("ascii")
    return secret, str(cert.serial_number), china_iso(cert.not_valid_after_utc)


def check_merchant_chain(cert: x509.Certificate, extra: Iterable[x509.Certificate],
                         roots: Sequence[x509.Certificate], now: datetime) -> None:
    """``ValidationFailed`` naming ``sign_cert_pfx`` unless ``cert`` is a signing certificate
    (key usage ``digitalSignature``; not a CA) that chains to one of ``roots`` (the configured
    trust roots for merchant certificates: each one configured is trusted), through the
    certificates the PFX carries besides it (``extra``, trusted only as a way to a root, each a
    CA), every certificate on the way, root included, valid at ``now``. Signatures are checked
    by hand (RSA PKCS#1 v1.5 or ECDSA, SHA-1 accepted: CFCA's certificates are SHA-1 signed,
    which ``verify_directly_issued_by`` refuses). ``ServiceUnavailable`` when no roots are
    configured."""
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    if not roots:
        raise ServiceUnavailable("no trust roots for UnionPay merchant certificates are "
                                 "configured (merchant_cert_roots_pem in the UnionPay secret)")
    _valid(cert, "the certificate", now)
    try:
        usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound:
        usage = None
    if not isinstance(usage, x509.KeyUsage) or not usage.digital_signature or _is_ca(cert):
        raise _refused("the certificate is not a signing certificate (its key usage must "
                       "include digitalSignature): upload the signing certificate "
                       "(acp_*_sign.pfx), not the encryption one")
    helpers = [c for c in extra if _is_ca(c)]
    current = cert
    for _ in range(MAX_CHAIN + 1):
        root = next((r for r in roots if _signed_by(current, r)), None)
        if root is not None:
            _valid(root, f"the issuing root {_name(root)}", now)
            return
        step = next((c for c in helpers if c is not current and _signed_by(current, c)), None)
        if step is None:
            break
        _valid(step, f"the intermediate certificate {_name(step)}", now)
        current = step
    raise _refused(f"the certificate (issued by {_name_of(cert.issuer)}) does not chain to a "
                   "trust root configured for UnionPay merchant certificates (CFCA)")


def _valid(cert: x509.Certificate, what: str, now: datetime) -> None:
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise _refused(f"{what} is valid from {china_iso(cert.not_valid_before_utc)} to "
                       f"{china_iso(cert.not_valid_after_utc)}, not now")


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.ca)


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` (its name and key) signed ``cert``."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePublicKey
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    if cert.issuer != issuer.subject:
        return False
    try:
        algorithm = cert.signature_hash_algorithm
        key = issuer.public_key()
        if algorithm is None:
            return False
        if isinstance(key, RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, PKCS1v15(), algorithm)
        elif isinstance(key, EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def _name(cert: x509.Certificate) -> str:
    return _name_of(cert.subject)


def _name_of(name: x509.Name) -> str:
    return name.rfc4514_string()[:120]
