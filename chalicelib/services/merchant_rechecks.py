"""A merchant's cancelled Alipay authorisation, found when Alipay says so, not the next morning.

Alipay's open platform posts ``alipay.open.auth.appauth.cancelled`` (第三方应用授权取消消息) to
our application gateway (``/callbacks/alipay/gateway``) when a merchant cancels its
authorisation of our application. Two halves:

- **The message** (``record_alipay_message``, in the callbacks function): its body capped as the
  other callbacks' are, then verified like a payment notice (``adapters/alipay/messages``: RSA2
  over the sorted fields; ``app_id`` ours), then queued: one conditional write of this job's
  ``JobState`` (``job#merchant-rechecks`` in the counters table, on the version read) that adds
  the message to ``pending`` and its ``notify_id`` to ``seen``. A ``notify_id`` seen in the last
  ``SEEN_DAYS`` queues nothing more (Alipay sends a message again until it is answered
  ``success``). Nothing calls Alipay here; ``success`` is answered once the write is done, a
  5xx (Alipay sends it again) when it cannot be.
- **The re-check** (``recheck_cancelled``), run by the merchant check's own schedule
  (``scheduled_check``: every 5 minutes, before the day's round, in the function whose reserved
  concurrency of 1 keeps it from overlapping the round): the pending messages become one
  pass. What the messages name (PIDs, app_ids, token digests: hints, since the message's content
  is not documented where we could read it) is matched against every unit's Alipay merchant;
  a message naming exactly one unit has that unit checked first, and if Alipay then says that
  unit's authorisation no longer holds the message is explained. Unless every message of the
  pass is, every other unit with an Alipay merchant of its own is checked too, from page to
  page and slice to slice as the round goes (``merchant_checks.walk``). Each unit is checked
  exactly as the round checks it (``merchant_checks.check_units``: the same Alipay query, the
  same conditional write and audit entries, ``AT_ONCE`` at a time); when the pass ends with a
  unit that has a warning, their count is published as ``MerchantCredentialsDue`` (the alarm
  takes the day's maximum, so a re-check can raise it, and never publishes a 0 that would only
  count the Alipay units).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import Conflict, PayloadTooLarge, ServiceUnavailable
from chalicelib.domain.merchants import AuthorisationCancelled, names_merchant, token_digest
from chalicelib.domain.units import Unit
from chalicelib.services.intake import MAX_BODY_BYTES
from chalicelib.services.merchant_checks import (
    METRIC,
    PAGE,
    RESERVE_SECONDS,
    CheckReport,
    alipay_authorised,
    check_merchant_credentials_slice,
    check_units,
    raise_if_failed,
    walk,
)
from chalicelib.services.merchants import open_token
from chalicelib.services.ports import MerchantAuthority, Ports

log = logging.getLogger(__name__)
JOB = "merchant-rechecks"  # its JobState: pending messages, notify_ids seen, the pass under way
SEEN_DAYS = 7  # a notify_id delivered again within this queues nothing more
SEEN_MOST = 1000  # notify_ids remembered, at most (the newest)
PENDING_MOST = 100  # messages kept with their hints; past that, a pass re-checks everyone
QUEUED_MOST = 500  # messages waiting, at most (the newest; past PENDING_MOST none has hints)
SAVE_TRIES = 5


def record_alipay_message(deps: Ports, raw_body: bytes, content_type: str,
                          client: str = "unknown") -> str:
    """A message Alipay posted to our application gateway: ``queued`` (a cancellation, its
    re-check now pending), ``repeated`` (that notify_id was queued already) or ``ignored``
    (another message). ``PayloadTooLarge`` before any verification work; ``SignatureInvalid``
    when Alipay did not sign it for us; ``ServiceUnavailable`` when it could not be queued."""
    most = MAX_BODY_BYTES["alipay"]
    if len(raw_body) > most:
        raise PayloadTooLarge(f"消息报文过大（{len(raw_body)} 字节，上限 {most} 字节）",
                              {"body": f"{len(raw_body)} bytes; at most {most}"})
    message = deps.messages("alipay").message(raw_body, {"Content-Type": content_type},
                                              deps.clock())
    if message.cancelled is None:
        log.info("alipay message %s (%s) from %s ignored", message.method, message.notify_id,
                 client)
        return "ignored"
    if not queue_recheck(deps, message.cancelled):
        log.info("alipay cancellation %s again: its re-check was queued already",
                 message.notify_id)
        return "repeated"
    log.info("alipay cancellation %s queued (hints: %d PIDs, %d app_ids, %d tokens)",
             message.notify_id, len(message.cancelled.merchant_ids),
             len(message.cancelled.app_ids), len(message.cancelled.token_digests))
    return "queued"


def queue_recheck(deps: Ports, cancelled: AuthorisationCancelled) -> bool:
    """Add the message to the pending re-checks unless its notify_id was seen: True if added
    (one conditional write), False if seen already."""
    now = deps.clock()

    def add(state: dict[str, Any]) -> dict[str, Any] | None:
        seen = _recent(state.get("seen", {}), now)
        if cancelled.notify_id in seen:
            return None
        seen[cancelled.notify_id] = china_iso(now)
        pending = list(state.get("pending", []))
        kept = len(pending) < PENDING_MOST
        pending.append({"notify_id": cancelled.notify_id, "received_at": china_iso(now),
                        "merchant_ids": list(cancelled.merchant_ids) if kept else [],
                        "app_ids": list(cancelled.app_ids) if kept else [],
                        "token_digests": list(cancelled.token_digests) if kept else []})
        return {**state, "seen": seen, "pending": pending[-QUEUED_MOST:]}

    return _update(deps, add)


def scheduled_check(deps: Ports, seconds_left: Callable[[], float]) -> CheckReport:
    """The merchant check's scheduled slice: pending re-checks first, then the day's round
    (``check_merchant_credentials_slice``); ``MerchantCheckFailed`` once both have run if a
    unit's check failed. The round's report."""
    rechecked = recheck_cancelled(deps, seconds_left)
    report = check_merchant_credentials_slice(deps, seconds_left)
    raise_if_failed(rechecked)
    return report


def recheck_cancelled(deps: Ports, seconds_left: Callable[[], float],
                      page: int = PAGE) -> CheckReport:
    """Go on with the re-check under way, or start one over the pending messages (module
    docstring): what this slice of it did (``idle`` when there was none; ``round_finished``
    when the pass ended)."""
    state, _ = deps.job_state.load(JOB)
    work = state.get("pass")
    if not work and not state.get("pending"):
        return CheckReport(idle=True)
    if seconds_left() <= RESERVE_SECONDS:
        return CheckReport(round_finished=False)
    if not work:
        work = _start(deps, state["pending"])
    report = CheckReport(round_finished=False)
    authority: list[MerchantAuthority | None] = []
    finished = False
    if not work["walking"]:  # the units the messages name, first, all in this slice
        named = _named_units(deps, [_cancelled(m) for m in work["messages"]], page)
        firsts = list({u.unit_code: u for u in named.values()}.values())
        checked = check_units(deps, firsts, authority, report, seconds_left)
        explained = {code for code in checked if _no_longer_held(deps.units.get(code))}
        finished = bool(named) and len(named) == len(work["messages"]) and all(
            u.unit_code in explained for u in named.values())
        work.update(walking=True, first=sorted(checked))
        log.info("alipay cancellations %s: %d named units checked first, %s",
                 [m["notify_id"] for m in work["messages"]], len(checked),
                 "each explained" if finished else "every Alipay merchant is checked")
    if not finished:
        first = set(work["first"])
        after, done, finished = walk(
            deps, work["after"], set(work["done"]), authority, report, seconds_left, page,
            wanted=lambda u: alipay_authorised(u) and u.unit_code not in first)
        work.update(after=after, done=sorted(done))
    totals = {name: work["totals"].get(name, 0) + value
              for name, value in report.counts().items()}
    work.update(totals=totals, slices=work["slices"] + 1)
    report.round_finished = finished
    if finished:
        if totals["due"]:
            deps.metrics.put_count(METRIC, totals["due"])
        log.info("alipay cancellations re-checked: %s", work)
    _update(deps, lambda s: {**s, "pass": None if finished else work})
    log.info("merchant re-check slice: %s", report)
    return report


def _start(deps: Ports, pending: list[dict]) -> dict[str, Any]:
    """A pass over the pending messages, saved before any unit is checked (they leave
    ``pending`` in the same write)."""
    taken = {m["notify_id"] for m in pending}
    work = {"messages": pending, "started_at": china_iso(deps.clock()), "walking": False,
            "first": [], "after": None, "done": [], "totals": {}, "slices": 0}

    def begin(state: dict[str, Any]) -> dict[str, Any]:
        left = [m for m in state.get("pending", []) if m["notify_id"] not in taken]
        return {**state, "pending": left, "pass": work}

    _update(deps, begin)
    return work


def _cancelled(entry: dict) -> AuthorisationCancelled:
    return AuthorisationCancelled(
        notify_id=entry["notify_id"], merchant_ids=tuple(entry.get("merchant_ids", ())),
        app_ids=tuple(entry.get("app_ids", ())),
        token_digests=tuple(entry.get("token_digests", ())))


def _named_units(deps: Ports, messages: list[AuthorisationCancelled],
                 page: int) -> dict[str, Unit]:
    """notify_id → the one unit whose Alipay merchant the message names (messages that name
    none, or more than one, are left out). Reads the whole listing only when some message
    names anything."""
    hinted = [m for m in messages if m.hints]
    if not hinted:
        return {}
    digests = any(m.token_digests for m in hinted)
    matches: dict[str, list[Unit]] = {m.notify_id: [] for m in hinted}
    after: str | None = None
    while True:
        units, after = deps.units.in_region("", page, after)
        for unit in units:
            mine = unit.merchant("alipay")
            if mine is None or not mine.sealed_token:
                continue
            digest = ""
            if digests:
                try:
                    digest = token_digest(open_token(deps, unit.unit_code, "alipay",
                                                     mine.sealed_token))
                except (InvalidTag, ValueError):
                    log.warning("unit %s: its Alipay token cannot be opened", unit.unit_code)
            for message in hinted:
                if names_merchant(message, mine, digest):
                    matches[message.notify_id].append(unit)
        if after is None:
            break
    return {notify_id: found[0] for notify_id, found in matches.items() if len(found) == 1}


def _no_longer_held(unit: Unit | None) -> bool:
    """Whether the unit's Alipay authorisation is now known not to hold (or is gone)."""
    mine = unit.merchant("alipay") if unit is not None else None
    return mine is None or not mine.sealed_token or bool(mine.token_invalid)


def _recent(seen: dict[str, str], now: datetime) -> dict[str, str]:
    since = now - timedelta(days=SEEN_DAYS)
    kept = {k: v for k, v in seen.items() if datetime.fromisoformat(v) >= since}
    return dict(sorted(kept.items(), key=lambda kv: kv[1])[-SEEN_MOST:])


def _update(deps: Ports, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> bool:
    """Apply ``change`` to the saved state by one conditional write (read again and redone
    when another write came first): False when ``change`` says nothing is to be written."""
    for _ in range(SAVE_TRIES):
        state, version = deps.job_state.load(JOB)
        changed = change(state)
        if changed is None:
            return False
        try:
            deps.job_state.save(JOB, changed, version)
            return True
        except Conflict:
            continue
    raise ServiceUnavailable("暂时无法登记，请重试")
