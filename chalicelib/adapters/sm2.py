"""SM2 signatures with SM3 (GB/T 32918, GM/T 0003), as China's fiscal bills are signed, via tongsuopy.

``tongsuopy`` is ``cryptography``'s API on Tongsuo (Ant Group's OpenSSL fork, SM algorithms
built in). Its SM2 signature is the real one, not ECDSA on the SM2 curve: it hashes
e = SM3(Z ‖ M) with Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) and the default ID
``1234567812345678`` (GM/T 0009-2012 §10), the ID AWS KMS uses for ``SM2DSA`` too, and writes
the signature as DER ``SEQUENCE{r, s}``. ``tests/unit/test_sm2.py`` proves it on the GM/T 0003.5
example values and against an independent implementation (pure-Python ``gmssl``) both ways.

Besides signing and verifying, this module computes Z and e itself (``message_digest``): KMS
takes at most 4,096 bytes as a RAW message, and a longer one goes to it as its e (DIGEST), which
it signs as given. It also reads an SM2 public key from any SubjectPublicKeyInfo that holds the
point (``public_pem_from_spki``), since which OIDs KMS writes there is not documented, and turns
a raw ``r ‖ s`` signature into DER (``der_signature``).

tongsuopy is imported on first use: processes that see no SM2 key (most of them, today) do not
pay its import at cold start.
"""

from __future__ import annotations

import functools
from typing import Any

DEFAULT_ID = b"1234567812345678"  # GM/T 0009-2012 §10; KMS's fixed ID for SM2DSA

# The recommended curve (GB/T 32918.5 / GM/T 0003.5), the only one SM2 keys use.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0


def _ts() -> tuple[Any, Any, Any, Any]:
    """tongsuopy's ec, hashes, serialization and exceptions modules (imported on first use)."""
    from tongsuopy.crypto import exceptions, hashes, serialization
    from tongsuopy.crypto.asymciphers import ec

    return ec, hashes, serialization, exceptions


def sm3(data: bytes) -> bytes:
    """SM3 (GB/T 32905) of ``data``: 32 bytes."""
    _, hashes, _, _ = _ts()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return bytes(h.finalize())


def z_value(x: int, y: int, user_id: bytes = DEFAULT_ID) -> bytes:
    """Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for the public key (x, y); ENTL is the
    ID's length in bits, two bytes."""
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(entl + user_id + b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY, x, y)))


def message_digest(public_key_pem: str, message: bytes, user_id: bytes = DEFAULT_ID) -> bytes:
    """e = SM3(Z ‖ M): what an SM2 signature of ``message`` signs (KMS's DIGEST input)."""
    numbers = _public_key(public_key_pem).public_numbers()
    return sm3(z_value(numbers.x, numbers.y, user_id) + message)


