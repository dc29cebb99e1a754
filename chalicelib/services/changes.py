"""The audit trail of administrative changes: who changed which unit's basic information.

Every change the finance department makes (a unit, a fee item, a number range, an API key),
through the API, a command or later a console page, is appended to the audit log, which no
role may update or delete (tests/package rule ``keys_and_audit``). A change's row is keyed
``admin#unit#<unit_code>`` (``issue audit --bill admin#unit#340100003``, or ``--unit``), with
``client`` saying who and from where: ``finance:key_…@203.0.113.9`` for a finance key,
``operator:<user>`` for a command.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.records import AuditEvent
from chalicelib.services.ports import Ports


def record_change(deps: Ports, who: str, action: str, unit_code: str,
                  detail: dict[str, Any], outcome: str = "ok") -> None:
    """Append one change of ``unit_code``'s basic information to the audit log."""
    deps.audit.append(AuditEvent(bill_id=f"admin#unit#{unit_code}", unit_code=unit_code,
                                 action=action, outcome=outcome, client=who,
                                 at=china_iso(deps.clock()), detail=detail))
