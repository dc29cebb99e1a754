"""moto's DynamoDB with attribute values written directly and update expressions parsed once
(tests/moto_dynamodb.py) answers byte for byte as moto as released: items of every attribute
type through every read and every write that returns values, updates of every kind of action,
and a broken expression refused each time."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests import moto_dynamodb
from tests.contracts.conftest import client
from tests.contracts.test_moto_aliases import ITEM, conversation

KEY = {"k": ITEM["k"], "r": ITEM["r"]}
UPDATES = (  # (expression, values): each kind of action, each one twice (the second remembered)
    ("SET n = n + :one", {":one": {"N": "1"}}),
    ("SET #l = list_append(#l, :more), fresh = if_not_exists(fresh, :zero)",
     {":more": {"L": [{"S": "y"}, {"B": b"\x01"}]}, ":zero": {"N": "0"}}),
    ("ADD ss :s, tally :one", {":s": {"SS": ["丙"]}, ":one": {"N": "1"}}),
    ("DELETE ss :s", {":s": {"SS": ["甲"]}}),
    ("REMOVE #l[0], bs SET #m.payer = :who", {":who": {"S": "李四"}}),
)


@pytest.fixture
def moto_as_released(aws) -> Iterator[None]:
    """moto's own code for the test; this module's change put back after if it was in."""
    installed = bool(moto_dynamodb._INSTALLED)
    moto_dynamodb.uninstall()
    try:
        yield
    finally:
        if installed:
            moto_dynamodb.install()


def updates() -> list[Any]:
    """Every answer (or refusal) of a fixed series of updates on the conversation's item."""
    from tests.world import empty_moto

    empty_moto()
    conversation()
    ddb = client("dynamodb")
    ddb.put_item(TableName="aliases", Item=ITEM)
    answers: list[Any] = []
    for _ in range(2):
        for expression, values in UPDATES:
            names = {n: {"#l": "list", "#m": "map"}[n] for n in ("#l", "#m") if n in expression}
            answers.append(ddb.update_item(
                TableName="aliases", Key=KEY, UpdateExpression=expression,
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
                **({"ExpressionAttributeNames": names} if names else {}))["Attributes"])
        with pytest.raises(ClientError) as refused:
            ddb.update_item(TableName="aliases", Key=KEY, UpdateExpression="SET n = = :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})
        answers.append(refused.value.response["Error"])
    answers.append(ddb.get_item(TableName="aliases", Key=KEY)["Item"])
    return answers


def test_every_answer_is_moto_own_byte_for_byte(moto_as_released):
    from tests.world import empty_moto

    released = conversation()
    released_updates = updates()
    moto_dynamodb.install()
    try:
        empty_moto()
        changed = conversation()
        changed_updates = updates()
    finally:
        moto_dynamodb.uninstall()
    assert len(released) >= 12 and len(released_updates) == 13
    assert changed == released
    assert changed_updates == released_updates


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str,
                counted: list[Any]) -> None:
    original = inspect.getattr_static(owner, name)
    function = getattr(original, "__func__", original)

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(args[1:])
        return function(*args, **kwargs)

    monkeypatch.setattr(owner, name, classmethod(counting) if isinstance(
        original, classmethod) else counting)


def test_an_items_values_are_not_picked_member_by_member(moto_as_released, monkeypatch):
    from moto.core.serialize import XFormedAttributePicker

    ddb = client("dynamodb")
    conversation()
    ddb.put_item(TableName="aliases", Item=ITEM)
    picked: list[Any] = []
    count_calls(monkeypatch, XFormedAttributePicker, "__call__", picked)
    moto_dynamodb.install()
    try:
        item = ddb.get_item(TableName="aliases", Key=KEY)["Item"]
    finally:
        moto_dynamodb.uninstall()
    assert item["map"]["M"]["payer"] == {"S": "张三"}
    members = {context.key for (context,) in picked}
    assert "Item" in members and not members & {"S", "N", "B", "M", "L", "BOOL", "NULL"}


def test_an_update_expression_is_parsed_once_and_a_broken_one_each_time(moto_as_released,
                                                                        monkeypatch):
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    ddb = client("dynamodb")
    conversation()
    ddb.put_item(TableName="aliases", Item=ITEM)
    moto_dynamodb.install()
    try:
        tokenized: list[Any] = []
        count_calls(monkeypatch, ExpressionTokenizer, "make_list", tokenized)
        for _ in range(3):
            ddb.update_item(TableName="aliases", Key=KEY, UpdateExpression="SET n = n + :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})
        for _ in range(2):
            with pytest.raises(ClientError):
                ddb.update_item(TableName="aliases", Key=KEY, UpdateExpression="SET n = = :x",
                                ExpressionAttributeValues={":x": {"N": "1"}})
    finally:
        moto_dynamodb.uninstall()
    assert [t for t in tokenized if t == ("SET n = n + :one",)] == [("SET n = n + :one",)]
    assert [t for t in tokenized if t == ("SET n = = :x",)] == [("SET n = = :x",)] * 2
    assert ddb.get_item(TableName="aliases", Key=KEY)["Item"]["n"] == {"N": "8003"}
