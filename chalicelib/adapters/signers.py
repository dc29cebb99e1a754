"""Signing bills: ECDSA P-256 with SHA-256, the private key in KMS (production) or on disk (local).

Both adapters return DER-encoded signatures over the message. KMS takes a RAW message of at most
4096 bytes and hashes it with SHA-256 itself; a longer one (the XML of a bill of some fifteen
items or more) is sent as its SHA-256 digest (``MessageType=DIGEST``), which KMS signs as it
is: the same signature over the same message either way. The algorithm is a property of the key (``SigningKey.alg``); an SM2 adapter
would be a third class with the same ``sign``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.adapters.aws import aws_boundary
from chalicelib.domain.errors import ValidationFailed

ALG_ES256 = "ES256"


KMS_RAW_LIMIT = 4096  # bytes of a RAW message KMS Sign accepts (its API reference)


@aws_boundary
class KmsSigner:
    """Signer with keys in KMS: they are made there (an operator's act), never here."""

    kind = "kms"

    def __init__(self, client: Any) -> None:
        self._kms = client

    def sign(self, key_ref: str, message: bytes) -> bytes:
        if len(message) <= KMS_RAW_LIMIT:
            kind, payload = "RAW", message
        else:
            digest = hashes.Hash(hashes.SHA256())
            digest.update(message)
            kind, payload = "DIGEST", digest.finalize()
        response = self._kms.sign(KeyId=key_ref, Message=payload, MessageType=kind,
                                  SigningAlgorithm="ECDSA_SHA_256")
        return bytes(response["Signature"])

    def public_key_pem(self, key_ref: str) -> str:
        der = self._kms.get_public_key(KeyId=key_ref)["PublicKey"]
        key = serialization.load_der_public_key(der)
        return key.public_bytes(serialization.Encoding.PEM,
                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def create_key(self, key_ref: str) -> str:
        raise ValidationFailed("production keys live in KMS: give --kms-key-id",
                               {"kms_key_id": "required with SIGNER=kms"})


class LocalSigner:
    """Private keys as PEM files in one folder; for the local stack and tests only."""

    kind = "local"

    def __init__(self, keys_dir: str | Path) -> None:
        self._dir = Path(keys_dir)
        self._cache: dict[str, ec.EllipticCurvePrivateKey] = {}

    def _key(self, key_ref: str) -> ec.EllipticCurvePrivateKey:
        if key_ref not in self._cache:
            if "/" in key_ref or key_ref.startswith("."):
                raise ValueError("key_ref must be a plain file name")
            key = serialization.load_pem_private_key((self._dir / key_ref).read_bytes(), None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            self._cache[key_ref] = key
        return self._cache[key_ref]

    def sign(self, key_ref: str, message: bytes) -> bytes:
        return self._key(key_ref).sign(message, ec.ECDSA(hashes.SHA256()))

    def public_key_pem(self, key_ref: str) -> str:
        return self._key(key_ref).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def create_key(self, key_ref: str) -> str:
        """Generate a key pair saved as ``key_ref``; return the public key PEM."""
        self._dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        path = self._dir / key_ref
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@lru_cache(maxsize=256)
def _public_key(public_key_pem: str) -> ec.EllipticCurvePublicKey | None:
    """A published key, parsed once per process (every bill issued is checked with two)."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None


def verify_es256(public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` (DER) is a valid ECDSA P-256/SHA-256 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    key = _public_key(public_key_pem)
    if key is None:
        return False
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


# The verifier of each signing algorithm, by the ``alg`` its keys carry. An SM2/SM3 adapter
# (GB/T 32918, as KMS offers in its China regions) would add "SM2SM3" here and a signer class
# beside KmsSigner; nothing else changes. Not added yet: no maintained SM2 library installs
# here (gmssl-python needs the GmSSL C library, which no package registry we reach provides).
VERIFIERS = {ALG_ES256: verify_es256}
