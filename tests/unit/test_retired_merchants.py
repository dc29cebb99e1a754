"""Which merchants a unit keeps once it no longer collects into them (``domain/merchants``):
retired with when and until when, one per (channel, merchant_id), none that is current again,
none past its keep; and for which statement days a retired one is asked. Clocks pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.merchants import (
    RETIRED_KEEP,
    UnitMerchant,
    after_change,
    kept_on,
    may_hold_payments,
)
from chalicelib.domain.units import Unit, UnitKind

AT = datetime(2026, 6, 15, 15, 30, tzinfo=UTC)  # 23:30 in China: the retirement's day is the 15th
A = UnitMerchant("unionpay", "898340100000001", sealed_token="a", since="x")
B = UnitMerchant("unionpay", "898340100000002", sealed_token="b", since="x")


def test_the_replaced_merchant_is_retired_until_the_refund_windows_are_over():
    [retired] = after_change((), A, B, AT)
    assert (retired.merchant_id, retired.sealed_token) == (A.merchant_id, "a")
    assert retired.retired == "2026-06-15T23:30:00+08:00"
    assert retired.keep_until == "2027-06-22T23:30:00+08:00"  # 372 days
    assert RETIRED_KEEP == timedelta(days=372)
    assert after_change((), A, None, AT)[0].merchant_id == A.merchant_id  # removed: retired too


def test_a_renewal_retires_nothing_and_a_merchant_current_again_is_not_retired():
    assert after_change((), A, A.__class__(**{**A.__dict__, "sealed_token": "a2"}), AT) == ()
    retired = after_change((), A, B, AT)
    assert [m.merchant_id for m in after_change(retired, B, A, AT)] == [B.merchant_id]


def test_one_entry_per_merchant_the_latest_and_none_past_its_keep():
    first = after_change((), A, B, AT)
    again = after_change(after_change(first, B, A, AT + timedelta(days=1)), A, B,
                         AT + timedelta(days=2))
    assert [(m.merchant_id, m.retired[:10]) for m in again] == [
        (A.merchant_id, "2026-06-17")]  # A once, its latest; B current again: not retired
    removed = after_change(again, B, None, AT + timedelta(days=3))
    assert [m.merchant_id for m in removed] == [A.merchant_id, B.merchant_id]
    late = AT + timedelta(days=2) + RETIRED_KEEP + timedelta(seconds=1)  # A's keep over, B's not
    other = UnitMerchant("alipay", "2088000000000001", sealed_token="t")
    assert [m.merchant_id for m in after_change(removed, other, None, late)] == [
        B.merchant_id, other.merchant_id]


def test_a_retired_merchants_statement_days():
    [retired] = after_change((), A, B, AT)
    assert may_hold_payments(A, "2030-01-01")  # a current one: any day
    assert may_hold_payments(retired, "2026-06-10")  # before: yes
    assert may_hold_payments(retired, "2026-06-17")  # 2 days after: orders opened before
    assert not may_hold_payments(retired, "2026-06-18")  # then only days with our refunds
    assert kept_on(retired, "2027-06-22") and not kept_on(retired, "2027-06-23")


def test_the_unit_finds_a_merchant_current_first_then_retired():
    retired = after_change((), A, B, AT)
    unit = Unit("340100001", "某单位", UnitKind.COLLECTING, merchants=(B,),
                retired_merchants=retired)
    assert unit.merchant_for("unionpay", B.merchant_id) == B
    assert unit.merchant_for("unionpay", A.merchant_id) == retired[0]
    assert unit.merchant_for("alipay", A.merchant_id) is None
    assert unit.merchant_for("unionpay", "898340100000009") is None
