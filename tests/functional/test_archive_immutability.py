"""The bill archive cannot be rewritten: S3 Object Lock (COMPLIANCE) on every file; and health.

moto 5.2.5 answers GetObjectRetention with a 500, so the lock is read from head_object
(stack-notes.md).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.functional.support import body_of, issued_bill


def archived(world, suffix: str) -> tuple[str, str, bytes]:
    """The key, current version id and bytes of the one archived file ending in ``suffix``."""
    s3 = world.deps._client("s3")
    bucket = world.deps.settings.archive_bucket
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            if o["Key"].endswith(suffix)]
    assert len(keys) == 1, keys
    got = s3.get_object(Bucket=bucket, Key=keys[0])
    return keys[0], got["VersionId"], got["Body"].read()


@pytest.mark.parametrize("suffix", [".pdf", ".xml"])
def test_every_archived_file_is_locked_in_compliance_mode_for_thirty_years(world, client,
                                                                         suffix):
    issued_bill(world, client)
    key, version, _ = archived(world, suffix)
    head = world.deps._client("s3").head_object(Bucket=world.deps.settings.archive_bucket,
                                                Key=key, VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= world.clock() + timedelta(days=30 * 365 - 2)


def test_overwriting_the_pdf_key_fails_or_leaves_the_original_intact(world, client):
    issued_bill(world, client)
    s3 = world.deps._client("s3")
    bucket = world.deps.settings.archive_bucket
    key, version, original = archived(world, ".pdf")

    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.4 forged")
    except ClientError:
        pass

    kept = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
    assert kept == original
    assert hashlib.sha256(kept).hexdigest() == \
        s3.head_object(Bucket=bucket, Key=key, VersionId=version)["Metadata"]["sha256"]


def test_deleting_the_pdf_version_is_refused(world, client):
    issued_bill(world, client)
    s3 = world.deps._client("s3")
    bucket = world.deps.settings.archive_bucket
    key, version, original = archived(world, ".pdf")

    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)

    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read() == original


def test_the_public_download_never_serves_a_file_put_over_the_archived_pdf(world, client):
    _, bill = issued_bill(world, client)
    s3 = world.deps._client("s3")
    key, _, original = archived(world, ".pdf")
    s3.put_object(Bucket=world.deps.settings.archive_bucket, Key=key, Body=b"%PDF-1.4 forged")

    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/pdf"
                        f"?check_code={bill['check_code']}")
    assert r.body == original or r.status_code >= 500  # the original, or a refusal
    assert b"forged" not in r.body


# --- health ----------------------------------------------------------------------------------

def test_healthz_is_200_ok_when_the_stores_answer(world, client):
    r = client.http.get("/healthz")
    assert r.status_code == 200
    assert body_of(r) == {"status": "ok"}


def test_healthz_is_not_ok_when_the_archive_is_gone(world, client):
    world.deps._client("s3").delete_bucket(Bucket=world.deps.settings.archive_bucket)
    r = client.http.get("/healthz")
    assert r.status_code == 503
    assert body_of(r)["status"] != "ok"
    assert b"Traceback" not in r.body
