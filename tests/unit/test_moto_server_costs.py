"""What the local stack does to make moto's server and DynamoDB Local cheaper per request
(devstack/services.py)."""

from __future__ import annotations

import logging
import os

from moto import backends
from werkzeug.serving import WSGIRequestHandler

from devstack.services import _lighten_moto_server


def test_moto_lists_its_services_once_and_the_same_ones(monkeypatch):
    listed = set(backends.list_of_moto_modules())
    _lighten_moto_server()

    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"listed {path} again")

    monkeypatch.setattr(os, "listdir", no_listing)
    assert set(backends.list_of_moto_modules()) == listed
    assert {"s3", "sqs", "sns", "kms", "secretsmanager"} <= listed


def test_a_request_line_is_only_made_when_werkzeug_logs_requests():
    _lighten_moto_server()
    half_made = object.__new__(WSGIRequestHandler)  # no request line: making one would fail
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    try:
        werkzeug_log.setLevel(logging.WARNING)
        half_made.log_request(200, 10)  # returns before formatting anything
        werkzeug_log.setLevel(logging.INFO)
        try:
            half_made.log_request(200, 10)
        except AttributeError:
            pass  # werkzeug's own formatting ran, and found no request line
        else:
            raise AssertionError("werkzeug's log_request did not run at INFO")
    finally:
        werkzeug_log.setLevel(level)


def test_dynamodb_local_runs_with_the_first_compiler_and_the_serial_collector_unless_told(
        monkeypatch, tmp_path):
    from devstack.services import dynamodb_local_command

    monkeypatch.delenv("DYNAMODB_LOCAL_JAVA_OPTS", raising=False)
    command = dynamodb_local_command(tmp_path, 8003)
    assert command[:3] == ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    assert command[-5:] == ["-dbPath", str(tmp_path.resolve()), "-port", "8003",
                            "-disableTelemetry"]
    monkeypatch.setenv("DYNAMODB_LOCAL_JAVA_OPTS", "-Xmx512m")
    assert dynamodb_local_command(tmp_path, 8003)[:3] == ["java", "-Xmx512m",
                                                          "-Djava.library.path=./DynamoDBLocal_lib"]


def test_moto_finds_a_response_classs_methods_and_a_names_snake_case_once_each(monkeypatch):
    import inspect
    import sys

    from moto.core import responses, utils
    from moto.sqs.responses import SQSResponse

    from devstack import moto_tuning

    expected = utils.method_names_from_class(SQSResponse)
    moto_tuning.remember_name_lookups()
    moto_tuning.remember_name_lookups()  # idempotent
    first = responses.method_names_from_class(SQSResponse)
    first.append("changed_by_a_caller")  # a fresh list each time, as moto's own
    looked_up: list[object] = []
    monkeypatch.setattr(inspect, "getmembers", lambda *a, **k: looked_up.append(a) or [])
    assert responses.method_names_from_class(SQSResponse) == expected
    assert "receive_message" in expected and looked_up == []
    for name in moto_tuning.SNAKE_CASE_CALLERS:
        snake = sys.modules[name].camelcase_to_underscores
        assert snake("ReceiveMessage") == "receive_message"
        assert snake("VisibilityTimeout") == "visibility_timeout"
        assert snake("ContentBasedDeduplication") == "content_based_deduplication"
        assert snake is responses.camelcase_to_underscores  # one memory for all


def test_dynamodb_local_keeps_its_tables_in_memory_only_when_asked(monkeypatch, tmp_path):
    from devstack.services import dynamodb_local_command

    monkeypatch.delenv("DYNAMODB_LOCAL_JAVA_OPTS", raising=False)
    command = dynamodb_local_command(tmp_path, 8003, in_memory=True)
    assert "-inMemory" in command and "-dbPath" not in command
    assert command[-4:] == ["-inMemory", "-port", "8003", "-disableTelemetry"]
    assert "-inMemory" not in dynamodb_local_command(tmp_path, 8003)


def test_the_stacks_moto_finds_each_attributes_name_once_as_the_tiers_moto_does(monkeypatch):
    from devstack import moto_aliases, moto_tuning

    applied: list[str] = []
    for name in ("retention_check_reads_one_attribute", "remember_name_lookups"):
        monkeypatch.setattr(moto_tuning, name, lambda name=name: applied.append(name))
    monkeypatch.setattr(moto_tuning, "track_only", lambda models: applied.append("track_only"))
    monkeypatch.setattr(moto_aliases, "install", lambda: applied.append("aliases"))
    moto_tuning.apply()  # as start_moto does in the stack's moto process
    assert sorted(applied) == ["aliases", "remember_name_lookups",
                               "retention_check_reads_one_attribute", "track_only"]


def test_the_s3_journal_makes_again_only_the_text_of_keys_that_changed(tmp_path, monkeypatch):
    import json

    from moto.s3.models import s3_backends

    from devstack import services

    backend = s3_backends["000000000042"]["aws"]
    backend.create_bucket("journal-cost", "cn-north-1")
    try:
        backend.put_bucket_versioning("journal-cost", "Enabled")
        backend.put_object_lock_configuration("journal-cost", True, "COMPLIANCE", 10, None)
        for n in range(50):
            backend.put_object("journal-cost", f"k{n}", b"%d" % n)
        journal = services._S3Journal(tmp_path / "s3")
        assert journal.flush()
        rendered: list[object] = []
        dumps = json.dumps
        monkeypatch.setattr(services.json, "dumps",
                            lambda value, **kw: rendered.append(value) or dumps(value, **kw))
        assert not journal.flush()  # nothing changed: nothing written
        backend.put_object("journal-cost", "k7", b"seven again")  # a new version of one key
        old = backend.get_object("journal-cost", "k8")
        old.lock_legal_status = "ON"  # a lock changed on an existing version
        assert journal.flush()
        keys = {value for value in rendered if isinstance(value, str)}
        assert {"k7", "k8"} <= keys, keys
        assert not keys & {f"k{n}" for n in range(50) if n not in (7, 8)}, keys  # reused
        written = json.loads(journal.manifest.read_text())["buckets"]["journal-cost"]["keys"]
        assert len(written["k7"]) == 2 and written["k8"][0]["legal_hold"] == "ON"
        assert written["k9"][0]["legal_hold"] in (None, "OFF")
    finally:
        for key in list(dict(backend.buckets["journal-cost"].keys)):
            backend.buckets["journal-cost"].keys.pop(key)
        backend.buckets.pop("journal-cost")


def test_moto_s_process_logs_no_request_unless_verbose(monkeypatch):
    from werkzeug import _internal

    from devstack import moto_process

    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    monkeypatch.setattr(_internal, "_logger", None)  # as in a new process
    try:
        werkzeug_log.setLevel(logging.NOTSET)
        moto_process.configure_logging(verbose=False)
        _internal._log("info", "the server starts")  # werkzeug's first message
        assert not werkzeug_log.isEnabledFor(logging.INFO)
        moto_process.configure_logging(verbose=True)
        assert werkzeug_log.isEnabledFor(logging.INFO)
    finally:
        werkzeug_log.setLevel(level)
        for handler in list(werkzeug_log.handlers):
            if type(handler).__module__ == "werkzeug._internal":
                werkzeug_log.removeHandler(handler)
