"""The integrity job re-reads archived files and names any that differ from their record."""

from chalicelib.services.integrity import check_archive
from tests.functional.test_reimbursements_api import issued_bill


def test_every_archived_file_matches_its_recorded_digest(world, client):
    issued_bill(world, client)
    issued_bill(world, client)
    report = check_archive(world.deps)
    assert report.ok and report.checked == 4


def test_a_file_that_differs_from_its_record_is_reported(world, client):
    from chalicelib.adapters.dynamo_models import BillModel

    bill = issued_bill(world, client)
    row = BillModel.get(bill["bill_code"] + bill["bill_number"])
    files = row.files.as_dict()
    files["pdf"]["sha256"] = "0" * 64  # the record and the archive disagree
    BillModel(row.bill_id).update(actions=[BillModel.files.set(files)])
    report = check_archive(world.deps)
    assert not report.ok
    assert [(p["bill_id"], p["file"]) for p in report.problems] == [(row.bill_id, "pdf")]
