"""Helpers shared by the functional tests: plain functions over the ``world`` and ``client``.

No fixtures live here (conftest.py is not ours to change); tests import what they use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from devstack.notifications import wechatpay_notification

JSON = {"Content-Type": "application/json"}
NOTE: dict[str, Any] = {
    "payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
    "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）", "unit": "件",
               "quantity": 1, "standard_fen": 8000, "amount_fen": 8000},
              {"item_code": "103040100103", "name": "不动产权证书工本费", "unit": "本",
               "quantity": 2, "standard_fen": 1000, "amount_fen": 2000}],
    "total_fen": 10000, "remark": "合肥市蜀山区某小区3-501"}


def body_of(response) -> Any:
    return json.loads(response.body)


def create_note(world, client, body: dict | None = None, unit: int = 0) -> dict:
    r = client.http.post("/v1/notes", headers=world.auth(unit), body=json.dumps(body or NOTE))
    assert r.status_code == 201, r.body
    return body_of(r)


def open_order(client, payment_code: str, channel: str = "wechatpay") -> dict:
    r = client.http.post(f"/v1/public/notes/{payment_code}/pay", headers=JSON,
                         body=json.dumps({"channel": channel}))
    assert r.status_code == 201, r.body
    return body_of(r)


def notification(world, order: dict, amount: int | None = None,
                 **overrides: Any) -> tuple[bytes, dict[str, str]]:
    """A genuine notification (signed with the stack's platform key) for ``order``."""
    return wechatpay_notification(
        world.stack, order["out_trade_no"],
        order["amount_fen"] if amount is None else amount, now=world.clock(), **overrides)


def post_notification(client, body: bytes, headers: dict[str, str]):
    return client.http.post("/callbacks/wechatpay", headers=headers, body=body)


def paid_note(world, client, body: dict | None = None) -> tuple[str, dict]:
    code = create_note(world, client, body)["payment_code"]
    order = open_order(client, code)
    r = post_notification(client, *notification(world, order))
    assert r.status_code in (200, 204), r.body
    return code, order


def issued_bill(world, client, body: dict | None = None) -> tuple[str, dict]:
    """Create, pay and issue a note; the bill reference as GET /v1/notes shows it."""
    code, _ = paid_note(world, client, body)
    world.drain()
    note = get_note(world, client, code)
    assert note["status"] == "issued", note
    return code, note["bill"]


def get_note(world, client, code: str, unit: int = 0) -> dict:
    r = client.http.get(f"/v1/notes/{code}", headers=world.auth(unit))
    assert r.status_code == 200, r.body
    return body_of(r)


def payments(world) -> list[dict]:
    """Every row of the payments table, as plain Python values."""
    from boto3.dynamodb.types import TypeDeserializer

    ddb = world.deps._client("dynamodb")
    rows = ddb.scan(TableName=world.deps.settings.table("PAYMENTS"), ConsistentRead=True)
    plain = TypeDeserializer()
    return [{k: plain.deserialize(v) for k, v in row.items()} for row in rows["Items"]]


def bills_count(world) -> int:
    ddb = world.deps._client("dynamodb")
    return ddb.scan(TableName=world.deps.settings.table("BILLS"), Select="COUNT")["Count"]


def queued(world, queue_url: str | None = None) -> int:
    """Messages on a queue (the issue queue by default), visible or in flight."""
    attrs = world.deps._client("sqs").get_queue_attributes(
        QueueUrl=queue_url or world.issue_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + \
        int(attrs["ApproximateNumberOfMessagesNotVisible"])


def assert_error(response, status: int, *fields: str) -> dict:
    """The contract's error shape, with ``fields`` named; never a trace."""
    assert response.status_code == status, response.body
    assert b"Traceback" not in response.body
    error = body_of(response)["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    for name in fields:
        assert name in error.get("fields", {}), (name, error)
    return error


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def iso_with_offset(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.utcoffset() is not None, text
    return value


class AwsCalls:
    """Every botocore API call made while active, as ``service.Operation`` strings."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model, **_: Any) -> None:
        self.calls.append(f"{model.service_model.endpoint_prefix}.{model.name}")

    def __len__(self) -> int:
        return len(self.calls)


@contextmanager
def counting_aws_calls(monkeypatch) -> Iterator[AwsCalls]:
    """Count the AWS calls of a block, through botocore's own ``before-call`` event."""
    counter = AwsCalls()
    with botocore_hooks(monkeypatch, {"before-call": counter}):
        yield counter


@contextmanager
def botocore_hooks(monkeypatch, hooks: dict[str, Any]) -> Iterator[None]:
    """Call ``{event: handler}`` on every botocore client's events for the length of a block.

    Every botocore client, boto3's or pynamodb's, alive before the block or made inside it,
    emits through a ``botocore.hooks.HierarchicalEmitter``; the block wraps that class's
    ``_emit``, so no client can escape and none has to be found (no scan of the heap). For an
    event named ``event`` or ``event.service.Operation`` the handlers are called before the
    client's own, with botocore's own semantics: the same keyword arguments, and the first
    answer wins where botocore stops at one (so a ``before-send`` hook answers before moto's
    stub does).
    """
    from botocore.hooks import HierarchicalEmitter

    inner = HierarchicalEmitter._emit  # an enclosing block's wrapper, if any
    ours = list(hooks.items())

    def _emit(self, event_name: str, kwargs: dict, stop_on_response: bool = False) -> list:
        first = [handler for event, handler in ours
                 if event_name == event or event_name.startswith(event + ".")]
        if not first:
            return inner(self, event_name, kwargs, stop_on_response)
        kwargs["event_name"] = event_name
        responses = []
        for handler in first:
            response = handler(**kwargs)
            responses.append((handler, response))
            if stop_on_response and response is not None:
                return responses
        return responses + inner(self, event_name, kwargs, stop_on_response)

    monkeypatch.setattr(HierarchicalEmitter, "_emit", _emit)
    try:
        yield
    finally:
        monkeypatch.setattr(HierarchicalEmitter, "_emit", inner)
