"""Units (collecting and reimbursing), their API keys and their fee items in DynamoDB.

A unit's API keys have rows of their own (``unit_keys``, by the key's hash), so a unit may hold
a new key and an old one at once while its system moves over. The key a unit was given before
those rows existed lives on the unit's row (``api_key_hash``, found through its index): it
keeps working until revoked, and is listed beside the others.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    FeeItemModel,
    UnitKeyModel,
    UnitModel,
    is_conditional_failure,
    revoke_once,
)
from chalicelib.adapters.fan_out import gather
from chalicelib.domain.credentials import UnitKey, key_id_of
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.merchants import (
    MERCHANT_CHANNELS,
    UnitMerchant,
    after_change,
    still_kept,
)
from chalicelib.domain.units import FeeItem, Seal, Unit, UnitKind

LISTING = "unit"  # the one partition of the units-by-region index
MERCHANT_CHANGE_TRIES = 5  # a merchant change redone when another came between its read and write


def _unit(row: UnitModel) -> Unit:
    return Unit(unit_code=row.unit_code, name=row.name, kind=UnitKind(row.kind),
                region_code=row.region_code, bill_kind=row.bill_kind,
                signing_kid=row.signing_kid, handling_person=row.handling_person,
                checker=row.checker, seal_key=row.seal_key, credit_code=row.credit_code,
                bill_kinds=tuple(row.bill_kinds) if row.bill_kinds is not None else None,
                seals=tuple(Seal(key=str(s["key"]), since=str(s["since"]))
                            for s in row.seals or ()),
                merchants=_current(row),
                retired_merchants=_retired(row))


def _current(row: UnitModel) -> tuple[UnitMerchant, ...]:
    return tuple(_merchant(channel, getattr(row, f"{channel}_merchant"))
                 for channel in MERCHANT_CHANNELS
                 if getattr(row, f"{channel}_merchant", None) is not None)


def _retired(row: UnitModel) -> tuple[UnitMerchant, ...]:
    return tuple(_merchant(str(_plain(m)["channel"]), m) for m in row.retired_merchants or ())


def _plain(stored: Any) -> dict:
    return stored.as_dict() if hasattr(stored, "as_dict") else dict(stored)


def _merchant(channel: str, stored: Any) -> UnitMerchant:
    data = _plain(stored)
    return UnitMerchant(channel=channel, merchant_id=str(data.get("merchant_id", "")),
                        app_id=str(data.get("app_id") or ""),
                        sealed_token=str(data.get("sealed_token") or ""),
                        since=str(data.get("since") or ""),
                        cert_id=str(data.get("cert_id") or ""),
                        cert_until=str(data.get("cert_until") or ""),
                        token_until=str(data.get("token_until") or ""),
                        token_invalid=str(data.get("token_invalid") or ""),
                        retired=str(data.get("retired") or ""),
                        keep_until=str(data.get("keep_until") or ""))


def _row(unit: Unit, api_key_hash: str | None) -> UnitModel:
    return UnitModel(unit.unit_code, api_key_hash=api_key_hash, name=unit.name,
                     kind=unit.kind.value, region_code=unit.region_code,
                     bill_kind=unit.bill_kind, signing_kid=unit.signing_kid,
                     handling_person=unit.handling_person, checker=unit.checker,
                     seal_key=unit.seal_key, credit_code=unit.credit_code, listing=LISTING,
                     bill_kinds=list(unit.bill_kinds) if unit.bill_kinds is not None else None,
                     seals=[_seal(s) for s in unit.seals] or None,
                     region_unit=f"{unit.region_code}#{unit.unit_code}",
                     retired_merchants=[_stored(m) for m in unit.retired_merchants] or None,
                     **{f"{m.channel}_merchant": _stored(m)  # type: ignore[arg-type]
                        for m in unit.merchants})


def _stored(merchant: UnitMerchant) -> dict[str, str]:
    stored = {"merchant_id": merchant.merchant_id, "since": merchant.since}
    if merchant.app_id:
        stored["app_id"] = merchant.app_id
    if merchant.sealed_token:
        stored["sealed_token"] = merchant.sealed_token
    if merchant.cert_id:  # UnionPay: the signing certificate's serial and expiry
        stored.update(cert_id=merchant.cert_id, cert_until=merchant.cert_until)
    if merchant.token_until:  # Alipay: when the authorisation ends
        stored["token_until"] = merchant.token_until
    if merchant.token_invalid:  # Alipay: since when it no longer holds
        stored["token_invalid"] = merchant.token_invalid
    if merchant.retired:  # a retired one names its channel (the list holds every channel's)
        stored.update(channel=merchant.channel, retired=merchant.retired,
                      keep_until=merchant.keep_until)
    return stored


def _merchant_attribute(channel: str) -> Any:
    if channel not in MERCHANT_CHANNELS:
        raise ValueError(f"no merchant attribute for channel {channel!r}")
    return getattr(UnitModel, f"{channel}_merchant")


def _seal(seal: Seal) -> dict[str, str]:
    return {"key": seal.key, "since": seal.since}


def _fee_item(row: FeeItemModel) -> FeeItem:
    def number(value: Any) -> int | None:
        return None if value is None else int(value)

    return FeeItem(name=row.name, bill_kind=row.bill_kind, measure=row.measure,
                   standard_fen=number(row.standard_fen), min_fen=number(row.min_fen),
                   max_fen=number(row.max_fen), valid_from=row.valid_from,
                   valid_to=row.valid_to)


def _key(row: UnitKeyModel) -> UnitKey:
    return UnitKey(key_id=row.key_id, unit_code=row.unit_code, created_at=row.created_at,
                   revoked_at=row.revoked_at)


@aws_boundary
class DynamoUnits:
    """UnitRepository."""

    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        try:
            key = UnitKeyModel.get(key_hash)
        except DoesNotExist:
            for row in UnitModel.by_key.query(key_hash, limit=1):  # a key from before
                return _unit(row)
            return None
        return self.get(key.unit_code) if key.revoked_at is None else None

    def get(self, unit_code: str) -> Unit | None:
        try:
            return _unit(UnitModel.get(unit_code))
        except DoesNotExist:
            return None

    def in_region(self, scope: str, limit: int, after: str | None = None) -> tuple[list[Unit],
                                                                           str | None]:
        condition = UnitModel.region_unit.startswith(scope) if scope else None
        rows = UnitModel.by_region.query(
            LISTING, condition, limit=limit,
            last_evaluated_key={"listing": {"S": LISTING}, "region_unit": {"S": after},
                                "unit_code": {"S": after.split("#", 1)[-1]}}
            if after else None)
        units = [_unit(row) for row in rows]
        if len(units) < limit:
            return units, None
        return units, f"{units[-1].region_code}#{units[-1].unit_code}"

    def fee_items(self, unit_code: str, fresh: bool = False) -> dict[str, FeeItem]:
        return {row.item_code: _fee_item(row) for row in FeeItemModel.query(unit_code)}

    def put(self, unit: Unit, api_key_hash: str | None) -> None:
        _row(unit, api_key_hash).save()

    def add(self, unit: Unit) -> None:
        try:
            _row(unit, None).save(condition=UnitModel.unit_code.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict(f"单位 {unit.unit_code} 已存在", code="unit_exists") from exc
            raise

    def add_seal(self, unit_code: str, seal: Seal) -> None:
        row = self._row(unit_code)
        if row is None:
            raise NotFound(f"unknown unit {unit_code}")
        new = [_seal(seal)]
        if not row.seals and row.seal_key:  # the seal set before seals had a history
            new.insert(0, _seal(Seal(key=row.seal_key, since="")))
        # Appended (list_append), never rewritten: two uploads at once both stay in the history.
        self._set(unit_code, UnitModel.seal_key.set(seal.key),
                  UnitModel.seals.set((UnitModel.seals | []).append(new)))

    def set_bill_kinds(self, unit_code: str, default: str, kinds: tuple[str, ...]) -> None:
        self._set(unit_code, UnitModel.bill_kind.set(default),
                  UnitModel.bill_kinds.set(list(kinds)))

    def set_signing_kid(self, unit_code: str, kid: str) -> None:
        self._set(unit_code, UnitModel.signing_kid.set(kid))

    def set_merchant(self, unit_code: str, merchant: UnitMerchant,
                     at: datetime) -> tuple[UnitMerchant | None, Unit]:
        return self._change_merchant(unit_code, merchant.channel, merchant, at)

    def remove_merchant(self, unit_code: str, channel: str,
                        at: datetime) -> tuple[UnitMerchant | None, Unit]:
        return self._change_merchant(unit_code, channel, None, at)

    def _change_merchant(self, unit_code: str, channel: str, merchant: UnitMerchant | None,
                         at: datetime) -> tuple[UnitMerchant | None, Unit]:
        """One conditional update: the channel's merchant set (or removed) and the retired
        list rewritten (``after_change``), on the condition that no other merchant change came
        since the row was read (``merchants_version``); read again and redone when one did."""
        attribute = _merchant_attribute(channel)
        for _ in range(MERCHANT_CHANGE_TRIES):
            row = self._row(unit_code)
            if row is None:
                raise NotFound(f"unknown unit {unit_code}")
            unit = _unit(row)
            previous = unit.merchant(channel)
            retired = after_change(unit.retired_merchants, previous, merchant,
                                   at)
            if not self._rewrite(row, retired, attribute.set(_stored(merchant)) if merchant
                                 else attribute.remove()):
                continue  # another change came between (or the unit is gone): read again
            kept = tuple(m for m in unit.merchants if m.channel != channel)
            return previous, replace(unit, merchants=(*kept, merchant) if merchant else kept,
                                     retired_merchants=retired)
        raise Conflict("商户号正被同时修改，请稍后重试", code="merchant_change_conflict")

    def drop_retired(self, unit_code: str, at: datetime) -> tuple[UnitMerchant, ...]:
        for _ in range(MERCHANT_CHANGE_TRIES):
            row = self._row(unit_code)
            if row is None:
                return ()
            retired = _retired(row)
            kept = still_kept(retired, at)
            if len(kept) == len(retired):
                return ()  # nothing ended (a change meanwhile may have dropped it already)
            if self._rewrite(row, kept):
                return tuple(m for m in retired if m not in kept)
        raise Conflict("商户号正被同时修改，请稍后重试", code="merchant_change_conflict")

    @staticmethod
    def _rewrite(row: UnitModel, retired: tuple[UnitMerchant, ...], *actions: Any) -> bool:
        """One UpdateItem of the unit's merchants as read in ``row``: ``actions``, the retired
        list set to ``retired``, and ``merchants_version`` raised, on the condition that it is
        still the version read; False (nothing written) when another change came between or
        the unit is gone."""
        version = row.merchants_version
        condition = (UnitModel.merchants_version.does_not_exist() if version is None
                     else UnitModel.merchants_version == version)
        try:
            UnitModel(row.unit_code).update(
                actions=[*actions, UnitModel.retired_merchants.set([_stored(m) for m in retired])
                         if retired else UnitModel.retired_merchants.remove(),
                         UnitModel.merchants_version.set((version or 0) + 1)],
                condition=UnitModel.unit_code.exists() & condition)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def replace_merchant(self, unit_code: str, merchant: UnitMerchant,
                         sealed_token: str) -> bool:
        attribute = _merchant_attribute(merchant.channel)
        try:
            UnitModel(unit_code).update(actions=[attribute.set(_stored(merchant))],
                                        condition=attribute["sealed_token"] == sealed_token)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    @staticmethod
    def _set(unit_code: str, *actions: Any) -> None:
        """Change attributes of an existing unit (the condition keeps an update from
        creating a unit); NotFound when there is no such unit."""
        try:
            UnitModel(unit_code).update(actions=list(actions),
                                        condition=UnitModel.unit_code.exists())
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise NotFound(f"unknown unit {unit_code}") from exc
            raise

    def put_fee_item(self, unit_code: str, item_code: str, item: FeeItem) -> FeeItem | None:
        row = FeeItemModel(unit_code, item_code, name=item.name, bill_kind=item.bill_kind,
                           measure=item.measure, standard_fen=item.standard_fen,
                           min_fen=item.min_fen, max_fen=item.max_fen,
                           valid_from=item.valid_from, valid_to=item.valid_to)
        try:
            row.save(condition=FeeItemModel.item_code.does_not_exist())
            return None
        except PutError as exc:
            if not is_conditional_failure(exc):
                raise
        try:
            previous = _fee_item(FeeItemModel.get(unit_code, item_code, consistent_read=True))
        except DoesNotExist:  # removed in between (nothing removes items): created after all
            previous = None
        row.save()
        return previous

    def add_api_key(self, key: UnitKey, key_hash: str) -> None:
        try:
            UnitKeyModel(key_hash, key_id=key.key_id, unit_code=key.unit_code,
                         created_at=key.created_at, revoked_at=key.revoked_at).save(
                condition=UnitKeyModel.key_hash.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict("API key exists", code="key_exists") from exc
            raise

    def api_keys(self, unit_code: str) -> list[UnitKey]:
        keys, unit = gather(lambda: [_key(row) for row in UnitKeyModel.by_unit.query(unit_code)],
                            lambda: self._row(unit_code))
        if unit is not None and unit.api_key_hash:
            keys.insert(0, UnitKey(key_id=key_id_of(unit.api_key_hash), unit_code=unit_code,
                                   created_at=""))
        return keys

    def revoke_api_key(self, unit_code: str, key_id: str, at: str) -> UnitKey:
        unit = self._row(unit_code)
        if unit is not None and unit.api_key_hash and key_id_of(unit.api_key_hash) == key_id:
            try:
                unit.update(actions=[UnitModel.api_key_hash.remove()],
                            condition=UnitModel.api_key_hash == unit.api_key_hash)
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise
            return UnitKey(key_id=key_id, unit_code=unit_code, created_at="", revoked_at=at)
        for row in UnitKeyModel.by_unit.query(unit_code, filter_condition=(
                UnitKeyModel.key_id == key_id)):
            revoke_once(row, UnitKeyModel.revoked_at, at)
            return _key(row)
        raise NotFound("API 密钥不存在", code="key_not_found")

    @staticmethod
    def _row(unit_code: str) -> UnitModel | None:
        try:
            return UnitModel.get(unit_code, consistent_read=True)
        except DoesNotExist:
            return None
