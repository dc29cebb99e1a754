"""``multipart/form-data`` (RFC 7578) as a browser posts a form with a file: the one console
form that uploads (a unit's seal) reads its fields and its file here.

Bounded before anything is split: a body over ``MAX_BYTES`` is ``PayloadTooLarge``; at most
``MAX_PARTS`` parts, each field's text at most ``FIELD_LIMIT`` characters. A body that is not
well formed (no boundary, a part without headers, no closing delimiter) is ``ValidationFailed``
on ``body``. The parts are split on the exact delimiter bytes, so a file's bytes come back as
they were sent, line endings included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.errors import PayloadTooLarge, ValidationFailed
from chalicelib.domain.seal_images import MAX_SEAL_BYTES

MAX_BYTES = 2 * MAX_SEAL_BYTES  # a seal at its largest, and the form around it
MAX_PARTS = 20
FIELD_LIMIT = 1000
_BOUNDARY = re.compile(r'boundary="?([0-9A-Za-z\'()+_,./:=? -]{1,70})"?', re.IGNORECASE)
_NAME = re.compile(r'\bname="([^"]{1,100})"', re.IGNORECASE)
_FILENAME = re.compile(r'\bfilename="([^"]{0,255})"', re.IGNORECASE)


@dataclass(frozen=True)
class Form:
    """The text fields (first value of each name) and the files (name → bytes, file name)."""

    fields: dict[str, str]
    files: dict[str, tuple[bytes, str]]


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/form-data")


def _bad(why: str) -> ValidationFailed:
    return ValidationFailed("表单内容有误", {"body": why})


def parse(content_type: str | None, body: bytes) -> Form:
    """The form in ``body``, posted with ``content_type`` (its boundary)."""
    if len(body) > MAX_BYTES:
        raise PayloadTooLarge(f"上传内容不能超过 {MAX_BYTES // 1024} KB",
                              {"body": f"at most {MAX_BYTES} bytes"})
    found = _BOUNDARY.search(content_type or "")
    if not is_multipart(content_type) or found is None:
        raise _bad("multipart/form-data with a boundary")
    delimiter = b"--" + found.group(1).strip().encode("ascii")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise _bad("no closing delimiter")
    if len(pieces) - 2 > MAX_PARTS:
        raise _bad(f"at most {MAX_PARTS} parts")
    fields: dict[str, str] = {}
    files: dict[str, tuple[bytes, str]] = {}
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise _bad("each part between CRLF-delimited boundaries")
        head, sep, data = piece[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise _bad("a part without headers")
        headers = head.decode("utf-8", "replace")
        disposition = next((line for line in headers.split("\r\n")
                            if line.lower().startswith("content-disposition:")), "")
        name = _NAME.search(disposition)
        if name is None:
            raise _bad("a part without a name")
        filename = _FILENAME.search(disposition)
        if filename is not None:
            files.setdefault(name.group(1), (data, filename.group(1)))
        else:
            fields.setdefault(name.group(1), data.decode("utf-8", "replace")[:FIELD_LIMIT])
    return Form(fields=fields, files=files)
