"""moto's transactions with a cheaper backup (tests/moto_transactions.py) keep moto's outcome:
a cancelled transaction leaves every item it named, and every other item, as it was; one that
succeeds writes all of it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.contracts.conftest import client


@pytest.fixture
def tables(aws):
    ddb = client("dynamodb")
    ddb.create_table(TableName="plain", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
    ddb.create_table(TableName="ranged", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"},
                                {"AttributeName": "r", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"},
                                           {"AttributeName": "r", "AttributeType": "S"}])
    for i in range(5):
        ddb.put_item(TableName="plain", Item={"k": {"S": f"p{i}"}, "n": {"N": str(i)}})
        ddb.put_item(TableName="ranged", Item={"k": {"S": "h"}, "r": {"S": f"r{i}"},
                                                "n": {"N": str(i)}})
    return ddb


def everything(ddb) -> dict[str, list]:
    return {name: sorted(map(str, ddb.scan(TableName=name)["Items"]))
            for name in ("plain", "ranged")}


def writes(last_condition: str) -> list[dict]:
    return [
        {"Put": {"TableName": "plain", "Item": {"k": {"S": "new"}, "n": {"N": "9"}}}},
        {"Update": {"TableName": "plain", "Key": {"k": {"S": "p1"}},
                    "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {
                        ":n": {"N": "100"}}}},
        {"Delete": {"TableName": "ranged", "Key": {"k": {"S": "h"}, "r": {"S": "r2"}}}},
        {"Update": {"TableName": "ranged", "Key": {"k": {"S": "h"}, "r": {"S": "r3"}},
                    "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {
                        ":n": {"N": "300"}}}},
        {"ConditionCheck": {"TableName": "plain", "Key": {"k": {"S": "p4"}},
                            "ConditionExpression": last_condition}},
    ]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(tables):
    before = everything(tables)

    with pytest.raises(ClientError, match="TransactionCanceled"):
        tables.transact_write_items(TransactItems=writes("attribute_not_exists(k)"))

    assert everything(tables) == before


def test_a_transaction_that_succeeds_writes_all_of_it(tables):
    tables.transact_write_items(TransactItems=writes("attribute_exists(k)"))

    plain = {i["k"]["S"]: i["n"]["N"] for i in tables.scan(TableName="plain")["Items"]}
    ranged = {i["r"]["S"]: i["n"]["N"] for i in tables.scan(TableName="ranged")["Items"]}
    assert plain == {"p0": "0", "p1": "100", "p2": "2", "p3": "3", "p4": "4", "new": "9"}
    assert ranged == {"r0": "0", "r1": "1", "r3": "300", "r4": "4"}
