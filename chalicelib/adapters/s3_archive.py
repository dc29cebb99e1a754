"""The bill archive in S3: write once, never overwrite.

Each file is written with ``If-None-Match: *``, so an existing key is never replaced; in
production the bucket also has versioning and Object Lock in compliance mode (infra/), so no
version can be deleted or changed before its retention date. The SHA-256 of every file is stored
in its metadata and returned, for the bill record and the integrity job.

That same digest is the write's checksum (``x-amz-checksum-sha256``, with
``x-amz-sdk-checksum-algorithm: SHA256``, which Object Lock requires of every write): S3 refuses
the write unless the bytes it received have the digest recorded. Left to itself botocore would
hash the body again for the header over HTTP, and over HTTPS send it ``aws-chunked`` with the
checksum in a trailer, read through a wrapper that hashes it as it goes; given the checksum it
sends the body as it is, and signs it (its SHA-256 once more, in C: ~30 us for a PDF).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import aws_boundary
from chalicelib.domain.errors import NotFound, ServiceUnavailable
from chalicelib.domain.records import ArchivedFile


@aws_boundary
class S3Archive:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put_once(self, key: str, body: bytes, content_type: str) -> ArchivedFile:
        hashed = hashlib.sha256(body)
        digest = hashed.hexdigest()
        try:
            written = self._s3.put_object(Bucket=self._bucket, Key=key, Body=body,
                                          IfNoneMatch="*", ContentType=content_type,
                                          Metadata={"sha256": digest}, ChecksumAlgorithm="SHA256",
                                          ChecksumSHA256=base64.b64encode(hashed.digest()).decode())
            return ArchivedFile(key=key, sha256=digest, size=len(body),
                                version_id=written.get("VersionId", "") or "")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise ServiceUnavailable(f"archive write failed: {code}") from exc
        head = self._s3.head_object(Bucket=self._bucket, Key=key)
        return ArchivedFile(key=key, sha256=head.get("Metadata", {}).get("sha256", ""),
                            size=int(head["ContentLength"]),
                            version_id=head.get("VersionId", "") or "")

    def get(self, key: str, version_id: str = "") -> bytes:
        """The object, at ``version_id`` when given. If that version is unknown (a restored
        local archive has new version ids), the key's FIRST version: what was archived."""
        if version_id:
            try:
                return self._s3.get_object(Bucket=self._bucket, Key=key,
                                           VersionId=version_id)["Body"].read()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in ("NoSuchVersion", "InvalidArgument", "404", "400"):
                    raise ServiceUnavailable("archive read failed") from exc
                version_id = self._first_version(key)
        extra = {"VersionId": version_id} if version_id else {}
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key, **extra)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(f"archived file missing: {key}") from exc
            raise ServiceUnavailable("archive read failed") from exc

    def _first_version(self, key: str) -> str:
        listing = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
        if not versions:
            return ""
        return str(min(versions, key=lambda v: v["LastModified"])["VersionId"])

    def ping(self) -> None:
        self._s3.head_bucket(Bucket=self._bucket)
