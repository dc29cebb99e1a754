"""The little of ASN.1 DER that OFD seals and their certificates need: writing values, and reading
an untrusted encoding back element by element.

GB/T 38540 signatures (``ofd_seal``) are DER structures signed over their own encoding, and a
verifier elsewhere (ofdrw re-encodes what it parsed; ofd.js takes the bytes as they are) must
arrive at the same bytes, so everything written here is canonical DER: definite minimal
lengths, minimal integers, BIT STRINGs with no unused bits. Reading refuses what is not DER
(indefinite lengths, lengths past the end, more than four length bytes); it builds no tree
beyond the element asked for, so a hostile input costs at most one pass over its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SEQUENCE, SET = 0x30, 0x31
INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 0x02, 0x03, 0x04, 0x05, 0x06
UTF8_STRING, PRINTABLE_STRING, IA5_STRING = 0x0C, 0x13, 0x16
UTC_TIME, GENERALIZED_TIME, BOOLEAN = 0x17, 0x18, 0x01


class DerError(ValueError):
    """Bytes that are not the DER element expected."""


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def seq(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(SET, b"".join(sorted(items)))  # DER orders a SET OF by encoding


def integer(value: int) -> bytes:
    """A non-negative INTEGER (a leading zero byte keeps the top bit clear)."""
    if value < 0:
        raise ValueError("only non-negative integers are written")
    return tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray()
    for value in [parts[0] * 40 + parts[1], *parts[2:]]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def octets(data: bytes) -> bytes:
    return tlv(OCTET_STRING, data)


def bits(data: bytes) -> bytes:
    """A BIT STRING of whole bytes (no unused bits)."""
    return tlv(BIT_STRING, b"\x00" + data)


def ia5(text: str) -> bytes:
    return tlv(IA5_STRING, text.encode("ascii"))


def utf8(text: str) -> bytes:
    return tlv(UTF8_STRING, text.encode())


def printable(text: str) -> bytes:
    return tlv(PRINTABLE_STRING, text.encode("ascii"))


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def explicit(number: int, body: bytes) -> bytes:
    """A context-specific constructed tag ``[number] EXPLICIT``."""
    return tlv(0xA0 | number, body)


def generalized_time(moment: datetime) -> bytes:
    return tlv(GENERALIZED_TIME, moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode())


def x509_time(moment: datetime) -> bytes:
    """RFC 5280's choice: UTCTime through 2049, GeneralizedTime from 2050."""
    moment = moment.astimezone(UTC)
    if moment.year < 2050:
        return tlv(UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode())
    return generalized_time(moment)


# --- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Element:
    """One DER element inside ``data``: its tag, its whole encoding and its contents."""

    data: bytes
    tag: int
    start: int  # where its tag is
    body: int  # where its contents begin
    end: int  # where it ends

    @property
    def raw(self) -> bytes:
        return self.data[self.start:self.end]

    @property
    def content(self) -> bytes:
        return self.data[self.body:self.end]

    def children(self) -> list[Element]:
        """The elements of a constructed one (SEQUENCE, SET, explicit tag)."""
        if not self.tag & 0x20:
            raise DerError("not a constructed element")
        out, at = [], self.body
        while at < self.end:
            child = read(self.data, at, self.end)
            out.append(child)
            at = child.end
        return out

    def expect(self, tag: int) -> Element:
        if self.tag != tag:
            raise DerError(f"expected tag {tag:#x}, found {self.tag:#x}")
        return self

    def as_int(self) -> int:
        body = self.expect(INTEGER).content
        if not body:
            raise DerError("empty INTEGER")
        return int.from_bytes(body, "big", signed=True)

    def as_oid(self) -> str:
        body = self.expect(OID).content
        values, value = [], 0
        for byte in body:
            value = value << 7 | (byte & 0x7F)
            if not byte & 0x80:
                values.append(value)
                value = 0
        if not values or body[-1] & 0x80:
            raise DerError("bad OBJECT IDENTIFIER")
        first = min(values[0] // 40, 2)
        return ".".join(str(v) for v in [first, values[0] - 40 * first, *values[1:]])

    def as_bits(self) -> bytes:
        body = self.expect(BIT_STRING).content
        if not body or body[0] != 0:
            raise DerError("a BIT STRING of whole bytes expected")
        return body[1:]

    def as_text(self) -> str:
        if self.tag not in (IA5_STRING, UTF8_STRING, PRINTABLE_STRING):
            raise DerError("a string expected")
        try:
            return self.content.decode()
        except UnicodeDecodeError as exc:
            raise DerError("a string that is not UTF-8") from exc

    def as_time(self) -> datetime:
        text = self.content.decode("ascii", "replace")
        formats = {GENERALIZED_TIME: "%Y%m%d%H%M%SZ", UTC_TIME: "%y%m%d%H%M%SZ"}
        if self.tag not in formats:
            raise DerError("a time expected")
        try:
            return datetime.strptime(text, formats[self.tag]).replace(tzinfo=UTC)
        except ValueError as exc:
            raise DerError(f"a time that is not {formats[self.tag]}") from exc


def read(data: bytes, at: int = 0, limit: int | None = None) -> Element:
    """The element at ``at``, which must end by ``limit`` (default: the end of ``data``)."""
    limit = len(data) if limit is None else limit
    if at + 2 > limit:
        raise DerError("truncated element")
    tag, first = data[at], data[at + 1]
    body = at + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or body + count > limit:
            raise DerError("bad length")
        length = int.from_bytes(data[body:body + count], "big")
        if length < 0x80 or length >> (8 * (count - 1)) == 0:
            raise DerError("length not minimal")
        body += count
    else:
        length = first
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not used here")
    if body + length > limit:
        raise DerError("element runs past its end")
    return Element(data, tag, at, body, body + length)


def read_whole(data: bytes, tag: int) -> Element:
    """``data`` as exactly one element of ``tag``, nothing after it."""
    element = read(data).expect(tag)
    if element.end != len(data):
        raise DerError("bytes after the element")
    return element
