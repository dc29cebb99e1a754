"""Number ranges: numbers come from the unit's range, in order; unfinished issuances are repaired."""

import json
from datetime import timedelta

from chalicelib.services.ranges import (
    allocate_range,
    range_report,
    repair_pending_bills,
)
from tests.functional.test_end_to_end import create_and_open, notify


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
    assert repair_pending_bills(world.deps) == {"requeued": 0, "voided": 0}  # not stale yet
    world.clock.now += timedelta(minutes=11)
    assert repair_pending_bills(world.deps) == {"requeued": 1, "voided": 0}
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
    assert repair_pending_bills(world.deps) == {"requeued": 0, "voided": 1}
    row = next(r for r in range_report(world.deps)
               if r["unit_code"] == "340100001" and r["kind_code"] == "0101")
    assert (row["used"], row["void"]) == (0, 1)
    assert repair_pending_bills(world.deps) == {"requeued": 0, "voided": 0}


def test_a_note_of_a_kind_the_unit_has_no_range_for_is_refused(world, client):
    body = {"payer": {"name": "张三", "type": "individual"},
            "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）", "quantity": 1,
                       "standard_fen": 8000, "amount_fen": 8000}],
            "total_fen": 8000, "bill_kind": "0501"}
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(body))
    assert r.status_code == 400
    assert "bill_kind" in json.loads(r.body)["error"]["fields"]
