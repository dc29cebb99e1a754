"""A collecting unit's own merchant numbers (``domain/merchants``): set and removed by the
finance department only (a finance key, or a finance admin in the console), each change in the
audit log with who made it; and what a channel order is opened for.

A secret that comes with a merchant (Alipay's ``app_auth_token``) is sealed before it is stored
(AES-256-GCM, a key of its own derived from the deployment's secret as the console's TOTP
secrets are, the unit and channel bound in as associated data so that a sealed token cannot be
moved to another unit), and never leaves: the API, the console, the audit log and the logs
show only that one is set.

A change takes effect for orders opened after it; an order keeps the merchant it was opened
for (its query and refund use the order's), and a warm process may use its copy of the unit
for up to a minute (``adapters/cached_units``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.merchants import WIRED, UnitMerchant, check_channel, read_merchant
from chalicelib.domain.units import Unit, UnitKind
from chalicelib.services.changes import record_change
from chalicelib.services.phones import derive_key
from chalicelib.services.ports import Ports

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
    channel where a unit cannot have its own); ``Conflict`` for a reimbursing unit."""
    merchant, token = read_merchant(channel, body, wired)
    _collecting(unit)
    merchant = replace(merchant, since=china_iso(deps.clock()),
                       sealed_token=seal_token(deps, unit.unit_code, channel, token)
                       if token else "")
    deps.units.set_merchant(unit.unit_code, merchant)
    previous = unit.merchant(channel)
    record_change(deps, who, "set_merchant", unit.unit_code, {
        "channel": channel, **_audited(merchant),
        "previous": _audited(previous) if previous else None})
    return replace(unit, merchants=(*(m for m in unit.merchants if m.channel != channel),
                                    merchant))


def remove_merchant(deps: Ports, unit: Unit, channel: str, who: str) -> Unit:
    """The unit collects at ``channel`` into the deployment's merchant again, from the next
    order on; ``NotFound`` (``merchant_not_found``) when it has none of its own there."""
    if channel not in WIRED:
        check_channel(channel)
    previous = unit.merchant(channel)
    if previous is None:
        raise NotFound("该单位在此渠道没有自有商户号", code="merchant_not_found")
    deps.units.remove_merchant(unit.unit_code, channel)
    record_change(deps, who, "remove_merchant", unit.unit_code, {
        "channel": channel, "previous": _audited(previous)})
    return replace(unit, merchants=tuple(m for m in unit.merchants if m.channel != channel))


def _audited(merchant: UnitMerchant) -> dict:
    """What the audit log keeps of a merchant: its public view (never a token)."""
    view = merchant.public()
    view.pop("channel", None)
    return view


def merchants_view(unit: Unit) -> list[dict]:
    """The unit's own merchant numbers as the API shows them, by channel."""
    return [m.public() for m in sorted(unit.merchants, key=lambda m: m.channel)]
