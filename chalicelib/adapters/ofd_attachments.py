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


def unreadable(reason: str) -> ValidationFailed:
    return ValidationFailed("OFD 文件无法读取", {"file": f"unreadable OFD ({reason})"},
                            code="unreadable_ofd")


class _DoctypeDeclared(Exception):
    pass


def _refuse_doctype(*_: object) -> None:
    raise _DoctypeDeclared


class Package:
    """An uploaded OFD opened for bounded reading (a context manager): its size checked before
    the zip is opened, the number of entries, every part's declared and actual size, no
    DOCTYPE in an XML part, no location outside the package. Every failure is
    ``ValidationFailed`` (``file_too_large``, ``unreadable_ofd``)."""

    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_OFD_BYTES:
            raise ValidationFailed("OFD 文件过大",
                                   {"file": f"an OFD of at most {MAX_OFD_BYTES} bytes"},
                                   code="file_too_large")
        try:
            self._archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError):
            raise unreadable("not a zip") from None
        if len(self._archive.infolist()) > MAX_ENTRIES:
            self._archive.close()
            raise unreadable("too many entries")
        self.names = {info.filename for info in self._archive.infolist()
                      if not info.is_dir()}

    def __enter__(self) -> Package:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        self._archive.close()
        if exc is not None and not isinstance(exc, ValidationFailed) and isinstance(
                exc, (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError)):
            raise unreadable(type(exc).__name__) from None

    def read(self, path: str) -> bytes:
        try:
            info = self._archive.getinfo(path)
        except KeyError:
            raise unreadable(f"{path} is missing") from None
        if info.file_size > MAX_PART_BYTES:
            raise unreadable(f"{path} is too large")
        with self._archive.open(info) as part:
            data = part.read(MAX_PART_BYTES + 1)
        if len(data) > MAX_PART_BYTES:
            raise unreadable(f"{path} is too large")
        return data

    def xml(self, path: str) -> ET.Element:
        data = self.read(path)
        check = expat.ParserCreate()  # noqa: S311 - a first pass that stops at a DOCTYPE, in
        check.StartDoctypeDeclHandler = _refuse_doctype  # whatever encoding expat reads the part
        try:
            check.Parse(data, True)
            return ET.fromstring(data)  # noqa: S314 - no DOCTYPE, so no entities
        except _DoctypeDeclared:
            raise unreadable(f"{path} declares a DOCTYPE") from None
        except (ET.ParseError, expat.ExpatError):
            raise unreadable(f"{path} is not XML") from None

    @staticmethod
    def resolve(base: str, location: str) -> str:
        """An ST_Loc: from the package root with a leading ``/``, else from ``base``'s folder."""
        location = location.strip()
        joined = location.lstrip("/") if location.startswith("/") else posixpath.join(
            posixpath.dirname(base), location)
        path = posixpath.normpath(joined)
        if path.startswith("..") or path.startswith("/") or path == ".":
            raise unreadable("a location outside the package")
        return path


def extract_attached_xml(data: bytes) -> bytes | None:
    """The first XML file attached to the OFD ``data``, or None if it attaches none.

    Raises ``ValidationFailed`` (``file_too_large``, ``unreadable_ofd``) for anything that is not
    a readable OFD within the limits."""
    with Package(data) as package:
        root = package.xml("OFD.xml")
        for body in root.iter(f"{NS}DocBody"):
            doc_root = body.findtext(f"{NS}DocRoot")
            if not doc_root:
                continue
            document_path = package.resolve("OFD.xml", doc_root)
            listing = package.xml(document_path).findtext(f"{NS}Attachments")
            if not listing:
                continue
            listing_path = package.resolve(document_path, listing)
            for attachment in package.xml(listing_path).iter(f"{NS}Attachment"):
                location = attachment.findtext(f"{NS}FileLoc") or ""
                if (attachment.get("Format") or "").lower() == "xml" \
                        or location.lower().endswith(".xml"):
                    return package.read(package.resolve(listing_path, location))
    return None
