"""FinanceKeyRepository: FakeFinanceKeys against DynamoFinanceKeys."""

from __future__ import annotations

import pytest

from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Conflict, NotFound

KEY = FinanceKey(key_id="key_0123456789ab", scope="3401", label="合肥市财政局",
                 created_at="2026-06-15T10:00:00+08:00")


class TestFinanceKeyRepository:
    def test_a_key_added_comes_back_whole_by_its_hash_and_in_the_list(self, stores):
        stores.finance_keys.add(KEY, "hash-1")
        assert stores.finance_keys.get("hash-1") == KEY
        assert stores.finance_keys.get("hash-2") is None
        assert stores.finance_keys.all() == [KEY]

    def test_a_hash_is_added_once(self, stores):
        stores.finance_keys.add(KEY, "hash-1")
        with pytest.raises(Conflict):
            stores.finance_keys.add(FinanceKey("key_other", "", "x", KEY.created_at), "hash-1")
        assert stores.finance_keys.get("hash-1") == KEY

    def test_revoking_keeps_the_key_and_its_first_revocation_time(self, stores):
        stores.finance_keys.add(KEY, "hash-1")
        first = stores.finance_keys.revoke(KEY.key_id, "2026-06-15T11:00:00+08:00")
        again = stores.finance_keys.revoke(KEY.key_id, "2026-06-15T12:00:00+08:00")
        assert first == again == stores.finance_keys.get("hash-1")
        assert first.revoked_at == "2026-06-15T11:00:00+08:00" and not first.active

    def test_an_unknown_key_cannot_be_revoked(self, stores):
        with pytest.raises(NotFound):
            stores.finance_keys.revoke("key_000000000000", "2026-06-15T11:00:00+08:00")
