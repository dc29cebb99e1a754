"""The XML attached to an OFD (GB/T 33190): what verification reads from an uploaded bill OFD.

Our bill OFDs (``ofd_bill``) carry the signed bill XML as an attachment; this follows the
package's own references to it (``OFD.xml`` → ``DocRoot`` → ``Attachments`` → ``FileLoc``)
rather than guessing a file name, so an OFD from elsewhere that attaches an XML is read the same
way. An upload is untrusted: its size is bounded before the zip is opened, every part's declared
and actual size while it is read, the number of entries, and the XML parts are refused if they
declare a DOCTYPE (no entities, no external references): expat itself refuses the declaration,
as a byte search for ``<!DOCTYPE`` would miss it in a part encoded as UTF-16.
"""

from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ET  # noqa: S405 - the parser refuses DOCTYPEs
import zipfile
from xml.parsers import expat  # noqa: S410 - only to find a DOCTYPE, no tree built

from chalicelib.domain.errors import ValidationFailed

NS = "{http://www.ofdspec.org/2016}"
MAX_OFD_BYTES = 1024 * 1024
MAX_PART_BYTES = 1024 * 1024  # no part of a bill OFD is near this (its font subset: ~30 KB)
MAX_ENTRIES = 256


def _unreadable(reason: str) -> ValidationFailed:
    return ValidationFailed("OFD 文件无法读取", {"file": f"unreadable OFD ({reason})"},
                            code="unreadable_ofd")


def _read(archive: zipfile.ZipFile, path: str) -> bytes:
    try:
        info = archive.getinfo(path)
    except KeyError:
        raise _unreadable(f"{path} is missing") from None
    if info.file_size > MAX_PART_BYTES:
        raise _unreadable(f"{path} is too large")
    with archive.open(info) as part:
        data = part.read(MAX_PART_BYTES + 1)
    if len(data) > MAX_PART_BYTES:
        raise _unreadable(f"{path} is too large")
    return data


class _DoctypeDeclared(Exception):
    pass


def _refuse_doctype(*_: object) -> None:
    raise _DoctypeDeclared


def _xml(archive: zipfile.ZipFile, path: str) -> ET.Element:
    data = _read(archive, path)
    check = expat.ParserCreate()  # noqa: S311 - a first pass that stops at a DOCTYPE, in
    check.StartDoctypeDeclHandler = _refuse_doctype  # whatever encoding expat reads the part
    try:
        check.Parse(data, True)
        return ET.fromstring(data)  # noqa: S314 - no DOCTYPE, so no entities
    except _DoctypeDeclared:
        raise _unreadable(f"{path} declares a DOCTYPE") from None
    except (ET.ParseError, expat.ExpatError):
        raise _unreadable(f"{path} is not XML") from None


def _resolve(base: str, location: str) -> str:
    """An ST_Loc: from the package root with a leading ``/``, else from ``base``'s folder."""
    location = location.strip()
    joined = location.lstrip("/") if location.startswith("/") else posixpath.join(
        posixpath.dirname(base), location)
    path = posixpath.normpath(joined)
    if path.startswith("..") or path.startswith("/"):
        raise _unreadable("a location outside the package")
    return path


def extract_attached_xml(data: bytes) -> bytes | None:
    """The first XML file attached to the OFD ``data``, or None if it attaches none.

    Raises ``ValidationFailed`` (``file_too_large``, ``unreadable_ofd``) for anything that is not
    a readable OFD within the limits."""
    if len(data) > MAX_OFD_BYTES:
        raise ValidationFailed("OFD 文件过大", {"file": f"an OFD of at most {MAX_OFD_BYTES} bytes"},
                               code="file_too_large")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _unreadable("not a zip") from None
    with archive:
        if len(archive.infolist()) > MAX_ENTRIES:
            raise _unreadable("too many entries")
        try:
            root = _xml(archive, "OFD.xml")
            for body in root.iter(f"{NS}DocBody"):
                doc_root = body.findtext(f"{NS}DocRoot")
                if not doc_root:
                    continue
                document_path = _resolve("OFD.xml", doc_root)
                listing = _xml(archive, document_path).findtext(f"{NS}Attachments")
                if not listing:
                    continue
                listing_path = _resolve(document_path, listing)
                for attachment in _xml(archive, listing_path).iter(f"{NS}Attachment"):
                    location = attachment.findtext(f"{NS}FileLoc") or ""
                    if (attachment.get("Format") or "").lower() == "xml" \
                            or location.lower().endswith(".xml"):
                        return _read(archive, _resolve(listing_path, location))
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError) as exc:
            if isinstance(exc, ValidationFailed):
                raise
            raise _unreadable(type(exc).__name__) from None
    return None
