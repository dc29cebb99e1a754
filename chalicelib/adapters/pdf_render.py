"""Drawing helpers shared by the PDF renderers: CJK font, QR code, seals, ruled tables, attachments.

Everything is drawn in vector on a reportlab canvas, with one embedded CJK TrueType font (a TTC
subset), so every glyph prints and every word stays selectable. The font path always comes from
the caller (settings); this module never reads the environment. Costs that matter: the font is
parsed once per process (≈110-160 ms); a QR code costs ≈4 ms (``qr_masks``: the mask is chosen
without building the matrix eight times), since it is drawn as one filled path; a page with seals and a table, ≈14 ms.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Sequence
from functools import cache

from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from chalicelib.adapters.qr_masks import FastMaskQRCode

Colour = tuple[float, float, float]
SEAL_RED: Colour = (0xD0 / 255, 0x02 / 255, 0x1B / 255)
SEAL_ALPHA = 0.88  # translucent ink: whatever lies under a seal stays readable
_registered: list[str] = []
# Streams stay binary (zlib only): ASCII85 on top makes them 25 % larger and costs ~3 ms a page.
rl_config.useA85 = 0


# reportlab subsets a shared TTF font while saving a document, keeping a read position on the
# one font object: two threads saving at once corrupt each other's subset. One save at a time.
SAVE_LOCK = threading.Lock()


@cache
def register_cjk_font(path: str) -> str:
    """Register the TTC/TTF at ``path`` (its first face) once per process; return its font name."""
    stem = "".join(ch for ch in os.path.basename(path).rsplit(".", 1)[0] if ch.isalnum())
    name = f"CJK-{stem or 'font'}-{len(_registered)}"
    pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    _registered.append(name)
    return name


def _font(font: str | None) -> str:
    if font is not None:
        return font
    if not _registered:
        raise RuntimeError("register_cjk_font(path) must be called before drawing seals")
    return _registered[-1]


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw ``data`` as a QR code (level M) in the square of side ``size`` at (x, y), lower left.

    The square includes a white quiet zone of two modules. The dark modules are one filled path,
    one rectangle per horizontal run, written in module units under a scaling matrix: integers
    only, so a code costs one path operator and no float formatting.
    """
    code = FastMaskQRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)  # split into numeric and byte segments: a bill URL fits version 4
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    m = size / (n + 4)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.transform(m, 0, 0, m, x + 2 * m, y + 2 * m)
    ops = []
    for r, row in enumerate(matrix):
        c, yy = 0, n - 1 - r
        while c < n:
            if row[c] & 1:
                start = c
                while c < n and row[c] & 1:
                    c += 1
                ops.append(f"{start} {yy} {c - start} 1 re")
            else:
                c += 1
    ops.append("f")
    canvas.addLiteral("\n".join(ops))
    canvas.restoreState()


def _star(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    path = canvas.beginPath()
    for k in range(10):
        rad = radius if k % 2 == 0 else radius * 0.382
        a = math.pi / 2 + k * math.pi / 5
        (path.moveTo if k == 0 else path.lineTo)(cx + rad * math.cos(a), cy + rad * math.sin(a))
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def _ink(canvas: Canvas) -> None:
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)
    canvas.setFillAlpha(SEAL_ALPHA)
    canvas.setStrokeAlpha(SEAL_ALPHA)


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


def _glyph(canvas: Canvas, ch: str, x: float, y: float, angle: float, font: str, size: float,
           squeeze: float) -> None:
    """One character centred on (x, y), rotated by ``angle`` degrees, a little emboldened."""
    canvas.saveState()
    canvas.translate(x, y)
    canvas.rotate(angle)
    width = pdfmetrics.stringWidth(ch, font, size) * squeeze
    draw_text(canvas, ch, -width / 2, -size * 0.36, font, size, squeeze=squeeze, bold=True)
    canvas.restoreState()


def _centred_line(canvas: Canvas, text: str, cx: float, y: float, font: str, size: float,
                  max_width: float) -> None:
    width = pdfmetrics.stringWidth(text, font, size)
    squeeze = min(1.0, max_width / width) if width else 1.0
    draw_text(canvas, text, cx - width * squeeze / 2, y, font, size, squeeze=squeeze, bold=True)


