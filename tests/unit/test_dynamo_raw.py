"""DynamoDB reads decoded by ``json.loads`` (adapters/dynamo_raw.py) answer exactly what
botocore's own parse answers; anything it does not decode is left to botocore."""

from __future__ import annotations

import base64
import json

import botocore.session
from botocore.awsrequest import AWSResponse
from pynamodb.connection import Connection

NOWHERE = "http://127.0.0.1:9"  # nothing is sent: a before-send handler answers

ITEM = {"payment_code": {"S": "34010026900000000010"}, "total_fen": {"N": "8000"},
        "doc": {"S": '{"payer":{"name":"张三","type":"individual"},"note":"\\"B\\": 不是"}'},
        "payment": {"M": {"channel": {"S": "wechatpay"}, "amount_fen": {"N": "8000"},
                          "paid_at": {"S": "2026-06-15T10:00:00+08:00"},
                          "out_trade_no": {"NULL": True}}},
        "flags": {"L": [{"BOOL": True}, {"BOOL": False}, {"N": "1.5"}, {"NULL": True}]},
        "names": {"SS": ["甲", "乙"]}, "amounts": {"NS": ["1", "20"]},
        "bill": {"NULL": True}}
ANSWERS = {
    "Query": {"Items": [ITEM, {"payment_code": {"S": "2"}}], "Count": 2, "ScannedCount": 5,
              "LastEvaluatedKey": {"payment_code": {"S": "2"}, "unit_code": {"S": "u"}},
              "ConsumedCapacity": {"TableName": "notes", "CapacityUnits": 1.5}},
    "Scan": {"Items": [ITEM], "Count": 1, "ScannedCount": 1},
    "GetItem": {"Item": ITEM},
    "BatchGetItem": {"Responses": {"notes": [ITEM]},
                     "UnprocessedKeys": {"notes": {"Keys": [{"payment_code": {"S": "3"}}],
                                                   "ConsistentRead": True}}},
}
CALLS = {"Query": lambda c: c.query(TableName="notes", KeyConditionExpression="a = :a",
                                    ExpressionAttributeValues={":a": {"S": "x"}}),
         "Scan": lambda c: c.scan(TableName="notes"),
         "GetItem": lambda c: c.get_item(TableName="notes", Key={"payment_code": {"S": "1"}}),
         "BatchGetItem": lambda c: c.batch_get_item(RequestItems={"notes": {"Keys": [
             {"payment_code": {"S": "1"}}]}})}


def _answering(client, body: bytes, status: int = 200):
    def send(request, **_):
        return AWSResponse(request.url, status, {"x-amzn-requestid": "R1"},
                           _Raw(body))

    client.meta.events.register("before-send.dynamodb", send)
    return client


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


def _clients(body: bytes, status: int = 200):
    from chalicelib.adapters import aws

    ours = aws.botocore_session().create_client("dynamodb", "cn-north-1", endpoint_url=NOWHERE,
                                                aws_access_key_id="k",
                                                aws_secret_access_key="s")
    plain = botocore.session.Session().create_client(
        "dynamodb", "cn-north-1", endpoint_url=NOWHERE, aws_access_key_id="k",
        aws_secret_access_key="s")
    return _answering(ours, body, status), _answering(plain, body, status)


def _without_metadata(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_each_read_answers_what_botocore_parses_with_no_value_walked_by_botocore() -> None:
    from chalicelib.adapters import dynamo_raw

    walked = []
    for operation, answer in ANSWERS.items():
        body = json.dumps(answer, ensure_ascii=False).encode()
        ours, plain = _clients(body)
        ours.meta.events.register(f"before-parse.dynamodb.{operation}",
                                  lambda response_dict, **_: walked.append(
                                      response_dict["body"]))
        mine, theirs = CALLS[operation](ours), CALLS[operation](plain)
        assert mine == theirs, operation
        assert _without_metadata(mine) == answer
        assert mine["ResponseMetadata"]["RequestId"] == "R1"
    assert walked == [b"{}"] * len(ANSWERS)  # botocore parsed only an empty body
    assert dynamo_raw.READS == tuple(ANSWERS)


def test_a_binary_value_or_an_error_is_left_to_botocore() -> None:
    blob = {"Item": {"payment_code": {"S": "1"},
                     "seal": {"B": base64.b64encode(b"\x00\x01").decode()}}}
    ours, plain = _clients(json.dumps(blob).encode())
    mine = CALLS["GetItem"](ours)
    assert mine == CALLS["GetItem"](plain) and mine["Item"]["seal"] == {"B": b"\x00\x01"}
    error = {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
             "message": "Requested resource not found"}
    ours, plain = _clients(json.dumps(error).encode(), status=400)
    failures = []
    for client in (ours, plain):
        try:
            CALLS["Query"](client)
        except client.exceptions.ResourceNotFoundException as exc:
            failures.append(exc.response["Error"])
    assert len(failures) == 2 and failures[0] == failures[1]


def test_pynamodbs_connections_decode_their_reads_too() -> None:
    from chalicelib.adapters import dynamo_models  # noqa: F401 - hands pynamodb the session

    client = _answering(Connection(region="cn-north-1", host=NOWHERE, aws_access_key_id="k",
                                   aws_secret_access_key="s").client,
                        json.dumps(ANSWERS["Query"], ensure_ascii=False).encode())
    walked = []
    client.meta.events.register("before-parse.dynamodb.Query",
                                lambda response_dict, **_: walked.append(response_dict["body"]))
    assert _without_metadata(CALLS["Query"](client)) == ANSWERS["Query"]
    assert walked == [b"{}"]
