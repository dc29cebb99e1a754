"""The intake log: every notification a channel sent us, as received, with what became of it.

Two stores, by whether the notification proved it came from the channel:

- **Verified** (recorded, duplicate, exception, ignored, order unknown, refund outcomes): the
  archive bucket, write-once (Object Lock, COMPLIANCE), under
  ``intake/{channel}/{day}/{time}-{digest}.json``, with the whole body. To keep the
  acknowledgement path at two AWS calls, the record of an accepted payment rides on the issuance
  job, which archives it first; the other verified outcomes are archived at once.
- **Refused** (signature invalid, unparseable, channel not configured, body too large, …): the
  short-lived bucket (``REJECTED_INTAKE_BUCKET``: no Object Lock, no versioning, a lifecycle rule
  expires every object ``REJECTED_RETENTION_DAYS`` days after it was written), under
  ``rejected/{channel}/{day}/{time}-{digest}.json``. Anyone can send a refused notification, so
  none of it may reach the write-once archive, and what is kept of it is bounded: the first
  ``REJECTED_BODY_PREFIX`` bytes of the body, its first headers up to ``REJECTED_HEADERS_BUDGET``
  characters (each cut at ``REJECTED_HEADER_CHARS``), and at most ``REJECTED_PER_CLIENT_PER_HOUR`` records per
  client address (an IPv6 address counts by its /64) and ``REJECTED_PER_CHANNEL_PER_HOUR`` per
  channel in each hour. Past a cap a refusal is counted and logged, not stored. Keeping a refused
  record is best effort: a failure to keep it is logged and never changes the answer.

A body larger than its channel's ``MAX_BODY_BYTES`` is refused before any verification work (no
secret read, no signature checked, no parsing); real notifications are 0.2-2.5 KB.

``payments.replay`` runs a kept notification through its channel's handler again, with the
clock set to when it arrived: a verified one from the archive (for ever), a refused one from the
short-lived store only while it lives (and only if its whole body was kept).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, timedelta

from chalicelib.domain.errors import PayloadTooLarge
from chalicelib.services.limits import client_key
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)
_DROPPED_HEADERS = {"authorization", "cookie", "x-amz-security-token"}

# The largest body each channel's callback reads. Measured (tests/events and the builders in
# local/simulator.py): WeChat Pay 942 B, Alipay 1,161 B, UnionPay 2,120-2,501 B (it carries its
# signing certificate), bank 158 B. The caps leave more than 6x room for optional fields.
MAX_BODY_BYTES = {"wechatpay": 16 * 1024, "alipay": 16 * 1024, "unionpay": 32 * 1024,
                  "bank": 16 * 1024}
INTAKE_PREFIX = "intake"  # in the archive bucket (write-once)
REJECTED_PREFIX = "rejected"  # in the short-lived bucket
REJECTED_RETENTION_DAYS = 7  # the lifecycle rule of RejectedIntakeBucket (infra/resources.json)
REJECTED_BODY_PREFIX = 8 * 1024
REJECTED_HEADERS = 32
REJECTED_HEADER_CHARS = 1024  # of one header's name or value
REJECTED_HEADERS_BUDGET = 4096  # characters of all kept headers' names and values together
REJECTED_DETAIL_CHARS = 500
REJECTED_PER_CLIENT_PER_HOUR = 20
REJECTED_PER_CHANNEL_PER_HOUR = 1000


@dataclass(frozen=True)
class Intake:
    channel: str
    received_at: str
    headers: dict[str, str]
    body_b64: str  # the whole body; of a body over its channel's cap, only a prefix
    client: str = "unknown"
    body_size: int = -1  # the size of the body as received (-1: the size of body_b64's bytes)

    @classmethod
    def receive(cls, deps: Ports, channel: str, raw_body: bytes, headers: Mapping[str, str],
                client: str = "unknown") -> Intake:
        """The notification as received. A body over its channel's cap is not even copied
        whole: only the prefix a refused record keeps."""
        kept = raw_body if len(raw_body) <= MAX_BODY_BYTES[channel] \
            else raw_body[:REJECTED_BODY_PREFIX]
        return cls(channel=channel, received_at=deps.clock().isoformat(timespec="microseconds"),
                   headers={k: v for k, v in headers.items()
                            if k.lower() not in _DROPPED_HEADERS},
                   body_b64=base64.b64encode(kept).decode("ascii"), client=client,
                   body_size=len(raw_body))

    @classmethod
    def of_record(cls, record: dict) -> Intake:
        return cls(channel=record["channel"], received_at=record["received_at"],
                   headers=record["headers"], body_b64=record["body_b64"],
                   client=record.get("client", "unknown"), body_size=record.get("body_size", -1))

    @property
    def raw_body(self) -> bytes:
        return base64.b64decode(self.body_b64)

    @property
    def size(self) -> int:
        return self.body_size if self.body_size >= 0 else len(self.raw_body)

    def check_size(self) -> None:
        """Refuse a body over its channel's cap, before anything reads it."""
        most = MAX_BODY_BYTES[self.channel]
        if self.size > most:
            raise PayloadTooLarge(f"通知报文过大（{self.size} 字节，上限 {most} 字节）",
                                  {"body": f"{self.size} bytes; at most {most}"})

    def record(self, outcome: str, detail: str | None = None,
               payment_code: str | None = None) -> dict:
        """The archive's record of a verified notification: everything, as received."""
        return {"channel": self.channel, "received_at": self.received_at,
                "headers": self.headers, "body_b64": self.body_b64, "outcome": outcome,
                "detail": detail, "payment_code": payment_code, "client": self.client}

    def rejected_record(self, detail: str) -> dict:
        """The short-lived store's record of a refused notification: bounded in every part."""
        kept = self.raw_body[:REJECTED_BODY_PREFIX]
        headers: dict[str, str] = {}
        budget = REJECTED_HEADERS_BUDGET
        for name, value in list(self.headers.items())[:REJECTED_HEADERS]:
            name, value = str(name)[:REJECTED_HEADER_CHARS], str(value)[:REJECTED_HEADER_CHARS]
            if len(name) + len(value) > budget:
                break
            headers[name] = value
            budget -= len(name) + len(value)
        return {"channel": self.channel, "received_at": self.received_at,
                "headers": headers, "body_b64": base64.b64encode(kept).decode("ascii"),
                "body_size": self.size, "body_truncated": len(kept) < self.size,
                "outcome": "rejected", "detail": detail[:REJECTED_DETAIL_CHARS],
                "payment_code": None, "client": self.client[:64]}


