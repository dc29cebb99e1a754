"""UnitRepository: FakeUnits against DynamoUnits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.domain.units import FeeItem, Unit, UnitKind

UNIT = Unit(unit_code="110101001", name="某某市公安局", kind=UnitKind.COLLECTING,
            region_code="340100", bill_kind="0301", signing_kid="unit-1",
            handling_person="李四", checker="王五")


class TestUnitRepository:
    def test_a_unit_put_comes_back_whole_by_code_and_by_its_api_key_hash(self, stores):
        stores.units.put(UNIT, "hash-1")
        assert stores.units.get(UNIT.unit_code) == UNIT
        assert stores.units.by_api_key_hash("hash-1") == UNIT

    def test_an_unknown_code_or_key_hash_finds_no_unit(self, stores):
        stores.units.put(UNIT, "hash-1")
        assert stores.units.get("999999999") is None
        assert stores.units.by_api_key_hash("hash-2") is None

    def test_putting_a_unit_again_with_a_new_key_hash_retires_the_old_one(self, stores):
        stores.units.put(UNIT, "hash-1")
        stores.units.put(replace(UNIT, name="新名称"), "hash-2")
        assert stores.units.by_api_key_hash("hash-1") is None
        assert stores.units.by_api_key_hash("hash-2") == replace(UNIT, name="新名称")

    def test_a_unit_put_without_a_key_hash_cannot_be_found_by_any_key(self, stores):
        stores.units.put(UNIT, "hash-1")
        stores.units.put(UNIT, None)
        assert stores.units.by_api_key_hash("hash-1") is None
        assert stores.units.get(UNIT.unit_code) == UNIT

    def test_fee_items_are_the_units_own_with_their_bill_kind(self, stores):
        stores.units.put(UNIT, None)
        stores.units.put_fee_item(UNIT.unit_code, "001", "工本费")
        stores.units.put_fee_item(UNIT.unit_code, "002", "考试费", "0302")
        stores.units.put_fee_item("110101002", "003", "别人的")
        assert stores.units.fee_items(UNIT.unit_code) == {
            "001": FeeItem("工本费", None), "002": FeeItem("考试费", "0302")}
        assert stores.units.fee_items("999999999") == {}

    def test_a_fee_item_put_again_is_replaced(self, stores):
        stores.units.put_fee_item(UNIT.unit_code, "001", "工本费")
        stores.units.put_fee_item(UNIT.unit_code, "001", "证书工本费", "0302")
        assert stores.units.fee_items(UNIT.unit_code) == {"001": FeeItem("证书工本费", "0302")}

    def test_the_signing_key_and_seal_of_a_unit_are_set_in_place(self, stores):
        stores.units.put(UNIT, "hash-1")
        stores.units.set_signing_kid(UNIT.unit_code, "unit-2")
        stores.units.set_seal_key(UNIT.unit_code, "seals/110101001.png")
        expected = replace(UNIT, signing_kid="unit-2", seal_key="seals/110101001.png")
        assert stores.units.get(UNIT.unit_code) == expected
        assert stores.units.by_api_key_hash("hash-1") == expected

    @pytest.mark.parametrize("setter", ["set_signing_kid", "set_seal_key"])
    def test_setting_a_key_of_an_unknown_unit_is_not_found_and_creates_nothing(
            self, stores, setter):
        with pytest.raises(NotFound):
            getattr(stores.units, setter)("999999999", "x")
        assert stores.units.get("999999999") is None
