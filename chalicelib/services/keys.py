"""Signing keys: registration and rotation.

A key is registered with its id, algorithm (``ES256``, or ``SM2`` for SM2 with SM3), use
(``unit`` or ``finance``), owner, public key and the time it comes into force. Rotating brings the new key into force now and closes the old
key's validity two minutes later (processes cache the key list for one): bills signed before
still verify with the old key (verification checks that a signature was made within its key's
validity), bills issued after are signed with the new one, the newest key in force.
Private keys stay in KMS (``--kms-key-id``; the algorithm is then the KMS key's own) or, on the
local stack, in the keys folder. A unit signs with one key at a time, whatever its algorithm
(rotating to an SM2 key moves the unit to SM2). The finance department keeps one key per
algorithm, so that each bill is signed twice with one algorithm (``issuance.current_finance_key``):
rotating its SM2 key leaves its ES256 key in force, and the other way round.

Every key entry carries the finance root key's endorsement (``domain/key_trust``), made here
whenever an entry is written: the new key's, and the old key's again since its validity changed.
The root key (use ``root``) is itself a key record whose private half only the operator may use;
``rotate-key --use root`` brings a new root into force and endorses every key with it (offline
verifiers must then pin the new fingerprint).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.key_trust import ROOT_USE, endorsement_message, fingerprint
from chalicelib.domain.units import ALG_ES256, KEY_CACHE_SECONDS, SIGNING_ALGORITHMS, SigningKey
from chalicelib.services.ports import Ports


def rotate_key(deps: Ports, *, kid: str, use: str, owner: str, kms_key_id: str | None = None,
               alg: str | None = None) -> SigningKey:
    """Bring a new key into force now for ``use``/``owner`` and retire the one it replaces.

    ``alg`` is the new key's algorithm (``ES256`` when not given); a KMS key's algorithm is
    read from its public key, and must be ``alg`` when both are given."""
    if use not in ("unit", "finance", ROOT_USE):
        raise ValidationFailed("use must be unit, finance or root",
                               {"use": "unit | finance | root"})
    if alg is not None and alg not in SIGNING_ALGORITHMS:
        raise ValidationFailed(f"unknown signing algorithm {alg}",
                               {"alg": " | ".join(SIGNING_ALGORITHMS)})
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
    signer = deps.signer
    if kms_key_id:
        if signer.kind != "kms":
            raise ValidationFailed("KMS keys need SIGNER=kms", {"kms_key_id": "SIGNER is local"})
        pem, key_ref = signer.public_key_pem(kms_key_id), kms_key_id
        key_alg = signer.key_alg(kms_key_id)
        if alg is not None and alg != key_alg:
            raise ValidationFailed(f"KMS key {kms_key_id} is an {key_alg} key, not {alg}",
                                   {"alg": f"the KMS key signs {key_alg}"})
    else:
        key_ref, key_alg = f"{kid}.pem", alg or ALG_ES256
        pem = signer.create_key(key_ref, key_alg)  # ValidationFailed with SIGNER=kms
    new = SigningKey(kid=kid, alg=key_alg, use=use, owner=owner, public_key_pem=pem,
                     not_before=now, key_ref=key_ref)
    if use == ROOT_USE:
        for old in deps.keys.all():
            if old.use == ROOT_USE and old.not_after is None:
                deps.keys.put(replace(old, not_after=now))
        deps.keys.put(new)
        for key in deps.keys.all():
            if key.use != ROOT_USE:
                deps.keys.put(endorse(deps, key))
        return new
    for old in deps.keys.all():
        if old.use == use and old.owner == owner and old.not_after is None \
                and (use == "unit" or old.alg == new.alg):
            deps.keys.put(endorse(deps, replace(old, not_after=retire)))
    deps.keys.put(endorse(deps, new))
    if unit is not None:
        deps.units.set_signing_kid(unit.unit_code, kid)
    return new


def root_key(deps: Ports) -> SigningKey:
    """The finance root key in force, else ``NotFound``."""
    roots = [k for k in deps.keys.all() if k.use == ROOT_USE and k.not_after is None]
    if not roots:
        raise NotFound("no finance root key: create one with rotate-key --use root")
    return max(roots, key=lambda k: k.not_before)


def endorse(deps: Ports, key: SigningKey) -> SigningKey:
    """``key`` with the signature of the root key in force over its public entry."""
    root = root_key(deps)
    return endorsed(key, deps.signer, root.key_ref, root.alg)


def endorsed(key: SigningKey, signer: Any, root_key_ref: str,
             root_alg: str = ALG_ES256) -> SigningKey:
    """``key`` with ``signer``'s signature by ``root_key_ref`` (of ``root_alg``) over its
    public entry."""
    import base64

    signature = signer.sign(root_key_ref, endorsement_message(key.public()), root_alg)
    return replace(key, endorsement=base64.b64encode(signature).decode("ascii"))


def root_view(deps: Ports) -> dict:
    """The root key as ``GET /v1/public/keys`` publishes it, with its fingerprint."""
    root = root_key(deps)
    return {"kid": root.kid, "alg": root.alg, "public_key_pem": root.public_key_pem,
            "fingerprint": fingerprint(root.public_key_pem)}
