"""Alipay open-platform messages (消息服务, HTTP mode), posted to our application gateway
(应用网关, ``/callbacks/alipay/gateway``): verify them, then read what they say.

A message is a form (``application/x-www-form-urlencoded``) with common parameters ``notify_id``,
``utc_timestamp``, ``msg_method``, ``app_id`` (the receiving application: ours), ``msg_type``,
``msg_uid``, ``msg_app_id``, ``version`` ("1.1"), ``biz_content`` (JSON text), ``charset``,
``sign_type``, ``sign`` and optionally ``encrypt_type``; the old 1.0 protocol also had
``notify_type``, ``notify_time`` and ``auth_app_id`` (the essensoft/paylink SDK's
``AlipayMessageServiceNotify.cs``; its docs link, docs.open.alipay.com/msgapi_54/, is not
reachable here). Our reference (``reference/payment-channels.md`` §2.1, after Alipay's Java SDK)
says application-gateway messages are signed under rule V2 (only ``sign`` left out of the
string: ``sign_type`` is signed too), the payment notices under V1 (``sign`` and ``sign_type``
left out); the essensoft SDK checks messages under V1 (``AlipayNotifyClient.CheckNotifySign``).
So a message is accepted when Alipay's RSA2 signature holds under either rule: both are Alipay's
signature over the message's own fields (its ``msg_method`` among them, which no payment notice
has), so neither admits anything Alipay did not send. It is checked by the payment notices'
verifier (``verify.verified_fields``), which also requires ``app_id`` to be ours. Only then is
it read.

``alipay.open.auth.appauth.cancelled`` (第三方应用授权取消消息) says a merchant cancelled its
authorisation of our application. What its ``biz_content`` holds is not documented anywhere we
can read, so the message is reduced to hints (``AuthorisationCancelled``): PIDs, app_ids and
tokens (as SHA-256 digests, never the token) found under the names ``user_id``, ``msg_uid``,
``auth_app_id``, ``msg_app_id`` and ``app_auth_token``, anywhere in ``biz_content`` or among the
common parameters, each only if it looks like one. An encrypted ``biz_content``
(``encrypt_type``) is not read at all: we hold no AES key, and no decision rests on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.adapters.alipay.verify import V1, V2, verified_fields
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.merchants import (
    AuthorisationCancelled,
    ChannelMessage,
    token_digest,
)

CANCELLED = "alipay.open.auth.appauth.cancelled"
_PID = re.compile(r"^2088[0-9]{12}$")
_APP_ID = re.compile(r"^[0-9]{16}$")
_TOKEN = re.compile(r"^[0-9A-Za-z._-]{16,128}$")
_MERCHANT_NAMES = ("user_id", "msg_uid")
_APP_NAMES = ("auth_app_id", "msg_app_id")
_TOKEN_NAMES = ("app_auth_token",)
_MOST_EACH = 5  # PIDs, app_ids and tokens kept of one message, at most (each)
_MOST_NODES = 200  # objects and lists of biz_content looked into, at most (the body: 16 KB)


def verify_message(raw_body: bytes, content_type: str, config: AlipayConfig) -> ChannelMessage:
    """The verified message (``SignatureInvalid`` when Alipay did not sign it for us;
    ``ValidationFailed`` when a signed one lacks ``msg_method`` or ``notify_id``)."""
    fields = verified_fields(raw_body, content_type, config, rules=(V2, V1))
    method, notify_id = fields.get("msg_method", ""), fields.get("notify_id", "")
    if not method or not notify_id:
        missing = "msg_method" if not method else "notify_id"
        raise ValidationFailed(f"{missing} is missing", {missing: "missing"})
    if len(notify_id) > 128:
        raise ValidationFailed("notify_id is too long", {"notify_id": "at most 128 characters"})
    if method != CANCELLED:
        return ChannelMessage(method=method[:100], notify_id=notify_id)
    found: dict[str, list[str]] = {"merchant": [], "app": [], "token": []}
    content = {} if fields.get("encrypt_type") else _object(fields.get("biz_content", ""))
    for name, value in [*fields.items(), *_named_values(content)]:
        kind = _kind(name, value)
        if kind and value not in found[kind] and len(found[kind]) < _MOST_EACH:
            found[kind].append(value)
    return ChannelMessage(method=method, notify_id=notify_id, cancelled=AuthorisationCancelled(
        notify_id=notify_id, merchant_ids=tuple(found["merchant"]), app_ids=tuple(found["app"]),
        token_digests=tuple(token_digest(t) for t in found["token"])))


def _object(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _named_values(content: Any) -> Iterator[tuple[str, str]]:
    """(name, text) of the string values in ``content``, its nested objects and lists too (at
    most ``_MOST_NODES`` of them looked into)."""
    stack, seen = [content], 0
    while stack and seen < _MOST_NODES:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            for name, value in item.items():
                if isinstance(value, str):
                    yield str(name), value
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))


def _kind(name: str, value: str) -> str:
    if name in _MERCHANT_NAMES and _PID.match(value):
        return "merchant"
    if name in _APP_NAMES and _APP_ID.match(value):
        return "app"
    if name in _TOKEN_NAMES and _TOKEN.match(value):
        return "token"
    return ""
