"""The finance department's machine credential: a finance key, limited to a region scope.

Collecting and reimbursing units each hold API keys that act for their own unit only
(``domain/units.py``). The finance department's systems hold finance keys: a finance key acts
on ``/v1/admin`` (units, fee items, number ranges, keys) and sees every unit's notes, but only
within its ``scope`` (``domain/regions.py``): a county bureau's key sees and changes the units of
its county, the provincial key those of the whole province (``""`` reaches everything).

Like a unit's key, a finance key is stored only as its SHA-256 (``units.hash_api_key``) and
shown once, when the operator creates it (``python -m chalicelib.cli create-finance-key``). Its
``key_id`` names it in the audit log and in lists without revealing it: the first 12 hex digits
of that hash, which tell nothing of a 256-bit random key.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.regions import covers, level

FINANCE_KEY_PREFIX = "fk_"


def key_id_of(key_hash: str) -> str:
    """The public name of a key: ``key_`` and the first 12 hex digits of its hash."""
    return "key_" + key_hash[:12]


@dataclass(frozen=True)
class FinanceKey:
    """A finance department's credential, as the system holds it (never the key itself)."""

    key_id: str
    scope: str  # region prefix: "" everywhere, "34" province, "3401" city, "340102" county
    label: str  # who holds it, e.g. 合肥市财政局
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def covers(self, region_code: str) -> bool:
        """True when this key may see and change what belongs to ``region_code``."""
        return covers(self.scope, region_code)

    @property
    def actor(self) -> str:
        """Who acted, as the audit log records it."""
        return f"finance:{self.key_id}"

    def public(self) -> dict:
        return {"key_id": self.key_id, "scope": self.scope, "level": level(self.scope),
                "label": self.label, "created_at": self.created_at,
                "revoked_at": self.revoked_at}


@dataclass(frozen=True)
class UnitKey:
    """One of a unit's API keys, as the system holds it (never the key itself).

    A unit may hold more than one at a time, so that its system can move to a new key before
    the old one is revoked (rotation without downtime). ``created_at`` is empty for the key a
    unit was created with before keys had rows of their own (it lives on the unit's row).
    """

    key_id: str
    unit_code: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict:
        return {"key_id": self.key_id, "unit_code": self.unit_code,
                "created_at": self.created_at or None, "revoked_at": self.revoked_at}
