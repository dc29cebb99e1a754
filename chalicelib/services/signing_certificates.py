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
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import ValidationFailed


def open_signing_pfx(pfx_base64: str, password: str, now: datetime) -> tuple[str, str, str]:
    """``(secret, cert_id, cert_until)``: the key and certificate as PEM (the secret to seal),
    the certificate's serial in decimal, and its expiry in China time."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        pkcs12,
    )

    def refused(why: str) -> ValidationFailed:
        return ValidationFailed("签名证书无法使用：" + why, {"sign_cert_pfx": why})

    try:
        raw = base64.b64decode(pfx_base64, validate=True)
        key, cert, _ = pkcs12.load_key_and_certificates(raw, password.encode("utf-8"))
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
    secret = (key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
              + cert.public_bytes(Encoding.PEM)).decode("ascii")
    return secret, str(cert.serial_number), china_iso(cert.not_valid_after_utc)
