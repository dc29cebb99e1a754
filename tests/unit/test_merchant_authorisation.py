"""The check a unit's Alipay merchant passes before it is kept (``domain/merchants``): Alipay
must know its token as a valid authorisation granted by that very seller and application."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.merchants import Authorisation, UnitMerchant, check_authorisation

MERCHANT = UnitMerchant("alipay", "2088000000000101", "2021000000000101")


def test_a_valid_authorisation_by_the_merchant_passes():
    check_authorisation(MERCHANT, Authorisation("2088000000000101", "2021000000000101", True))


@pytest.mark.parametrize(("found", "fields"), [
    (None, {"app_auth_token"}),
    (Authorisation("2088000000000101", "2021000000000101", False), {"app_auth_token"}),
    (Authorisation("2088000000000102", "2021000000000101", True), {"seller_id"}),
    (Authorisation("2088000000000101", "2021000000000102", True), {"auth_app_id"}),
    (Authorisation("2088000000000102", "2021000000000102", False),
     {"app_auth_token", "seller_id", "auth_app_id"}),
], ids=["unknown", "no longer valid", "another seller", "another app", "all wrong"])
def test_anything_else_is_refused_naming_each_field(found, fields):
    with pytest.raises(ValidationFailed) as refused:
        check_authorisation(MERCHANT, found)
    assert set(refused.value.fields) == fields
