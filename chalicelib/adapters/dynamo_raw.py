"""DynamoDB's read answers decoded by one ``json.loads``, not walked by botocore.

botocore parses a response by walking its JSON against the operation's output shape, one
call per value: a day's 90 notes (~73 KB) cost ~9.5 ms of CPU that way against ~0.9 ms for
``json.loads`` (measured on DynamoDB Local), and the console's lists, searches and the day page
pay it on every request, holding the GIL while a page's other reads wait. For DynamoDB's
``json`` protocol the walk changes nothing in a read's answer but binary values (``B``,
``BS``: base64 on the wire, bytes once parsed), which no table here holds: so for the four read
operations a successful answer without them is decoded here and handed to botocore as already
parsed (``customized_response_dict``, which botocore merges into its result), botocore itself
parsing an empty body (its response metadata is still its own). Anything else (an error, a
body that mentions ``"B":`` or ``"BS":`` anywhere, even inside a string) is left to botocore,
so the answer is always the one botocore would have made
(``tests/unit/test_dynamo_raw.py`` compares both on every kind of value).

``decode_reads(client)`` registers the handler on a DynamoDB client: the process's one botocore
session (``adapters/aws.botocore_session``) does so for every DynamoDB client it makes, pynamodb's
connections' too.
"""

from __future__ import annotations

import json
from typing import Any

READS = ("Query", "Scan", "GetItem", "BatchGetItem")
_BINARY = (b'"B":', b'"BS":')


def decode(response_dict: dict[str, Any], customized_response_dict: dict[str, Any],
           **_: Any) -> None:
    """botocore's ``before-parse`` event for a DynamoDB read (see the module's docstring)."""
    body = response_dict.get("body")
    if (response_dict.get("status_code") != 200 or not isinstance(body, bytes)
            or any(marker in body for marker in _BINARY)):
        return
    customized_response_dict.update(json.loads(body))
    response_dict["body"] = b"{}"


def decode_reads(client: Any) -> None:
    """Decode ``client``'s read answers here (``client``: a botocore DynamoDB client)."""
    for operation in READS:
        client.meta.events.register(f"before-parse.dynamodb.{operation}", decode,
                                    unique_id=f"dynamo_raw.{operation}")
