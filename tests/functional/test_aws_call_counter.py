"""The AWS-call counter other tests rely on (``support.counting_aws_calls``): it must see every
botocore client, boto3's or pynamodb's, old or made inside its block, and nothing after it, or
a test asserting "no AWS call" would pass by missing them."""

from __future__ import annotations

from tests.functional.support import counting_aws_calls


def test_the_counter_sees_clients_made_before_and_inside_its_block_and_nothing_after(
        world, monkeypatch):
    import boto3

    made_before = world.deps._client("sqs")
    with counting_aws_calls(monkeypatch) as calls:
        made_before.get_queue_attributes(QueueUrl=world.issue_queue_url,
                                         AttributeNames=["All"])
        boto3.session.Session().client("s3", region_name="cn-north-1").list_buckets()
        assert world.deps.notes.get("34010026000000000000") is None  # pynamodb's client
    made_before.get_queue_attributes(QueueUrl=world.issue_queue_url, AttributeNames=["All"])

    assert calls.calls == ["sqs.GetQueueAttributes", "s3.ListBuckets", "dynamodb.GetItem"]


def test_counters_nest_and_each_stops_at_the_end_of_its_own_block(world, monkeypatch):
    sqs = world.deps._client("sqs")
    with counting_aws_calls(monkeypatch) as outer:
        sqs.list_queues()
        with counting_aws_calls(monkeypatch) as inner:
            sqs.list_queues()
        sqs.list_queues()
    sqs.list_queues()

    assert (len(outer), len(inner)) == (3, 1)
