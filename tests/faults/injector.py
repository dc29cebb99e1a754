"""Faults in AWS calls, injected through botocore's own events.

``Faults`` fails a share of the HTTP requests the product's AWS clients send, drawn from a
seeded ``random.Random`` (a run is reproducible), in three ways:

- a refusal (throttling, or a 500/503) answered at ``before-send``, in the protocol of the
  service (JSON, REST-XML or query XML): nothing happened, and botocore's own retry policy
  sees it exactly as it would see AWS's answer;
- a connection timeout raised at ``before-send``: nothing happened; botocore retries it too;
- a read timeout raised at ``after-call``, once the service did the work: the write happened
  and the product cannot know. No SDK retry hides this one; the product must.

``Crash`` stops the process between two steps: it is a ``BaseException``, so no ``except
Exception`` in the product catches it, as none would catch a Lambda that ran out of time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

# (status, code) that services answer when busy or failing; each changed nothing.
REFUSALS = ((400, "ThrottlingException"), (400, "ProvisionedThroughputExceededException"),
            (500, "InternalServerError"), (503, "ServiceUnavailable"))
S3_REFUSALS = ((503, "SlowDown"), (500, "InternalError"), (503, "ServiceUnavailable"))
# Calls whose effect reaches a person: a lost answer after such a call would duplicate a text
# message, which no store can take back, so only "nothing happened" faults are drawn for them.
OUTSIDE_EFFECTS = {"Publish"}


class Crash(BaseException):
    """The process stops here (raised between two steps of a job)."""


@dataclass
class Faults:
    rate: float = 0.2
    seed: int = 20260615
    active: bool = False
    injected: dict[str, int] = field(default_factory=dict)
    points: dict[tuple[str, str], int] = field(default_factory=dict)  # (operation, kind) hit
    requests: int = 0
    waited_for_claims: int = 0  # client retries that waited for a stale idempotency claim

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def hooks(self) -> dict[str, Any]:
        return {"before-send": self.before_send, "after-call": self.after_call}

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def before_send(self, request, event_name: str = "", **_: Any) -> AWSResponse | None:
        if not self.active:
            return None
        self.requests += 1
        if self._random.random() >= self.rate:
            return None
        _, service, operation = (event_name.split(".") + ["", "", ""])[:3]
        kinds = ["refusal", "connect_timeout"]
        if operation not in OUTSIDE_EFFECTS:
            kinds.append("read_timeout_after_work")
        kind = self._random.choice(kinds)
        self._count(kind)
        self.points[(operation, kind)] = self.points.get((operation, kind), 0) + 1
        if kind == "connect_timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        if kind == "read_timeout_after_work":
            request.context["fault_after_call"] = True
            return None
        request.context[REFUSED] = True  # moto's own stub must not do the work (see below)
        return refusal(service, self._random)

    def after_call(self, model, context=None, **_: Any) -> None:
        if context is not None and context.pop("fault_after_call", False):
            raise ReadTimeoutError(endpoint_url=f"https://{model.service_model.endpoint_prefix}")


REFUSED = "fault_refused"


class SdkBackoff:
    """Stands in for the ``time`` module botocore's endpoint sleeps with between retries: the
    back-off is counted, not slept (exponential, up to 20 s each: a storm of faults would
    otherwise spend its time asleep). The product's own clock is the world's, not this."""

    slept = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


def skip_sdk_backoff(monkeypatch) -> SdkBackoff:
    import botocore.endpoint

    backoff = SdkBackoff()
    monkeypatch.setattr(botocore.endpoint, "time", backoff)
    return backoff


def moto_honours_refusals(monkeypatch) -> None:
    """botocore calls every ``before-send`` handler and takes the first answer: moto's stub
    would still carry out a request our hook refused. Make it skip those (once each: a retry
    of the same request is drawn again)."""
    from moto.core.botocore_stubber import BotocoreStubber

    serve = BotocoreStubber.__call__

    def unless_refused(self, event_name: str, request, **kwargs: Any):
        if request.context.pop(REFUSED, False):
            return None
        return serve(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", unless_refused)


def refusal(service: str, draw: random.Random) -> AWSResponse:
    """A busy or failing service's answer, in its protocol, for botocore to parse."""
    if service == "s3":
        status, code = draw.choice(S3_REFUSALS)
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>"
        headers = {"Content-Type": "application/xml"}
    elif service in ("sns",):
        status, code = draw.choice(REFUSALS)
        body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
                "<Message>injected</Message></Error></ErrorResponse>")
        headers = {"Content-Type": "text/xml"}
    else:  # the JSON protocols: DynamoDB, SQS, KMS, Secrets Manager
        status, code = draw.choice(REFUSALS)
        body = json.dumps({"__type": code, "message": "injected"})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error":
                   f"{code};Receiver"}
    return AWSResponse(url="https://fault.invalid", status_code=status, headers=headers,
                       raw=MockRawResponse(body))


@dataclass
class CrashAt:
    """Stop the process at the ``at``-th AWS call of a block, before or after it is made.

    Calls may nest (botocore's S3 redirector makes a call inside a call), so each ``after-call``
    is matched to its own ``before-call`` by a stack, not by a running count.
    """

    at: int
    after: bool = False
    active: bool = False
    seen: int = 0
    calls: list[str] = field(default_factory=list)
    _open: list[int] = field(default_factory=list)

    def hooks(self) -> dict[str, Any]:
        return {"before-call": self.before_call, "after-call": self.after_call}

    def before_call(self, model, **_: Any) -> None:
        if not self.active:
            return
        self.seen += 1
        self.calls.append(model.name)
        self._open.append(self.seen)
        if self.seen == self.at and not self.after:
            raise Crash(f"crash before {model.name}")

    def after_call(self, model, **_: Any) -> None:
        if not self.active or not self._open:
            return
        if self._open.pop() == self.at and self.after:
            raise Crash(f"crash after {model.name}")