def generate_private_pem() -> bytes:
    """A new SM2 private key, PKCS#8 PEM."""
    ec, _, serialization, _ = _ts()
    key = ec.generate_private_key(ec.SM2())
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def load_private(pem: bytes) -> Any:
    """An SM2 private key from PEM; ``ValueError`` when it is not one."""
    ec, _, serialization, exceptions = _ts()
    try:
        key = serialization.load_pem_private_key(pem, None)
    except exceptions.UnsupportedAlgorithm as exc:
        raise ValueError("not an SM2 private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise ValueError("not an SM2 private key")
    return key


def public_pem(key: Any) -> str:
    """The public half of an SM2 key (private or public) as SubjectPublicKeyInfo PEM."""
    _, _, serialization, _ = _ts()
    public = key.public_key() if hasattr(key, "private_numbers") else key
    return str(public.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode())


def sign(private_key: Any, message: bytes) -> bytes:
    """The SM2 signature of ``message`` (Z with the default ID, SM3), DER."""
    ec, hashes, _, _ = _ts()
    return bytes(private_key.sign(message, ec.ECDSA(hashes.SM3())))


@functools.lru_cache(maxsize=256)
def _public_key(public_key_pem: str) -> Any:
    """A published SM2 key, parsed once per process; ``ValueError`` when it is not one."""
    ec, _, serialization, exceptions = _ts()
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (exceptions.UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise ValueError("not an SM2 public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "SM2":
        raise ValueError("not an SM2 public key")
    return key


def is_sm2_public_key(public_key_pem: str) -> bool:
    try:
        _public_key(public_key_pem)
        return True
    except ValueError:
        return False


def verify(public_key_pem: str, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` (DER) is the SM2 signature of ``message`` with the default ID."""
    ec, hashes, _, exceptions = _ts()
    try:
        key = _public_key(public_key_pem)
    except ValueError:
        return False
    if _der_integers(signature) is None:  # Tongsuo answers a malformed one with an error
        return False
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SM3()))
        return True
    except exceptions.InvalidSignature:
        return False


# --- DER, the little of it needed here ---------------------------------------------------------

def _read(data: bytes, at: int, tag: int) -> tuple[bytes, int]:
    """The contents of the DER element with ``tag`` at ``at``, and where the next one starts."""
    if at + 2 > len(data) or data[at] != tag:
        raise ValueError("unexpected DER element")
    length, at = data[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or at + count > len(data):
            raise ValueError("bad DER length")
        length, at = int.from_bytes(data[at:at + count], "big"), at + count
    if at + length > len(data):
        raise ValueError("DER element runs past the end")
    return data[at:at + length], at + length


def _der_integers(signature: bytes) -> tuple[int, int] | None:
    """(r, s) of a DER ``SEQUENCE{INTEGER r, INTEGER s}`` that is exactly ``signature``, both
    in [1, n-1]; None otherwise."""
    try:
        body, end = _read(signature, 0, 0x30)
        r_bytes, at = _read(body, 0, 0x02)
        s_bytes, at2 = _read(body, at, 0x02)
    except ValueError:
        return None
    if end != len(signature) or at2 != len(body) or not r_bytes or not s_bytes:
        return None
    r, s = int.from_bytes(r_bytes, "big", signed=True), int.from_bytes(s_bytes, "big", signed=True)
    return (r, s) if 0 < r < N and 0 < s < N else None


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")  # a leading 0 keeps it positive
    return b"\x02" + bytes([len(raw)]) + raw


def der_signature(signature: bytes) -> bytes:
    """``signature`` as DER: kept when it is DER already, converted from the 64-byte ``r ‖ s``
    form (PBOC's, GmSSL's raw) otherwise; ``ValueError`` when it is neither."""
    if _der_integers(signature) is not None:
        return signature
    if len(signature) == 64:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        if 0 < r < N and 0 < s < N:
            body = _der_int(r) + _der_int(s)
            return b"\x30" + bytes([len(body)]) + body
    raise ValueError("not an SM2 signature (neither DER nor r‖s)")


def public_pem_from_spki(der: bytes) -> str:
    """The SM2 public key in a SubjectPublicKeyInfo (DER), as our standard PEM (id-ecPublicKey
    with the SM2 curve ``1.2.156.10197.1.301``). Whatever algorithm OIDs the SPKI names, the key
    is the uncompressed point in its BIT STRING, which must lie on the SM2 curve; ``ValueError``
    otherwise (an RSA key, say, which is what moto hands out for a KMS ``SM2`` key)."""
    ec, _, _, _ = _ts()
    try:
        body, end = _read(der, 0, 0x30)
        _, at = _read(body, 0, 0x30)  # AlgorithmIdentifier: not trusted, the point decides
        bits, at = _read(body, at, 0x03)
    except ValueError as exc:
        raise ValueError("not a SubjectPublicKeyInfo") from exc
    if end != len(der) or at != len(body) or len(bits) != 66 or bits[:2] != b"\x00\x04":
        raise ValueError("the key is not an uncompressed 256-bit EC point")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), bits[1:])
    except ValueError as exc:
        raise ValueError("the point is not on the SM2 curve") from exc
    return public_pem(key)
