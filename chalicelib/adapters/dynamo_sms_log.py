"""The SMS log in DynamoDB: one row per text event, claimed by a conditional write.

A job that runs twice finds the row ``sending`` or ``sent`` and sends nothing. A failed send is
marked ``failed`` and may be claimed again by the retry; a ``sending`` row older than five
minutes (a crash between the send and its record) is taken over. Rows expire after 180 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.constants import ALL_OLD, ATTRIBUTES
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import SmsLogModel, is_conditional_failure
from chalicelib.domain.records import SmsClaim, SmsDelivery

CLAIM_TIMEOUT = timedelta(minutes=5)
KEEP_FOR = timedelta(days=180)


@aws_boundary
class DynamoSmsLog:
    """SmsLog."""

    def claim(self, event_id: str, event: str, phone_masked: str, now: datetime) -> SmsClaim:
        """One conditional ``UpdateItem`` that answers the row as it was (``ALL_OLD``): an
        earlier attempt's record comes with the claim, not from a read before it."""
        stale = (now - CLAIM_TIMEOUT).isoformat()
        actions = [
            SmsLogModel.event.set(event), SmsLogModel.phone.set(phone_masked),
            SmsLogModel.status.set("sending"), SmsLogModel.claimed_at.set(now.isoformat()),
            SmsLogModel.updated_at.set(now.isoformat()), SmsLogModel.attempts.add(1),
            SmsLogModel.expires_epoch.set(int((now + KEEP_FOR).timestamp()))]
        condition = (SmsLogModel.event_id.does_not_exist()
                     | (SmsLogModel.status == "failed")
                     | ((SmsLogModel.status == "sending") & (SmsLogModel.claimed_at < stale)))
        try:
            answer = SmsLogModel._get_connection().update_item(
                event_id, actions=actions, condition=condition, return_values=ALL_OLD)
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return SmsClaim(taken=False)
            raise
        old = answer.get(ATTRIBUTES)
        return SmsClaim(taken=True,
                        earlier=_delivery(SmsLogModel.from_raw_data(old)) if old else None)

    def finish(self, event_id: str, status: str, now: datetime, *, provider: str | None = None,
               message_id: str | None = None, error: str | None = None) -> None:
        SmsLogModel(event_id).update(actions=self._outcome(status, now, provider, message_id,
                                                           error))

    def record(self, event_id: str, event: str, phone_masked: str, status: str, now: datetime, *,
               provider: str | None = None, message_id: str | None = None,
               error: str | None = None) -> None:
        actions = self._outcome(status, now, provider, message_id, error)
        actions += [SmsLogModel.event.set(event), SmsLogModel.phone.set(phone_masked),
                    SmsLogModel.attempts.add(1),
                    SmsLogModel.expires_epoch.set(int((now + KEEP_FOR).timestamp()))]
        SmsLogModel(event_id).update(actions=actions)

    def get(self, event_id: str) -> SmsDelivery | None:
        try:
            row = SmsLogModel.get(event_id, consistent_read=True)
        except DoesNotExist:
            return None
        return _delivery(row)

    @staticmethod
    def _outcome(status: str, now: datetime, provider: str | None, message_id: str | None,
                 error: str | None) -> list[Any]:
        actions: list[Any] = [SmsLogModel.status.set(status),
                              SmsLogModel.updated_at.set(now.isoformat())]
        if provider:
            actions.append(SmsLogModel.provider.set(provider))
        if message_id:
            actions.append(SmsLogModel.message_id.set(message_id))
        actions.append(SmsLogModel.error.set(error[:500]) if error else SmsLogModel.error.remove())
        return actions


def _delivery(row: SmsLogModel) -> SmsDelivery:
    return SmsDelivery(event_id=row.event_id, event=row.event, phone=row.phone,
                       status=row.status, provider=row.provider, message_id=row.message_id,
                       attempts=int(row.attempts or 0), claimed_at=row.claimed_at,
                       updated_at=row.updated_at, error=row.error)
