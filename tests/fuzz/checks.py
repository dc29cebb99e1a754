"""What every fuzzed request must satisfy, and the tally the closing note reports.

1. No status of 500 or above (and no trace in any body).
2. Every 4xx in the contract's shape ``{"error": {"code": snake_case, "message": str,
   "fields": dict}}``; a page, a page path, or a browser posting a form may get an HTML page
   instead (``text/html``, as ``chalicelib/api/refusals.py`` words it), and a channel's
   notification URL answers in that channel's own way (WeChat ``{"code": "FAIL",
   "message"}``, Alipay and UnionPay the text ``fail``).
3. A refused request (status ≥ 400) changes no state. Allowed to change, because refusing is
   itself what they record: rate-limit counters (the counters table, except the payment-code
   sequence and the range allocation marks), the audit log (refused lookups are audited),
   login-code attempt counts (an ``UpdateItem`` of the OTP table), a console account's failed
   sign-ins (an ``UpdateItem`` of the people table; a wrong current password on the account
   page counts as one) and the sessions a lockout ends (a ``DeleteItem`` of a session row),
   the short-lived store of
   rejected notifications (its own bucket), and the intake log (``intake/`` in the archive) of
   a notification whose channel signature held: only the channel can send one, and what it
   said about money is kept even when we cannot apply it (an order we do not know). An agent
   bank's correctly signed payment that cannot be applied (wrong amount, note not payable) is
   answered 409 *and* recorded as an exception to refund: the money has moved, so its writes
   to the payments table and the intake log are the point, not a leak.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.api.refusals import wants_page
from tests.fuzz.routes import Request
from tests.fuzz.writes import Write

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
DOMAIN_TABLES = ("UNITS", "FEE_ITEMS", "NOTES", "IDEMPOTENCY", "CHANNEL_ORDERS", "PAYMENTS",
                 "BILLS", "SIGNING_KEYS", "REIMBURSEMENTS", "NUMBER_RANGES", "SMS_LOG")
DOMAIN_COUNTERS = ("payment-code#", "range-alloc#")


@dataclass
class Tally:
    sent: Counter = field(default_factory=Counter)  # by family
    statuses: Counter = field(default_factory=Counter)  # by (family, status)
    server_errors: Counter = field(default_factory=Counter)  # by family
    by_route: Counter = field(default_factory=Counter)  # by (route, method, status)

    def add(self, request: Request, status: int) -> None:
        self.sent[request.family] += 1
        self.by_route[(request.route, request.method, status)] += 1
        self.statuses[(request.family, status)] += 1
        if status >= 500:
            self.server_errors[request.family] += 1


TALLY = Tally()


class LastErrors(logging.Handler):
    """The log records of errors during one request (the app logs every escaped exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _header(response: Any, name: str) -> str:
    for key, value in (response.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def is_contract_error(body: Any) -> bool:
    if not isinstance(body, dict) or set(body) != {"error"}:
        return False
    error = body["error"]
    return (isinstance(error, dict) and {"code", "message", "fields"} <= set(error)
            and isinstance(error["code"], str) and bool(SNAKE.match(error["code"]))
            and isinstance(error["message"], str) and bool(error["message"])
            and isinstance(error["fields"], dict))


def shape_problem(request: Request, response: Any) -> str | None:
    """Why a 4xx answer is not in a shape its route may use, or None."""
    body = response.body or b""
    content_type = _header(response, "content-type")
    parsed = _json(body) if "json" in content_type else None
    if parsed is not None and is_contract_error(parsed):
        return None
    if content_type.startswith("text/html") and (
            request.kind == "page" or wants_page(request.path, request.method, request.headers)):
        return None
    if request.kind == "wechatpay" and isinstance(parsed, dict) and parsed.get("code") == "FAIL" \
            and isinstance(parsed.get("message"), str):
        return None
    if request.kind in ("alipay", "unionpay") and body == b"fail":
        return None
    return f"{response.status_code} {content_type!r} is not the contract's error: {body[:300]!r}"


def allowed_write(write: Write, request: Request, response: Any, deps: Any) -> bool:
    settings = deps.settings
    tables = {settings.table(name): name for name in settings.tables}
    if write.service == "dynamodb":
        name = tables.get(write.where)
        if name == "COUNTERS":
            return not write.key.startswith(DOMAIN_COUNTERS)
        if name == "AUDIT":
            return True
        if name == "OTP":
            return write.operation == "UpdateItem"
        if name == "PEOPLE":  # a refused sign-in counts the account's failure (and locks it,
            # ending its sessions); a wrong current password on the account page is one too
            if request.route not in ("/console/sign-in", "/console/me/password",
                                     "/console/me/totp"):
                return False
            return write.operation == "UpdateItem" or (
                write.operation == "DeleteItem" and write.key.startswith("session#"))
        if name == "PAYMENTS":
            return _bank_exception(request, response)
        return False
    if write.service == "s3":
        if write.where == getattr(settings, "rejected_intake_bucket", None):
            return True
        signed = request.family.startswith("callbacks_") and request.family != "callbacks_junk"
        return (write.where == settings.archive_bucket and write.key.startswith("intake/")
                and signed and (response.status_code == 404
                                or _bank_exception(request, response)))
    return False


def _bank_exception(request: Request, response: Any) -> bool:
    """An agent bank's payment recorded as an exception to refund (answered 409)."""
    if request.kind != "bank" or response.status_code != 409:
        return False
    body = _json(response.body or b"") or {}
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("result") in ("amount_mismatch",
                                                               "note_not_payable")


def check(request: Request, response: Any, writes: list[Write], deps: Any,
          logged: list[str]) -> None:
    status = response.status_code
    TALLY.add(request, status)
    trail = ("\n  logged: " + "\n".join(logged)[-3000:]) if logged else ""
    assert status < 500, f"{status} for {request!r}\n  answer: {response.body[:500]!r}{trail}"
    assert b"Traceback (most recent call last)" not in (response.body or b""), request
    if 400 <= status < 500:
        problem = shape_problem(request, response)
        assert problem is None, f"{problem}\n  for {request!r}"
    if status >= 400:
        leaked = [str(w) for w in writes if not allowed_write(w, request, response, deps)]
        assert not leaked, (f"refused ({status}) yet wrote {leaked}\n  for {request!r}"
                            f"\n  answer: {response.body[:300]!r}")
