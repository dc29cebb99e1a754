"""A channel's private key, loaded from its PEM or DER once per process.

cryptography checks an RSA private key whole when it loads one (the primes and the CRT values:
60-170 ms of CPU a 2048-bit key). A channel's configuration is made again whenever its secret
is read again (a new ``Deps``, a secret the cache let go), so the same key text was loaded, and
checked, again each time. Keys are immutable and safe to share between threads, so the loaded
key is remembered by its text: a key is still checked in full the first time this process
meets it, and a text that fails to load is not remembered (the next try raises again).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_pem_private_key,
)


@lru_cache(maxsize=16)
def pem_private_key(pem: bytes) -> Any:
    """``load_pem_private_key(pem, None)``, once per process for a given text."""
    return load_pem_private_key(pem, None)


@lru_cache(maxsize=16)
def der_private_key(der: bytes) -> Any:
    """``load_der_private_key(der, None)``, once per process for a given text."""
    return load_der_private_key(der, None)
