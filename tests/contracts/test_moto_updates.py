"""moto with update expressions walked with remembered processors (devstack/moto_updates.py)
answers every update as moto as released does: the same items
stored, the same values returned, the same refusals (invalid expressions, overlapping paths, a
key attribute updated, a missing attribute, mismatched types), in updates and transactions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack import moto_updates
from tests.contracts.conftest import client

KEY = {"k": {"S": "item#1"}}
ITEM = {**KEY, "n": {"N": "8000"}, "s": {"S": "甲"}, "ss": {"SS": ["a", "b"]},
        "list": {"L": [{"S": "x"}, {"N": "1"}]},
        "map": {"M": {"payer": {"S": "张三"}, "items": {"L": [{"M": {"fen": {"N": "1"}}}]}}}}

# (UpdateExpression, names, values): valid ones and ones moto refuses, each sent twice.
UPDATES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("SET n = n + :one, #s = :s", {"#s": "s"}, {":one": {"N": "1"}, ":s": {"S": "乙"}}),
    ("SET #m.#p = :v REMOVE #l[0]", {"#m": "map", "#p": "payer", "#l": "list"},
     {":v": {"S": "李四"}}),
    ("SET list = list_append(list, :more), fresh = if_not_exists(fresh, :zero)", {},
     {":more": {"L": [{"BOOL": True}]}, ":zero": {"N": "0"}}),
    ("ADD ss :add, counter :one DELETE ss :gone", {},
     {":add": {"SS": ["c"]}, ":one": {"N": "1"}, ":gone": {"SS": ["a"]}}),
    ("SET n = n - :one", {}, {":one": {"N": "1"}}),
    ("SET #m.#i[0].#f = :v", {"#m": "map", "#i": "items", "#f": "fen"}, {":v": {"N": "2"}}),
    ("SET n = :v, n = :v", {}, {":v": {"N": "1"}}),  # two actions on one path
    ("SET k = :v", {}, {":v": {"S": "other"}}),  # the hash key
    ("SET n = missing + :one", {}, {":one": {"N": "1"}}),  # no such attribute
    ("SET n = s + :one", {}, {":one": {"N": "1"}}),  # a string plus a number
    ("SET n = :v REMOVE n", {}, {":v": {"N": "1"}}),  # overlapping paths
    ("SET n == :v", {}, {":v": {"N": "1"}}),  # does not parse
    ("DELETE n :v", {}, {":v": {"N": "1"}}),  # DELETE on a number
]


def _outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except ClientError as exc:
        return ("refused", exc.response["Error"]["Code"], exc.response["Error"]["Message"])


def conversation() -> list[Any]:
    """Every update of ``UPDATES``, each twice, alone and in a transaction, with its answer and
    the item after it, on an empty table."""
    ddb = client("dynamodb")
    ddb.create_table(TableName="updates", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    seen: list[Any] = []
    for expression, names, values in UPDATES * 2:
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        if values:
            extra["ExpressionAttributeValues"] = values
        for transaction in (False, True):
            ddb.put_item(TableName="updates", Item=ITEM)
            if transaction:
                seen.append(_outcome(lambda extra=extra, expression=expression: (
                    ddb.transact_write_items(TransactItems=[{"Update": {
                        "TableName": "updates", "Key": KEY, "UpdateExpression": expression,
                        **extra}}]).get("ItemCollectionMetrics"))))
            else:
                seen.append(_outcome(lambda extra=extra, expression=expression: ddb.update_item(
                    TableName="updates", Key=KEY, UpdateExpression=expression,
                    ReturnValues="ALL_NEW", **extra)["Attributes"]))
            seen.append(ddb.get_item(TableName="updates", Key=KEY)["Item"])
        fresh = {"k": {"S": f"new#{len(seen)}"}}  # an update that makes its item
        seen.append(_outcome(lambda extra=extra, expression=expression, fresh=fresh:
                             ddb.update_item(TableName="updates", Key=fresh,
                                             UpdateExpression=expression,
                                             ReturnValues="ALL_NEW", **extra)["Attributes"]))
    return seen


def test_every_update_is_answered_and_stored_as_moto_does(aws):
    from tests.world import empty_moto

    moto_updates.uninstall()
    try:
        released = conversation()
    finally:
        moto_updates.install()
    empty_moto()
    remembered = conversation()
    outcomes = [o[0] for o in released if isinstance(o, tuple)]
    assert outcomes.count("refused") >= 14 and outcomes.count("ok") >= 12, outcomes
    assert remembered == released


def test_a_walker_whose_map_is_not_its_own_methods_is_refused():
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    class Odd(DepthFirstTraverser):  # type: ignore[misc]
        def _processing_map(self) -> dict:
            return {Node: lambda node: node}

    moto_updates.install()
    with pytest.raises(TypeError, match="not its method"):
        Odd().traverse(Node())
