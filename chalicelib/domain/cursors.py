"""Paging cursors that a client can carry but neither read into nor forge.

A list answers a page and ``next_cursor``; the client sends it back as ``cursor=`` for the next
page. The cursor is the position to go on from, bound to who asked and what they asked for
(``scope``: e.g. ``unit:340100001|status=paid|…``), sealed with an HMAC under a server secret.
So a unit cannot edit a cursor to page into another unit's notes, and a cursor made for one
question is refused for another: ``ValidationFailed`` on ``cursor``, never a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.domain.errors import ValidationFailed

MAX_CURSOR = 1024  # characters: a position is a few keys, never more
_TAG = 16  # bytes of HMAC-SHA256 kept


def _mac(key: bytes, scope: str, payload: bytes) -> bytes:
    return hmac.new(key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:_TAG]


def seal(position: dict[str, Any], key: bytes, scope: str) -> str:
    """The cursor of ``position`` for the question ``scope``."""
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    token = base64.urlsafe_b64encode(_mac(key, scope, payload) + payload).decode()
    return token.rstrip("=")


def unseal(cursor: str, key: bytes, scope: str) -> dict[str, Any]:
    """The position a cursor made by ``seal`` for ``scope`` holds; ``ValidationFailed`` for a
    cursor that is malformed, edited, or made for another question or caller."""
    bad = ValidationFailed("分页游标无效", {"cursor": "not a cursor of this list: start again "
                                                   "without one"})
    if not cursor or len(cursor) > MAX_CURSOR:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise bad from None
    tag, payload = raw[:_TAG], raw[_TAG:]
    if len(tag) < _TAG or not hmac.compare_digest(tag, _mac(key, scope, payload)):
        raise bad
    position = json.loads(payload)
    if not isinstance(position, dict):
        raise bad
    return position
