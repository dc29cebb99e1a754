"""KeyRegistry: FakeKeys against DynamoKeys (public keys by kid, listed in kid order)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.units import SigningKey

PEM = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"


def key(kid: str, **fields) -> SigningKey:
    return SigningKey(**{"kid": kid, "alg": "ES256", "use": "unit", "owner": "110101001",
                         "public_key_pem": PEM, "not_before": "2026-01-01T00:00:00+08:00",
                         "key_ref": f"{kid}.pem", **fields})


class TestKeyRegistry:
    def test_keys_put_come_back_whole_by_kid_and_all_in_kid_order(self, stores):
        stores.keys.put(key("unit-b", not_after="2027-01-01T00:00:00+08:00",
                            endorsement="c2ln"))
        stores.keys.put(key("finance-a", use="finance", owner="finance"))
        assert stores.keys.get("unit-b") == key("unit-b", not_after="2027-01-01T00:00:00+08:00",
                                                endorsement="c2ln")
        assert [k.kid for k in stores.keys.all()] == ["finance-a", "unit-b"]
        assert stores.keys.get("unit-z") is None

    def test_a_key_put_again_replaces_it_and_is_listed_at_once(self, stores):
        stores.keys.put(key("unit-a"))
        assert stores.keys.all() == [key("unit-a")]
        retired = key("unit-a", not_after="2026-06-15T10:00:00+08:00")
        stores.keys.put(retired)
        stores.keys.put(key("unit-b"))
        assert stores.keys.all() == [retired, key("unit-b")]
        assert stores.keys.get("unit-a") == retired

    def test_an_empty_registry_lists_nothing(self, stores):
        assert stores.keys.all() == []
        stores.keys.put(replace(key("unit-a"), key_ref=""))
        assert stores.keys.get("unit-a").key_ref == ""
