"""A TrueType subset of one face of a font file (TTF or TTC), for embedding in an OFD.

GB/T 42133 (OFD-A) 6.2.6 wants the glyphs a document uses embedded as a TrueType subset that
keeps ``cmap loca glyf head hhea hmtx maxp name OS/2 post``. fontTools' subsetter does this but
decompiles the whole font first: 0.5-1.3 s for our 49 000-glyph CJK face, per document. Here the
tables are read once per process as bytes; a subset copies the outlines of the characters asked
for (and the components of composite glyphs) byte for byte, renumbers them, and writes fresh
``loca``, ``hmtx``, ``cmap`` (format 4 and 12, Unicode) and ``post`` (format 3, no names): about
a millisecond for a bill. The output depends on nothing but the font and the characters: the
same text gives the same bytes (the ``head`` dates are the font's own).
"""

from __future__ import annotations

import struct
from functools import cache

_ARG_WORDS, _MORE, _SCALE, _XY_SCALE, _2X2 = 0x0001, 0x0020, 0x0008, 0x0040, 0x0080
KEPT = (b"OS/2", b"name", b"hhea", b"maxp", b"head")


class TrueTypeFace:
    """One face of a TrueType (glyf-outline) font file, read once."""

    def __init__(self, path: str, index: int = 0) -> None:
        with open(path, "rb") as f:
            data = f.read()
        offset = 0
        if data[:4] == b"ttcf":
            offset = struct.unpack_from(">I", data, 12 + 4 * index)[0]
        num_tables = struct.unpack_from(">H", data, offset + 4)[0]
        self.tables: dict[bytes, bytes] = {}
        for k in range(num_tables):
            tag, _, start, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * k)
            self.tables[tag] = data[start:start + length]
        if b"glyf" not in self.tables:
            raise ValueError(f"{path} has no TrueType outlines (glyf)")
        head = self.tables[b"head"]
        self.units_per_em = struct.unpack_from(">H", head, 18)[0]
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        self.num_glyphs = struct.unpack_from(">H", self.tables[b"maxp"], 4)[0]
        loca = self.tables[b"loca"]
        if long_loca:
            self._loca = struct.unpack(f">{self.num_glyphs + 1}I", loca[:4 * (self.num_glyphs + 1)])
        else:
            self._loca = tuple(2 * v for v in struct.unpack(
                f">{self.num_glyphs + 1}H", loca[:2 * (self.num_glyphs + 1)]))
        self._metrics_count = struct.unpack_from(">H", self.tables[b"hhea"], 34)[0]
        self.cmap = _read_cmap(self.tables[b"cmap"])

    def glyph(self, gid: int) -> bytes:
        return self.tables[b"glyf"][self._loca[gid]:self._loca[gid + 1]]

    def h_metric(self, gid: int) -> tuple[int, int]:
        """(advance width, left side bearing) of glyph ``gid``, in font units."""
        hmtx = self.tables[b"hmtx"]
        if gid < self._metrics_count:
            return struct.unpack_from(">Hh", hmtx, 4 * gid)
        advance = struct.unpack_from(">H", hmtx, 4 * (self._metrics_count - 1))[0]
        lsb = struct.unpack_from(">h", hmtx, 4 * self._metrics_count
                                 + 2 * (gid - self._metrics_count))[0]
        return advance, lsb

    def subset(self, chars: str) -> bytes:
        """A TrueType font holding ``.notdef`` and the glyphs of ``chars`` (those the face has),
        mapped from their Unicode code points."""
        codes = sorted({ord(ch) for ch in chars if ord(ch) in self.cmap})
        order = [0]
        seen = {0}
        queue = [self.cmap[c] for c in codes]
        while queue:  # the used glyphs and, for composites, their components
            gid = queue.pop(0)
            if gid in seen:
                continue
            seen.add(gid)
            order.append(gid)
            queue.extend(_components(self.glyph(gid)))
        new_id = {old: new for new, old in enumerate(order)}
        glyf = bytearray()
        loca = [0]
        hmtx = bytearray()
        for old in order:
            data = _renumbered(self.glyph(old), new_id)
            glyf += data + b"\0" * (-len(data) % 4)
            loca.append(len(glyf))
            hmtx += struct.pack(">Hh", *self.h_metric(old))
        n = len(order)
        tables = {tag: bytearray(self.tables[tag]) for tag in KEPT}
        struct.pack_into(">H", tables[b"hhea"], 34, n)
        struct.pack_into(">H", tables[b"maxp"], 4, n)
        struct.pack_into(">I", tables[b"head"], 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", tables[b"head"], 50, 1)  # long loca
        tables[b"glyf"] = glyf
        tables[b"loca"] = bytearray(struct.pack(f">{n + 1}I", *loca))
        tables[b"hmtx"] = hmtx
        tables[b"cmap"] = bytearray(_cmap({c: new_id[self.cmap[c]] for c in codes}))
        tables[b"post"] = bytearray(b"\x00\x03\x00\x00" + self.tables[b"post"][4:16]
                                    + b"\0" * 16)
        return _font_file(tables)


@cache
def face(path: str, index: int = 0) -> TrueTypeFace:
    """The face, read once per process (the file is a few MB: the bytes are kept)."""
    return TrueTypeFace(path, index)


def _read_cmap(cmap: bytes) -> dict[int, int]:
    """Code point → glyph id, from the Unicode subtable (format 12 preferred, else 4)."""
    count = struct.unpack_from(">H", cmap, 2)[0]
    subtables = {}
    for k in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * k)
        subtables[(platform, encoding)] = offset
    mapping: dict[int, int] = {}
    for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
        if key not in subtables:
            continue
        offset = subtables[key]
        fmt = struct.unpack_from(">H", cmap, offset)[0]
        if fmt == 12:
            groups = struct.unpack_from(">I", cmap, offset + 12)[0]
            for g in range(groups):
                start, end, gid = struct.unpack_from(">III", cmap, offset + 16 + 12 * g)
                for code in range(start, end + 1):
                    mapping[code] = gid + code - start
            return mapping
        if fmt == 4:
            segs = struct.unpack_from(">H", cmap, offset + 6)[0] // 2
            ends = struct.unpack_from(f">{segs}H", cmap, offset + 14)
            starts = struct.unpack_from(f">{segs}H", cmap, offset + 16 + 2 * segs)
            deltas = struct.unpack_from(f">{segs}h", cmap, offset + 16 + 4 * segs)
            range_at = offset + 16 + 6 * segs
            ranges = struct.unpack_from(f">{segs}H", cmap, range_at)
            for s in range(segs):
                for code in range(starts[s], ends[s] + 1):
                    if code == 0xFFFF:
                        continue
                    if ranges[s] == 0:
                        gid = (code + deltas[s]) & 0xFFFF
                    else:
                        at = range_at + 2 * s + ranges[s] + 2 * (code - starts[s])
                        gid = struct.unpack_from(">H", cmap, at)[0]
                        gid = (gid + deltas[s]) & 0xFFFF if gid else 0
                    if gid:
                        mapping[code] = gid
            return mapping
    raise ValueError("the font has no Unicode cmap")


