"""WeChat Pay APIv3: our merchant's configuration, read from its secret.

The merchant id and app id, the APIv3 key that decrypts notifications, every platform key
WeChat may sign with (keyed by certificate serial or ``PUB_KEY_ID_…``), and, for calls to
WeChat, the merchant API key with its certificate serial. Never logged: ``repr`` redacts keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from chalicelib.adapters.private_keys import pem_private_key


@dataclass(frozen=True, repr=False)
class WechatPayConfig:
    """Our merchant identity, the APIv3 key, and every platform key WeChat may sign with.

    ``platform_keys`` maps a platform-certificate serial or a ``PUB_KEY_ID_…`` to its key;
    keep the old and the new one during a rotation so that neither is rejected. The merchant
    API key and its certificate serial (optional: only calls to WeChat need them) sign our
    requests (``api.py``).
    """

    mchid: str
    appid: str
    apiv3_key: bytes
    platform_keys: Mapping[str, RSAPublicKey]
    merchant_private_key: RSAPrivateKey | None = None
    merchant_serial: str | None = None

    def __post_init__(self) -> None:
        if len(self.apiv3_key) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        if not self.platform_keys:
            raise ValueError("at least one platform public key is required")
        for serial, key in self.platform_keys.items():
            if not isinstance(key, RSAPublicKey):
                raise ValueError(f"platform key {serial!r} is not an RSA public key")
        if self.merchant_private_key is not None and (
                not isinstance(self.merchant_private_key, RSAPrivateKey)
                or not self.merchant_serial):
            raise ValueError("the merchant key must be an RSA private key, with its serial")
        object.__setattr__(self, "platform_keys", MappingProxyType(dict(self.platform_keys)))

    def __repr__(self) -> str:
        return (f"WechatPayConfig(mchid={self.mchid!r}, appid={self.appid!r}, "
                f"apiv3_key=<redacted>, platform_keys={sorted(self.platform_keys)!r}, "
                f"merchant_serial={self.merchant_serial!r})")

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> WechatPayConfig:
        """Build from the secret's JSON: mchid, appid, apiv3_key, platform_public_keys, and
        optionally merchant_private_key_pem (PKCS#8, apiclient_key.pem) with merchant_serial."""
        keys: dict[str, RSAPublicKey] = {}
        for serial, pem in data["platform_public_keys"].items():
            raw = pem.encode("ascii")
            if b"BEGIN CERTIFICATE" in raw:  # 平台证书 mode: the key is inside the cert
                key: Any = x509.load_pem_x509_certificate(raw).public_key()
            else:
                key = load_pem_public_key(raw)
            keys[serial] = key
        merchant = data.get("merchant_private_key_pem")
        return cls(mchid=data["mchid"], appid=data["appid"],
                   apiv3_key=data["apiv3_key"].encode("utf-8"), platform_keys=keys,
                   merchant_private_key=pem_private_key(merchant.encode("ascii"))
                   if merchant else None,  # type: ignore[arg-type]
                   merchant_serial=data.get("merchant_serial"))
