"""Which AWS writes a request made, cheaply: a botocore hook instead of scanning the stores.

Every botocore client (boto3's, pynamodb's) emits ``before-parameter-build`` with the API
parameters of each call, and ``after-call`` with its HTTP answer, both with the call's context.
The recorder notes the writes a call means to make in the first, and keeps them in the second
only when the call succeeded: a conditional write whose condition failed changed nothing. It
listens on every client alive when it is adopted and on every client made later
(``BUILTIN_HANDLERS`` is what a new botocore session registers); each write is kept as a
``Write(service, operation, where, key)``.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

WRITES = {
    "dynamodb": {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"},
    "s3": {"PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "PutObjectRetention",
           "PutObjectLegalHold", "CreateMultipartUpload", "CompleteMultipartUpload"},
    "sqs": {"SendMessage", "SendMessageBatch"},
    "sns": {"Publish", "PublishBatch"},
}


@dataclass(frozen=True)
class Write:
    service: str
    operation: str
    where: str  # table name, bucket, queue URL or topic
    key: str  # the item's hash key value, the object key, or "" when there is none

    def __str__(self) -> str:
        return f"{self.service}.{self.operation} {self.where} {self.key}".rstrip()


def _dynamo_key(item: dict[str, Any]) -> str:
    for value in item.values():  # the hash key comes first in pynamodb's serialisation
        if isinstance(value, dict) and len(value) == 1:
            return str(next(iter(value.values())))
    return ""


def writes_of(service: str, operation: str, params: dict[str, Any]) -> list[Write]:
    """The writes one API call makes (a transaction or a batch is several)."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            found = []
            for entry in params.get("TransactItems", []):
                for kind, body in entry.items():
                    if kind == "ConditionCheck":
                        continue
                    item = body.get("Item") or body.get("Key") or {}
                    found.append(Write(service, f"Transact.{kind}", body["TableName"],
                                       _dynamo_key(item)))
            return found
        if operation == "BatchWriteItem":
            return [Write(service, operation, table, "")
                    for table in params.get("RequestItems", {})]
        item = params.get("Item") or params.get("Key") or {}
        return [Write(service, operation, params.get("TableName", ""), _dynamo_key(item))]
    if service == "s3":
        return [Write(service, operation, params.get("Bucket", ""), str(params.get("Key", "")))]
    if service == "sqs":
        return [Write(service, operation, params.get("QueueUrl", ""), "")]
    return [Write(service, operation, str(params.get("TopicArn") or params.get("PhoneNumber")
                                          or ""), "")]


class WriteRecorder:
    """Collects the writes of every AWS call between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self.writes: list[Write] = []
        self.active = False
        self.calls = 0  # every call seen, write or not (proves the hook is live)
        # Bound once, so that a client's handlers can be recognised as ours.
        self.before = self._before
        self.after = self._after

    @classmethod
    def install(cls, monkeypatch: Any) -> WriteRecorder:
        import botocore.handlers

        recorder = cls()
        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS",
                            [*botocore.handlers.BUILTIN_HANDLERS,
                             ("before-parameter-build", recorder.before),
                             ("after-call", recorder.after)])
        return recorder

    def adopt_live_clients(self) -> None:
        """Listen on the clients made before ``install`` (a client registers a handler once)."""
        from botocore.client import BaseClient

        gc.unfreeze()  # frozen objects (``world.freeze_long_lived``) are not in get_objects()
        for client in [o for o in gc.get_objects() if isinstance(o, BaseClient)]:
            events = client.meta.events
            for event, handler in (("before-parameter-build", self.before),
                                   ("after-call", self.after)):
                handlers = list(events._emitter._handlers.prefix_search(event))
                if not any(h == handler for h in handlers):
                    events.register(event, handler)

    def _before(self, params: dict[str, Any], model: Any, context: dict | None = None,
                **_: Any) -> None:
        self.calls += 1
        service = model.service_model.endpoint_prefix
        if self.active and context is not None and model.name in WRITES.get(service, ()):
            context["fuzz_writes"] = writes_of(service, model.name, params)

    def _after(self, http_response: Any, context: dict | None = None, **_: Any) -> None:
        planned = (context or {}).pop("fuzz_writes", None)
        if self.active and planned and http_response.status_code < 300:
            self.writes.extend(planned)

    def start(self) -> None:
        self.writes = []
        self.active = True

    def stop(self) -> list[Write]:
        self.active = False
        return self.writes
