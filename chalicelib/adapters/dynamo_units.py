"""Units (collecting and reimbursing) and their fee items in DynamoDB."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import FeeItemModel, UnitModel, is_conditional_failure
from chalicelib.domain.errors import NotFound
from chalicelib.domain.units import FeeItem, Unit, UnitKind


def _unit(row: UnitModel) -> Unit:
    return Unit(unit_code=row.unit_code, name=row.name, kind=UnitKind(row.kind),
                region_code=row.region_code, bill_kind=row.bill_kind,
                signing_kid=row.signing_kid, handling_person=row.handling_person,
                checker=row.checker, seal_key=row.seal_key)


@aws_boundary
class DynamoUnits:
    """UnitRepository."""

    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        for row in UnitModel.by_key.query(key_hash, limit=1):
            return _unit(row)
        return None

    def get(self, unit_code: str) -> Unit | None:
        try:
            return _unit(UnitModel.get(unit_code))
        except DoesNotExist:
            return None

    def fee_items(self, unit_code: str) -> dict[str, FeeItem]:
        return {row.item_code: FeeItem(row.name, row.bill_kind)
                for row in FeeItemModel.query(unit_code)}

    def put(self, unit: Unit, api_key_hash: str | None) -> None:
        UnitModel(unit.unit_code, api_key_hash=api_key_hash, name=unit.name,
                  kind=unit.kind.value, region_code=unit.region_code, bill_kind=unit.bill_kind,
                  signing_kid=unit.signing_kid, handling_person=unit.handling_person,
                  checker=unit.checker, seal_key=unit.seal_key).save()

    def set_seal_key(self, unit_code: str, key: str) -> None:
        self._set(unit_code, UnitModel.seal_key.set(key))

    def set_signing_kid(self, unit_code: str, kid: str) -> None:
        self._set(unit_code, UnitModel.signing_kid.set(kid))

    @staticmethod
    def _set(unit_code: str, action: Any) -> None:
        """Change one attribute of an existing unit (the condition keeps an update from
        creating a unit); NotFound when there is no such unit."""
        try:
            UnitModel(unit_code).update(actions=[action], condition=UnitModel.unit_code.exists())
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise NotFound(f"unknown unit {unit_code}") from exc
            raise

    def put_fee_item(self, unit_code: str, item_code: str, name: str,
                     bill_kind: str | None = None) -> None:
        FeeItemModel(unit_code, item_code, name=name, bill_kind=bill_kind).save()
