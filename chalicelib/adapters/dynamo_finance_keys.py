"""The finance department's API keys in DynamoDB, by the SHA-256 of each key.

Requests read one row by hash (``get``); the operator's commands create and revoke keys and
list them (a scan: a province has tens of keys, not thousands). A key is never deleted: a
revoked one keeps its row, so the audit log's ``finance:key_…`` always names a known key.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import (
    FinanceKeyModel,
    is_conditional_failure,
    revoke_once,
)
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Conflict, NotFound


def _key(row: FinanceKeyModel) -> FinanceKey:
    return FinanceKey(key_id=row.key_id, scope=row.scope, label=row.label,
                      created_at=row.created_at, revoked_at=row.revoked_at)


@aws_boundary
class DynamoFinanceKeys:
    """FinanceKeyRepository."""

    def get(self, key_hash: str) -> FinanceKey | None:
        try:
            return _key(FinanceKeyModel.get(key_hash))
        except DoesNotExist:
            return None

    def add(self, key: FinanceKey, key_hash: str) -> None:
        try:
            FinanceKeyModel(key_hash, key_id=key.key_id, scope=key.scope, label=key.label,
                            created_at=key.created_at, revoked_at=key.revoked_at).save(
                condition=FinanceKeyModel.key_hash.does_not_exist())
        except PutError as exc:
            if is_conditional_failure(exc):
                raise Conflict("finance key exists", code="key_exists") from exc
            raise

    def all(self) -> list[FinanceKey]:
        return sorted((_key(row) for row in FinanceKeyModel.scan()),
                      key=lambda k: (k.created_at, k.key_id))

    def revoke(self, key_id: str, at: str) -> FinanceKey:
        for row in FinanceKeyModel.scan(FinanceKeyModel.key_id == key_id):
            revoke_once(row, FinanceKeyModel.revoked_at, at)
            return _key(row)
        raise NotFound(f"unknown finance key {key_id}")
