"""The daily check of the units' merchant credentials (``check_merchant_credentials``, run by
the scheduled ``app.check_merchant_credentials`` at 08:00 Beijing time): who is told when what a
unit's own merchant needs to collect is ending or gone.

What ends (``domain/merchants.expiry_warnings``): a UnionPay merId's signing certificate
(``cert_until``, from the certificate itself) and an Alipay authorisation. Alipay says an
``app_auth_token`` holds until the merchant cancels the authorisation or authorises us again
(its FAQ: "没有重新授权或取消授权的情况下，app_auth_token 是永久有效的"; the token exchange's
``expires_in`` "该字段已作废，应用令牌长期有效"), so the token is not refreshed here: Alipay is
asked each day whether it still holds (``alipay.open.auth.token.app.query``, one call per unit
with an Alipay merchant), and until when (``auth_end``, kept as ``token_until``). A token Alipay
no longer holds is marked ``token_invalid`` on the merchant; one it holds again (the merchant
authorised us with the same token's PID and the finance department saved it) clears it.

The job, over every unit (the region listing, 500 a page):

- each Alipay merchant's answer from Alipay is kept by one conditional write
  (``UnitRepository.replace_merchant``: only while the unit still has the very merchant the job
  read, so a finance admin's PUT or DELETE meanwhile wins and the job's answer is dropped),
  audited ``check_merchant`` with the job as who, only when something changed; Alipay
  unreachable (or not configured) changes nothing, and what the unit already showed stays;
- retired merchants whose keep has ended (``RETIRED_KEEP``) are dropped by the same conditional
  write a merchant change makes (``UnitRepository.drop_retired``: a change landing meanwhile
  wins and the drop is redone on what it left), audited ``drop_retired_merchants``, so a unit
  no change comes to does not keep them (and their secrets) for ever;
- each unit with a warning left (expiring, expired or invalid) gets one ``merchant_warning``
  audit event a day, with the warnings (so the finance console's audit pages show it), and is
  counted;
- the count is published as the metric ``MerchantCredentialsDue`` (``ports.Metrics``), which
  the operations alarm watches (``infra/resources.json``: above 0 it mails the alarm topic).

The units of a page are checked ``AT_ONCE`` at a time (``Ports.gather``), so a page waits for
about an eighth of its Alipay round trips, not their sum. The scheduled job works in slices
(``check_merchant_credentials_slice``, every five minutes), as the archive check does: a round
starts at the first slice at or after 08:00 Beijing time on a day it has not started yet; a
slice checks units while its invocation has more than ``RESERVE_SECONDS`` left, and saves
where it stopped in ``JobState`` (the page's position and the units of that page already
checked), so the next slice goes on there and any number of units is checked once a day, each
once. The metric is published when the round ends. Between rounds a slice reads its state and
stops. A unit whose check fails (an error nothing here handles: AWS failing, a bug) is logged
and counted, the others are checked, and the slice fails once it has saved where it is
(``MerchantCheckFailed``: the job's alarm). ``check_merchant_credentials`` checks every unit at
once in one process.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import cast

from chalicelib.domain.china_time import CHINA_TZ, china_iso
from chalicelib.domain.errors import Conflict, ServiceUnavailable
from chalicelib.domain.merchants import (
    UnitMerchant,
    checked_authorisation,
    expiry_warnings,
    still_kept,
)
from chalicelib.domain.units import Unit
from chalicelib.services.changes import record_change
from chalicelib.services.merchants import open_token
from chalicelib.services.ports import MerchantAuthority, Ports
from chalicelib.services.rounds import round_state

log = logging.getLogger(__name__)
WHO = "job:check_merchant_credentials"  # the audit log's client of what the job records
METRIC = "MerchantCredentialsDue"
WARNED = "merchant_warning"  # the audit action of a unit's warnings, once a day
DROPPED = "drop_retired_merchants"  # the audit action of retired merchants dropped
PAGE = 500
AT_ONCE = 8  # units checked at once: Alipay queries in flight, at most
JOB = "check-merchant-credentials"  # its JobState
ROUND_HOUR = 8  # a round starts at the first slice at or after 08:00 Beijing time
# A slice starts no unit with less than this left of its invocation: one unit's worst case is
# an Alipay query that times out (channel_http's 10 s) and a few DynamoDB requests.
RESERVE_SECONDS = 30.0


@dataclass
class CheckReport:
    """What one run (or slice) did: units checked, Alipay merchants asked about, answers kept,
    answers dropped because the merchant changed meanwhile, merchants Alipay could not be asked
    about, units with a warning (the metric), warnings audited, retired merchants dropped past
    their keep, and units whose check failed (an error it does not handle: AWS failing, a bug;
    logged, and the run fails once it has saved where it is); for a slice, whether it ended the
    round, or found none due (``idle``)."""

    units: int = 0
    asked: int = 0
    updated: int = 0
    superseded: int = 0
    unasked: int = 0
    due: int = 0
    audited: int = 0
    dropped: int = 0
    failed: int = 0
    round_finished: bool = True
    idle: bool = False

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def add(self, other: CheckReport) -> None:
        for name, value in other.counts().items():
            setattr(self, name, getattr(self, name) + value)


COUNTS = ("units", "asked", "updated", "superseded", "unasked", "due", "audited", "dropped",
          "failed")


def check_merchant_credentials(deps: Ports, page: int = PAGE) -> CheckReport:
    """Every unit, in this one process (module docstring); its report, also logged."""
    report = CheckReport()
    authority: list[MerchantAuthority | None] = []  # built on the first Alipay merchant
    after: str | None = None
    while True:
        units, after = deps.units.in_region("", page, after)
        check_units(deps, units, authority, report, lambda: math.inf)
        if after is None:
            break
    deps.metrics.put_count(METRIC, report.due)
    log.info("merchant credentials checked: %s", report)
    raise_if_failed(report)
    return report


def check_merchant_credentials_slice(deps: Ports, seconds_left: Callable[[], float],
                                     page: int = PAGE) -> CheckReport:
    """One bounded run of the day's round, resumed where the last one stopped (module
    docstring): what this slice did."""
    now = deps.clock()
    opened = round_state(deps, JOB, now, lambda _: {
        "in_round": True, "round_started_at": china_iso(now), "after": None, "done": [],
        "totals": {}, "slices": 0})
    if opened is None:
        return CheckReport(idle=True)
    state, version = opened
    report = CheckReport(round_finished=False)
    authority: list[MerchantAuthority | None] = []
    after, done, report.round_finished = walk(deps, state["after"], set(state["done"]),
                                              authority, report, seconds_left, page)
    totals = {name: state["totals"].get(name, 0) + value
              for name, value in report.counts().items()}
    if report.round_finished:
        deps.metrics.put_count(METRIC, totals["due"])
        started = datetime.fromisoformat(state["round_started_at"])
        state = {"in_round": False, "next_round_at": china_iso(_next_round(started)),
                 "last_round": {"round_started_at": state["round_started_at"],
                                "finished_at": china_iso(now), "slices": state["slices"] + 1,
                                **totals}}
        log.info("merchant credentials round done: %s", state["last_round"])
    else:
        state.update(after=after, done=sorted(done), totals=totals, slices=state["slices"] + 1)
    deps.job_state.save(JOB, state, version)
    log.info("merchant credentials slice: %s", report)
    raise_if_failed(report)
    return report


class MerchantCheckFailed(Exception):
    """Raised at the end of a run in which some unit's check failed: the invocation fails, so
    ``MerchantCredentialsJobAlarm`` (the function's Errors) fires; the other units were checked
    and the round goes on."""


def raise_if_failed(report: CheckReport) -> None:
    if report.failed:
        raise MerchantCheckFailed(f"{report.failed} units' merchant credentials could not be "
                                  f"checked (logged above); the others were: {report}")


def _next_round(started: datetime) -> datetime:
    """The first 08:00 Beijing time after ``started``."""
    china = started.astimezone(CHINA_TZ)
    at = china.replace(hour=ROUND_HOUR, minute=0, second=0, microsecond=0)
    return at if at > china else at + timedelta(days=1)


def walk(deps: Ports, after: str | None, done: set[str],
         authority: list[MerchantAuthority | None], report: CheckReport,
         seconds_left: Callable[[], float], page: int = PAGE,
         wanted: Callable[[Unit], bool] | None = None) -> tuple[str | None, set[str], bool]:
    """Check the units of the region listing from its page after ``after`` on (of that page,
    those not in ``done``; only those ``wanted``, when given) while the invocation has more
    than ``RESERVE_SECONDS`` left: where it stopped (the page's position and the units of that
    page checked), and whether it reached the listing's end."""
    while seconds_left() > RESERVE_SECONDS:
        units, following = deps.units.in_region("", page, after)
        todo = [u for u in units if u.unit_code not in done and (wanted is None or wanted(u))]
        done |= check_units(deps, todo, authority, report, seconds_left)
        if any(u.unit_code not in done for u in todo):
            break  # time ran short within the page: the next slice checks the rest of it
        after, done = following, set()
        if after is None:
            return None, done, True
    return after, done, False


def check_units(deps: Ports, units: list[Unit], authority: list[MerchantAuthority | None],
                report: CheckReport, seconds_left: Callable[[], float]) -> set[str]:
    """Check ``units``, ``AT_ONCE`` at a time, none started with less than
    ``RESERVE_SECONDS`` left; what they did added to ``report``; the codes of those checked."""
    # Made once, before the units are checked at once: the Alipay client, the secret the
    # tokens are sealed with, the adapters the units share.
    if any(alipay_authorised(u) for u in units) and _authority(deps, authority) is not None:
        deps.payer_pepper  # noqa: B018
    deps.audit  # noqa: B018

    def check(unit: Unit) -> Callable[[], CheckReport | None]:
        def one() -> CheckReport | None:
            if seconds_left() <= RESERVE_SECONDS:
                return None
            try:
                return _check_unit(deps, unit, authority[0] if authority else None)
            except Exception:  # noqa: BLE001 - one unit must not hold up the others' round
                log.exception("unit %s: its merchant credentials could not be checked",
                              unit.unit_code)
                return CheckReport(units=1, failed=1)
        return one

    checked: set[str] = set()
    found = deps.gather(*[check(u) for u in units], at_most=AT_ONCE)
    for unit, done in zip(units, found, strict=True):
        if done is not None:
            report.add(done)
            checked.add(unit.unit_code)
    return checked


def alipay_authorised(unit: Unit) -> bool:
    """Whether the unit collects into an Alipay merchant of its own (it holds its token)."""
    mine = unit.merchant("alipay")
    return mine is not None and bool(mine.sealed_token)


def _check_unit(deps: Ports, unit: Unit, authority: MerchantAuthority | None) -> CheckReport:
    """One unit checked: Alipay asked, retired merchants past their keep dropped, its warnings
    audited once a day."""
    report = CheckReport(units=1)
    unit = _alipay_checked(deps, unit, authority, report)
    report.dropped = _drop_retired(deps, unit)
    warnings = expiry_warnings(unit.merchants, deps.clock())
    if warnings:
        report.due = 1
        report.audited = _audit_once(deps, unit.unit_code, warnings)
    return report


def _authority(deps: Ports, built: list[MerchantAuthority | None]) -> MerchantAuthority | None:
    if not built:
        try:
            built.append(cast(MerchantAuthority, deps.channel_api("alipay"))
                         if "alipay" in deps.settings.enabled_channels else None)
        except ServiceUnavailable as exc:
            log.warning("Alipay cannot be asked about the units' authorisations: %s", exc)
            built.append(None)
    return built[0]


def _alipay_checked(deps: Ports, unit: Unit, authority: MerchantAuthority | None,
                    report: CheckReport) -> Unit:
    """``unit`` as it stands once Alipay's answer about its authorisation is kept (or the
    unit as it is now, re-read, when a change came first)."""
    mine = unit.merchant("alipay")
    if mine is None or not mine.sealed_token:
        return unit
    if authority is None:
        report.unasked += 1
        return unit
    try:
        found = authority.authorisation(open_token(deps, unit.unit_code, "alipay",
                                                   mine.sealed_token))
    except ServiceUnavailable as exc:
        log.warning("unit %s: Alipay could not say whether merchant %s's authorisation holds: "
                    "%s", unit.unit_code, mine.merchant_id, exc)
        report.unasked += 1
        return unit
    report.asked += 1
    checked = checked_authorisation(mine, found, deps.clock())
    if checked == mine:
        return unit
    if not deps.units.replace_merchant(unit.unit_code, checked, mine.sealed_token):
        report.superseded += 1
        log.info("unit %s: its Alipay merchant changed while it was checked; the change stands",
                 unit.unit_code)
        return deps.units.get(unit.unit_code) or replace(unit, merchants=tuple(
            m for m in unit.merchants if m.channel != "alipay"))
    report.updated += 1
    record_change(deps, WHO, "check_merchant", unit.unit_code, {
        "channel": "alipay", **_seen(checked), "previous": _seen(mine)})
    return replace(unit, merchants=tuple(checked if m.channel == "alipay" else m
                                         for m in unit.merchants))


def _drop_retired(deps: Ports, unit: Unit) -> int:
    """Drop the unit's retired merchants whose keep has ended (when the listing shows one):
    the number dropped, audited as the job's change."""
    now = deps.clock()
    if len(still_kept(unit.retired_merchants, now)) == len(unit.retired_merchants):
        return 0
    try:
        dropped = deps.units.drop_retired(unit.unit_code, now)
    except Conflict as exc:  # changes kept landing: they drop them too, or tomorrow's run does
        log.warning("unit %s: retired merchants not dropped: %s", unit.unit_code, exc)
        return 0
    if dropped:
        record_change(deps, WHO, DROPPED, unit.unit_code,
                      {"dropped": [m.public() for m in dropped]})
    return len(dropped)


def _seen(merchant: UnitMerchant) -> dict:
    """What the audit keeps of a checked merchant: its public view (never the token)."""
    view = merchant.public()
    view.pop("channel", None)
    return view


def _audit_once(deps: Ports, unit_code: str, warnings: list[dict]) -> int:
    """Record the unit's warnings unless today's audit of the unit has them already (a retried
    or second run the same day adds nothing): 1 if recorded."""
    today = china_iso(deps.clock())[:10]
    if any(e.action == WARNED for e in deps.audit.query(unit_code=unit_code, day=today)):
        return 0
    record_change(deps, WHO, WARNED, unit_code, {"warnings": warnings}, outcome="warning")
    return 1
