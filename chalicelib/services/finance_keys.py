"""Operator use cases for the finance department's keys: create one, list them, revoke one.

Only the operator's command line runs these (``python -m chalicelib.cli create-finance-key``),
with the operator's own AWS credentials: the API's role may read the finance keys table but
not write it (infra/resources.json), so no request, however crafted, can mint a finance key.
A key is 43 random characters after ``fk_``, shown once; only its SHA-256 is stored.
"""

from __future__ import annotations

import secrets

from chalicelib.domain.credentials import FINANCE_KEY_PREFIX, FinanceKey, key_id_of
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.records import AuditEvent
from chalicelib.domain.regions import scope_of
from chalicelib.domain.units import hash_api_key
from chalicelib.services.ports import Ports

MAX_LABEL = 100


def _now(deps: Ports) -> str:
    from chalicelib.domain.china_time import china_iso

    return china_iso(deps.clock())


def create_finance_key(deps: Ports, *, scope: str, label: str,
                       actor: str = "operator") -> tuple[FinanceKey, str]:
    """A new finance key for ``scope`` (a region prefix, ``""`` everywhere): the key as stored,
    and the key itself (shown once, never stored)."""
    region = scope_of(scope, "scope")
    label = (label or "").strip()
    if not label or len(label) > MAX_LABEL:
        raise ValidationFailed("请填写密钥持有部门", {"label": f"1-{MAX_LABEL} characters"})
    api_key = FINANCE_KEY_PREFIX + secrets.token_urlsafe(32)
    key_hash = hash_api_key(api_key)
    key = FinanceKey(key_id=key_id_of(key_hash), scope=region, label=label,
                     created_at=_now(deps))
    deps.finance_keys.add(key, key_hash)
    _audit(deps, key, "create_finance_key", actor)
    return key, api_key


def revoke_finance_key(deps: Ports, key_id: str, actor: str = "operator") -> FinanceKey:
    """Revoke a finance key at once (every request reads the key's row: nothing caches it)."""
    key = deps.finance_keys.revoke(key_id, _now(deps))
    _audit(deps, key, "revoke_finance_key", actor)
    return key


def _audit(deps: Ports, key: FinanceKey, action: str, actor: str) -> None:
    deps.audit.append(AuditEvent(
        bill_id=f"admin#finance_key#{key.key_id}", unit_code="finance", action=action,
        outcome="ok", client=actor, at=_now(deps),
        detail={"key_id": key.key_id, "scope": key.scope, "label": key.label}))
