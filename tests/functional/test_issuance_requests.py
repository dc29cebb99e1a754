"""What issuing bills asks of AWS: the notes read, the numbers taken, both files of each bill
archived, the bills saved, the texts queued; and nothing more (``bench.issuance`` and
``bench.cost`` count the same). A batch of bills shares every request but the archive's."""

from __future__ import annotations

import json

from chalicelib.services import issuance
from tests.functional.support import counting_aws_calls
from tests.functional.test_end_to_end import NOTE, create_and_open, notify

ISSUE = ["dynamodb.BatchGetItem",  # the note
         "dynamodb.TransactWriteItems",  # its number, with the range and the pending bill
         "s3.PutObject", "s3.PutObject",  # the XML, then the PDF
         "dynamodb.TransactWriteItems",  # the bill, and the note issued
         "sqs.SendMessageBatch"]  # the text to the payer


def paid(world, client, note: dict | None = None) -> str:
    """A note created, opened and paid; its issue job left in the queue."""
    if note is None:
        code, order = create_and_open(world, client)
    else:
        r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(note))
        assert r.status_code == 201, r.body
        code = json.loads(r.body)["payment_code"]
        r = client.http.post(f"/v1/public/notes/{code}/pay",
                             headers={"Content-Type": "application/json"},
                             body=json.dumps({"channel": "wechatpay"}))
        order = json.loads(r.body)
    assert notify(world, client, order).status_code == 204
    return code


def test_the_second_bill_of_a_range_takes_its_number_without_reading_the_ranges_again(
        world, client, monkeypatch):
    first, second = paid(world, client), paid(world, client)
    issuance.issue_bill(world.deps, first)  # reads the unit's ranges: which one is open
    with counting_aws_calls(monkeypatch) as calls:
        ref = issuance.issue_bill(world.deps, second)

    assert ref is not None
    assert calls.calls == ISSUE
    world.drain()  # the two queued jobs find their bills issued; each text goes once
    numbers = [json.loads(client.http.get(f"/v1/notes/{c}", headers=world.auth()).body)
               ["bill"]["bill_number"] for c in (first, second)]
    assert numbers == ["0000000001", "0000000002"]


def test_a_bill_for_a_payer_without_a_phone_queues_no_text(world, client, monkeypatch):
    no_phone = {**NOTE, "payer": {"name": "张三", "type": "individual"}}
    first, second = paid(world, client), paid(world, client, no_phone)
    issuance.issue_bill(world.deps, first)
    with counting_aws_calls(monkeypatch) as calls:
        ref = issuance.issue_bill(world.deps, second)
        again = issuance.issue_bill(world.deps, second)  # a job run again finds it issued

    assert ref is not None and again == ref
    assert calls.calls == [*ISSUE[:-1], "dynamodb.BatchGetItem"]


def test_ten_bills_issued_together_share_every_request_but_their_files(
        world, client, monkeypatch):
    first = paid(world, client)
    issuance.issue_bill(world.deps, first)  # reads the unit's ranges: which one is open
    codes = [paid(world, client) for _ in range(10)]
    with counting_aws_calls(monkeypatch) as calls:
        outcomes = issuance.issue_bills(world.deps, codes)

    assert calls.calls == [*ISSUE[:2], *["s3.PutObject"] * 20, *ISSUE[-2:]]
    refs = [outcomes[c] for c in codes]
    assert [int(r.bill_number) for r in refs] == list(range(2, 12))  # in the batch's order
    world.drain()  # the queued jobs find their bills issued; each text goes once
    for code, ref in zip(codes, refs, strict=True):
        note = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)
        assert note["status"] == "issued" and note["bill"]["bill_number"] == ref.bill_number
