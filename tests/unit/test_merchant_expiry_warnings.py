"""domain.merchants.expiry_warnings: a UnionPay merId's signing certificate and an Alipay
authorisation are warned about from 30 days before their end, and as expired after it; WeChat
Pay's sub-merchants never. authorisation_end reads Alipay's auth_end as China time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.merchants import (
    EXPIRY_WARN_DAYS,
    Authorisation,
    UnitMerchant,
    authorisation_end,
    expiry_warnings,
)

UNTIL = "2028-12-01T08:00:00+08:00"
END = datetime.fromisoformat(UNTIL)


def unionpay(until: str = UNTIL) -> UnitMerchant:
    return UnitMerchant("unionpay", "777290058110097", cert_id="42", cert_until=until)


def codes(now: datetime, *merchants: UnitMerchant) -> list[tuple[str, int | None]]:
    return [(w["code"], w.get("days_left")) for w in expiry_warnings(merchants, now)]


def test_nothing_is_said_until_thirty_days_before_the_end():
    assert codes(END - timedelta(days=EXPIRY_WARN_DAYS), unionpay()) == []
    assert codes(END - timedelta(days=EXPIRY_WARN_DAYS, seconds=-1), unionpay()) == [
        ("merchant_cert_expiring", 29)]


def test_the_last_day_counts_zero_days_left_and_the_end_itself_is_expired():
    assert codes(END - timedelta(hours=1), unionpay()) == [("merchant_cert_expiring", 0)]
    assert codes(END, unionpay()) == [("merchant_cert_expired", None)]
    assert codes(END.astimezone(UTC) + timedelta(days=400), unionpay()) == [
        ("merchant_cert_expired", None)]


def test_wechat_and_a_merchant_without_an_end_are_never_warned_about():
    wechat = UnitMerchant("wechatpay", "1900000109")
    alipay = UnitMerchant("alipay", "2088000000000101", app_id="2021000000000101")
    assert codes(END + timedelta(days=1), wechat, alipay, unionpay(until="")) == []


def test_an_alipay_authorisation_is_warned_about_as_a_certificate_is():
    alipay = UnitMerchant("alipay", "2088000000000101", app_id="2021000000000101",
                          token_until=UNTIL)
    assert codes(END - timedelta(days=3, hours=1), alipay) == [("merchant_token_expiring", 3)]
    [gone] = expiry_warnings([alipay], END)
    assert gone["code"] == "merchant_token_expired" and "重新授权" in gone["message"]


def test_alipays_auth_end_is_read_as_beijing_time_and_anything_else_as_no_end():
    def ends(text: str) -> str:
        return authorisation_end(Authorisation("2088000000000101", "2021000000000101", True, text))

    assert ends("2027-06-01 00:00:00") == "2027-06-01T00:00:00+08:00"
    assert ends("") == ends("2027-06-01") == ends("never") == ""
    assert authorisation_end(None) == ""