def key_of(record: dict, prefix: str = INTAKE_PREFIX) -> str:
    digest = hashlib.sha256(record["body_b64"].encode()).hexdigest()[:16]
    at = record["received_at"]
    stamp = at[:26].replace(":", "").replace("-", "").replace(".", "")
    return f"{prefix}/{record['channel']}/{at[:10]}/{stamp}-{digest}.json"


def _encode(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True).encode()


def keep(deps: Ports, record: dict) -> str:
    """Archive one verified notification's record (idempotent: the key follows from it)."""
    if record.get("outcome") == "rejected":  # never: a refusal has no place in the archive
        raise ValueError("a refused notification is kept by keep_rejected, not archived")
    key = key_of(record)
    deps.archive.put_once(key, _encode(record), "application/json")
    return key


def _within_caps(deps: Ports, intake: Intake) -> bool:
    """Count one refusal; False once its client's or its channel's hour is full."""
    now = deps.clock().astimezone(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    expires = int((hour + timedelta(hours=2)).timestamp())
    stamp = f"{hour:%Y%m%d%H}"
    client = client_key(intake.client)
    if deps.counters.next_value(f"rejected-intake#client#{client}#{stamp}",
                                expires) > REJECTED_PER_CLIENT_PER_HOUR:
        return False
    return deps.counters.next_value(f"rejected-intake#channel#{intake.channel}#{stamp}",
                                    expires) <= REJECTED_PER_CHANNEL_PER_HOUR


def keep_rejected(deps: Ports, intake: Intake, detail: str) -> str | None:
    """Keep a refused notification in the short-lived store, within the caps.

    Returns its key, or None when a cap was reached or the store failed (both logged): keeping
    a refusal is diagnostics, and never changes what the channel is answered.
    """
    try:
        if not _within_caps(deps, intake):
            log.warning("%s notification from %s refused and not kept (hourly cap): %s",
                        intake.channel, intake.client[:64], detail[:REJECTED_DETAIL_CHARS])
            return None
        record = intake.rejected_record(detail)
        key = key_of(record, REJECTED_PREFIX)
        deps.rejected_intake.put_once(key, _encode(record), "application/json")
        return key
    except Exception:  # noqa: BLE001 - best effort: the refusal stands whatever happens here
        log.exception("%s notification refused; keeping its record failed", intake.channel)
        return None
