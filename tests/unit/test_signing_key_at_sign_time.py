"""The unit signs with its key in force at the bill's SignTime, and nothing unverified is archived.

The bill's time (its ``SignTime``) is fixed when its number is reserved. A rotation of the
unit's key between the reservation and the signing must not produce a bill signed by the new
key with a time before that key came into force: such a bill would never verify.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters.bill_files import verify_bill_file
from chalicelib.domain.notes import CHINA_TZ, NoteStatus
from chalicelib.services.issuance import BillNotVerified, issue_bill
from chalicelib.services.keys import rotate_key
from devstack.seed import FINANCE_KID
from tests.unit.scenario import UNIT
from tests.unit.test_reimbursement_races import paid


def archived_xml(deps, ref) -> bytes:
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    return deps.archive.get(record.xml.key)


def test_a_unit_key_rotated_between_reservation_and_signing_still_gives_a_verifying_bill(
        deps, clock):
    code = paid(deps)
    now = clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")
    reservation = deps.bills.reserve(deps.notes.get(code), check_code="AbC123", issued_at=now)
    # The issuing worker stalls here; meanwhile the unit's key is rotated, and the old key's
    # overlap runs out before the job is delivered again.
    clock.advance(minutes=1)
    new_key = rotate_key(deps, kid="unit-340100001-2026r", use="unit", owner=UNIT.unit_code)
    clock.advance(minutes=10)

    ref = issue_bill(deps, code)

    assert (ref.bill_number, ref.issued_at) == (reservation.bill_number, now)
    report = verify_bill_file(archived_xml(deps, ref), deps.keys.public())
    assert report.ok, report.failed()
    unit_sig = report.bill.signatures[0]
    assert unit_sig.kid == UNIT.signing_kid != new_key.kid
    assert unit_sig.sign_time == now


def test_bills_reserved_after_the_rotation_are_signed_with_the_new_key(deps, clock):
    clock.advance(minutes=1)
    new_key = rotate_key(deps, kid="unit-340100001-2026r", use="unit", owner=UNIT.unit_code)
    clock.advance(seconds=1)

    ref = issue_bill(deps, paid(deps))

    report = verify_bill_file(archived_xml(deps, ref), deps.keys.public())
    assert report.ok and report.bill.signatures[0].kid == new_key.kid


def test_a_bill_that_does_not_verify_is_not_archived_and_the_job_fails_to_run_again(deps):
    code = paid(deps)
    finance = deps.keys.get(FINANCE_KID)
    other_unit_key = deps.keys.get(UNIT.signing_kid)
    # The published finance key is not the one KMS signs with (a misconfigured rotation, say).
    deps.keys.put(replace(finance, public_key_pem=other_unit_key.public_key_pem))

    with pytest.raises(BillNotVerified, match="supervisor signature"):
        issue_bill(deps, code)

    assert not [k for k in deps.archive.files if k.startswith("bills/")]
    assert deps.notes.get(code).status is NoteStatus.PAID
    assert deps.jobs.sms == []

    deps.keys.put(finance)  # fixed: the job's next delivery issues the bill
    ref = issue_bill(deps, code)
    assert verify_bill_file(archived_xml(deps, ref), deps.keys.public()).ok
    assert deps.notes.get(code).status is NoteStatus.ISSUED
