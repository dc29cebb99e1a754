"""Bills issued directly (直接开票): money a collecting unit received itself, by other means than
a payment note (往来结算, 捐赠, 医疗, cash at a window), billed on request (``POST /v1/bills``).

The request is a note's body (payer, items within the unit's fee items, total, bill kind,
remark) plus how and when the money came: ``paid_by`` (``cash | transfer | pos | other``) and
``paid_at`` (ISO 8601 with offset; now when absent). A due date and a pay-link text make no
sense for money already received, so they are refused. Behind it stands an ordinary note, paid
at once with a payment of channel ``paid_by`` that no channel order precedes (like an agent
bank's), so the bill is numbered, signed, archived, verified, reimbursed and reversed like any
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import ValidationFailed

PAID_BY = ("cash", "transfer", "pos", "other")  # the payment channels of directly issued bills
NOT_FOR_DIRECT = ("due_date", "notify_payer")
OLDEST_PAYMENT = timedelta(days=366)  # a bill for money received more than a year ago: refused


@dataclass(frozen=True)
class DirectPayment:
    """How and when the unit received the money: the payment the bill records."""

    paid_by: str
    paid_at: str  # ISO 8601, +08:00


def read_direct_payment(body: object, now: datetime) -> DirectPayment:
    """``paid_by`` and ``paid_at`` of a direct-bill request; one ``ValidationFailed`` naming
    every field that is wrong (the note fields are checked as a note's)."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    fields: dict[str, str] = {}
    paid_by = body.get("paid_by")
    if not isinstance(paid_by, str) or paid_by not in PAID_BY:
        fields["paid_by"] = f"required, one of {' | '.join(PAID_BY)}"
    paid_at = now
    raw = body.get("paid_at")
    if raw is not None:
        try:
            if not isinstance(raw, str) or len(raw) > 40:
                raise ValueError(raw)
            paid_at = datetime.fromisoformat(raw)
            if paid_at.tzinfo is None:
                raise ValueError(raw)
        except ValueError:
            fields["paid_at"] = "must be a time in ISO 8601 with its offset (+08:00)"
        else:
            if paid_at > now:
                fields["paid_at"] = "must not be in the future"
            elif paid_at < now - OLDEST_PAYMENT:
                fields["paid_at"] = "must be within the last 366 days"
    for name in NOT_FOR_DIRECT:
        if name in body:
            fields[name] = "not for a directly issued bill: the money is already received"
    if fields:
        raise ValidationFailed("请求参数有误", fields)
    assert isinstance(paid_by, str)
    return DirectPayment(paid_by=paid_by,
                         paid_at=paid_at.astimezone(CHINA_TZ).isoformat(timespec="seconds"))
