"""reportlab's TrueType subset, byte for byte, from glyphs read once per process.

Every PDF embeds the subset of the CJK face its text uses: reportlab's ``TTFontFile.makeSubset``
builds it while the document is saved, reading each glyph's header and components through the
font's file position, slicing the whole ``glyf`` table (4.5 MB for WenQuanYi Micro Hei) and
packing the tables again: about 3-4 ms of a bill's PDF. ``SubsetMaker`` does the same steps in
the same order from what it keeps of each glyph it has met (its bytes, where its components'
glyph numbers sit) and the face's tables, read once, and hands the tables to reportlab's own
``TTFontMaker``. The subset is the one reportlab writes (``tests/unit/test_pdf_subset.py``
compares them), so the PDFs are too. It reads no file position, so a save no longer races
another save on the font for the subset; ``SAVE_LOCK`` stays for the rest of reportlab's
per-document font state.
"""

from __future__ import annotations

from struct import pack, unpack_from

from reportlab.pdfbase.ttfonts import (
    GF_MORE_COMPONENTS,
    TTFontFile,
    TTFontMaker,
    _set_ushort,
)

from chalicelib.adapters.last_made import LastMade
from chalicelib.adapters.ttf_subset import component_size

COPIED = ("name", "OS/2", "cvt ", "fpgm", "prep")  # as they are in the face (cvt and on: if any)
KEPT_SUBSETS = 8  # the subsets of the characters every bill of a kind prints (pdf_render)


def _components(data: bytes) -> tuple[tuple[int, int], ...]:
    """Of a composite glyph: (where its glyph number sits, that number), per component."""
    out = []
    at = 10
    flags = GF_MORE_COMPONENTS
    while flags & GF_MORE_COMPONENTS:
        flags, glyph = unpack_from(">HH", data, at)
        out.append((at + 2, glyph))
        at += component_size(flags)
    return tuple(out)


class SubsetMaker:
    """``makeSubset`` for one reportlab face (a ``TTFontFile``), with what it reads kept."""

    def __init__(self, face: TTFontFile) -> None:
        self._face = face
        self._tables: dict[str, bytes] = {}
        for tag in (*COPIED, "post", "hhea", "maxp", "head", "glyf"):
            try:
                self._tables[tag] = face.get_table(tag)
            except KeyError:  # cvt, fpgm and prep are optional
                pass
        self._post = b"\x00\x03\x00\x00" + self._tables["post"][4:16] + b"\x00" * 16
        # old glyph number → (its bytes, its components if composite)
        self._glyphs: dict[int, tuple[bytes, tuple[tuple[int, int], ...]]] = {}
        # the last subsets made: a bill's first subset is the same in every bill of its kind
        # and unit (``pdf_render.seed_first_subset``)
        self._made: LastMade[tuple[int, ...], bytes] = LastMade(KEPT_SUBSETS)

    def _glyph(self, index: int) -> tuple[bytes, tuple[tuple[int, int], ...]]:
        found = self._glyphs.get(index)
        if found is None:
            start, end = self._face.glyphPos[index], self._face.glyphPos[index + 1]
            data = self._tables["glyf"][start:end]
            # reportlab reads the contour count of any glyph with data, but rewrites the
            # components only of a glyph longer than two bytes; the same here
            composite = len(data) >= 2 and unpack_from(">h", data)[0] < 0
            found = self._glyphs[index] = (data, _components(data) if composite else ())
        return found

    def __call__(self, subset: list[int]) -> bytes:
        return self._made.get(tuple(subset), lambda: self._make(subset))

    def _make(self, subset: list[int]) -> bytes:
        char_to_glyph = self._face.charToGlyph
        glyph_map = [0]  # new glyph number → old
        glyph_set = {0: 0}  # old → new
        code_to_glyph = {}
        for code in subset:
            old = char_to_glyph.get(code, 0)
            if old not in glyph_set:
                glyph_set[old] = len(glyph_map)
                glyph_map.append(old)
            code_to_glyph[code] = glyph_set[old]
        n = 0
        while n < len(glyph_map):  # the components of composite glyphs join, in order
            for _, old in self._glyph(glyph_map[n])[1]:
                if old not in glyph_set:
                    glyph_set[old] = len(glyph_map)
                    glyph_map.append(old)
            n += 1

        output = TTFontMaker()
        for tag in COPIED:
            if tag in self._tables:
                output.add(tag, self._tables[tag])
        output.add("post", self._post)
        num_glyphs = len(glyph_map)
        hmetrics = self._face.hmetrics
        hmtx: list[int] = []
        for old in glyph_map:
            aw, lsb = hmetrics[old]
            hmtx.append(int(aw))
            hmtx.append(int(lsb))
        n = len(hmtx) - 2  # the trailing run of equal advances is written once
        while n and hmtx[n] == hmtx[n - 2]:
            n -= 2
        n += 2
        hmtx = hmtx[:n] + hmtx[n + 1::2]
        output.add("hmtx", pack(f">{len(hmtx)}H", *hmtx))
        output.add("hhea", _set_ushort(self._tables["hhea"], 34, n >> 1))
        output.add("maxp", _set_ushort(self._tables["maxp"], 4, num_glyphs))
        cmap = [0, 1, 1, 0, 0, 12, 6, 10 + len(subset) * 2, 0, 0, len(subset),
                *map(code_to_glyph.get, subset)]
        output.add("cmap", pack(f">{len(cmap)}H", *cmap))

        offsets, glyf, pos = [], [], 0
        for old in glyph_map:
            offsets.append(pos)
            data, components = self._glyph(old)
            if components and len(data) > 2:
                patched = bytearray(data)
                for at, component in components:
                    patched[at:at + 2] = pack(">H", glyph_set[component])
                data = bytes(patched)
            glyf.append(data)
            pos += len(data)
            if pos % 4:
                glyf.append(b"\0" * (4 - pos % 4))
                pos += 4 - pos % 4
        offsets.append(pos)
        output.add("glyf", b"".join(glyf))
        if (pos + 1) >> 1 > 0xFFFF:
            long_offsets = 1
            loca = pack(f">{len(offsets)}L", *offsets)
        else:
            long_offsets = 0
            loca = pack(f">{len(offsets)}H", *[offset >> 1 for offset in offsets])
        output.add("loca", loca)
        output.add("head", _set_ushort(self._tables["head"], 50, long_offsets))
        return output.makeStream()
