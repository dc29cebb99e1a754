"""Signing bills: ECDSA P-256 with SHA-256 (``ES256``) or SM2 with SM3 (``SM2``, 国密), the private
key in KMS (production) or on disk (local).

The algorithm is a property of the key (``SigningKey.alg``), and callers pass it to ``sign``.
Both adapters return DER-encoded signatures over the message.

KMS, ES256: a RAW message of at most 4096 bytes is hashed with SHA-256 by KMS; a longer one (the
XML of a bill of some fifteen items or more) is sent as its SHA-256 digest
(``MessageType=DIGEST``), which KMS signs as it is: the same signature either way.

KMS, SM2 (key spec ``SM2``, algorithm ``SM2DSA``, China regions only): for a RAW message KMS
itself computes Z with the fixed default ID ``1234567812345678`` and signs e = SM3(Z ‖ M); a
longer message is sent as that e, computed here from the key's public half with the same ID
(``sm2.message_digest``), which KMS signs as given. What KMS answers is checked: the algorithm
it names must be ``SM2DSA``, and the signature is kept as DER (a raw ``r ‖ s`` is converted).
None of that is proved against a real China-region KMS yet (README); every signature is
verified with the published key before a bill is archived (``issuance.check_signatures``), so
a wrong guess fails loudly instead of archiving a bill that does not verify.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.adapters import sm2
from chalicelib.adapters.aws import aws_boundary
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.domain.units import ALG_ES256, ALG_SM2
from chalicelib.domain.units import SIGNING_ALGORITHMS as ALGORITHMS

__all__ = ["ALG_ES256", "ALG_SM2", "KMS_RAW_LIMIT", "KmsSigner", "LocalSigner", "VERIFIERS",
           "alg_of_public_key", "verify_es256", "verify_signature"]

KMS_RAW_LIMIT = 4096  # bytes of a RAW message KMS Sign accepts (its API reference)
KMS_SIGNING_ALGORITHM = {ALG_ES256: "ECDSA_SHA_256", ALG_SM2: "SM2DSA"}
KMS_KEY_SPECS = {"ECC_NIST_P256": ALG_ES256, "SM2": ALG_SM2}


def _check_alg(alg: str) -> None:
    if alg not in ALGORITHMS:
        raise ValidationFailed(f"unknown signing algorithm {alg}",
                               {"alg": " | ".join(ALGORITHMS)})


def _key_spec(answer: dict) -> str | None:
    """The key spec in a GetPublicKey answer (``CustomerMasterKeySpec``, its deprecated name,
    is all moto sends)."""
    return answer.get("KeySpec") or answer.get("CustomerMasterKeySpec")


@aws_boundary
class KmsSigner:
    """Signer with keys in KMS: they are made there (an operator's act), never here."""

    kind = "kms"

    def __init__(self, client: Any) -> None:
        self._kms = client
        self._sm2_public: dict[str, str] = {}  # key id → PEM; a KMS key's public half never changes

    def sign(self, key_ref: str, message: bytes, alg: str = ALG_ES256) -> bytes:
        _check_alg(alg)
        if len(message) <= KMS_RAW_LIMIT:
            kind, payload = "RAW", message
        elif alg == ALG_SM2:
            kind, payload = "DIGEST", sm2.message_digest(self._sm2_key(key_ref), message)
        else:
            digest = hashes.Hash(hashes.SHA256())
            digest.update(message)
            kind, payload = "DIGEST", digest.finalize()
        response = self._kms.sign(KeyId=key_ref, Message=payload, MessageType=kind,
                                  SigningAlgorithm=KMS_SIGNING_ALGORITHM[alg])
        signature = bytes(response["Signature"])
        if alg != ALG_SM2:
            return signature
        if response.get("SigningAlgorithm", "SM2DSA") != "SM2DSA":
            raise ServiceUnavailable(f"KMS signed with {response.get('SigningAlgorithm')}, "
                                     "not SM2DSA")
        try:
            return sm2.der_signature(signature)
        except ValueError as exc:
            raise ServiceUnavailable("KMS answered an SM2DSA signature that is neither DER "
                                     "nor r‖s") from exc

    def _sm2_key(self, key_ref: str) -> str:
        if key_ref not in self._sm2_public:
            pem = self.public_key_pem(key_ref)
            if not sm2.is_sm2_public_key(pem):
                raise ValidationFailed(f"KMS key {key_ref} is not an SM2 key",
                                       {"kms_key_id": "key spec SM2 expected"})
            self._sm2_public[key_ref] = pem
        return self._sm2_public[key_ref]

    def public_key_pem(self, key_ref: str) -> str:
        answer = self._kms.get_public_key(KeyId=key_ref)
        der = bytes(answer["PublicKey"])
        if _key_spec(answer) == "SM2":
            try:
                return sm2.public_pem_from_spki(der)
            except ValueError as exc:
                raise ValidationFailed(f"KMS key {key_ref} has key spec SM2 but its public key "
                                       f"is not an SM2 key: {exc}",
                                       {"kms_key_id": "not an SM2 key"}) from exc
        key = serialization.load_der_public_key(der)
        return key.public_bytes(serialization.Encoding.PEM,
                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def key_alg(self, key_ref: str) -> str:
        spec = _key_spec(self._kms.get_public_key(KeyId=key_ref))
        if spec not in KMS_KEY_SPECS:
            raise ValidationFailed(f"KMS key {key_ref} has key spec {spec}, not one we sign with",
                                   {"kms_key_id": " | ".join(KMS_KEY_SPECS)})
        return KMS_KEY_SPECS[spec]

    def create_key(self, key_ref: str, alg: str = ALG_ES256) -> str:
        raise ValidationFailed("production keys live in KMS: give --kms-key-id",
                               {"kms_key_id": "required with SIGNER=kms"})


class LocalSigner:
    """Private keys as PEM files in one folder; for the local stack and tests only."""

    kind = "local"

    def __init__(self, keys_dir: str | Path) -> None:
        self._dir = Path(keys_dir)
        self._cache: dict[str, Any] = {}

    def _key(self, key_ref: str) -> Any:
        """The key in ``key_ref``: a ``cryptography`` EC key (P-256) or a tongsuopy SM2 key."""
        if key_ref not in self._cache:
            if "/" in key_ref or key_ref.startswith("."):
                raise ValueError("key_ref must be a plain file name")
            pem = (self._dir / key_ref).read_bytes()
            from cryptography.exceptions import UnsupportedAlgorithm

            try:
                key: Any = serialization.load_pem_private_key(pem, None)
                assert isinstance(key, ec.EllipticCurvePrivateKey)
            except UnsupportedAlgorithm:  # cryptography knows no SM2 curve
                key = sm2.load_private(pem)
            self._cache[key_ref] = key
        return self._cache[key_ref]

    def sign(self, key_ref: str, message: bytes, alg: str = ALG_ES256) -> bytes:
        _check_alg(alg)
        key = self._key(key_ref)
        is_sm2 = not isinstance(key, ec.EllipticCurvePrivateKey)
        if is_sm2 != (alg == ALG_SM2):
            raise ValidationFailed(f"key {key_ref} does not sign {alg}", {"alg": alg})
        if is_sm2:
            return sm2.sign(key, message)
        return key.sign(message, ec.ECDSA(hashes.SHA256()))

    def key_alg(self, key_ref: str) -> str:
        return ALG_ES256 if isinstance(self._key(key_ref), ec.EllipticCurvePrivateKey) \
            else ALG_SM2

    def public_key_pem(self, key_ref: str) -> str:
        key = self._key(key_ref)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return sm2.public_pem(key)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def create_key(self, key_ref: str, alg: str = ALG_ES256) -> str:
        """Generate a key pair of ``alg`` saved as ``key_ref``; return the public key PEM."""
        _check_alg(alg)
        self._dir.mkdir(parents=True, exist_ok=True)
        if alg == ALG_SM2:
            pem = sm2.generate_private_pem()
        else:
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
        path = self._dir / key_ref
        path.write_bytes(pem)
        path.chmod(0o600)
        self._cache.pop(key_ref, None)
        return self.public_key_pem(key_ref)


@lru_cache(maxsize=256)
def _public_key(public_key_pem: str) -> ec.EllipticCurvePublicKey | None:
    """A published P-256 key, parsed once per process (every bill issued is checked with two);
    None for any other key (an SM2 key among them, which ``cryptography`` cannot read)."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (UnsupportedAlgorithm, ValueError):
        return None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    return None


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


def alg_of_public_key(public_key_pem: str) -> str:
    """``ES256`` for a P-256 key, ``SM2`` for an SM2 key; ``ValueError`` for anything else."""
    if _public_key(public_key_pem) is not None:
        return ALG_ES256
    if sm2.is_sm2_public_key(public_key_pem):
        return ALG_SM2
    raise ValueError("neither a P-256 nor an SM2 public key")


# The verifier of each signing algorithm, by the ``alg`` its keys carry.
VERIFIERS = {ALG_ES256: verify_es256, ALG_SM2: sm2.verify}


def verify_signature(alg: str, public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """``VERIFIERS[alg]``; False for an algorithm we do not know."""
    verifier = VERIFIERS.get(alg)
    return verifier is not None and verifier(public_key_pem, message, signature)
