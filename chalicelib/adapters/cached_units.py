"""Units as a warm process sees them: each unit, each API key's unit, and each unit's fee items,
read once a minute.

Every request from a unit names its API key, and every issuance job its unit: without a copy,
that is one DynamoDB request (a query on the key index, or a get) before any work. Units change
rarely (a new API key, a seal, the signing key id), so ``CachedUnits`` answers ``get`` and
``by_api_key_hash`` from what it read less than ``UNIT_CACHE_SECONDS`` ago. Writes through it
forget every copy at once, so the process that rotates a key refuses the old one at once; other
warm processes (other Lambda instances, other operators) refuse it within the minute, as they
pick up a rotated signing key (``KEY_CACHE_SECONDS``). An unknown key is never remembered: a
key just given out works at once everywhere, and guessed keys each cost a lookup.

Fee items are read for every note a unit makes (事前审核) and every console form: the same
copy answers, so a changed standard reaches other warm processes within the minute. A unit
without fee items is never remembered (its first items work at once), and the finance
console, where fee items are edited, asks for them ``fresh``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.domain.credentials import UnitKey
from chalicelib.domain.merchants import UnitMerchant
from chalicelib.domain.units import KEY_CACHE_SECONDS, FeeItem, Seal, Unit

UNIT_CACHE_SECONDS = KEY_CACHE_SECONDS
MAX_CACHED = 10_000  # units and keys; far more than there are, so a bound, not a policy


class CachedUnits:
    """UnitRepository over another one, with a per-process copy of recent answers."""

    def __init__(self, inner: Any, now: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._now = now
        self._copies: dict[tuple[str, str], tuple[float, Any]] = {}

    def _cached(self, kind: str, key: str, read: Callable[[str], Any]) -> Any:
        held = self._copies.get((kind, key))
        now = self._now()
        if held is not None and now - held[0] < UNIT_CACHE_SECONDS:
            return held[1]
        found = read(key)
        if not found:  # unknown: asked for again next time
            self._copies.pop((kind, key), None)
            return found
        if len(self._copies) >= MAX_CACHED:
            self._copies.clear()
        self._copies[(kind, key)] = (now, found)
        return found

    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        return self._cached("key", key_hash, self._inner.by_api_key_hash)

    def get(self, unit_code: str) -> Unit | None:
        return self._cached("unit", unit_code, self._inner.get)

    def fee_items(self, unit_code: str, fresh: bool = False) -> dict[str, FeeItem]:
        if fresh:
            return self._inner.fee_items(unit_code, fresh=True)
        return dict(self._cached("items", unit_code, self._inner.fee_items))

    def forget(self) -> None:
        self._copies.clear()

    def put(self, unit: Unit, api_key_hash: str | None) -> None:
        self._inner.put(unit, api_key_hash)
        self.forget()

    def add(self, unit: Unit) -> None:
        self._inner.add(unit)
        self.forget()

    def in_region(self, scope: str, limit: int, after: str | None = None) -> tuple[list[Unit],
                                                                           str | None]:
        return self._inner.in_region(scope, limit, after)

    def put_fee_item(self, unit_code: str, item_code: str, item: FeeItem) -> FeeItem | None:
        earlier = self._inner.put_fee_item(unit_code, item_code, item)
        self.forget()
        return earlier

    def add_api_key(self, key: UnitKey, key_hash: str) -> None:
        self._inner.add_api_key(key, key_hash)

    def api_keys(self, unit_code: str) -> list[UnitKey]:
        return self._inner.api_keys(unit_code)

    def revoke_api_key(self, unit_code: str, key_id: str, at: str) -> UnitKey:
        revoked = self._inner.revoke_api_key(unit_code, key_id, at)
        self.forget()
        return revoked

    def add_seal(self, unit_code: str, seal: Seal) -> None:
        self._inner.add_seal(unit_code, seal)
        self.forget()

    def set_bill_kinds(self, unit_code: str, default: str, kinds: tuple[str, ...]) -> None:
        self._inner.set_bill_kinds(unit_code, default, kinds)
        self.forget()

    def set_signing_kid(self, unit_code: str, kid: str) -> None:
        self._inner.set_signing_kid(unit_code, kid)
        self.forget()

    def set_merchant(self, unit_code: str, merchant: UnitMerchant,
                     at: datetime) -> tuple[UnitMerchant | None, Unit]:
        changed = self._inner.set_merchant(unit_code, merchant, at)
        self.forget()
        return changed

    def remove_merchant(self, unit_code: str, channel: str,
                        at: datetime) -> tuple[UnitMerchant | None, Unit]:
        changed = self._inner.remove_merchant(unit_code, channel, at)
        self.forget()
        return changed

    def replace_merchant(self, unit_code: str, merchant: UnitMerchant,
                         sealed_token: str) -> bool:
        try:
            return self._inner.replace_merchant(unit_code, merchant, sealed_token)
        finally:
            self.forget()

    def drop_retired(self, unit_code: str, at: datetime) -> tuple[UnitMerchant, ...]:
        try:
            return self._inner.drop_retired(unit_code, at)
        finally:
            self.forget()
