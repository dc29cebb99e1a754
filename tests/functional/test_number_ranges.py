"""Number ranges: numbers come from the unit's range, in order; unfinished issuances are repaired."""

import json
from datetime import timedelta

from chalicelib.services.ranges import (
    allocate_range,
    range_report,
    repair_pending_bills,
)
from tests.functional.test_end_to_end import create_and_open, notify


def repaired(**counts: int) -> dict[str, int]:
    """The repair job's outcome: every kind counted, zero unless given."""
    return {"requeued": 0, "reversals": 0, "voided": 0, "skipped": 0, **counts}


def paid_note(world, client):
    code, order = create_and_open(world, client)
    assert notify(world, client, order).status_code == 204
    return code


def test_bills_take_consecutive_numbers_from_the_units_range(world, client):
    codes = [paid_note(world, client) for _ in range(3)]
    world.drain()
    numbers = [json.loads(client.http.get(f"/v1/notes/{c}", headers=world.auth()).body)
               ["bill"]["bill_number"] for c in codes]
    assert sorted(numbers) == ["0000000001", "0000000002", "0000000003"]
    row = next(r for r in range_report(world.deps)
               if r["unit_code"] == "340100001" and r["kind_code"] == "0101")
    assert (row["used"], row["void"], row["left"]) == (3, 0, 4997)


def test_a_second_range_of_the_same_code_never_overlaps_the_first(world, client):
    world.deps.units.set_bill_kinds("340100002", "0301", ("0301", "0101"))  # allowed first
    first = allocate_range(world.deps, "340100002", "0101", 10)
    second = allocate_range(world.deps, "340100001", "0101", 10)
    assert first.bill_code == second.bill_code
    assert second.start == first.end + 1


def test_a_number_whose_issuance_stopped_is_completed_by_the_repair_job(world, client):
    code = paid_note(world, client)
    note = world.deps.notes.get(code)
    world.deps.bills.reserve(note, check_code="AbC123",
                             issued_at=world.clock().isoformat(timespec="seconds"))
    # The issuing worker died here: the number is taken, the bill pending, the job gone.
    world.deps._client("sqs").purge_queue(QueueUrl=world.issue_queue_url)
    assert repair_pending_bills(world.deps) == repaired()  # not stale yet
    world.clock.now += timedelta(minutes=11)
    assert repair_pending_bills(world.deps) == repaired(requeued=1)
    world.drain()
    bill = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)["bill"]
    assert bill["bill_number"] == "0000000001" and bill["check_code"] == "AbC123"


def test_a_number_that_cannot_be_completed_is_recorded_void(world, client):
    from chalicelib.adapters.dynamo_models import NoteModel

    code = paid_note(world, client)
    world.deps.bills.reserve(world.deps.notes.get(code), check_code="XyZ789",
                             issued_at=world.clock().isoformat(timespec="seconds"))
    NoteModel(code).delete()  # the note vanished (an operator's mistake, say)
    world.clock.now += timedelta(minutes=11)
    assert repair_pending_bills(world.deps) == repaired(voided=1)
    row = next(r for r in range_report(world.deps)
               if r["unit_code"] == "340100001" and r["kind_code"] == "0101")
    assert (row["used"], row["void"]) == (0, 1)
    assert repair_pending_bills(world.deps) == repaired()


def test_a_note_of_a_kind_the_unit_has_no_range_for_is_refused(world, client):
    body = {"payer": {"name": "张三", "type": "individual"},
            "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）", "quantity": 1,
                       "standard_fen": 8000, "amount_fen": 8000}],
            "total_fen": 8000, "bill_kind": "0501"}
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(body))
    assert r.status_code == 400
    assert "bill_kind" in json.loads(r.body)["error"]["fields"]


def test_a_reversal_that_stalled_after_taking_its_number_is_finished_by_the_repair_job(
        world, client):
    from chalicelib.adapters.bill_files import verify_bill_file

    code = paid_note(world, client)
    world.drain()
    ref = world.deps.notes.get(code).bill
    original = world.deps.bills.get(ref.bill_code, ref.bill_number)
    red_number = world.deps.bills.reserve_reversal(
        original, check_code="ReD123", issued_at=world.clock().isoformat(timespec="seconds"),
        reason="多收费用，退还")
    # The request died here: the red bill's number is taken, the red bill never made.
    red_id = red_number.bill_code + red_number.bill_number
    world.clock.now += timedelta(minutes=11)

    assert repair_pending_bills(world.deps) == repaired(reversals=1)
    world.drain()  # the issuing queue's function finishes it

    red = world.deps.bills.get(red_number.bill_code, red_number.bill_number)
    assert red is not None and red.bill.total_fen == -original.bill.total_fen
    assert red.bill.check_code == "ReD123" and "多收费用，退还" in red.bill.remark
    assert red.links == {"reverses": original.bill.bill_id}
    after = world.deps.bills.get(ref.bill_code, ref.bill_number)
    assert after.status.value == "reversed" and after.links == {"reversed_by": red_id}
    keys = {k.kid: k.public() for k in world.deps.keys.all()}
    assert verify_bill_file(world.deps.archive.get(red.xml.key), keys).ok
    row = next(r for r in range_report(world.deps) if r["bill_code"] == red_number.bill_code
               and r["unit_code"] == "340100001")
    assert (row["used"], row["void"]) == (2, 0)
    assert repair_pending_bills(world.deps) == repaired()
    # The payer's retry of the request now answers with the same red bill.
    r = client.http.post(f"/v1/bills/{ref.bill_code}/{ref.bill_number}/reversal",
                         headers=world.auth(), body=json.dumps({"reason": "多收费用，退还"}))
    assert r.status_code == 200 and json.loads(r.body)["bill_number"] == red_number.bill_number
