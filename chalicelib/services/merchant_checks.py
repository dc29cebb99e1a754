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

The job, in one pass over the units (the region listing, 500 a page):

- each Alipay merchant's answer from Alipay is kept by one conditional write
  (``UnitRepository.replace_merchant``: only while the unit still has the very merchant the job
  read, so a finance admin's PUT or DELETE meanwhile wins and the job's answer is dropped),
  audited ``check_merchant`` with the job as who, only when something changed; Alipay
  unreachable (or not configured) changes nothing, and what the unit already showed stays;
- each unit with a warning left (expiring, expired or invalid) gets one ``merchant_warning``
  audit event a day, with the warnings (so the finance console's audit pages show it), and is
  counted;
- the count is published as the metric ``MerchantCredentialsDue`` (``ports.Metrics``), which
  the operations alarm watches (``infra/resources.json``: above 0 it mails the alarm topic).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import cast

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.merchants import UnitMerchant, checked_authorisation, expiry_warnings
from chalicelib.domain.units import Unit
from chalicelib.services.changes import record_change
from chalicelib.services.merchants import open_token
from chalicelib.services.ports import MerchantAuthority, Ports

log = logging.getLogger(__name__)
WHO = "job:check_merchant_credentials"  # the audit log's client of what the job records
METRIC = "MerchantCredentialsDue"
WARNED = "merchant_warning"  # the audit action of a unit's warnings, once a day
PAGE = 500


@dataclass
class CheckReport:
    """What one run did: units read, Alipay merchants asked about, answers kept, answers
    dropped because the merchant changed meanwhile, merchants Alipay could not be asked about,
    units with a warning (the metric), and warnings audited this run."""

    units: int = 0
    asked: int = 0
    updated: int = 0
    superseded: int = 0
    unasked: int = 0
    due: int = 0
    audited: int = 0


def check_merchant_credentials(deps: Ports) -> CheckReport:
    """The daily job (module docstring); its report, also logged."""
    report = CheckReport()
    authority: list[MerchantAuthority | None] = []  # built on the first Alipay merchant
    after: str | None = None
    while True:
        units, after = deps.units.in_region("", PAGE, after)
        for unit in units:
            report.units += 1
            unit = _alipay_checked(deps, unit, authority, report)
            warnings = expiry_warnings(unit.merchants, deps.clock())
            if warnings:
                report.due += 1
                report.audited += _audit_once(deps, unit.unit_code, warnings)
        if after is None:
            break
    deps.metrics.put_count(METRIC, report.due)
    log.info("merchant credentials checked: %s", report)
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


def _alipay_checked(deps: Ports, unit: Unit, built: list[MerchantAuthority | None],
                    report: CheckReport) -> Unit:
    """``unit`` as it stands once Alipay's answer about its authorisation is kept (or the
    unit as it is now, re-read, when a change came first)."""
    mine = unit.merchant("alipay")
    if mine is None or not mine.sealed_token:
        return unit
    authority = _authority(deps, built)
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
