"""Signing keys: registration and rotation.

A key is registered with its id, algorithm, use (``unit`` or ``finance``), owner, public key and
the time it comes into force. Rotating brings the new key into force now and closes the old
key's validity two minutes later (processes cache the key list for one): bills signed before
still verify with the old key (verification checks that a signature was made within its key's
validity), bills issued after are signed with the new one, the newest key in force.
Private keys stay in KMS (``--kms-key-id``) or, on the local stack, in the keys folder.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.bootstrap import Deps
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.notes import CHINA_TZ
from chalicelib.domain.units import KEY_CACHE_SECONDS, SigningKey


def rotate_key(deps: Deps, *, kid: str, use: str, owner: str, kms_key_id: str | None = None,
               ) -> SigningKey:
    """Bring a new key into force now for ``use``/``owner`` and retire the one it replaces."""
    if use not in ("unit", "finance"):
        raise ValidationFailed("use must be unit or finance", {"use": "unit | finance"})
    if deps.keys.get(kid) is not None:
        raise Conflict(f"key id {kid} is taken", code="kid_taken")
    unit = None
    if use == "unit":
        unit = deps.units.get(owner)
        if unit is None:
            raise NotFound(f"unknown unit {owner}")
    moment = deps.clock().astimezone(CHINA_TZ)
    now = moment.isoformat(timespec="seconds")
    # The old key stays valid a little longer than processes cache the key list, so a bill
    # signed by a process that has not yet seen the new key still verifies.
    retire = (moment + timedelta(seconds=2 * KEY_CACHE_SECONDS)).isoformat(timespec="seconds")
    if kms_key_id:
        from chalicelib.adapters.signers import KmsSigner

        signer = deps.signer
        if not isinstance(signer, KmsSigner):
            raise ValidationFailed("KMS keys need SIGNER=kms", {"kms_key_id": "SIGNER is local"})
        pem, key_ref = signer.public_key_pem(kms_key_id), kms_key_id
    elif hasattr(deps.signer, "create_key"):
        key_ref = f"{kid}.pem"
        pem = deps.signer.create_key(key_ref)
    else:
        raise ValidationFailed("production keys live in KMS: give --kms-key-id",
                               {"kms_key_id": "required with SIGNER=kms"})
    new = SigningKey(kid=kid, alg="ES256", use=use, owner=owner, public_key_pem=pem,
                     not_before=now, key_ref=key_ref)
    for old in deps.keys.all():
        if old.use == use and old.owner == owner and old.not_after is None:
            deps.keys.put(replace(old, not_after=retire))
    deps.keys.put(new)
    if unit is not None:
        deps.units.set_signing_kid(unit.unit_code, kid)
    return new
