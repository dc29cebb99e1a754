"""事中/事后 checks on fakes: each kind found, with links to its records; nothing found on an
ordinary day."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.fee_items import FeeItem
from chalicelib.services import anomalies, lifecycle
from chalicelib.services.issuance import issue_bill
from tests.unit.scenario import ITEM_CODE, ITEM_NAME, UNIT, paid_note
from tests.unit.test_remittance_service import ALL, OTHER_CITY

DAY = "2026-03-02"


def kinds(found: dict) -> list[str]:
    return [a["kind"] for a in found["anomalies"]]


def test_an_ordinary_day_has_no_anomaly(deps):
    issue_bill(deps, paid_note(deps).payment_code)
    assert anomalies.find(deps, ALL, DAY, DAY)["anomalies"] == []


def test_a_note_above_its_items_standard_is_found_with_its_link(deps):
    note = paid_note(deps)
    issue_bill(deps, note.payment_code)
    deps.units.put_fee_item(UNIT.unit_code, ITEM_CODE, FeeItem(name=ITEM_NAME, standard_fen=5000))
    found = anomalies.find(deps, ALL, DAY, DAY)
    [anomaly] = found["anomalies"]
    assert anomaly["kind"] == "above_standard" and anomaly["unit_code"] == UNIT.unit_code
    assert "80.00" in anomaly["message"] and "50.00" in anomaly["message"]
    assert anomaly["records"][0]["payment_code"] == note.payment_code
    assert anomaly["records"][0]["url"].endswith(f"/pay/{note.payment_code}")


def test_a_payment_still_unbilled_after_an_hour_is_found(deps, clock):
    note = paid_note(deps)
    assert anomalies.find(deps, ALL, DAY, DAY)["anomalies"] == []  # paid minutes ago
    clock.advance(hours=2)
    found = anomalies.find(deps, ALL, DAY, DAY)
    assert kinds(found) == ["unbilled_payment"]
    assert found["anomalies"][0]["records"][0]["payment_code"] == note.payment_code


def test_a_unit_voiding_many_bills_within_an_hour_is_found_twice(deps, clock):
    unit = deps.units.get(UNIT.unit_code)
    refs = [issue_bill(deps, paid_note(deps, txn=f"4200000001202603020000000{i:03d}")
                       .payment_code) for i in range(6)]
    for ref in refs:
        clock.advance(minutes=5)
        lifecycle.void_bill(deps, unit, ref.bill_code, ref.bill_number, {"reason": "开错"})
    found = anomalies.find(deps, ALL, DAY, DAY)
    assert sorted(kinds(found)) == ["bulk_voids", "frequent_reversals"]
    bulk = next(a for a in found["anomalies"] if a["kind"] == "bulk_voids")
    assert len(bulk["records"]) == 6 and "check_code=" in bulk["records"][0]["url"]


def test_another_regions_key_sees_none_of_it(deps, clock):
    paid_note(deps)
    clock.advance(hours=2)
    assert anomalies.find(deps, ALL, DAY, DAY)["anomalies"]
    assert anomalies.find(deps, OTHER_CITY, DAY, DAY)["anomalies"] == []


@pytest.mark.parametrize(("start", "end", "field"), [
    (None, DAY, "from"), (DAY, None, "to"), ("2026-3-2", DAY, "from"), (DAY, "2026-02-30", "to"),
    (DAY, "2026-03-01", "to"), ("2026-01-01", "2026-03-02", "to")])
def test_a_bad_period_names_its_field(deps, start, end, field):
    with pytest.raises(ValidationFailed) as caught:
        anomalies.find(deps, ALL, start, end)
    assert field in caught.value.fields
