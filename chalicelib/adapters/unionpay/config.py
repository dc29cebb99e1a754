"""UnionPay ACP 5.1.0: our merchant's configuration, read from its secret.

Our ``merId``, UnionPay's middle and root certificates (``acp_*_middle.cer``/``root.cer``, PEM or
DER) that every signing certificate must chain to, whether the test environment's CN is
accepted, and, for requests, our signing key and certificate (``acp_*_sign.pfx``). Never logged:
``repr`` redacts the key. ``for_merchant`` is the same configuration acting for a unit's own
merId with that merId's own signing key and certificate (``load_signing_secret``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import NameOID


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A certificate from PEM or DER (UnionPay ships ``.cer`` files in either form)."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    if b"-----BEGIN CERTIFICATE" in raw:
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def load_certificates(data: str | list[str] | None) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM text (or of each of a list of PEM or DER texts); () for
    none."""
    if not data:
        return ()
    if isinstance(data, str):
        return tuple(x509.load_pem_x509_certificates(data.encode("ascii")))
    return tuple(load_certificate(one) for one in data)


def common_name(cert: x509.Certificate) -> str:
    """The subject's CN, or "" when it has none."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


@dataclass(frozen=True, repr=False)
class UnionPayConfig:
    """Our merId and UnionPay's middle and root certificates (acp_*_middle/root.cer);
    ``validate_cn=False`` (SDKs' ``ifValidateCNName``) also accepts the test CN ``00040000:SIGN``.
    Our signing certificate and key (acp_*_sign.pfx; optional: only requests need them) sign
    what we send, named by the certificate's serial (``certId``).
    """

    mer_id: str
    middle_cert: x509.Certificate
    root_cert: x509.Certificate
    validate_cn: bool = True
    merchant_sign_key: RSAPrivateKey | None = None
    merchant_sign_cert: x509.Certificate | None = None
    # The CA certificates a unit's own merId's signing certificate must chain to when it is
    # uploaded (``services/signing_certificates.check_merchant_chain``): CFCA's, which issues
    # UnionPay merchants' certificates, in production; the local stack's own test CA there.
    merchant_cert_roots: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:
        return (f"UnionPayConfig(mer_id={self.mer_id!r}, middle={common_name(self.middle_cert)!r}, "
                f"root={common_name(self.root_cert)!r}, validate_cn={self.validate_cn!r}"
                f"{', merchant_sign_key=<redacted>' if self.merchant_sign_key else ''})")

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> UnionPayConfig:
        """Build from the secret's JSON: mer_id, middle_cert_pem, root_cert_pem, validate_cn?,
        for requests merchant_sign_key_pem with merchant_sign_cert_pem, and for units' own
        merIds merchant_cert_roots_pem (one PEM text holding every CA certificate merchant
        signing certificates must chain to, or a list of PEM texts)."""
        key, cert = data.get("merchant_sign_key_pem"), data.get("merchant_sign_cert_pem")
        return cls(mer_id=data["mer_id"], middle_cert=load_certificate(data["middle_cert_pem"]),
                   root_cert=load_certificate(data["root_cert_pem"]),
                   validate_cn=bool(data.get("validate_cn", True)),
                   merchant_sign_key=load_pem_private_key(key.encode(), None)  # type: ignore
                   if key else None, merchant_sign_cert=load_certificate(cert) if cert else None,
                   merchant_cert_roots=load_certificates(data.get("merchant_cert_roots_pem")))

    def for_merchant(self, mer_id: str, secret: str) -> UnionPayConfig:
        """This configuration acting for a unit's own ``mer_id``, signing with the key and
        certificate in ``secret`` (``load_signing_secret``); UnionPay's certificates stay."""
        key, cert = load_signing_secret(secret)
        return replace(self, mer_id=mer_id, merchant_sign_key=key, merchant_sign_cert=cert)


def load_signing_secret(secret: str) -> tuple[RSAPrivateKey, x509.Certificate]:
    """The private key and certificate of a unit's merId, from the PEM text kept sealed
    (``services/signing_certificates``: PKCS#8 key, then the certificate)."""
    raw = secret.encode("ascii")
    # Checked whole when it was uploaded (services/signing_certificates), and authenticated
    # since by the seal's AES-GCM tag: the RSA consistency check (~170 ms a call) is skipped.
    key = load_pem_private_key(raw, None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("a UnionPay signing key is RSA")
    return key, x509.load_pem_x509_certificate(raw[raw.index(b"-----BEGIN CERTIFICATE"):])
