"""OtpStore: FakeOtp against DynamoOtp (one code per phone key, a cooldown, counted attempts)."""

from __future__ import annotations

from chalicelib.domain.records import OtpCheck


class TestOtpStore:
    def test_a_code_is_stored_and_each_attempt_counted_down(self, stores):
        assert stores.otp.issue("phone-1", "hash-1", 1000, 1300, 60) == 0
        assert stores.otp.attempt("phone-1", 1001, 3) == OtpCheck("ok", "hash-1", 2)
        assert stores.otp.attempt("phone-1", 1002, 3) == OtpCheck("ok", "hash-1", 1)
        assert stores.otp.attempt("phone-1", 1003, 3) == OtpCheck("ok", "hash-1", 0)
        assert stores.otp.attempt("phone-1", 1004, 3) == OtpCheck("locked")

    def test_a_phone_without_a_code_is_missing(self, stores):
        assert stores.otp.attempt("phone-9", 1000, 3) == OtpCheck("missing")
        assert stores.otp.consume("phone-9", "hash-1") is False

    def test_a_code_expires_at_its_expiry_second(self, stores):
        stores.otp.issue("phone-1", "hash-1", 1000, 1300, 60)
        assert stores.otp.attempt("phone-1", 1299, 3).state == "ok"
        assert stores.otp.attempt("phone-1", 1300, 3) == OtpCheck("expired")

    def test_a_new_code_waits_for_the_cooldown_and_then_resets_the_attempts(self, stores):
        stores.otp.issue("phone-1", "hash-1", 1000, 1300, 60)
        stores.otp.attempt("phone-1", 1001, 1)
        assert stores.otp.issue("phone-1", "hash-2", 1010, 1310, 60) == 50
        assert stores.otp.issue("phone-1", "hash-2", 1059, 1359, 60) == 1
        assert stores.otp.attempt("phone-1", 1059, 1) == OtpCheck("locked")
        assert stores.otp.issue("phone-1", "hash-2", 1060, 1360, 60) == 0
        assert stores.otp.attempt("phone-1", 1061, 1) == OtpCheck("ok", "hash-2", 0)

    def test_a_code_is_spent_once_and_only_if_it_is_still_the_one_checked(self, stores):
        stores.otp.issue("phone-1", "hash-1", 1000, 1300, 60)
        assert stores.otp.consume("phone-1", "hash-2") is False
        assert stores.otp.consume("phone-1", "hash-1") is True
        assert stores.otp.consume("phone-1", "hash-1") is False
        assert stores.otp.attempt("phone-1", 1001, 3) == OtpCheck("missing")
        assert stores.otp.issue("phone-1", "hash-3", 1001, 1301, 60) == 0

    def test_phones_have_their_own_codes(self, stores):
        stores.otp.issue("phone-1", "hash-1", 1000, 1300, 60)
        assert stores.otp.issue("phone-2", "hash-2", 1000, 1300, 60) == 0
        assert stores.otp.attempt("phone-2", 1001, 3).code_hash == "hash-2"
