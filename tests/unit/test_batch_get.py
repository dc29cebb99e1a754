"""``dynamo_models.batch_get``: the one BatchGetItem loop of the lookups (the public note, the
bill, the notes of a list). DynamoDB may answer part of a batch and name the rest in
``UnprocessedKeys``; those are asked for again, a bounded number of times, then 503."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamo_models import MAX_BATCH_GET_ATTEMPTS, batch_get
from chalicelib.domain.errors import ServiceUnavailable

NOTE = {"payment_code": {"S": "n1"}}
COUNTER = {"counter_id": {"S": "guess#a"}}


class Throttling:
    """A DynamoDB client that leaves the counters' keys unprocessed ``refusals`` times."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        self.requests.append(RequestItems)
        answer: dict[str, Any] = {"Responses": {}, "UnprocessedKeys": {}}
        for table, request in RequestItems.items():
            assert request["ConsistentRead"] is True
            if table == "counters" and self.refusals:
                self.refusals -= 1
                answer["UnprocessedKeys"][table] = request
            else:
                answer["Responses"][table] = [{**k, "value": {"N": "1"}} for k in request["Keys"]]
        return answer


def test_keys_left_unprocessed_are_asked_for_again_until_every_table_answered():
    client = Throttling(refusals=2)
    items = batch_get(client, {"notes": [NOTE], "counters": [COUNTER]}, "note lookup")
    assert items == {"notes": [{**NOTE, "value": {"N": "1"}}],
                     "counters": [{**COUNTER, "value": {"N": "1"}}]}
    assert [sorted(r) for r in client.requests] == [["counters", "notes"], ["counters"],
                                                    ["counters"]]


def test_keys_still_unprocessed_after_the_last_attempt_are_503_naming_the_lookup():
    client = Throttling(refusals=MAX_BATCH_GET_ATTEMPTS)
    with pytest.raises(ServiceUnavailable, match="note lookup"):
        batch_get(client, {"notes": [NOTE], "counters": [COUNTER]}, "note lookup")
    assert len(client.requests) == MAX_BATCH_GET_ATTEMPTS


def test_a_table_without_keys_is_not_asked_and_answers_nothing():
    client = Throttling(refusals=0)
    assert batch_get(client, {"notes": [NOTE], "counters": []}, "note lookup") == {
        "notes": [{**NOTE, "value": {"N": "1"}}], "counters": []}
    assert list(client.requests[0]) == ["notes"]
    assert batch_get(client, {"counters": []}, "note lookup") == {"counters": []}
    assert len(client.requests) == 1
