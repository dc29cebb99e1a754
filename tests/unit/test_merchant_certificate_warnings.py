"""domain.merchants.certificate_warnings: a UnionPay merId's signing certificate is warned
about from 30 days before its end, and as expired after it; other channels never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.merchants import CERT_WARN_DAYS, UnitMerchant, certificate_warnings

UNTIL = "2028-12-01T08:00:00+08:00"
END = datetime.fromisoformat(UNTIL)


def unionpay(until: str = UNTIL) -> UnitMerchant:
    return UnitMerchant("unionpay", "777290058110097", cert_id="42", cert_until=until)


def codes(now: datetime, *merchants: UnitMerchant) -> list[tuple[str, int | None]]:
    return [(w["code"], w.get("days_left")) for w in certificate_warnings(merchants, now)]


def test_nothing_is_said_until_thirty_days_before_the_end():
    assert codes(END - timedelta(days=CERT_WARN_DAYS), unionpay()) == []
    assert codes(END - timedelta(days=CERT_WARN_DAYS, seconds=-1), unionpay()) == [
        ("merchant_cert_expiring", 29)]


def test_the_last_day_counts_zero_days_left_and_the_end_itself_is_expired():
    assert codes(END - timedelta(hours=1), unionpay()) == [("merchant_cert_expiring", 0)]
    assert codes(END, unionpay()) == [("merchant_cert_expired", None)]
    assert codes(END.astimezone(UTC) + timedelta(days=400), unionpay()) == [
        ("merchant_cert_expired", None)]


def test_other_channels_and_a_merchant_without_a_certificate_are_never_warned_about():
    wechat = UnitMerchant("wechatpay", "1900000109")
    alipay = UnitMerchant("alipay", "2088000000000101", app_id="2021000000000101")
    assert codes(END + timedelta(days=1), wechat, alipay, unionpay(until="")) == []
