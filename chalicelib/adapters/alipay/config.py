"""Alipay: our application's configuration, read from its secret.

Our ``app_id`` and ``seller_id``, Alipay's public key (PEM, bare base64 SPKI, or the 公钥证书
mode's certificate) that verifies notices and answers, and, for calls to Alipay, our application
private key. Never logged: ``repr`` redacts the private key.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    load_der_public_key,
    load_pem_public_key,
)

from chalicelib.adapters.private_keys import der_private_key, pem_private_key


@dataclass(frozen=True, repr=False)
class AlipayConfig:
    """Our application and seller ids, and Alipay's public key (never our own app key); our
    application private key (optional: only calls to Alipay need it) signs requests."""

    app_id: str
    seller_id: str
    alipay_public_key: RSAPublicKey
    app_private_key: RSAPrivateKey | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.alipay_public_key, RSAPublicKey):
            raise ValueError("the Alipay public key must be an RSA public key")
        if self.app_private_key is not None and not isinstance(self.app_private_key,
                                                               RSAPrivateKey):
            raise ValueError("the application private key must be an RSA private key")

    def __repr__(self) -> str:
        return (f"AlipayConfig(app_id={self.app_id!r}, seller_id={self.seller_id!r}, "
                f"alipay_public_key=<RSA-{self.alipay_public_key.key_size}>"
                f"{', app_private_key=<redacted>' if self.app_private_key else ''})")

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> AlipayConfig:
        """Build from the secret's JSON: app_id, seller_id, alipay_public_key_pem and, for
        calls to Alipay, app_private_key_pem (PEM, or the bare base64 Alipay's tool gives).

        The key may be a PEM public key, the bare base64 SPKI Alipay's console shows, or the
        ``alipayCertPublicKey_RSA2.crt`` certificate (公钥证书 mode).
        """
        private = data.get("app_private_key_pem")
        return cls(app_id=data["app_id"], seller_id=data["seller_id"],
                   alipay_public_key=load_alipay_public_key(data["alipay_public_key_pem"]),
                   app_private_key=_private_key(private) if private else None)


def _private_key(text: str) -> Any:
    raw = text.strip().encode("ascii")
    if b"-----BEGIN" in raw:
        return pem_private_key(raw)
    return der_private_key(base64.b64decode(b"".join(raw.split()), validate=True))


def load_alipay_public_key(text: str) -> Any:
    """Alipay's public key from PEM, a certificate, or bare base64 SPKI."""
    raw = text.strip().encode("ascii")
    if b"BEGIN CERTIFICATE" in raw:
        return x509.load_pem_x509_certificate(raw).public_key()
    if b"-----BEGIN" in raw:
        return load_pem_public_key(raw)
    return load_der_public_key(base64.b64decode(b"".join(raw.split()), validate=True))
