"""Trust in the published keys: a pinned finance root key endorses every signing key.

The finance department holds a root key (ECDSA P-256, its private half in a KMS key that only
the operator's CLI may use; on the local stack a file). The root key signs nothing but
endorsements: for each signing key it signs the canonical form of the key's public entry
(``endorsement_message``), again whenever the entry changes (rotation closes the old key's
validity). ``GET /v1/public/keys`` publishes the root's public key beside the keys; a verifier
accepts that root only when the SHA-256 of its SubjectPublicKeyInfo (``fingerprint``) is the one
it has pinned, and accepts a key only with a valid endorsement by that root. So a key list
from anywhere else — a forged server, a man in the middle — cannot make a bill verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

ENDORSED_FIELDS = ("kid", "alg", "use", "owner", "public_key_pem", "not_before", "not_after")
ENDORSEMENT_PURPOSE = "fiscal-bill-key-endorsement/v1"  # the root signs nothing else
ROOT_USE = "root"


def endorsement_message(entry: dict) -> bytes:
    """What the root signs for a key: its public fields as JSON, keys sorted, no spaces, UTF-8.

    A purpose field makes the message useless as anything but an endorsement."""
    body = {name: entry.get(name) for name in ENDORSED_FIELDS} | {"purpose": ENDORSEMENT_PURPOSE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


PEM_BEGIN, PEM_END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"


def fingerprint(public_key_pem: str) -> str:
    """SHA-256 (hex, lower case) of the key's SubjectPublicKeyInfo DER, the body of its PEM
    (``openssl pkey -pubin -outform DER | sha256sum`` gives the same); ``ValueError`` when
    the text is not one SubjectPublicKeyInfo PEM block."""
    lines = [ln.strip() for ln in public_key_pem.strip().splitlines()]
    if len(lines) < 3 or lines[0] != PEM_BEGIN or lines[-1] != PEM_END:
        raise ValueError("not a PUBLIC KEY PEM block")
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the PEM body is not base64") from exc
    return hashlib.sha256(der).hexdigest()


def normalise_fingerprint(text: str) -> str:
    """``ab:CD…`` or ``abcd…`` → ``abcd…``; empty when it is not 64 hex digits."""
    value = text.strip().lower().replace(":", "")
    return value if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else ""


Verifier = Callable[[str, bytes, bytes], bool]  # (public key PEM, message, DER signature)


@dataclass(frozen=True)
class KeyTrust:
    """The root a verifier trusts; ``problem(entry)`` says why a key entry is not endorsed."""

    root_pem: str
    verify: Verifier

    def problem(self, entry: dict) -> str | None:
        value = entry.get("endorsement")
        if not isinstance(value, str) or not value:
            return "key is not endorsed by the finance root key"
        try:
            signature = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "key endorsement is not base64"
        if not self.verify(self.root_pem, endorsement_message(entry), signature):
            return "key endorsement does not verify with the pinned finance root key"
        return None


def trust_of(document: dict, pinned: str, verify: Verifier) -> KeyTrust:
    """The ``KeyTrust`` of a key document whose root matches ``pinned``, else ``ValueError``."""
    root = document.get("root")
    if not isinstance(root, dict) or not isinstance(root.get("public_key_pem"), str):
        raise ValueError("the key list names no finance root key")
    try:
        actual = fingerprint(root["public_key_pem"])
    except (ValueError, TypeError) as exc:
        raise ValueError("the finance root key cannot be read") from exc
    if actual != normalise_fingerprint(pinned):
        raise ValueError(f"the finance root key {actual} is not the pinned one "
                         f"{normalise_fingerprint(pinned) or '(none)'}")
    return KeyTrust(root_pem=root["public_key_pem"], verify=verify)
