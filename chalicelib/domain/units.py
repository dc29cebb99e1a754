"""Units that use the system: collecting units (执收单位) and reimbursing units (报销单位)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.fee_items import FeeItem  # noqa: F401 - where the ports import it from
from chalicelib.domain.merchants import UnitMerchant


class UnitKind(StrEnum):
    COLLECTING = "collecting"
    REIMBURSING = "reimbursing"


@dataclass(frozen=True)
class Unit:
    unit_code: str
    name: str
    kind: UnitKind
    region_code: str = ""
    bill_kind: str = "0301"
    signing_kid: str | None = None
    handling_person: str = ""
    checker: str = ""
    seal_key: str | None = None  # the archive key of the unit's uploaded seal image (PNG)
    credit_code: str | None = None  # 统一社会信用代码 (GB 32100-2015), when given
    # The bill kinds the finance department allows the unit (its default ``bill_kind`` among
    # them); None: a unit from before allowed kinds existed, not restricted (``kind_allowed``).
    bill_kinds: tuple[str, ...] | None = None
    seals: tuple[Seal, ...] = ()  # every seal it has had, oldest first (``seal_at``)
    # Its own merchant numbers, one per channel at most (``domain/merchants``); a channel not
    # here collects into the deployment's merchant.
    merchants: tuple[UnitMerchant, ...] = ()
    # The merchants it had and no longer collects into, kept (secrets sealed) while their
    # payments may still be refunded (``domain/merchants.after_change``), oldest first.
    retired_merchants: tuple[UnitMerchant, ...] = ()

    def merchant(self, channel: str) -> UnitMerchant | None:
        """The unit's own merchant number at ``channel``; None: the deployment's."""
        return next((m for m in self.merchants if m.channel == channel), None)

    def merchant_for(self, channel: str, merchant_id: str) -> UnitMerchant | None:
        """The merchant ``merchant_id`` at ``channel`` the unit has or had (current first, then
        retired): whose credentials an order made with it is queried and refunded with."""
        mine = self.merchant(channel)
        if mine is not None and mine.merchant_id == merchant_id:
            return mine
        return next((m for m in reversed(self.retired_merchants)
                     if m.key == (channel, merchant_id)), None)

    def kind_allowed(self, kind: str) -> bool:
        """Whether the unit may issue (and be given fee items and ranges of) bill kind ``kind``."""
        return self.bill_kinds is None or kind == self.bill_kind or kind in self.bill_kinds

    def seal_at(self, moment: str) -> str | None:
        """The archive key of the seal a bill issued at ``moment`` (ISO 8601) carries: the
        last one set at or before it; None for a drawn seal (no image was set yet).

        A bill's seal is a function of its issue time, so the PDF drawn at issuance, a retry of
        that issuance and an OFD drawn years later all carry the same seal, whatever was set
        since. A unit whose seal was set before seals had a history has only ``seal_key``
        (``since`` "" in the history once a new one is set): it held for every earlier bill."""
        if not self.seals:
            return self.seal_key
        at = datetime.fromisoformat(moment)
        held = None
        for seal in self.seals:
            if not seal.since or datetime.fromisoformat(seal.since) <= at:
                held = seal.key
        return held


@dataclass(frozen=True)
class Seal:
    """One seal image a unit has had: its archive key (``seals/<unit>/<sha256>.png``, written
    once, never replaced) and the time from which bills carry it ("" = from the beginning)."""

    key: str
    since: str

    def public(self) -> dict:
        return {"sha256": self.key.rsplit("/", 1)[-1].removesuffix(".png"),
                "since": self.since or None}


def hash_api_key(api_key: str) -> str:
    """API keys are stored only as their SHA-256; the key itself is shown once, at creation.

    Keys are 32+ random characters, so a plain hash (no salt, no stretching) cannot be reversed
    by guessing, and it allows the one-read lookup a request needs.
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


ALG_ES256 = "ES256"  # ECDSA P-256 with SHA-256
ALG_SM2 = "SM2"  # SM2 with SM3 (GB/T 32918, 国密), Z computed with the default ID 1234567812345678
SIGNING_ALGORITHMS = (ALG_ES256, ALG_SM2)

KEY_CACHE_SECONDS = 60  # how long a process may use its copy of the key list; rotation
                        # keeps the old key valid for twice this (services/keys.py)


@dataclass(frozen=True)
class SigningKey:
    """A public key that verifies bills; the private half stays in KMS (or on disk, locally)."""

    kid: str
    alg: str  # one of SIGNING_ALGORITHMS: ES256 (ECDSA P-256 / SHA-256) or SM2 (SM2 / SM3)
    use: str  # unit | finance
    owner: str
    public_key_pem: str
    not_before: str
    not_after: str | None = None
    key_ref: str = ""  # where the private key is: a KMS key id, or a local file name
    endorsement: str | None = None  # the finance root key's signature of the entry (key_trust)

    def public(self) -> dict:
        return {"kid": self.kid, "alg": self.alg, "use": self.use, "owner": self.owner,
                "public_key_pem": self.public_key_pem, "not_before": self.not_before,
                "not_after": self.not_after, "endorsement": self.endorsement}


@dataclass(frozen=True)
class OfdSealing:
    """Who seals a bill's OFD (GB/T 38540 electronic seal) and when: the issuing unit's key in
    force at ``at`` signs the package; the finance department's key makes the seal and
    certifies the unit's key. ``at`` is an aware datetime."""

    unit_key: SigningKey
    unit_name: str
    maker_key: SigningKey
    maker_name: str
    at: datetime
