"""A warm process reads each unit and each API key's unit once a minute, not once a request."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.adapters.cached_units import UNIT_CACHE_SECONDS, CachedUnits
from chalicelib.domain.fee_items import FeeItem
from chalicelib.domain.units import Seal, Unit, UnitKind
from tests.fakes import FakeUnits

UNIT = Unit(unit_code="340100901", name="合肥某医院财务科", kind=UnitKind.REIMBURSING,
            region_code="340100", bill_kind="0101")


class CountingUnits(FakeUnits):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def by_api_key_hash(self, key_hash: str) -> Unit | None:
        self.reads += 1
        return super().by_api_key_hash(key_hash)

    def get(self, unit_code: str) -> Unit | None:
        self.reads += 1
        return super().get(unit_code)

    def fee_items(self, unit_code: str, fresh: bool = False) -> dict[str, FeeItem]:
        self.reads += 1
        return super().fee_items(unit_code, fresh)


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _units() -> tuple[CountingUnits, CachedUnits, Monotonic]:
    inner, clock = CountingUnits(), Monotonic()
    inner.put(UNIT, "hash-old")
    return inner, CachedUnits(inner, clock), clock


def test_a_key_and_a_unit_are_read_once_then_answered_from_the_copy_for_a_minute():
    inner, units, clock = _units()
    for _ in range(5):
        assert units.by_api_key_hash("hash-old") == UNIT
        assert units.get(UNIT.unit_code) == UNIT
    assert inner.reads == 2
    clock.now += UNIT_CACHE_SECONDS
    assert units.by_api_key_hash("hash-old") == UNIT
    assert inner.reads == 3


def test_a_key_rotated_in_this_process_stops_working_at_once():
    _, units, _ = _units()
    assert units.by_api_key_hash("hash-old") == UNIT
    units.put(UNIT, "hash-new")
    assert units.by_api_key_hash("hash-old") is None
    assert units.by_api_key_hash("hash-new") == UNIT


def test_a_key_rotated_by_another_process_stops_working_within_the_minute():
    inner, units, clock = _units()
    assert units.by_api_key_hash("hash-old") == UNIT
    inner.put(UNIT, "hash-new")  # the operator's process, behind this one's back
    clock.now += UNIT_CACHE_SECONDS - 1
    assert units.by_api_key_hash("hash-old") == UNIT
    clock.now += 1
    assert units.by_api_key_hash("hash-old") is None


def test_an_unknown_key_is_asked_for_every_time_so_a_new_key_works_at_once():
    inner, units, _ = _units()
    assert units.by_api_key_hash("hash-new") is None
    inner.put(UNIT, "hash-new")
    assert units.by_api_key_hash("hash-new") == UNIT
    assert inner.reads == 2


def test_a_new_seal_or_signing_key_written_here_is_seen_at_once():
    _, units, _ = _units()
    assert units.get(UNIT.unit_code) == UNIT
    seal = Seal("seals/x.png", "2026-06-15T10:02:00+08:00")
    units.add_seal(UNIT.unit_code, seal)
    assert units.get(UNIT.unit_code) == replace(UNIT, seal_key="seals/x.png", seals=(seal,))
    units.set_bill_kinds(UNIT.unit_code, "0301", ("0301", "0302"))
    assert units.get(UNIT.unit_code).bill_kinds == ("0301", "0302")
    units.set_signing_kid(UNIT.unit_code, "unit-2")
    assert units.get(UNIT.unit_code).signing_kid == "unit-2"


ITEM = FeeItem(name="工本费", bill_kind="0301", standard_fen=1000)


def test_a_units_fee_items_are_read_once_a_minute_and_a_change_made_here_is_seen_at_once():
    inner, units, clock = _units()
    inner.put_fee_item(UNIT.unit_code, "001", ITEM)
    for _ in range(3):
        assert units.fee_items(UNIT.unit_code) == {"001": ITEM}
    assert inner.reads == 1
    cheaper = replace(ITEM, standard_fen=800)
    units.put_fee_item(UNIT.unit_code, "001", cheaper)
    assert units.fee_items(UNIT.unit_code) == {"001": cheaper}
    assert inner.reads == 2
    inner.put_fee_item(UNIT.unit_code, "002", ITEM)  # another process's change
    assert units.fee_items(UNIT.unit_code) == {"001": cheaper}
    clock.now += UNIT_CACHE_SECONDS
    assert units.fee_items(UNIT.unit_code) == {"001": cheaper, "002": ITEM}


def test_fresh_fee_items_and_a_unit_without_any_are_asked_for_every_time():
    inner, units, _ = _units()
    assert units.fee_items(UNIT.unit_code) == {}
    inner.put_fee_item(UNIT.unit_code, "001", ITEM)
    assert units.fee_items(UNIT.unit_code) == {"001": ITEM}
    inner.put_fee_item(UNIT.unit_code, "002", ITEM)
    assert units.fee_items(UNIT.unit_code, fresh=True) == {"001": ITEM, "002": ITEM}
    assert inner.reads == 3


def test_a_copy_of_fee_items_changed_by_its_caller_leaves_the_cache_as_it_was():
    inner, units, _ = _units()
    inner.put_fee_item(UNIT.unit_code, "001", ITEM)
    units.fee_items(UNIT.unit_code).clear()
    assert units.fee_items(UNIT.unit_code) == {"001": ITEM}
