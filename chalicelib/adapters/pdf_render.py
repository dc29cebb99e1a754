"""Drawing helpers shared by the PDF renderers: CJK font, QR code, ruled tables, attachments.

Everything is drawn in vector on a reportlab canvas, with one embedded CJK TrueType font (a TTC
subset), so every glyph prints and every word stays selectable. The font path always comes from
the caller (settings); this module never reads the environment. Costs that matter: the font is
parsed once per process (≈110-160 ms); a QR code costs ≈1 ms (``qr_masks.qr_rows``: the code
``qrcode`` makes, built on whole rows held as integers), drawn as one filled path; a page with
seals and a table, ≈14 ms.
Seals and stamps are laid out once for every format (``domain/layout_seals.py``) and drawn by
``pdf_layout``.
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from collections.abc import Sequence
from functools import cache

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFStreamFilterZCompress,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from chalicelib.adapters.last_made import LastMade
from chalicelib.adapters.pdf_subset import SubsetMaker
from chalicelib.adapters.qr_masks import qr_rows

Colour = tuple[float, float, float]
_registered: list[str] = []
DARK_RUN = re.compile("1+")
# Streams stay binary (zlib only): ASCII85 on top makes them 25 % larger and costs ~3 ms a page.
rl_config.useA85 = 0


# reportlab subsets a shared TTF font while saving a document, keeping a read position on the
# one font object: two threads saving at once corrupt each other's subset. One save at a time
# (the subset itself is now made without that position, ``pdf_subset``; the lock stays for the
# rest of the font's per-document state).
SAVE_LOCK = threading.Lock()


KEPT_STREAMS = 16  # ≤ 16 × (a ~40 KB font subset and its ~27 KB compressed): about 1 MB


class KeptZCompress(PDFStreamFilterZCompress):
    """reportlab's Flate filter (``zlib.compress`` at its default level, the same bytes),
    keeping the streams it compressed last. A bill's font subset of the characters every
    bill of its kind and unit prints (``seed_first_subset``) and that subset's ToUnicode map
    are the same bytes in each of its documents: compressing the subset was ~2 ms of a
    bill's PDF. Streams are looked up by their bytes, the least recently used forgotten."""

    def __init__(self) -> None:
        self._kept: LastMade[bytes, bytes] = LastMade(KEPT_STREAMS)

    def encode(self, text: str | bytes) -> bytes:
        data = text.encode("utf8") if isinstance(text, str) else text
        return self._kept.get(data, lambda: zlib.compress(data))


# reportlab looks its filter up in pdfdoc each time it compresses a page, a font file or a
# ToUnicode map; the bill's own attachment (``attach_file``) keeps the plain one.
pdfdoc.PDFZCompress = KeptZCompress()


