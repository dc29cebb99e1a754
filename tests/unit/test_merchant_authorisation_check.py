"""domain.merchants.checked_authorisation: an Alipay merchant as Alipay's answer about its
token says it is (still held, until when; or no longer held, since when), and the unit page's
warning for an authorisation Alipay no longer holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.merchants import (
    Authorisation,
    UnitMerchant,
    checked_authorisation,
    expiry_warnings,
)

NOW = datetime(2026, 6, 16, 0, 0, tzinfo=UTC)  # 08:00 in Beijing
MINE = UnitMerchant("alipay", "2088000000000101", app_id="2021000000000101",
                    sealed_token="c2VhbGVk", since="2026-06-15T10:00:00+08:00",
                    token_until="2027-06-01T00:00:00+08:00")


def answer(valid: bool = True, ends: str = "2027-06-01 00:00:00", merchant: str = "",
           app: str = "") -> Authorisation:
    return Authorisation(merchant or MINE.merchant_id, app or MINE.app_id, valid, ends)


def test_a_held_authorisation_is_kept_as_it_is_when_alipay_says_the_same():
    assert checked_authorisation(MINE, answer(), NOW) == MINE


def test_a_held_authorisation_takes_the_end_alipay_gives_now_or_none():
    assert checked_authorisation(MINE, answer(ends="2027-09-01 12:00:00"), NOW).token_until \
        == "2027-09-01T12:00:00+08:00"
    assert checked_authorisation(MINE, answer(ends=""), NOW).token_until == ""


def test_unknown_invalid_or_another_granters_token_no_longer_holds_since_this_check():
    for found in (None, answer(valid=False), answer(merchant="2088000000000102"),
                  answer(app="2021000000000102")):
        checked = checked_authorisation(MINE, found, NOW)
        assert checked == replace(MINE, token_invalid="2026-06-16T08:00:00+08:00"), found


def test_the_first_check_that_found_it_gone_is_kept_and_a_held_answer_clears_it():
    gone = replace(MINE, token_invalid="2026-06-10T08:00:00+08:00")
    assert checked_authorisation(gone, None, NOW) == gone
    assert checked_authorisation(gone, answer(), NOW) == MINE


def test_an_authorisation_alipay_no_longer_holds_is_one_warning_whatever_its_end():
    for until in ("2027-06-01T00:00:00+08:00", "2026-06-20T00:00:00+08:00",
                  "2026-06-01T00:00:00+08:00", ""):
        gone = replace(MINE, token_until=until, token_invalid="2026-06-10T08:00:00+08:00")
        [warning] = expiry_warnings([gone], NOW + timedelta(days=1))
        assert warning["code"] == "merchant_token_invalid"
        assert warning["token_invalid"] == "2026-06-10T08:00:00+08:00"
        assert "2026-06-10" in warning["message"] and "重新授权" in warning["message"]
        assert "c2VhbGVk" not in str(warning)


def test_the_api_shows_since_when_it_no_longer_holds_and_never_the_token():
    view = replace(MINE, token_invalid="2026-06-10T08:00:00+08:00").public()
    assert view["token_invalid"] == "2026-06-10T08:00:00+08:00"
    assert MINE.public()["token_invalid"] is None and "c2VhbGVk" not in str(view)
