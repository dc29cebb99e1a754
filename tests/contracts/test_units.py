"""UnitRepository: FakeUnits against DynamoUnits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.credentials import UnitKey, key_id_of
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.merchants import UnitMerchant
from chalicelib.domain.units import FeeItem, Seal, Unit, UnitKind

T0 = datetime(2026, 6, 15, 4, tzinfo=UTC)  # 12:00 in China
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

    def test_fee_items_are_the_units_own_with_their_bill_kind_and_standard(self, stores):
        stores.units.put(UNIT, None)
        fixed = FeeItem("工本费", "0301", "本", standard_fen=1000, valid_from="2026-01-01")
        ranged = FeeItem("罚款", "0302", min_fen=2000, max_fen=200000, valid_to="2026-12-31")
        assert stores.units.put_fee_item(UNIT.unit_code, "001", fixed) is None
        assert stores.units.put_fee_item(UNIT.unit_code, "002", ranged) is None
        stores.units.put_fee_item("110101002", "003", FeeItem("别人的"))
        assert stores.units.fee_items(UNIT.unit_code) == {"001": fixed, "002": ranged}
        assert stores.units.fee_items("999999999") == {}

    def test_a_fee_item_put_again_is_replaced_and_the_old_one_returned(self, stores):
        stores.units.put_fee_item(UNIT.unit_code, "001", FeeItem("工本费"))
        previous = stores.units.put_fee_item(UNIT.unit_code, "001",
                                             FeeItem("证书工本费", "0302", standard_fen=500))
        assert previous == FeeItem("工本费")
        assert stores.units.fee_items(UNIT.unit_code) == {
            "001": FeeItem("证书工本费", "0302", standard_fen=500)}

    def test_a_unit_is_added_once_and_a_second_add_changes_nothing(self, stores):
        stores.units.add(UNIT)
        with pytest.raises(Conflict):
            stores.units.add(replace(UNIT, name="冒名"))
        assert stores.units.get(UNIT.unit_code) == UNIT

    def test_units_are_listed_by_region_then_code_a_page_at_a_time(self, stores):
        codes = [("340102", "3401020002"), ("340102", "3401020001"), ("340100", "3401000001"),
                 ("340200", "3402000001")]
        for region, code in codes:
            stores.units.add(replace(UNIT, unit_code=code, region_code=region))
        page, after = stores.units.in_region("3401", 2)
        assert [u.unit_code for u in page] == ["3401000001", "3401020001"] and after
        rest, end = stores.units.in_region("3401", 2, after)
        assert [u.unit_code for u in rest] == ["3401020002"] and end is None
        assert [u.unit_code for u in stores.units.in_region("", 10)[0]] == [
            "3401000001", "3401020001", "3401020002", "3402000001"]

    def test_a_unit_holds_several_keys_each_revoked_on_its_own(self, stores):
        stores.units.put(UNIT, "hash-0")
        for n in (1, 2):
            stores.units.add_api_key(UnitKey(f"key_{n}", UNIT.unit_code,
                                             f"2026-06-15T10:0{n}:00+08:00"), f"hash-{n}")
        assert all(stores.units.by_api_key_hash(f"hash-{n}") == UNIT for n in (0, 1, 2))
        assert [k.key_id for k in stores.units.api_keys(UNIT.unit_code)] == [
            key_id_of("hash-0"), "key_1", "key_2"]
        revoked = stores.units.revoke_api_key(UNIT.unit_code, "key_1", "2026-06-15T11:00:00+08:00")
        again = stores.units.revoke_api_key(UNIT.unit_code, "key_1", "2026-06-15T12:00:00+08:00")
        assert revoked == again and revoked.revoked_at == "2026-06-15T11:00:00+08:00"
        stores.units.revoke_api_key(UNIT.unit_code, key_id_of("hash-0"), "2026-06-15T11:00:00+08:00")
        assert stores.units.by_api_key_hash("hash-0") is None
        assert stores.units.by_api_key_hash("hash-1") is None
        assert stores.units.by_api_key_hash("hash-2") == UNIT
        assert [(k.key_id, k.active) for k in stores.units.api_keys(UNIT.unit_code)] == [
            ("key_1", False), ("key_2", True)]

    def test_a_key_of_another_unit_or_no_key_cannot_be_revoked(self, stores):
        stores.units.put(UNIT, None)
        stores.units.add_api_key(UnitKey("key_1", "other", "2026-06-15T10:00:00+08:00"), "h1")
        with pytest.raises(NotFound):
            stores.units.revoke_api_key(UNIT.unit_code, "key_1", "2026-06-15T11:00:00+08:00")
        assert stores.units.by_api_key_hash("h1") is None  # its unit does not exist

    def test_the_signing_key_and_seal_of_a_unit_are_set_in_place(self, stores):
        stores.units.put(UNIT, "hash-1")
        stores.units.set_signing_kid(UNIT.unit_code, "unit-2")
        seal = Seal("seals/110101001/a.png", "2026-06-15T10:02:00+08:00")
        stores.units.add_seal(UNIT.unit_code, seal)
        expected = replace(UNIT, signing_kid="unit-2", seal_key=seal.key, seals=(seal,))
        assert stores.units.get(UNIT.unit_code) == expected
        assert stores.units.by_api_key_hash("hash-1") == expected

    def test_seals_are_kept_in_order_and_a_seal_from_before_the_history_goes_first(self, stores):
        stores.units.put(replace(UNIT, seal_key="seals/110101001/old.png"), None)
        one = Seal("seals/110101001/one.png", "2026-06-15T10:02:00+08:00")
        two = Seal("seals/110101001/two.png", "2026-06-16T09:00:00+08:00")
        stores.units.add_seal(UNIT.unit_code, one)
        stores.units.add_seal(UNIT.unit_code, two)
        unit = stores.units.get(UNIT.unit_code)
        assert unit.seals == (Seal("seals/110101001/old.png", ""), one, two)
        assert unit.seal_key == two.key
        assert unit.seal_at("2026-06-15T10:01:59+08:00") == "seals/110101001/old.png"
        assert unit.seal_at("2026-06-15T10:02:00+08:00") == one.key
        assert unit.seal_at("2026-07-01T00:00:00+08:00") == two.key

    def test_allowed_bill_kinds_and_the_default_are_set_together(self, stores):
        stores.units.put(UNIT, "hash-1")
        assert stores.units.get(UNIT.unit_code).bill_kinds is None  # before: any kind
        stores.units.set_bill_kinds(UNIT.unit_code, "0302", ("0301", "0302"))
        unit = stores.units.get(UNIT.unit_code)
        assert (unit.bill_kind, unit.bill_kinds) == ("0302", ("0301", "0302"))
        assert stores.units.by_api_key_hash("hash-1") == unit

    def test_a_unit_put_whole_keeps_its_allowed_kinds_and_seals(self, stores):
        seal = Seal("seals/110101001/a.png", "")
        unit = replace(UNIT, bill_kinds=("0301",), seal_key=seal.key, seals=(seal,))
        stores.units.put(unit, None)
        assert stores.units.get(UNIT.unit_code) == unit

    def test_a_units_merchant_numbers_are_set_replaced_and_removed_per_channel(self, stores):
        stores.units.put(UNIT, "hash-1")
        wechat = UnitMerchant("wechatpay", "1900000109", "wx0123456789abcdef",
                              since="2026-06-15T10:00:00+08:00")
        alipay = UnitMerchant("alipay", "2088000000000001", "2021000000000001",
                              sealed_token="c2VhbGVk", since="2026-06-15T10:00:00+08:00")
        stores.units.set_merchant(UNIT.unit_code, wechat, T0)
        stores.units.set_merchant(UNIT.unit_code, alipay, T0)
        unit = stores.units.get(UNIT.unit_code)
        assert unit.merchant("wechatpay") == wechat and unit.merchant("alipay") == alipay
        other = replace(wechat, merchant_id="1900000110", app_id="")
        stores.units.set_merchant(UNIT.unit_code, other, T0)
        assert stores.units.get(UNIT.unit_code).merchant("wechatpay") == other
        stores.units.remove_merchant(UNIT.unit_code, "wechatpay", T0)
        assert stores.units.get(UNIT.unit_code).merchants == (alipay,)
        assert stores.units.by_api_key_hash("hash-1").merchants == (alipay,)

    def test_a_units_own_unionpay_merid_keeps_its_sealed_key_and_certificate(self, stores):
        stores.units.put(UNIT, "hash-1")
        unionpay = UnitMerchant("unionpay", "898340100000001", sealed_token="c2VhbGVkIGtleQ==",
                                since="2026-06-15T10:00:00+08:00", cert_id="69026910311",
                                cert_until="2028-12-31T08:00:00+08:00")
        stores.units.set_merchant(UNIT.unit_code, unionpay, T0)
        assert stores.units.get(UNIT.unit_code).merchant("unionpay") == unionpay
        assert [m.public()["mer_id"] for m in stores.units.in_region("", 10)[0][0].merchants] \
            == ["898340100000001"]
        stores.units.remove_merchant(UNIT.unit_code, "unionpay", T0)
        assert stores.units.get(UNIT.unit_code).merchants == ()

    def test_a_merchant_is_replaced_only_while_it_still_has_the_secret_it_was_read_with(
            self, stores):
        """The daily check keeps Alipay's answer (replace_merchant): one conditional write that
        loses to a merchant set again (sealed anew) or removed in between."""
        stores.units.put(UNIT, None)
        read = UnitMerchant("alipay", "2088000000000001", "2021000000000001",
                            sealed_token="c2VhbGVk", since="2026-06-15T10:00:00+08:00",
                            token_until="2027-06-01T00:00:00+08:00")
        stores.units.set_merchant(UNIT.unit_code, read, T0)
        checked = replace(read, token_invalid="2026-06-16T08:00:00+08:00")
        assert stores.units.replace_merchant(UNIT.unit_code, checked, "c2VhbGVk") is True
        assert stores.units.get(UNIT.unit_code).merchant("alipay") == checked
        again = replace(read, sealed_token="c2VhbGVkIGFnYWlu", since="2026-06-16T09:00:00+08:00")
        stores.units.set_merchant(UNIT.unit_code, again, T0)  # the finance admin, meanwhile
        assert stores.units.replace_merchant(UNIT.unit_code, checked, "c2VhbGVk") is False
        assert stores.units.get(UNIT.unit_code).merchant("alipay") == again
        stores.units.remove_merchant(UNIT.unit_code, "alipay", T0)
        assert stores.units.replace_merchant(UNIT.unit_code, checked, "c2VhbGVk") is False
        assert stores.units.get(UNIT.unit_code).merchants == ()
        assert stores.units.replace_merchant("999999999", checked, "c2VhbGVk") is False
        assert stores.units.get("999999999") is None

    def test_a_replaced_or_removed_merchant_is_retired_with_its_secret_for_its_keep(
            self, stores):
        stores.units.put(UNIT, "hash-1")
        first = UnitMerchant("unionpay", "898340100000001", sealed_token="c2VhbGVkIDE=",
                             since="2026-06-15T10:00:00+08:00", cert_id="1",
                             cert_until="2028-12-31T08:00:00+08:00")
        second = replace(first, merchant_id="898340100000002", sealed_token="c2VhbGVkIDI=")
        assert stores.units.set_merchant(UNIT.unit_code, first, T0)[0] is None
        renewed = replace(first, sealed_token="cmVuZXdlZA==", cert_id="2")
        previous, written = stores.units.set_merchant(UNIT.unit_code, renewed, T0)
        assert previous == first and written.retired_merchants == ()  # same merId: renewed
        previous, written = stores.units.set_merchant(UNIT.unit_code, second, T0)
        assert previous == renewed
        retired = replace(renewed, retired="2026-06-15T12:00:00+08:00",
                          keep_until="2027-06-22T12:00:00+08:00")
        unit = stores.units.get(UNIT.unit_code)
        assert unit.retired_merchants == (retired,) == written.retired_merchants
        assert unit.merchant_for("unionpay", "898340100000001") == retired
        assert unit.merchant_for("unionpay", "898340100000002") == second
        assert stores.units.in_region("", 10)[0][0].retired_merchants == (retired,)
        stores.units.remove_merchant(UNIT.unit_code, "unionpay", T0 + timedelta(days=1))
        unit = stores.units.get(UNIT.unit_code)
        assert [m.merchant_id for m in unit.retired_merchants] == [
            "898340100000001", "898340100000002"] and unit.merchants == ()
        alipay = UnitMerchant("alipay", "2088000000000001", "2021000000000001",
                              sealed_token="c2VhbGVk", since="x")
        stores.units.set_merchant(UNIT.unit_code, alipay, T0 + timedelta(days=372, hours=1))
        assert [m.merchant_id for m in stores.units.get(UNIT.unit_code).retired_merchants] == [
            "898340100000002"]  # the first's keep is over: dropped with this change
        stores.units.put(stores.units.get(UNIT.unit_code), "hash-1")  # put whole: kept
        assert [m.merchant_id for m in stores.units.get(UNIT.unit_code).retired_merchants] == [
            "898340100000002"]

    def test_retired_merchants_past_their_keep_are_dropped_and_the_others_kept(self, stores):
        stores.units.put(UNIT, None)
        first, second, third = (UnitMerchant("wechatpay", f"190000010{n}", since="x")
                                for n in (1, 2, 3))
        stores.units.set_merchant(UNIT.unit_code, first, T0 - timedelta(days=400))
        stores.units.set_merchant(UNIT.unit_code, second, T0 - timedelta(days=380))
        stores.units.set_merchant(UNIT.unit_code, third, T0 - timedelta(days=10))
        [ended, kept] = stores.units.get(UNIT.unit_code).retired_merchants
        assert ended.keep_until == "2026-06-07T12:00:00+08:00"  # retired 380 days before T0
        assert stores.units.drop_retired(UNIT.unit_code, T0) == (ended,)
        unit = stores.units.get(UNIT.unit_code)
        assert unit.retired_merchants == (kept,) and unit.merchants == (third,)
        assert stores.units.drop_retired(UNIT.unit_code, T0) == ()  # none ended: nothing
        assert stores.units.get(UNIT.unit_code) == unit
        assert stores.units.drop_retired(UNIT.unit_code, T0 + timedelta(days=400)) == (kept,)
        assert stores.units.get(UNIT.unit_code).retired_merchants == ()
        assert stores.units.drop_retired("999999999", T0) == ()
        assert stores.units.get("999999999") is None

    def test_a_unit_put_whole_keeps_its_merchant_numbers(self, stores):
        unit = replace(UNIT, merchants=(UnitMerchant("wechatpay", "1900000109", since="x"),))
        stores.units.put(unit, None)
        assert stores.units.get(UNIT.unit_code) == unit

    @pytest.mark.parametrize("setter", [
        lambda units: units.set_signing_kid("999999999", "x"),
        lambda units: units.add_seal("999999999", Seal("seals/x.png", "")),
        lambda units: units.set_bill_kinds("999999999", "0301", ("0301",)),
        lambda units: units.set_merchant("999999999", UnitMerchant("wechatpay", "1900000109"),
                                         T0),
        lambda units: units.remove_merchant("999999999", "wechatpay", T0)],
        ids=["signing_kid", "seal", "bill_kinds", "merchant", "no_merchant"])
    def test_setting_a_key_of_an_unknown_unit_is_not_found_and_creates_nothing(
            self, stores, setter):
        with pytest.raises(NotFound):
            setter(stores.units)
        assert stores.units.get("999999999") is None


def test_two_merchant_changes_at_once_lose_neither_retired_merchant(aws):
    """The change that read the row before the other wrote it is refused by its condition
    (``merchants_version``) and redone on the row as it is: both retirements are kept."""
    from tests.contracts.conftest import DynamoStores, _shared

    units = _shared(DynamoStores()).units
    units.put(UNIT, None)
    wechat, alipay = (UnitMerchant("wechatpay", "1900000109", since="x"),
                      UnitMerchant("alipay", "2088000000000001", "2021000000000001",
                                   sealed_token="c2VhbGVk", since="x"))
    units.set_merchant(UNIT.unit_code, wechat, T0)
    units.set_merchant(UNIT.unit_code, alipay, T0)

    def the_other_change(reads: list[int]) -> None:
        if len(reads) == 1:  # between this change's read and its write, another one lands
            units.remove_merchant(UNIT.unit_code, "alipay", T0)

    with _after_each_unit_read(the_other_change) as reads:
        units.remove_merchant(UNIT.unit_code, "wechatpay", T0)
    assert sorted(m.merchant_id for m in units.get(UNIT.unit_code).retired_merchants) == [
        "1900000109", "2088000000000001"]
    assert reads[0] != reads[-1]  # read again after the refused write


def test_a_merchant_change_that_keeps_losing_to_others_is_a_conflict_and_changes_nothing(aws):
    """Each of its ``MERCHANT_CHANGE_TRIES`` reads is followed by another change landing first:
    it gives up with ``merchant_change_conflict`` (the API's 409) and writes nothing."""
    from chalicelib.adapters.dynamo_models import UnitModel
    from chalicelib.adapters.dynamo_units import MERCHANT_CHANGE_TRIES
    from tests.contracts.conftest import DynamoStores, _shared

    units = _shared(DynamoStores()).units
    units.put(UNIT, None)
    wechat = UnitMerchant("wechatpay", "1900000109", since="x")
    units.set_merchant(UNIT.unit_code, wechat, T0)

    def another_change(_: list[int]) -> None:
        UnitModel(UNIT.unit_code).update(actions=[UnitModel.merchants_version.add(1)])

    with _after_each_unit_read(another_change) as reads, pytest.raises(Conflict) as refused:
        units.remove_merchant(UNIT.unit_code, "wechatpay", T0)
    assert refused.value.code == "merchant_change_conflict"
    assert len(reads) == MERCHANT_CHANGE_TRIES and len(set(reads)) == MERCHANT_CHANGE_TRIES
    after = units.get(UNIT.unit_code)
    assert after.merchant("wechatpay") == wechat and after.retired_merchants == ()


def test_a_merchant_change_landing_while_retired_merchants_are_dropped_wins_and_loses_nothing(
        aws):
    """The drop that read the row before a finance admin's PUT wrote it is refused by its
    condition (``merchants_version``) and redone on the row as the PUT left it: the PUT's
    merchant and the one it retired are kept; the ended entry is gone (the PUT dropped it,
    as every change does, so the drop finds nothing left to drop)."""
    from tests.contracts.conftest import DynamoStores, _shared

    units = _shared(DynamoStores()).units
    units.put(UNIT, None)
    first, second, third = (UnitMerchant("wechatpay", f"190000010{n}", since="x")
                            for n in (1, 2, 3))
    units.set_merchant(UNIT.unit_code, first, T0 - timedelta(days=400))
    units.set_merchant(UNIT.unit_code, second, T0 - timedelta(days=380))
    [ended] = units.get(UNIT.unit_code).retired_merchants

    def a_put(reads: list[int]) -> None:
        if len(reads) == 1:  # between the drop's read and its write, the admin's PUT lands
            units.set_merchant(UNIT.unit_code, third, T0 - timedelta(hours=1))

    with _after_each_unit_read(a_put) as reads:
        assert units.drop_retired(UNIT.unit_code, T0) == ()
    unit = units.get(UNIT.unit_code)
    assert unit.merchants == (third,)
    assert [m.merchant_id for m in unit.retired_merchants] == ["1900000102"]  # the PUT's
    assert ended not in unit.retired_merchants
    assert reads[0] != reads[-1]  # read again (after the PUT's own read) once refused


@contextmanager
def _after_each_unit_read(then: Callable[[list[int]], None]) -> Iterator[list[int]]:
    """Within the block, each read of a unit's row by ``DynamoUnits`` records the
    ``merchants_version`` it read, then calls ``then`` with the versions read so far: another
    change landing between a change's read and its conditional write. Yields those versions."""
    from chalicelib.adapters.dynamo_units import DynamoUnits

    reads: list[int] = []
    real_row = DynamoUnits._row

    def row_then(unit_code: str):
        row = real_row(unit_code)
        reads.append(row.merchants_version)
        then(reads)
        return row

    DynamoUnits._row = staticmethod(row_then)  # type: ignore[method-assign]
    try:
        yield reads
    finally:
        DynamoUnits._row = staticmethod(real_row)  # type: ignore[method-assign]