def draw_round_seal(canvas: Canvas, cx: float, cy: float, r: float, text: str,
                    centre: str = "★", *, bottom: str = "", font: str | None = None) -> None:
    """A red round official seal: double ring, ``text`` along the upper arc, a star (or the
    ``centre`` text) in the middle, ``bottom`` (e.g. 财务专用章) set straight below it."""
    font = _font(font)
    canvas.saveState()
    _ink(canvas)
    canvas.setLineWidth(r * 0.07)
    canvas.circle(cx, cy, r - r * 0.035, stroke=1, fill=0)
    canvas.setLineWidth(r * 0.012)
    canvas.circle(cx, cy, r * 0.87, stroke=1, fill=0)
    n = len(text)
    if n:
        span = math.radians(min(230.0, max(150.0, n * 21.0)))
        step = span / (n - 1) if n > 1 else 0.0
        rt = r * 0.655
        size = min(r * 0.27, rt * (step or span) * 0.92 / 0.8)
        for i, ch in enumerate(text):
            a = math.pi / 2 + span / 2 - i * step if n > 1 else math.pi / 2
            _glyph(canvas, ch, cx + rt * math.cos(a), cy + rt * math.sin(a),
                   math.degrees(a) - 90, font, size, 0.8)
    if centre == "★":
        _star(canvas, cx, cy + (r * 0.03 if bottom else 0), r * 0.24)
    elif centre:
        _centred_line(canvas, centre, cx, cy - r * 0.1, font, r * 0.3, r * 0.9)
    if bottom:
        _centred_line(canvas, bottom, cx, cy - r * 0.58, font, r * 0.18, r * 0.85)
    canvas.restoreState()


def draw_oval_seal(canvas: Canvas, cx: float, cy: float, w: float, h: float, top_text: str,
                   bottom_text: str, *, font: str | None = None) -> None:
    """The finance department's oval 监制 seal: ``top_text`` along the upper arc of a ``w``×``h``
    ellipse centred on (cx, cy), ``bottom_text`` (e.g. 监制章) set straight in the lower half."""
    font = _font(font)
    canvas.saveState()
    _ink(canvas)
    lw = h * 0.045
    canvas.setLineWidth(lw)
    canvas.ellipse(cx - w / 2 + lw / 2, cy - h / 2 + lw / 2, cx + w / 2 - lw / 2,
                   cy + h / 2 - lw / 2, stroke=1, fill=0)
    n = len(top_text)
    size = h * 0.2
    a, b = w / 2 - lw - size * 0.62, h / 2 - lw - size * 0.62
    # Sample the upper arc, then place the characters at equal arc length, left to right.
    ts = [math.radians(165 - 150 * k / 120) for k in range(121)]
    lengths = [0.0]
    for t0, t1 in zip(ts, ts[1:], strict=False):
        dx, dy = a * (math.cos(t1) - math.cos(t0)), b * (math.sin(t1) - math.sin(t0))
        lengths.append(lengths[-1] + math.hypot(dx, dy))
    total = lengths[-1]
    advance = min(size * 1.2, total / max(n, 1))
    size = min(size, advance / 0.9)
    start = (total - advance * (n - 1)) / 2
    for i, ch in enumerate(top_text):
        t = ts[min(bisect.bisect_left(lengths, start + i * advance), len(ts) - 1)]
        normal = math.atan2(a * math.sin(t), b * math.cos(t))
        _glyph(canvas, ch, cx + a * math.cos(t), cy + b * math.sin(t),
               math.degrees(normal) - 90, font, size, 0.85)
    if bottom_text:
        _centred_line(canvas, bottom_text, cx, cy - h * 0.3, font, h * 0.17, w * 0.5)
    canvas.restoreState()


def draw_stamp(canvas: Canvas, text: str, cx: float, cy: float, font: str, size: float,
               alpha: float) -> None:
    """Stamp ``text`` in seal red across the page, turned 18 degrees, framed, centred on
    (cx, cy), at ``alpha`` opacity: what a bill or slip has become (已冲红, 已作废)."""
    width = pdfmetrics.stringWidth(text, font, size)
    canvas.saveState()
    canvas.translate(cx, cy)
    canvas.rotate(18)
    canvas.setFillColorRGB(*SEAL_RED)
    canvas.setStrokeColorRGB(*SEAL_RED)
    canvas.setFillAlpha(alpha)
    canvas.setStrokeAlpha(alpha)
    canvas.setLineWidth(3)
    canvas.roundRect(-width / 2 - 6 * mm, -size * 0.55, width + 12 * mm, size * 1.25, 3 * mm)
    canvas.setFont(font, size)
    canvas.drawCentredString(0, -size * 0.3, text)
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