def seed_first_subset(canvas: Canvas, font: str, common: str) -> None:
    """Give ``common``'s characters, in order, the first codes of ``font`` in ``canvas``'s
    document, and close the subsets they fill: whatever else the document prints goes to the
    next subset. reportlab numbers a font's characters in the order the document first prints
    them, 256 to a subset, each embedded as a font of its own; a bill's labels, seals, title
    and unit come between its own values, so every bill's one subset differed. Seeded with
    the text every bill of its kind and unit prints, the first subset is the same in each of
    them (made once, ``SubsetMaker``; compressed once, ``KeptZCompress``), the bill's own
    characters a small second one. Each glyph is drawn as before, from another subset."""
    face = pdfmetrics.getFont(font)
    face.splitString(common, canvas._doc)  # type: ignore[attr-defined]
    state = face.state[canvas._doc]  # type: ignore[attr-defined]
    state.nextCode = -(-state.nextCode // 256) * 256  # the next subset's first code


@cache
def register_cjk_font(path: str) -> str:
    """Register the TTC/TTF at ``path`` (its first face) once per process; return its font name."""
    stem = "".join(ch for ch in os.path.basename(path).rsplit(".", 1)[0] if ch.isalnum())
    name = f"CJK-{stem or 'font'}-{len(_registered)}"
    font = TTFont(name, path, subfontIndex=0)
    font.face.makeSubset = SubsetMaker(font.face)  # type: ignore[method-assign]
    pdfmetrics.registerFont(font)
    _registered.append(name)
    return name


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw ``data`` as a QR code (level M) in the square of side ``size`` at (x, y), lower left.

    The square includes a white quiet zone of two modules. The dark modules are one filled path,
    one rectangle per horizontal run, written in module units under a scaling matrix: integers
    only, so a code costs one path operator and no float formatting.
    """
    n, rows = qr_rows(data)
    m = size / (n + 4)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.transform(m, 0, 0, m, x + 2 * m, y + 2 * m)
    ops = []
    for r, row in enumerate(rows):
        yy = n - 1 - r
        for run in DARK_RUN.finditer(format(row, f"0{n}b")):
            ops.append(f"{run.start()} {yy} {run.end() - run.start()} 1 re")
    ops.append("f")
    canvas.addLiteral("\n".join(ops))
    canvas.restoreState()


def draw_text(canvas: Canvas, text: str, x: float, y: float, font: str, size: float, *,
              squeeze: float = 1.0, bold: bool = False, char_space: float = 0.0) -> None:
    """Draw ``text`` from (x, y) on its baseline, squeezed horizontally, spaced, or emboldened
    (fill and stroke, in the current stroke colour). The text state (Tz, Tc, Tr) is part of the
    graphics state and outlives ET, so it is saved and restored here."""
    canvas.saveState()
    tobj = canvas.beginText(x, y)
    tobj.setFont(font, size)
    if squeeze != 1.0:
        tobj.setHorizScale(squeeze * 100)
    if char_space:
        tobj.setCharSpace(char_space)
    if bold:
        tobj.setTextRenderMode(2)
        canvas.setLineWidth(size * 0.03)
    tobj.textOut(text)
    canvas.drawText(tobj)
    canvas.restoreState()


def draw_table(canvas: Canvas, x: float, top: float, widths: Sequence[float], row_h: float,
               rows: Sequence[Sequence[str]], aligns: str, font: str, size: float,
               header_h: float | None = None, rule_colour: Colour = (0, 0, 0),
               header_colour: Colour | None = None, header_size: float | None = None) -> float:
    """Rows of text in ruled cells; the first row is the header (centred). Alignment letters per
    column: l, c or r. Text that would overflow its cell is squeezed horizontally. Returns the
    y of the table's bottom rule."""
    header_h = header_h or row_h
    header_size = header_size or size
    total_w = sum(widths)
    bottom = top - header_h - row_h * (len(rows) - 1)
    canvas.saveState()
    canvas.setStrokeColorRGB(*rule_colour)
    canvas.setLineWidth(0.5)
    ys = [top, top - header_h] + [top - header_h - row_h * k for k in range(1, len(rows))]
    for y in ys[1:-1]:
        canvas.line(x, y, x + total_w, y)
    edges = [x]
    for w in widths:
        edges.append(edges[-1] + w)
    for e in edges[1:-1]:
        canvas.line(e, top, e, bottom)
    canvas.setLineWidth(0.9)
    canvas.rect(x, bottom, total_w, top - bottom, stroke=1, fill=0)
    canvas.restoreState()
    pad = 1.6 * size / 3
    for k, row in enumerate(rows):
        h = header_h if k == 0 else row_h
        fs = header_size if k == 0 else size
        baseline = ys[k] - h / 2 - fs * 0.36
        if k == 0:  # the header is form print: its own colour, then back to the caller's ink
            canvas.saveState()
            if header_colour is not None:
                canvas.setFillColorRGB(*header_colour)
        for col, cell in enumerate(row):
            if cell:
                align = "c" if k == 0 else aligns[col]
                draw_fit(canvas, cell, edges[col] + pad, edges[col + 1] - pad, baseline, font,
                         fs, align)
        if k == 0:
            canvas.restoreState()
    return bottom


def draw_fit(canvas: Canvas, text: str, left: float, right: float, baseline: float, font: str,
             size: float, align: str = "l") -> None:
    """Draw ``text`` between ``left`` and ``right``, squeezed horizontally if it is too wide."""
    width = pdfmetrics.stringWidth(text, font, size)
    room = right - left
    if width <= room:
        x = {"l": left, "c": (left + right - width) / 2, "r": right - width}[align]
        canvas.setFont(font, size)
        canvas.drawString(x, baseline, text)
        return
    draw_text(canvas, text, left, baseline, font, size, squeeze=room / width)


def attach_file(canvas: Canvas, name: str, data: bytes, mime: str, description: str) -> None:
    """Embed ``data`` as a file attachment in the catalog's EmbeddedFiles name tree (marked
    AFRelationship /Source, as PDF/A-3 does), written by reportlab itself: no second pass over
    the PDF. One attachment per document: a second call replaces the first."""
    subtype = "/" + mime.replace("/", "#2F")
    stream = PDFStream(
        PDFDictionary({"Type": PDFName("EmbeddedFile"), "Subtype": subtype,
                       "Params": PDFDictionary({"Size": len(data)})}),
        content=data, filters=[PDFZCompress])
    spec = PDFDictionary({"Type": PDFName("Filespec"), "F": PDFString(name),
                          "UF": PDFString(name), "Desc": PDFString(description),
                          "AFRelationship": PDFName("Source"),
                          "EF": PDFDictionary({"F": stream, "UF": stream})})
    names = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(
        [PDFString(name), spec])})})
    canvas.setCatalogEntry("Names", names)
