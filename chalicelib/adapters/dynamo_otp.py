"""One-time codes in DynamoDB: one row per phone key, the code only as a hash.

Issuing replaces the row (and so resets the attempts) unless the last code is younger than the
cooldown. An attempt is one atomic ``ADD attempts 1`` under the condition that the code exists,
has not expired and has attempts left, so parallel guesses cannot exceed the allowance. Using a
code deletes it (conditionally: it is spent once). TTL removes what nobody used.
"""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.adapters.dynamo_models import OtpModel, is_conditional_failure
from chalicelib.domain.records import OtpCheck


@aws_boundary
class DynamoOtp:
    """OtpStore."""

    def issue(self, phone_key: str, code_hash: str, now_epoch: int, expires_epoch: int,
              cooldown: int) -> int:
        row = OtpModel(phone_key, code_hash=code_hash, created_epoch=now_epoch,
                       expires_epoch=expires_epoch, attempts=0)
        try:
            row.save(condition=OtpModel.otp_id.does_not_exist()
                     | (OtpModel.created_epoch <= now_epoch - cooldown))
            return 0
        except PutError as exc:
            if not is_conditional_failure(exc):
                raise
        try:
            last = OtpModel.get(phone_key, consistent_read=True)
        except DoesNotExist:
            return 1
        return max(1, int(last.created_epoch) + cooldown - now_epoch)

    def attempt(self, phone_key: str, now_epoch: int, max_attempts: int) -> OtpCheck:
        row = OtpModel(phone_key)
        try:
            row.update(actions=[OtpModel.attempts.add(1)],
                       condition=OtpModel.otp_id.exists()
                       & (OtpModel.expires_epoch > now_epoch)
                       & (OtpModel.attempts < max_attempts))
            return OtpCheck("ok", row.code_hash, max_attempts - int(row.attempts))
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise
        try:
            current = OtpModel.get(phone_key, consistent_read=True)
        except DoesNotExist:
            return OtpCheck("missing")
        if int(current.expires_epoch) <= now_epoch:
            return OtpCheck("expired")
        return OtpCheck("locked")

    def consume(self, phone_key: str, code_hash: str) -> bool:
        try:
            OtpModel(phone_key).delete(condition=OtpModel.code_hash == code_hash)
            return True
        except DeleteError as exc:
            if is_conditional_failure(exc):
                return False
            raise
