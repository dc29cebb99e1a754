"""The scheduled jobs that recover lost work: stalled red bills, and paid notes left unissued."""

from __future__ import annotations

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.notes import NoteStatus
from chalicelib.services.lifecycle import finish_reversal_job, void_bill
from chalicelib.services.ranges import repair_pending_bills
from chalicelib.services.recovery import redrive_dead_letters, sweep_unissued_notes
from tests.unit.scenario import UNIT
from tests.unit.test_reimbursement_races import issued, paid


def repaired(**counts: int) -> dict[str, int]:
    return {"requeued": 0, "reversals": 0, "voided": 0, "skipped": 0, **counts}


def stalled_reversal(deps, clock):
    """A bill whose reversal took its red bill's number and then stopped."""
    original = issued(deps)
    now = clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")
    red = deps.bills.reserve_reversal(original, check_code="ReD123", issued_at=now,
                                      reason="多收费用")
    return original, red.bill_code + red.bill_number


def test_a_stalled_reversal_is_enqueued_after_ten_minutes_and_the_job_finishes_it(deps, clock):
    original, red_id = stalled_reversal(deps, clock)
    assert repair_pending_bills(deps) == repaired()
    clock.advance(minutes=11)

    assert repair_pending_bills(deps) == repaired(reversals=1)
    [job] = deps.jobs.reversals
    assert job == {"red_bill_id": red_id, "original": original.bill.bill_id, "reason": "多收费用"}
    finish_reversal_job(deps, job)

    red = deps.bills.get(red_id[:8], red_id[8:])
    assert red.bill.check_code == "ReD123" and "多收费用" in red.bill.remark
    assert red.bill.total_fen == -original.bill.total_fen
    after = deps.bills.get(original.bill.bill_code, original.bill.bill_number)
    assert after.status.value == "reversed" and after.links == {"reversed_by": red_id}
    assert repair_pending_bills(deps) == repaired()
    finish_reversal_job(deps, job)  # delivered twice: nothing more happens
    assert deps.jobs.sms.count((red_id[:8], red_id[8:])) == 1


def test_a_red_number_whose_original_was_voided_meanwhile_is_recorded_void(deps, clock):
    original, red_id = stalled_reversal(deps, clock)
    void_bill(deps, UNIT, original.bill.bill_code, original.bill.bill_number, {"reason": "开错"})
    clock.advance(minutes=11)
    repair_pending_bills(deps)

    finish_reversal_job(deps, deps.jobs.reversals[0])

    assert deps.bills.get(red_id[:8], red_id[8:]) is None
    assert deps.bills.rows[red_id].status == "voided"
    assert "voided" in deps.bills.rows[red_id].void_reason


def test_a_number_taken_for_a_purpose_the_job_does_not_know_is_left_pending(deps, clock):
    note = deps.notes.get(paid(deps))
    reservation = deps.bills.reserve(note, check_code="DiR123",
                                     issued_at=clock().astimezone(CHINA_TZ).isoformat())
    row = deps.bills.rows[reservation.bill_code + reservation.bill_number]
    row.purpose = "direct"  # as a future POST /v1/bills would mark its numbers
    clock.advance(minutes=11)

    assert repair_pending_bills(deps) == repaired(skipped=1)
    assert row.status == "pending" and deps.jobs.issue == []


def test_the_sweeper_enqueues_paid_notes_without_a_bill_after_five_minutes(deps, clock):
    code = paid(deps)  # paid at 10:05 China time; its issuance job was lost
    clock.now = clock.now.replace(minute=7)  # 10:07
    assert sweep_unissued_notes(deps) == []
    clock.advance(minutes=5)  # 10:12

    assert sweep_unissued_notes(deps) == [code]
    assert deps.jobs.issue == [code]


def test_the_sweeper_leaves_issued_and_unpaid_notes_alone(deps, clock):
    from tests.unit.scenario import create_note

    unpaid = create_note(deps)
    issued(deps)
    clock.advance(hours=1)

    assert sweep_unissued_notes(deps) == []
    assert deps.notes.get(unpaid.payment_code).status is NoteStatus.UNPAID


def test_the_sweeper_takes_at_most_its_limit_per_run(deps, clock):
    codes = [paid(deps, txn=f"42000000012026030200000000{i:02d}") for i in range(3)]
    clock.advance(hours=1)
    swept = sweep_unissued_notes(deps, limit=2)
    assert len(swept) == 2 and set(swept) < set(codes) and deps.jobs.issue == swept


def test_redriving_moves_dead_letters_back_to_their_queue(deps):
    deps.jobs.dead = ["34010026000000000001", "34010026000000000002"]
    assert redrive_dead_letters(deps) == {"fiscal-issue-bill": 2, "fiscal-send-sms": 0}
    assert deps.jobs.issue == ["34010026000000000001", "34010026000000000002"]
    assert deps.jobs.dead == []
