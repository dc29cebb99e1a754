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
