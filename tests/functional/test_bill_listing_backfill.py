"""The bills' unit index (``issuing_unit-issued_at-index``, the unit console's bill list) and the
back-fill of bills issued before it (``cli backfill-bill-listing``): such a bill is on no list
until the command gives it its unit; a second run changes nothing; a pending number is left to
its issuance; a bad page size is refused before anything is read."""

from __future__ import annotations

from chalicelib.adapters.dynamo_models import BillModel
from chalicelib.cli import main
from tests.functional.support import issued_bill
from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_unit_console import get


def as_before_the_index(bill: dict) -> None:
    """The bill's row as the code before the index wrote it: no ``issuing_unit``."""
    BillModel(bill["bill_code"] + bill["bill_number"]).update(
        actions=[BillModel.issuing_unit.remove()])


def test_bills_issued_before_the_index_are_listed_once_the_command_ran(client, world, capsys):
    _, old = issued_bill(world, client)
    _, other = issued_bill(world, client)
    as_before_the_index(old)
    as_before_the_index(other)
    cookies, _ = sign_in(client, world, "unit_admin")
    listing = get(client, "/console/unit/bills", cookies).body.decode()
    assert old["bill_number"] not in listing and other["bill_number"] not in listing
    assert main(["backfill-bill-listing", "--page-size", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("page 1: ") and out[-1].endswith(", 2 without a unit, 2 listed")
    listing = get(client, "/console/unit/bills", cookies).body.decode()
    assert old["bill_number"] in listing and other["bill_number"] in listing
    row = BillModel.get(old["bill_code"] + old["bill_number"])
    assert row.issuing_unit == "340100001" and row.issued_at.startswith("2026-06-15T")
    assert main(["backfill-bill-listing"]) == 0  # again: nothing left to list
    assert capsys.readouterr().out.splitlines()[-1].endswith(", 0 without a unit, 0 listed")


def test_a_pending_number_is_left_to_its_issuance(world):
    BillModel("340121260000009999", status="pending", pending="pending",
              reserved_at="2026-06-15T02:00:00+00:00", payment_code="34010026000000009999"
              ).save()
    assert main(["backfill-bill-listing"]) == 0
    row = BillModel.get("340121260000009999")
    assert row.issuing_unit is None and row.status == "pending"


def test_a_page_size_out_of_bounds_is_refused_before_reading(world, capsys):
    assert main(["backfill-bill-listing", "--page-size", "0"]) == 2
    assert "page size" in capsys.readouterr().err
