"""Integration tests of the local stack's building blocks (devstack/services.py).

They run real DynamoDB Local (Java, from npm) and a real moto server; nothing is skipped: a
missing npm or java fails with a message saying what to install.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack import services

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infra" / "resources.json"
NODE_PREFIX = Path(os.environ.get("DYNAMODB_LOCAL_NODE_PREFIX",
                                  Path.home() / ".cache" / "chalicelib-local" / "node"))
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
         "region_name": "cn-north-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(service: str, endpoint_url: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, **CREDS)


@pytest.fixture(scope="module")
def jar_dir() -> Path:
    missing = [tool for tool in ("npm", "java") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found on PATH: the local stack needs Node.js "
                    "20+ with npm and Java 17+ (Debian: apt-get install nodejs npm "
                    "openjdk-17-jre-headless)")
    found = services.install_dynamodb_local(NODE_PREFIX)
    started = time.monotonic()
    assert services.install_dynamodb_local(NODE_PREFIX) == found
    assert time.monotonic() - started < 1, "second install should be a no-op"
    assert (found / "DynamoDBLocal.jar").is_file() and (found / "DynamoDBLocal_lib").is_dir()
    return found


def template_tables() -> dict[str, dict[str, Any]]:
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    return {lid: r["Properties"] for lid, r in resources.items()
            if r.get("Type") == "AWS::DynamoDB::Table"}


def test_dynamodb_local_tables_and_persistence(jar_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "ddb"
    started = time.monotonic()
    proc = services.start_dynamodb_local(jar_dir, data_dir, port)
    print(f"DynamoDB Local ready in {time.monotonic() - started:.2f} s")
    try:
        assert os.getpgid(proc.pid) == proc.pid, "needs its own process group"
        ddb = client("dynamodb", f"http://127.0.0.1:{port}")
        tables = template_tables()
        names = {lid: f"test-{lid}" for lid in tables}
        created = services.create_tables(TEMPLATE, names, ddb)
        assert sorted(created) == sorted(names.values())
        assert services.create_tables(TEMPLATE, names, ddb) == []
        for lid, props in tables.items():
            desc = ddb.describe_table(TableName=names[lid])["Table"]
            assert desc["KeySchema"] == props["KeySchema"]
            assert (sorted(desc["AttributeDefinitions"], key=str)
                    == sorted(props["AttributeDefinitions"], key=str))
            want = {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes", [])}
            got = {g["IndexName"]: g["KeySchema"] for g in desc.get("GlobalSecondaryIndexes", [])}
            assert got == want, lid
            assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
            ttl = ddb.describe_time_to_live(TableName=names[lid])["TimeToLiveDescription"]
            if "TimeToLiveSpecification" in props:
                assert ttl["TimeToLiveStatus"] == "ENABLED"
                assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
            else:
                assert ttl["TimeToLiveStatus"] == "DISABLED"
        with pytest.raises(ValueError, match="NoSuchTable"):
            services.create_tables(TEMPLATE, {"NoSuchTable": "x"}, ddb)
        item = {"payment_code": {"S": "11010025000000000017"}, "unit_code": {"S": "U1"},
                "created_at": {"S": "2025-01-01T00:00:00+08:00"}, "total_fen": {"N": "12345"}}
        ddb.put_item(TableName=names["NotesTable"], Item=item)
    finally:
        assert services.stop_process_group(proc) is not None

    # After the clean stop above: the item is back; write another one, then SIGKILL.
    proc = services.start_dynamodb_local(jar_dir, data_dir, port)
    try:
        ddb = client("dynamodb", f"http://127.0.0.1:{port}")
        key = {"payment_code": item["payment_code"]}
        assert ddb.get_item(TableName=names["NotesTable"], Key=key)["Item"] == item
        assert services.create_tables(TEMPLATE, names, ddb) == []
        ddb.put_item(TableName=names["CountersTable"],
                     Item={"counter_id": {"S": "11010125"}, "value": {"N": "7"}})
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    proc = services.start_dynamodb_local(jar_dir, data_dir, port)
    try:
        ddb = client("dynamodb", f"http://127.0.0.1:{port}")
        assert ddb.get_item(TableName=names["NotesTable"], Key=key)["Item"] == item
        got = ddb.get_item(TableName=names["CountersTable"], Key={"counter_id": {"S": "11010125"}})
        assert got["Item"]["value"] == {"N": "7"}
        assert len(ddb.list_tables()["TableNames"]) == len(names)
    finally:
        services.stop_process_group(proc)


def test_dynamodb_local_port_taken(jar_dir: Path, tmp_path: Path) -> None:
    moto = services.start_moto(0, tmp_path / "moto")
    try:
        port = int(moto.endpoint_url.rsplit(":", 1)[1])
        with pytest.raises(RuntimeError, match="already in use"):
            services.start_dynamodb_local(jar_dir, tmp_path / "ddb", port)
    finally:
        moto.stop()


@pytest.fixture()
def moto_dir(tmp_path: Path) -> Path:
    return tmp_path / "moto-state"


def make_archive(s3: Any) -> dict[str, dict[str, Any]]:
    s3.create_bucket(Bucket="archive", ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
    s3.put_object_lock_configuration(Bucket="archive", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    objects = {
        "bills/11010125/0000000001.pdf": {"Body": b"%PDF-1.7\n" + bytes(range(256)) * 40,
                                          "ContentType": "application/pdf",
                                          "Metadata": {"bill-code": "11010125", "kid": "k1"}},
        "bills/11010125/0000000001.xml": {"Body": "<票据>测试</票据>".encode(),
                                          "ContentType": "application/xml; charset=utf-8",
                                          "Metadata": {"sha256": "abc"}},
    }
    for key, spec in objects.items():
        s3.put_object(Bucket="archive", Key=key, **spec)
    return objects


def assert_archive(s3: Any, objects: dict[str, dict[str, Any]]) -> None:
    assert s3.get_bucket_versioning(Bucket="archive")["Status"] == "Enabled"
    rule = s3.get_object_lock_configuration(Bucket="archive")["ObjectLockConfiguration"]
    assert rule["ObjectLockEnabled"] == "Enabled"
    assert rule["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert rule["Rule"]["DefaultRetention"]["Days"] == 1
    for key, spec in objects.items():
        got = s3.get_object(Bucket="archive", Key=key)
        assert got["Body"].read() == spec["Body"]
        assert got["ContentType"] == spec["ContentType"]
        assert got["Metadata"] == spec["Metadata"]
        assert got["ObjectLockMode"] == "COMPLIANCE"
        until = got["ObjectLockRetainUntilDate"]
        assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(days=1)
        with pytest.raises(ClientError) as refused:
            s3.delete_object(Bucket="archive", Key=key, VersionId=got["VersionId"])
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_moto_s3_survives_clean_restart(moto_dir: Path) -> None:
    started = time.monotonic()
    handle = services.start_moto(0, moto_dir)
    print(f"moto ready in {time.monotonic() - started:.3f} s")
    try:
        s3 = client("s3", handle.endpoint_url)
        objects = make_archive(s3)
        key = "bills/11010125/0000000001.xml"
        first = s3.head_object(Bucket="archive", Key=key)
        s3.delete_object(Bucket="archive", Key=key)  # a delete marker on top ...
        s3.put_object(Bucket="archive", Key=key, **objects[key])  # ... then a new version
        versions_before = s3.list_object_versions(Bucket="archive")
    finally:
        handle.stop()
    handle.stop()  # idempotent

    # Another state dir starts empty: what comes back below came from disk, not from memory.
    empty = services.start_moto(0, moto_dir.parent / "other")
    try:
        assert client("s3", empty.endpoint_url).list_buckets()["Buckets"] == []
    finally:
        empty.stop()

    handle = services.start_moto(0, moto_dir)
    try:
        s3 = client("s3", handle.endpoint_url)
        assert_archive(s3, objects)
        after = s3.list_object_versions(Bucket="archive")
        shape = [(v["Key"], v["IsLatest"], v["Size"], v["ETag"]) for v in
                 versions_before["Versions"]]
        assert [(v["Key"], v["IsLatest"], v["Size"], v["ETag"])
                for v in after["Versions"]] == shape
        assert [(m["Key"], m["IsLatest"]) for m in after["DeleteMarkers"]] == [(key, False)]
        old = [v for v in after["Versions"] if v["Key"] == key and not v["IsLatest"]]
        assert len(old) == 1 and old[0]["ETag"] == first["ETag"]
        # New writes after a restore are journalled too.
        s3.put_object(Bucket="archive", Key="later.txt", Body=b"later")
    finally:
        handle.stop()
    handle = services.start_moto(0, moto_dir)
    try:
        s3 = client("s3", handle.endpoint_url)
        assert s3.get_object(Bucket="archive", Key="later.txt")["Body"].read() == b"later"
        assert_archive(s3, objects)
    finally:
        handle.stop()
    blobs = sorted(p.name for p in (moto_dir / "s3" / "blobs").iterdir())
    assert len(blobs) == 3, blobs  # pdf, xml (written twice, stored once), later.txt


MOTO_PROCESS = """
import sys, threading
from pathlib import Path
from devstack.services import start_moto
handle = start_moto(int(sys.argv[1]), Path(sys.argv[2]))
print("ready", handle.endpoint_url, flush=True)
threading.Event().wait()
"""


def test_moto_s3_survives_hard_kill(moto_dir: Path) -> None:
    port = free_port()
    log = moto_dir.parent / "moto-process.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", MOTO_PROCESS, str(port), str(moto_dir)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                start_new_session=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith(f"ready http://127.0.0.1:{port}"), log.read_text()[-2000:]
        s3 = client("s3", f"http://127.0.0.1:{port}")
        objects = make_archive(s3)
        time.sleep(1.5)  # three flush intervals
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    handle = services.start_moto(0, moto_dir)
    try:
        assert_archive(client("s3", handle.endpoint_url), objects)
    finally:
        handle.stop()


def test_moto_sms_and_other_services(moto_dir: Path) -> None:
    handle = services.start_moto(0, moto_dir)
    try:
        sns = client("sns", handle.endpoint_url)
        sns.publish(PhoneNumber="+8613800138000", Message="【非税】您的缴款码 1101002500000001")
        assert handle.sms_messages() == [("+8613800138000", "【非税】您的缴款码 1101002500000001")]
        sqs = client("sqs", handle.endpoint_url)
        url = sqs.create_queue(QueueName="issue-bill")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        kms = client("kms", handle.endpoint_url)
        key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        secrets = client("secretsmanager", handle.endpoint_url)
        secrets.create_secret(Name="bank/secret", SecretString="s3cr3t")
        assert key_id["KeyId"]
    finally:
        handle.stop()
    handle = services.start_moto(0, moto_dir)
    try:  # only S3 persists: the orchestrator re-creates queues, keys and secrets
        assert handle.sms_messages() == []
        assert client("sqs", handle.endpoint_url).list_queues().get("QueueUrls", []) == []
        assert client("kms", handle.endpoint_url).list_keys()["Keys"] == []
        assert client("secretsmanager", handle.endpoint_url).list_secrets()["SecretList"] == []
    finally:
        handle.stop()


def test_motos_data_json_lists_the_texts_sent_and_no_other_object_ever_made(
        moto_dir: Path) -> None:
    """The tests read SMS texts from ``/moto-api/data.json`` many times a run: it must not grow
    with every S3 object and SQS message the stack ever handled (it cost ~1 CPU-s a read)."""
    handle = services.start_moto(0, moto_dir)
    try:
        s3 = client("s3", handle.endpoint_url)
        s3.create_bucket(Bucket="archive",
                         CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        sqs = client("sqs", handle.endpoint_url)
        url = sqs.create_queue(QueueName="issue-bill")["QueueUrl"]
        for i in range(20):
            s3.put_object(Bucket="archive", Key=f"bills/{i}.pdf", Body=b"%PDF-" + bytes(5000))
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"i": i}))
        sns = client("sns", handle.endpoint_url)
        sns.publish(PhoneNumber="+8613800138000", Message="【非税】您的缴款码 1101002500000001")

        with urllib.request.urlopen(f"{handle.endpoint_url}/moto-api/data.json") as answer:
            data = json.loads(answer.read())
    finally:
        handle.stop()
    assert [(m["phone_number"], m["message"]) for m in data["sns"]["SMS"]] == [
        ("+8613800138000", "【非税】您的缴款码 1101002500000001")]
    others = {f"{service}.{model}": len(instances) for service, models in data.items()
              for model, instances in models.items()
              if instances and (service, model) != ("sns", "SMS")}
    assert others == {}, others


def test_motos_sqs_hands_out_a_message_within_its_queues_retention_period_and_drops_an_older_one(
        moto_dir: Path) -> None:
    """The stack's moto checks retention without deriving every queue attribute
    (devstack/moto_tuning.py): what it decides stays moto's."""
    from moto.sqs.models import sqs_backends

    handle = services.start_moto(0, moto_dir)
    try:
        sqs = client("sqs", handle.endpoint_url)
        url = sqs.create_queue(QueueName="issue-bill",
                               Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="old")
        sqs.send_message(QueueUrl=url, MessageBody="new")
        queue = sqs_backends["123456789012"]["cn-north-1"].queues["issue-bill"]
        old = next(m for m in queue._messages if m.body == "old")
        old.sent_timestamp -= 61_000  # sent 61 s ago: past the 60 s retention

        got = [sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
               for _ in range(3)]
    finally:
        handle.stop()
    assert [m["Body"] for batch in got for m in batch] == ["new"]


def test_the_s3_journal_wakes_only_for_requests_that_may_write_s3() -> None:
    """Between such requests the journal's flushes skip the walk over every S3 version."""
    s3 = "AWS4-HMAC-SHA256 Credential=local/20261202/cn-north-1/s3/aws4_request, Signature=x"
    sqs = "AWS4-HMAC-SHA256 Credential=local/20261202/cn-north-1/sqs/aws4_request, Signature=x"
    presigned = "X-Amz-Credential=local%2F20261202%2Fcn-north-1%2Fs3%2Faws4_request&X-Amz-Date=1"
    assert services.may_write_s3({"REQUEST_METHOD": "PUT", "HTTP_AUTHORIZATION": s3})
    assert services.may_write_s3({"REQUEST_METHOD": "DELETE", "HTTP_AUTHORIZATION": s3})
    assert services.may_write_s3({"REQUEST_METHOD": "PUT", "QUERY_STRING": presigned})
    assert services.may_write_s3({"REQUEST_METHOD": "POST"})  # unsigned: moto serves it as S3
    assert not services.may_write_s3({"REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": s3})
    assert not services.may_write_s3({"REQUEST_METHOD": "POST", "HTTP_AUTHORIZATION": sqs})
