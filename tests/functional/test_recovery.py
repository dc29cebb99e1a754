"""Lost work is found again: a paid note whose issuance job was lost, and dead letters."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib import cli
from tests.functional.test_end_to_end import create_and_open, notify


def paid_without_its_job(world, client) -> str:
    """A note paid, whose issuance job then vanished (the enqueue failed after the commit)."""
    code, order = create_and_open(world, client)
    assert notify(world, client, order).status_code == 204
    sqs = world.deps._client("sqs")
    for _ in range(3):
        for message in sqs.receive_message(QueueUrl=world.issue_queue_url,
                                           MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=world.issue_queue_url,
                               ReceiptHandle=message["ReceiptHandle"])
    return code


def note_status(world, client, code: str) -> str:
    r = client.http.get(f"/v1/notes/{code}", headers=world.auth())
    return json.loads(r.body)["status"]


def sweep(client) -> None:
    client.lambda_.invoke("sweep_unissued_notes", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", resources=[], detail={}))


def test_the_sweeper_issues_a_paid_note_whose_issuance_job_was_lost(world, client):
    code = paid_without_its_job(world, client)
    sweep(client)
    assert world.drain() == 0  # within five minutes of the payment: left alone
    world.clock.now += timedelta(minutes=6)

    sweep(client)
    world.drain()

    assert note_status(world, client, code) == "issued"
    sweep(client)  # issued notes leave the sweeper's index
    assert world.drain() == 0


def test_redrive_dlq_moves_dead_issuance_jobs_back_and_they_issue(world, client, capsys):
    sqs = world.deps._client("sqs")
    dlq = sqs.create_queue(QueueName="fiscal-issue-bill-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=world.issue_queue_url, Attributes={"RedrivePolicy": (
        json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}))})
    codes = [paid_without_its_job(world, client) for _ in range(2)]
    for code in codes:  # five failed receives put each job here
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"payment_code": code}))

    assert cli.main(["redrive-dlq"]) == 0

    out = capsys.readouterr().out
    assert "fiscal-issue-bill: 2 messages moved back" in out
    assert "fiscal-send-sms: 0 messages" in out
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages") is None
    world.drain()
    assert [note_status(world, client, c) for c in codes] == ["issued", "issued"]
