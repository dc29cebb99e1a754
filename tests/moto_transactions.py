"""moto's DynamoDB transactions at the cost of what they touch, not of the tables they name.

Before each ``TransactWriteItems``, moto 5 deep-copies every table the transaction names, so
that it can put them back if the transaction is cancelled. A table's copy costs in proportion to
its items: a test that writes a few hundred notes pays for it on every payment, issuance and
audited verification (the 200-note fault storm spent most of its time copying tables).

``install()`` makes the backup cheap with the same outcome: the table object is copied
shallowly, its item index (hash key → item, or hash key → range key → item) is copied one level
down, and only the items the transaction names are deep-copied (moto mutates an updated item in
place; a put or a delete replaces or removes it in the index). When moto's own code raises, the
backups are put back exactly where moto would have put its deep copies. moto's code runs
unchanged otherwise: its own backup still happens, but a table "copied" for it is the table
itself (the only table moto's module deep-copies is this backup), so its rollback becomes a
no-op that ours replaces.
"""

from __future__ import annotations

import copy
import types
from collections import defaultdict
from typing import Any

_INSTALLED: list[Any] = []


def _touched(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (hash, range) key of the item one operation names, as moto indexes it."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    source = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(source, dict) or table.hash_key_attr not in source:
        return None
    hash_value = DynamoType(source[table.hash_key_attr])
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in source:
            return None
        range_value = DynamoType(source[table.range_key_attr])
    return hash_value, range_value


def light_backup(table: Any, keys: list[tuple[Any, Any]]) -> Any:
    """A copy of ``table`` that is as it is now for every item in ``keys`` and every item not
    written meanwhile: the index copied one level down, the named items deep-copied."""
    backup = copy.copy(table)
    if table.has_range_key:
        backup.items = defaultdict(dict, {h: dict(r) for h, r in table.items.items()})
    else:
        backup.items = defaultdict(dict, table.items)
    for hash_value, range_value in keys:
        if table.has_range_key:
            item = table.items.get(hash_value, {}).get(range_value)
            if item is not None:
                backup.items[hash_value][range_value] = copy.deepcopy(item)
        elif hash_value in table.items:
            backup.items[hash_value] = copy.deepcopy(table.items[hash_value])
    return backup


def install() -> None:
    """Make ``DynamoDBBackend.transact_write_items`` back up only what it touches (once per
    process; moto's in-process mock and every test tier share it)."""
    if _INSTALLED:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    moto_transact = DynamoDBBackend.transact_write_items

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table):  # moto's transaction backup: ours is made beforehand
            return value
        return copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        named: dict[str, list[tuple[Any, Any]]] = {}
        whole: set[str] = set()  # a key we cannot read: back that table up whole, as moto does
        for entry in transact_items[:100]:
            for op_type, op in entry.items():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                if table is None:
                    continue
                key = _touched(table, op_type, op)
                if key is None:
                    whole.add(table.name)
                named.setdefault(table.name, [])
                if key is not None:
                    named[table.name].append(key)
        backups = {name: copy.deepcopy(self.tables[name]) if name in whole
                   else light_backup(self.tables[name], keys) for name, keys in named.items()}
        try:
            return moto_transact(self, transact_items)
        except BaseException:
            for name, backup in backups.items():
                self.tables[name] = backup
            raise

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
    DynamoDBBackend.transact_write_items = transact_write_items
    _INSTALLED.append(moto_transact)
