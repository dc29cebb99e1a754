"""The SMS log in DynamoDB: one row per text event, claimed by a conditional write.

A job that runs twice finds the row ``sending`` or ``sent`` and sends nothing. A failed send is
marked ``failed`` and may be claimed again by the retry; a ``sending`` row older than five
minutes (a crash between the send and its record) is taken over. Rows expire after 180 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import SmsLogModel, is_conditional_failure
from chalicelib.domain.records import SmsDelivery

CLAIM_TIMEOUT = timedelta(minutes=5)
KEEP_FOR = timedelta(days=180)


@aws_boundary
class DynamoSmsLog:
    """SmsLog."""

    def claim(self, event_id: str, event: str, phone_masked: str, now: datetime) -> bool:
        stale = (now - CLAIM_TIMEOUT).isoformat()
        row = SmsLogModel(event_id)
        try:
            row.update(actions=[
                SmsLogModel.event.set(event), SmsLogModel.phone.set(phone_masked),
                SmsLogModel.status.set("sending"), SmsLogModel.claimed_at.set(now.isoformat()),
                SmsLogModel.updated_at.set(now.isoformat()), SmsLogModel.attempts.add(1),
                SmsLogModel.expires_epoch.set(int((now + KEEP_FOR).timestamp()))],
                condition=SmsLogModel.event_id.does_not_exist()
                | (SmsLogModel.status == "failed")
                | ((SmsLogModel.status == "sending") & (SmsLogModel.claimed_at < stale)))
            return True
        except UpdateError as exc:
            if is_conditional_failure(exc):
                return False
            raise

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
        return SmsDelivery(event_id=row.event_id, event=row.event, phone=row.phone,
                           status=row.status, provider=row.provider, message_id=row.message_id,
                           attempts=int(row.attempts or 0), claimed_at=row.claimed_at,
                           updated_at=row.updated_at, error=row.error)

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
