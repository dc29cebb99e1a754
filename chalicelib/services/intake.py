"""The intake log: every notification a channel sent us, as received, with what became of it.

Each record holds the raw body (base64), the headers, the time it arrived, the verification
outcome and what it changed; it is kept in the archive bucket (write-once, Object Lock) under
``intake/{channel}/{day}/{time}-{digest}.json``. To keep the acknowledgement path at two AWS
calls, the record of an accepted payment rides on the issuance job, which archives it first;
rejected, ignored and exceptional notifications are archived at once. ``replay`` runs a kept
notification through its channel's handler again, with the clock set to when it arrived.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.bootstrap import Deps

log = logging.getLogger(__name__)
_DROPPED_HEADERS = {"authorization", "cookie", "x-amz-security-token"}


@dataclass(frozen=True)
class Intake:
    channel: str
    received_at: str
    headers: dict[str, str]
    body_b64: str

    @classmethod
    def receive(cls, deps: Deps, channel: str, raw_body: bytes,
                headers: Mapping[str, str]) -> Intake:
        return cls(channel=channel, received_at=deps.clock().isoformat(timespec="microseconds"),
                   headers={k: v for k, v in headers.items()
                            if k.lower() not in _DROPPED_HEADERS},
                   body_b64=base64.b64encode(raw_body).decode("ascii"))

    @property
    def raw_body(self) -> bytes:
        return base64.b64decode(self.body_b64)

    def record(self, outcome: str, detail: str | None = None,
               payment_code: str | None = None) -> dict:
        return {"channel": self.channel, "received_at": self.received_at,
                "headers": self.headers, "body_b64": self.body_b64, "outcome": outcome,
                "detail": detail, "payment_code": payment_code}


def key_of(record: dict) -> str:
    digest = hashlib.sha256(record["body_b64"].encode()).hexdigest()[:16]
    at = record["received_at"]
    stamp = at[:26].replace(":", "").replace("-", "").replace(".", "")
    return f"intake/{record['channel']}/{at[:10]}/{stamp}-{digest}.json"


def keep(deps: Deps, record: dict) -> str:
    """Archive one intake record (idempotent: the key follows from the record)."""
    key = key_of(record)
    deps.archive.put_once(key, json.dumps(record, ensure_ascii=False, sort_keys=True).encode(),
                          "application/json")
    return key


def replay(deps: Deps, key: str) -> str:
    """Run a kept notification through its channel's handler again, as of its arrival."""
    from chalicelib.services import payments

    record = json.loads(deps.archive.get(key))
    intake = Intake(channel=record["channel"], received_at=record["received_at"],
                    headers=record["headers"], body_b64=record["body_b64"])
    arrived = datetime.fromisoformat(record["received_at"])
    as_then = replace(deps, clock=lambda: arrived, overrides=deps.overrides)
    handlers = {"wechatpay": lambda: payments.record_wechatpay(
                    as_then, intake.raw_body, intake.headers),
                "alipay": lambda: payments.record_alipay(
                    as_then, intake.raw_body, _header(intake.headers, "content-type")),
                "unionpay": lambda: payments.record_unionpay(
                    as_then, intake.raw_body, _header(intake.headers, "content-type")),
                "bank": lambda: payments.record_bank(as_then, intake.raw_body, intake.headers)}
    outcome = handlers[intake.channel]()
    log.info("replayed %s: %s", key, outcome.value)
    return outcome.value


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")
