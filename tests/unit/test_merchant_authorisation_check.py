"""domain.merchants.checked_authorisation: an Alipay merchant as Alipay's answer about its
token says it is (still held, until when; or no longer held, since when), and the unit page's
warning for an authorisation Alipay no longer holds; which retired merchants the daily check
drops (``still_kept``), and when its next round starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.merchants import (
    Authorisation,
    UnitMerchant,
    checked_authorisation,
    expiry_warnings,
    retire,
    still_kept,
)
from chalicelib.services.merchant_checks import _next_round

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


def test_a_retired_merchant_is_kept_until_its_keep_ends_and_dropped_from_then_on():
    ended = retire(replace(MINE, merchant_id="2088000000000102"), NOW - timedelta(days=372))
    young = retire(replace(MINE, merchant_id="2088000000000103"), NOW - timedelta(days=371))
    older = replace(MINE, merchant_id="2088000000000104", retired="2025-01-01T00:00:00+08:00")
    assert ended.keep_until == "2026-06-16T08:00:00+08:00"  # 372 days, to the second
    assert still_kept([ended, young, older], NOW - timedelta(seconds=1)) == (ended, young, older)
    assert still_kept([ended, young, older], NOW) == (young, older)  # no keep_until: kept
    assert still_kept([young], NOW + timedelta(days=1)) == ()


def test_the_next_round_starts_at_the_first_0800_in_beijing_after_the_last_began():
    def china(moment: str) -> datetime:
        return datetime.fromisoformat(moment)

    assert _next_round(china("2026-06-16T08:00:00+08:00")) == china("2026-06-17T08:00:00+08:00")
    assert _next_round(china("2026-06-16T08:04:59+08:00")) == china("2026-06-17T08:00:00+08:00")
    assert _next_round(china("2026-06-16T07:59:00+08:00")) == china("2026-06-16T08:00:00+08:00")
    # 23:30 UTC is 07:30 the next day in Beijing: that day's 08:00, not the one after
    assert _next_round(datetime(2026, 6, 16, 23, 30, tzinfo=UTC)) \
        == china("2026-06-17T08:00:00+08:00")
