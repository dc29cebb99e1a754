"""A collecting unit's own merchant numbers (``domain/merchants``): set and removed by the
finance department only (a finance key, or a finance admin in the console), each change in the
audit log with who made it; and what a channel order is opened for.

A secret that comes with a merchant (Alipay's ``app_auth_token``; UnionPay's signing key and
certificate, from the PFX the finance department uploads: ``services/signing_certificates``)
is sealed before it is stored (AES-256-GCM, a key of its own derived from the deployment's
secret as the console's TOTP secrets are, the unit and channel bound in as associated data so that a sealed token cannot be
moved to another unit), and never leaves: the API, the console, the audit log and the logs
show only that one is set.

A change takes effect for orders opened after it; an order keeps the merchant it was opened
for (its query and refund use the order's), and a warm process may use its copy of the unit
for up to a minute (``adapters/cached_units``). The merchant a change replaces (another
merchant_id) or removes is retired, kept with its sealed secret while its payments may still
be refunded (``domain/merchants.after_change``, ``RETIRED_KEEP``), in the same one conditional
write as the change; the audit entry names it.

A call for a merchant whose channel needs its secret (Alipay: ``app_auth_token`` in every
request for it; UnionPay: the merId's own signing key, which signs every request for it) gets
the token opened just before the call (``authorised``,
``authorised_refund``, ``statement_merchants``), from the unit's merchant of the same
``seller_id`` as the order, current or retired (``Unit.merchant_for``): a token the unit was
given again (Alipay refreshes them) serves the orders opened before, and a retired merchant's
own token serves its orders, refunds and statements; only a merchant the unit never had, or
one dropped after its keep, cannot be asked about (``ServiceUnavailable``, logged by the
caller: its notification still records it).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace
from typing import cast

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import Conflict, NotFound, ServiceUnavailable
from chalicelib.domain.merchants import (
    WIRED,
    UnitMerchant,
    authorisation_end,
    check_authorisation,
    check_channel,
    kept_on,
    may_hold_payments,
    pfx_parts,
    read_merchant,
)
from chalicelib.domain.payments import ChannelOrder, RefundRequest
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services.changes import record_change
from chalicelib.services.phones import derive_key
from chalicelib.services.ports import MerchantAuthority, MerchantCertificateRoots, Ports
from chalicelib.services.signing_certificates import open_signing_pfx

_AAD = b"fiscal-bills/merchant-token/v1"


def _key(deps: Ports) -> bytes:
    return derive_key(deps.payer_pepper, "merchant-token")


def seal_token(deps: Ports, unit_code: str, channel: str, token: str) -> str:
    """``token`` sealed for ``unit_code`` at ``channel``: url-safe base64 of nonce ‖ sealed."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = nonce + AESGCM(_key(deps)).encrypt(nonce, token.encode(),
                                                _AAD + f"#{unit_code}#{channel}".encode())
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def open_token(deps: Ports, unit_code: str, channel: str, sealed: str) -> str:
    """The token ``seal_token`` sealed; ``InvalidTag`` if it was sealed for another unit or
    channel, or altered."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.urlsafe_b64decode(sealed)
    return AESGCM(_key(deps)).decrypt(raw[:12], raw[12:],
                                      _AAD + f"#{unit_code}#{channel}".encode()).decode()


def _collecting(unit: Unit) -> None:
    if unit.kind is not UnitKind.COLLECTING:
        raise Conflict("只有执收单位收款，报销单位不设商户号", code="not_a_collecting_unit")


def set_merchant(deps: Ports, unit: Unit, channel: str, body: object, who: str,
                 wired: tuple[str, ...] = WIRED) -> Unit:
    """The unit collects at ``channel`` into the merchant ``body`` describes, from the next
    order on. ``ValidationFailed`` naming each wrong field (``channel_not_supported`` for a
    channel where a unit cannot have its own); ``Conflict`` for a reimbursing unit. A token
    (Alipay's app_auth_token) is first shown to the channel, which must know it as a valid
    authorisation by that very merchant (its seller_id and auth_app_id; else the field is
    named, 400); a channel that cannot be asked is ``ServiceUnavailable`` (503), nothing kept."""
    merchant, token = read_merchant(channel, body, wired)
    _collecting(unit)
    if channel == "unionpay":  # the PFX opened: its key and certificate are the secret
        roots = cast(MerchantCertificateRoots, deps.channel_api(channel)).merchant_cert_roots()
        token, cert_id, cert_until = open_signing_pfx(*pfx_parts(token), deps.clock(), roots)
        merchant = replace(merchant, cert_id=cert_id, cert_until=cert_until)
    elif channel == "alipay":  # Alipay confirms whose authorisation it is before it is kept
        found = cast(MerchantAuthority, deps.channel_api(channel)).authorisation(token)
        check_authorisation(merchant, found)
        merchant = replace(merchant, token_until=authorisation_end(found))
    now = deps.clock()
    merchant = replace(merchant, since=china_iso(now),
                       sealed_token=seal_token(deps, unit.unit_code, channel, token)
                       if token else "")
    previous, written = deps.units.set_merchant(unit.unit_code, merchant, now)
    record_change(deps, who, "set_merchant", unit.unit_code, {
        "channel": channel, **_audited(merchant),
        "previous": _audited(previous) if previous else None,
        "retired": _retired(previous, merchant)})
    return written


def _retired(previous: UnitMerchant | None, new: UnitMerchant | None) -> str | None:
    """The merchant_id a change retired (None: it retired none)."""
    if previous is None or (new is not None and new.merchant_id == previous.merchant_id):
        return None
    return previous.merchant_id


def remove_merchant(deps: Ports, unit: Unit, channel: str, who: str) -> Unit:
    """The unit collects at ``channel`` into the deployment's merchant again, from the next
    order on; ``NotFound`` (``merchant_not_found``) when it has none of its own there."""
    if channel not in WIRED:
        check_channel(channel)
    if unit.merchant(channel) is None:
        raise NotFound("该单位在此渠道没有自有商户号", code="merchant_not_found")
    previous, written = deps.units.remove_merchant(unit.unit_code, channel, deps.clock())
    if previous is None:  # removed by someone else meanwhile: nothing of ours to audit
        raise NotFound("该单位在此渠道没有自有商户号", code="merchant_not_found")
    record_change(deps, who, "remove_merchant", unit.unit_code, {
        "channel": channel, "previous": _audited(previous),
        "retired": previous.merchant_id})
    return written


def _audited(merchant: UnitMerchant) -> dict:
    """What the audit log keeps of a merchant: its public view (never a token)."""
    view = merchant.public()
    view.pop("channel", None)
    return view


def merchants_view(unit: Unit) -> list[dict]:
    """The unit's own merchant numbers as the API shows them, by channel."""
    return [m.public() for m in sorted(unit.merchants, key=lambda m: m.channel)]


def retired_view(unit: Unit) -> list[dict]:
    """The merchants the unit had, kept while their payments may be refunded (no secret),
    latest retirement first."""
    return [m.public() for m in sorted(reversed(unit.retired_merchants),
                                       key=lambda m: m.retired, reverse=True)]


# The channels whose calls for a unit's own merchant carry the merchant's secret (UnionPay:
# the merId's signing key and certificate, which sign every request for it).
TOKEN_CHANNELS = ("alipay", "unionpay")


def _token(deps: Ports, payment_code: str, channel: str, merchant_id: str) -> str:
    """The opened token of the merchant ``merchant_id`` of the unit of ``payment_code``'s note
    at ``channel``, current or retired (``Unit.merchant_for``); ``ServiceUnavailable`` when the
    unit has no such merchant (never had it, or dropped it after its keep)."""
    note = deps.notes.get(payment_code)
    unit = deps.units.get(note.unit_code) if note is not None else None
    mine = unit.merchant_for(channel, merchant_id) if unit is not None else None
    if unit is None or mine is None or not mine.sealed_token:
        raise ServiceUnavailable(f"{channel} merchant {merchant_id} is not the unit's, nor one "
                                 f"it still keeps: its authorisation token is gone")
    return open_token(deps, unit.unit_code, channel, mine.sealed_token)


def authorised(deps: Ports, order: ChannelOrder) -> ChannelOrder:
    """``order`` with the token its merchant's calls carry (Alipay's app_auth_token); the
    order itself for the deployment's merchant or a channel without tokens (no read)."""
    if not order.merchant or order.channel not in TOKEN_CHANNELS or order.merchant_token:
        return order
    return replace(order, merchant_token=_token(deps, order.payment_code, order.channel,
                                                order.merchant))


def authorised_refund(deps: Ports, request: RefundRequest) -> RefundRequest:
    """``request`` with the token of the merchant the payment was made to, as ``authorised``."""
    if not request.merchant or request.channel not in TOKEN_CHANNELS:
        return request
    return replace(request, merchant_token=_token(deps, request.out_trade_no[:20],
                                                  request.channel, request.merchant))


def statement_merchants(deps: Ports, channel: str,
                        day: str) -> list[tuple[str, UnitMerchant, str]]:
    """The units' own merchants at ``channel`` whose statements of ``day`` are fetched with
    their token (Alipay: each authorised merchant's trade bill is its own; UnionPay: each
    merId's file), as (unit code, merchant, token), by seller: every current one, and each
    retired one still kept whose statement of ``day`` may hold its payments (up to
    ``RETIRED_PAYMENT_DAYS`` after its retirement) or holds a refund of ours of its payments
    (one refunds query, only when a retired merchant is past its payment days). The units are
    read by the region listing, a page of 500 at a time (a daily job's cost: one query per
    500 units)."""
    if channel not in TOKEN_CHANNELS:
        return []
    found: dict[str, tuple[str, UnitMerchant, str]] = {}
    later: list[tuple[str, UnitMerchant]] = []  # retired ones past their payment days
    after: str | None = None
    while True:
        units, after = deps.units.in_region("", 500, after)
        for unit in units:
            mine = unit.merchant(channel)
            if mine is not None and mine.sealed_token:
                found.setdefault(mine.merchant_id, (unit.unit_code, mine, ""))
            for old in unit.retired_merchants:
                if old.channel != channel or not old.sealed_token or not kept_on(old, day):
                    continue
                if may_hold_payments(old, day):
                    found.setdefault(old.merchant_id, (unit.unit_code, old, ""))
                else:
                    later.append((unit.unit_code, old))
        if after is None:
            break
    if later:
        refunded = {r.merchant for r in deps.refunds.of_day(channel, day) if r.merchant}
        for unit_code, old in later:
            if old.merchant_id in refunded:
                found.setdefault(old.merchant_id, (unit_code, old, ""))
    return [(unit_code, merchant, open_token(deps, unit_code, channel, merchant.sealed_token))
            for unit_code, merchant, _ in (found[k] for k in sorted(found))]
