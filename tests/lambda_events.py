"""The SQS and schedule handlers, invoked as Lambda invokes them, on Chalice's own events.

Events come from ``chalice.test.Client``'s builders (``client.events.generate_sqs_event``,
``generate_cw_event``) and handlers run through ``client.lambda_.invoke``, never from dicts
written by hand: a handler reads the same shape in tests as in production. An SQS record
carries the real message's id, receipt handle and attributes (a job that asks SQS to retry it
later names its message by the receipt handle).
"""

from __future__ import annotations

from typing import Any


def handler_client() -> Any:
    """A ``chalice.test.Client`` on the application, for its events and its handlers."""
    from chalice.test import Client

    import app as application

    return Client(application.app)


def queue_of(function: str) -> str:
    """The queue whose messages ``function`` handles, as the app declares it."""
    import app as application

    [queue] = [source.queue for source in application.app.event_sources
               if source.name == function and getattr(source, "queue", None)]
    return queue


def sqs_event(client: Any, function: str, message: dict) -> dict:
    """The event SQS sends ``function`` for ``message`` (as ``receive_message`` gave it, with
    its ``Attributes`` when asked for)."""
    event = client.events.generate_sqs_event([message["Body"]], queue_name=queue_of(function))
    [record] = event["Records"]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"])
    record["attributes"].update(message.get("Attributes") or {})
    return event


def sqs_batch_event(client: Any, function: str, messages: list[dict]) -> dict:
    """The event SQS sends ``function`` for several messages at once (a batch)."""
    event = client.events.generate_sqs_event([m["Body"] for m in messages],
                                             queue_name=queue_of(function))
    for record, message in zip(event["Records"], messages, strict=True):
        record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"])
        record["attributes"].update(message.get("Attributes") or {})
    return event


def scheduled_event(client: Any) -> dict:
    """The event EventBridge sends a function on its schedule."""
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                           detail={}, resources=[])


def run_sqs_message(client: Any, function: str, message: dict) -> Any:
    """``function`` (an ``on_sqs_message`` handler) given one message, as Lambda gives it."""
    return client.lambda_.invoke(function, sqs_event(client, function, message)).payload


def run_sqs_batch(client: Any, function: str, messages: list[dict]) -> Any:
    """``function`` given several messages in one event; its answer (the partial batch
    response of a handler that gives one)."""
    return client.lambda_.invoke(function, sqs_batch_event(client, function, messages)).payload


def run_schedule(client: Any, function: str) -> Any:
    """``function`` (a ``schedule`` handler) at one of its ticks."""
    return client.lambda_.invoke(function, scheduled_event(client)).payload