def _components(glyph: bytes) -> list[int]:
    if len(glyph) < 10 or struct.unpack_from(">h", glyph, 0)[0] >= 0:
        return []
    found, at = [], 10
    while True:
        flags, gid = struct.unpack_from(">HH", glyph, at)
        found.append(gid)
        at += component_size(flags)
        if not flags & _MORE:
            return found


def component_size(flags: int) -> int:
    """Bytes of one composite-glyph component record with ``flags`` (its arguments and scale)."""
    size = 4 + (4 if flags & _ARG_WORDS else 2)
    if flags & _SCALE:
        size += 2
    elif flags & _XY_SCALE:
        size += 4
    elif flags & _2X2:
        size += 8
    return size


def _renumbered(glyph: bytes, new_id: dict[int, int]) -> bytes:
    """The glyph with its components' glyph ids renumbered (simple glyphs as they are; the
    instructions after the last component are kept as they are)."""
    if len(glyph) < 10 or struct.unpack_from(">h", glyph, 0)[0] >= 0:
        return glyph
    out, at = bytearray(glyph), 10
    while True:
        flags, gid = struct.unpack_from(">HH", glyph, at)
        struct.pack_into(">H", out, at + 2, new_id[gid])
        at += component_size(flags)
        if not flags & _MORE:
            return bytes(out)


def _cmap(mapping: dict[int, int]) -> bytes:
    """A cmap with a format 4 subtable (BMP, one segment per code) and a format 12 one (all)."""
    bmp = sorted(c for c in mapping if c < 0xFFFF)
    segs = len(bmp) + 1
    ends = [*bmp, 0xFFFF]
    deltas = [(mapping[c] - c) & 0xFFFF for c in bmp] + [1]
    power = 1 << (segs.bit_length() - 1)
    f4 = struct.pack(f">{segs}H", *ends) + b"\0\0" + struct.pack(f">{segs}H", *ends) \
        + struct.pack(f">{segs}H", *deltas) + b"\0\0" * segs
    f4 = struct.pack(">HHHHHHH", 4, 14 + len(f4), 0, 2 * segs, 2 * power,
                     power.bit_length() - 1, 2 * segs - 2 * power) + f4
    groups = sorted(mapping.items())
    f12 = struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups)) + b"".join(
        struct.pack(">III", c, c, g) for c, g in groups)
    header = struct.pack(">HH", 0, 3)
    entries = [(0, 3, 4 + 8 * 3), (3, 1, 4 + 8 * 3), (3, 10, 4 + 8 * 3 + len(f4))]
    for platform, encoding, offset in entries:
        header += struct.pack(">HHI", platform, encoding, offset)
    return header + f4 + f12


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def _font_file(tables: dict[bytes, bytearray]) -> bytes:
    tags = sorted(tables)
    n = len(tags)
    power = 1 << (n.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, n, 16 * power, power.bit_length() - 1,
                         16 * n - 16 * power)
    offset = 12 + 16 * n
    directory, body = b"", b""
    for tag in tags:
        data = bytes(tables[tag])
        directory += struct.pack(">4sIII", tag, _checksum(data), offset, len(data))
        padded = data + b"\0" * (-len(data) % 4)
        body += padded
        offset += len(padded)
    font = bytearray(header + directory + body)
    head_at = 12 + 16 * n + sum(len(tables[t]) + (-len(tables[t]) % 4)
                                for t in tags[:tags.index(b"head")])
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)
