"""moto's responses with attribute names remembered (devstack/moto_aliases.py) are byte for byte
the responses of moto as released: items of every attribute type through every read and every
write that returns values, S3's listing and object attributes, SQS's and SNS's answers."""

from __future__ import annotations

import re
from typing import Any

from devstack import moto_aliases
from tests.contracts.conftest import client

ITEM = {"k": {"S": "item#1"}, "r": {"S": "2026-06-15"}, "n": {"N": "8000"},
        "b": {"B": b"\x00\xffbytes"}, "ss": {"SS": ["甲", "乙"]}, "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"a", b"b"]}, "yes": {"BOOL": True}, "none": {"NULL": True},
        "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": False}]}}}]},
        "map": {"M": {"payer": {"S": "张三"}, "items": {"L": [{"M": {"fen": {"N": "1"}}}]}}}}


def conversation() -> list[bytes]:
    """Every answer's body, in order, for one fixed set of calls on an empty moto (but those
    that carry the time they were made; a query answer's random request id blanked)."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    ddb, s3, sqs, sns = (client(name) for name in ("dynamodb", "s3", "sqs", "sns"))
    for each in (ddb, s3, sqs, sns):
        each.meta.events.register("after-call", keep)
    ddb.create_table(TableName="aliases", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"},
                                {"AttributeName": "r", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"},
                                           {"AttributeName": "r", "AttributeType": "S"}])
    bodies.clear()  # its description holds the time it was made
    key = {"k": ITEM["k"], "r": ITEM["r"]}
    ddb.put_item(TableName="aliases", Item=ITEM)
    ddb.put_item(TableName="aliases", Item=ITEM, ReturnValues="ALL_OLD")
    ddb.get_item(TableName="aliases", Key=key)
    ddb.update_item(TableName="aliases", Key=key, UpdateExpression="SET n = n + :one",
                    ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
    ddb.query(TableName="aliases", KeyConditionExpression="k = :k",
              ExpressionAttributeValues={":k": ITEM["k"]})
    ddb.scan(TableName="aliases", ProjectionExpression="k, #m.payer",
             ExpressionAttributeNames={"#m": "map"})
    ddb.batch_get_item(RequestItems={"aliases": {"Keys": [key]}})
    ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "aliases", "Key": key}}])
    ddb.delete_item(TableName="aliases", Key=key, ReturnValues="ALL_OLD")
    s3.create_bucket(Bucket="aliases", CreateBucketConfiguration={
        "LocationConstraint": "cn-north-1"})
    s3.put_object(Bucket="aliases", Key="a/b.json", Body=b"{}")
    s3.list_objects_v2(Bucket="aliases", Prefix="a/")
    s3.head_object(Bucket="aliases", Key="a/b.json")
    url = sqs.create_queue(QueueName="aliases", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"]
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    sns.create_topic(Name="aliases")
    sns.list_topics()
    for each in (ddb, s3, sqs, sns):
        each.meta.events.unregister("after-call", keep)
    return [re.sub(rb"<RequestId>[^<]*</RequestId>", b"<RequestId/>", body) for body in bodies
            if b"LastModified" not in body and b"Last-Modified" not in body]


def test_with_names_remembered_every_answer_is_moto_own_byte_for_byte(aws):
    from tests.world import empty_moto

    moto_aliases.uninstall()
    try:
        released = conversation()
    finally:
        moto_aliases.install()
    empty_moto()
    remembered = conversation()
    assert len(released) >= 12
    assert remembered == released
