"""RemittanceStore: FakeRemittances against DynamoRemittances (account settings; a day
instructed once, moved on only over the version read)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.remittance import Remittance, RemittanceDay, RemittedItem

DAY = RemittanceDay(
    date="2026-06-15", status="instructed", net_fen=30000,
    remittances=(Remittance("340100001", "treasury", 30000,
                            (RemittedItem("103040100101", 30000),), "instructed"),),
    instruction_key="remittances/2026-06-15.csv", instruction_sha256="a" * 64,
    instructed_at="2026-06-16T09:00:00+08:00", instructed_by="finance:key_abc")


class TestRemittanceStore:
    def test_account_settings_are_kept_per_unit_and_item(self, stores):
        assert stores.remittances.account_settings("340100001") == {}
        stores.remittances.set_account("340100001", "*", "special")
        stores.remittances.set_account("340100001", "103040100101", "treasury")
        stores.remittances.set_account("340100001", "*", "treasury")
        assert stores.remittances.account_settings("340100001") == {
            "*": "treasury", "103040100101": "treasury"}
        assert stores.remittances.account_settings("340100002") == {}

    def test_a_day_is_instructed_once_and_read_back_whole(self, stores):
        assert stores.remittances.get_day(DAY.date) is None
        assert stores.remittances.put_day(DAY)
        assert not stores.remittances.put_day(replace(DAY, net_fen=1))
        assert stores.remittances.get_day(DAY.date) == DAY

    def test_a_day_moves_on_only_over_the_version_read(self, stores):
        stores.remittances.put_day(DAY)
        confirmed = replace(DAY, status="confirmed", version=2, remittances=(replace(
            DAY.remittances[0], status="confirmed", bank_reference="B1",
            confirmed_at="2026-06-16T15:00:00+08:00"),))
        assert stores.remittances.put_day(confirmed)
        assert not stores.remittances.put_day(replace(confirmed, status="instructed"))
        assert stores.remittances.get_day(DAY.date) == confirmed
