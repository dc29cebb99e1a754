"""Archive: FakeArchive against S3Archive on a versioned, Object Lock bucket (moto), as the
bill archive is in production: write once, never overwrite, read what was written first."""

from __future__ import annotations

import base64
import hashlib

import pytest

from chalicelib.domain.errors import NotFound
from tests.contracts.conftest import SETTINGS, client
from tests.functional.support import botocore_hooks


@pytest.fixture(params=["fake", "s3", "s3-unversioned"])
def archive(request: pytest.FixtureRequest):
    """The fake; the bill archive (versioned, Object Lock); the refused-intake bucket (neither:
    its objects expire), which ``S3Archive`` also serves."""
    if request.param == "fake":
        from tests.fakes import FakeArchive

        return FakeArchive()
    request.getfixturevalue("aws")
    from chalicelib.adapters.s3_archive import S3Archive

    s3 = client("s3")
    where = {"CreateBucketConfiguration": {"LocationConstraint": SETTINGS.region}}
    if request.param == "s3":
        s3.create_bucket(Bucket=SETTINGS.archive_bucket, ObjectLockEnabledForBucket=True, **where)
        return S3Archive(s3, SETTINGS.archive_bucket)
    s3.create_bucket(Bucket=SETTINGS.rejected_intake_bucket, **where)
    return S3Archive(s3, SETTINGS.rejected_intake_bucket)


class TestArchive:
    def test_a_file_is_stored_with_its_digest_and_size_and_read_back(self, archive):
        body = "<bill>缴款</bill>".encode()
        stored = archive.put_once("bills/1.xml", body, "application/xml")
        assert (stored.key, stored.sha256, stored.size) == (
            "bills/1.xml", hashlib.sha256(body).hexdigest(), len(body))
        assert archive.get("bills/1.xml") == body
        assert archive.get("bills/1.xml", stored.version_id) == body

    def test_a_key_is_written_once_and_a_second_write_answers_with_the_first(self, archive):
        first = archive.put_once("bills/1.pdf", b"first", "application/pdf")
        second = archive.put_once("bills/1.pdf", b"second, longer", "application/pdf")
        assert second == first
        assert archive.get("bills/1.pdf") == b"first"

    def test_an_unknown_version_reads_the_first_version_written(self, archive):
        archive.put_once("bills/1.pdf", b"first", "application/pdf")
        assert archive.get("bills/1.pdf", "no-such-version") == b"first"

    def test_a_missing_file_is_not_found(self, archive):
        with pytest.raises(NotFound):
            archive.get("bills/9.pdf")
        archive.put_once("bills/1.pdf", b"x", "application/pdf")
        with pytest.raises(NotFound):
            archive.get("bills/1.pd")

    def test_an_empty_file_is_a_file(self, archive):
        stored = archive.put_once("intake/empty", b"", "application/octet-stream")
        assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
        assert archive.get("intake/empty") == b""


def test_a_write_carries_the_recorded_digest_as_the_checksum_s3_checks_and_its_body_as_is(
        aws, monkeypatch):
    """S3 takes the write only if its bytes have the digest the archive records: the checksum
    header is that digest (not one botocore makes of its own, nor an ``aws-chunked`` trailer,
    which botocore sends over HTTPS when left to hash the body itself), beside the checksum
    algorithm Object Lock requires; the body goes as it is, its hash signed."""
    from chalicelib.adapters.s3_archive import S3Archive

    s3 = client("s3")
    s3.create_bucket(Bucket=SETTINGS.archive_bucket, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": SETTINGS.region})
    sent: list = []

    def capture(request, **_) -> None:
        sent.append(request)

    body = b"%PDF-1.4 " + bytes(range(256)) * 40
    with botocore_hooks(monkeypatch, {"before-send.s3.PutObject": capture}):
        stored = S3Archive(s3, SETTINGS.archive_bucket).put_once("bills/1.pdf", body,
                                                                  "application/pdf")

    [request] = sent
    assert request.url.startswith("https://")  # where botocore would use a trailer
    digest = hashlib.sha256(body)
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v
               for k, v in request.headers.items()}
    assert headers["x-amz-checksum-sha256"] == base64.b64encode(digest.digest()).decode()
    assert headers["x-amz-sdk-checksum-algorithm"] == "SHA256"
    assert headers["x-amz-meta-sha256"] == stored.sha256 == digest.hexdigest()
    assert headers["x-amz-content-sha256"] == digest.hexdigest()  # the payload signed
    assert "aws-chunked" not in headers.get("content-encoding", "")
    assert "x-amz-trailer" not in headers
    sent_body = request.body
    assert (sent_body.getvalue() if hasattr(sent_body, "getvalue") else sent_body) == body
