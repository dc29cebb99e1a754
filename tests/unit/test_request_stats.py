"""The local stack's request counter (devstack/request_stats.py), which benchmarks read."""

from __future__ import annotations

import json
import threading

import boto3
from botocore.stub import Stubber

from chalicelib.adapters import fan_out
from devstack.request_stats import RequestStats, role


def test_a_threads_role_is_its_name_without_the_number_of_its_kind():
    assert role("worker-issue_bill-3") == "worker-issue_bill"
    assert role("archive-upload_2") == "archive-upload"
    assert role("Thread-7 (process_request_thread)") == "(process_request_thread)"
    assert role("app GET /v1/public/notes/{n}") == "app GET /v1/public/notes/{n}"


def test_requests_are_counted_by_caller_and_operation_and_gathered_reads_count_for_the_gatherer(
        tmp_path):
    sqs = boto3.client("sqs", region_name="cn-north-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    stub = Stubber(sqs)
    for _ in range(3):
        stub.add_response("list_queues", {"QueueUrls": []})
    stats = RequestStats(tmp_path / "requests.json")
    stats.install()
    try:
        with stub:
            caller = threading.Thread(target=lambda: fan_out.gather(sqs.list_queues,
                                                                    sqs.list_queues),
                                      name="app GET /v1/public/notes/{n}")
            caller.start()
            caller.join(10)
            poller = threading.Thread(target=sqs.list_queues, name="worker-send_sms-2")
            poller.start()
            poller.join(10)
            stats.stop()  # writes the file
    finally:
        stats.uninstall()
    written = json.loads((tmp_path / "requests.json").read_text())
    assert written["counts"] == {
        "app GET /v1/public/notes/{n} SQS.ListQueues": 2, "worker-send_sms SQS.ListQueues": 1}
    assert set(written["seconds"]) == set(written["counts"])
    assert all(0 <= s < 10 for s in written["seconds"].values())


def test_what_the_stack_spends_besides_requests_is_added_to_the_installed_counter_only(tmp_path):
    from devstack.request_stats import spent

    spent("worker-issue_bill queue wait", 1.0)  # no counter installed: nothing, no error
    stats = RequestStats(tmp_path / "requests.json")
    stats.install()
    try:
        spent("worker-issue_bill queue wait", 0.25, 2)
        spent("worker-issue_bill queue wait", 0.5)
        stats.stop()
    finally:
        stats.uninstall()
    spent("worker-issue_bill queue wait", 1.0)
    written = json.loads((tmp_path / "requests.json").read_text())
    assert written == {"counts": {"worker-issue_bill queue wait": 3},
                       "seconds": {"worker-issue_bill queue wait": 0.75}}
