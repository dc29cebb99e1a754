"""The page layout model: pages of drawing operations in millimetres, the same for every format.

A layout function (``bill_layout.layout_bill``) draws onto a ``Sheet`` and returns its ``Page``s;
the PDF renderer (``adapters/pdf_layout.py``) and the OFD writer (``adapters/ofd_bill.py``) turn
the same pages into their own formats, so a bill looks the same in both. Nothing here knows a
file format or a library: text is measured through ``FontMetrics``, which the caller supplies.

Geometry (as OFD has it, GB/T 33190): millimetres, origin at the page's top left, y downwards.
Angles are in degrees counter-clockwise as seen on the page. Font sizes are em sizes in
millimetres (9 pt = ``9 * PT``); line widths are millimetres too.

The operations, drawn in order, each later one over the earlier ones:

* ``Text``: one run in one font size and colour; ``x, y`` is the baseline origin of its first
  glyph, ``advances`` the distance from each glyph's origin to the next one's (squeeze and
  spacing included), so a writer that places glyphs one by one (OFD ``DeltaX``) needs no font.
* ``Line``, ``Rect`` (``x, y`` its top left), ``Path`` (segments ``M x y``, ``L x y``,
  ``B x1 y1 x2 y2 x3 y3``, ``C``: OFD's abbreviated-data letters, absolute page coordinates).
* ``Image``: a PNG drawn as large as fits inside its box, centred, keeping its aspect ratio.
* ``QrCode``: ``data`` as a QR code (level M, two modules of white border) filling the square.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

PT = 25.4 / 72  # one typographic point in millimetres
Colour = tuple[float, float, float]  # RGB, each 0..1
BLACK: Colour = (0.0, 0.0, 0.0)
WHITE: Colour = (1.0, 1.0, 1.0)
BOLD_STROKE = 0.03  # emboldened text is also stroked, this many ems wide
Segment = tuple  # ("M", x, y) | ("L", x, y) | ("B", x1, y1, x2, y2, x3, y3) | ("C",)


class FontMetrics(Protocol):
    """The one font a layout uses, measured: widths in the unit of ``size`` (millimetres)."""

    def width(self, text: str, size: float) -> float:
        """The advance width of ``text`` set at ``size``."""

    def advances(self, text: str, size: float) -> tuple[float, ...]:
        """The advance of each character of ``text`` set at ``size``."""

    def __hash__(self) -> int:
        """Metrics are hashable (by identity will do): laid-out seals are cached per font."""


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    x: float
    y: float
    size: float
    advances: tuple[float, ...]
    colour: Colour = BLACK
    squeeze: float = 1.0  # horizontal scale of the glyphs (1 = as designed)
    char_space: float = 0.0  # extra space after each glyph, mm (already in ``advances``)
    bold: bool = False  # filled and stroked BOLD_STROKE ems wide in ``colour``
    angle: float = 0.0  # about (x, y)
    alpha: float = 1.0

    @property
    def width(self) -> float:
        return sum(self.advances)


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    line_width: float
    colour: Colour = BLACK


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    line_width: float = 0.0
    stroke: Colour | None = BLACK
    fill: Colour | None = None


@dataclass(frozen=True, slots=True)
class Path:
    segments: tuple[Segment, ...]
    line_width: float = 0.0
    stroke: Colour | None = BLACK
    fill: Colour | None = None
    alpha: float = 1.0


@dataclass(frozen=True, slots=True)
class Image:
    png: bytes
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class QrCode:
    data: str
    x: float
    y: float
    size: float


Op = Text | Line | Rect | Path | Image | QrCode


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    ops: tuple[Op, ...]


@dataclass
class Sheet:
    """A page being drawn: the builder layout functions use. Every method appends one or a few
    operations; text is measured and its advances filled in here."""

    width: float
    height: float
    metrics: FontMetrics
    ops: list[Op] = field(default_factory=list)

    def page(self) -> Page:
        return Page(self.width, self.height, tuple(self.ops))

    def measure(self, text: str, size: float) -> float:
        return self.metrics.width(text, size)

    def text(self, text: str, x: float, y: float, size: float, colour: Colour = BLACK, *,
             align: str = "l", squeeze: float = 1.0, char_space: float = 0.0,
             bold: bool = False, angle: float = 0.0, alpha: float = 1.0) -> float:
        """Set ``text`` on the baseline ``y``, starting at ``x`` (align ``l``), centred on it
        (``c``) or ending at it (``r``); return the x where it ends."""
        advances = self.metrics.advances(text, size)
        if squeeze != 1.0 or char_space:
            advances = tuple(a * squeeze + char_space for a in advances)
        if align != "l":
            width = self.metrics.width(text, size) * squeeze + char_space * (len(text) - 1)
            x -= width if align == "r" else 0.5 * width
        self.ops.append(Text(text, x, y, size, advances, colour, squeeze, char_space, bold,
                             angle, alpha))
        return x + sum(advances)

    def fit(self, text: str, left: float, right: float, y: float, size: float,
            colour: Colour = BLACK, align: str = "l") -> None:
        """Set ``text`` between ``left`` and ``right``, squeezed horizontally if too wide."""
        width = self.metrics.width(text, size)
        room = right - left
        if width <= room:
            x = {"l": left, "c": (left + right - width) / 2, "r": right - width}[align]
            self.text(text, x, y, size, colour)
        else:
            self.text(text, left, y, size, colour, squeeze=room / width)

    def line(self, x1: float, y1: float, x2: float, y2: float, line_width: float,
             colour: Colour = BLACK) -> None:
        self.ops.append(Line(x1, y1, x2, y2, line_width, colour))

    def rect(self, x: float, y: float, w: float, h: float, *, line_width: float = 0.0,
             stroke: Colour | None = BLACK, fill: Colour | None = None) -> None:
        self.ops.append(Rect(x, y, w, h, line_width, stroke, fill))

    def path(self, segments: list[Segment], *, line_width: float = 0.0,
             stroke: Colour | None = BLACK, fill: Colour | None = None,
             alpha: float = 1.0) -> None:
        self.ops.append(Path(tuple(segments), line_width, stroke, fill, alpha))

    def image(self, png: bytes, x: float, y: float, w: float, h: float) -> None:
        self.ops.append(Image(png, x, y, w, h))

    def qr(self, data: str, x: float, y: float, size: float) -> None:
        self.ops.append(QrCode(data, x, y, size))


def ellipse(cx: float, cy: float, rx: float, ry: float) -> list[Segment]:
    """A closed ellipse as four cubic Béziers (the usual quarter-arc approximation)."""
    kappa = 4 / 3 * (1 - math.cos(math.pi / 4)) / math.sin(math.pi / 4)
    segments: list[Segment] = [("M", cx + rx, cy)]
    for k in range(4):
        t0, t1 = k * math.pi / 2, (k + 1) * math.pi / 2
        c0, s0, c1, s1 = math.cos(t0), math.sin(t0), math.cos(t1), math.sin(t1)
        segments.append(("B", cx + rx * (c0 - kappa * s0), cy + ry * (s0 + kappa * c0),
                         cx + rx * (c1 + kappa * s1), cy + ry * (s1 - kappa * c1),
                         cx + rx * c1, cy + ry * s1))
    return segments  # unclosed, as reportlab draws it: the last point is the first


def round_rect(x: float, y: float, w: float, h: float, r: float,
               transform: Callable[[float, float], tuple[float, float]] | None = None,
               ) -> list[Segment]:
    """A rectangle with corners rounded to radius ``r``, top left at (x, y); each point is
    passed through ``transform`` (page coordinates in, page coordinates out) if given."""
    t = 0.4472 * r  # the control-point factor reportlab uses: the PDF stays as it was
    xl, xh, yl, yh = x, x + w, y, y + h
    points: list[tuple[str, tuple[float, ...]]] = [
        ("M", (xl + r, yh)), ("L", (xh - r, yh)), ("B", (xh - t, yh, xh, yh - t, xh, yh - r)),
        ("L", (xh, yl + r)), ("B", (xh, yl + t, xh - t, yl, xh - r, yl)), ("L", (xl + r, yl)),
        ("B", (xl + t, yl, xl, yl + t, xl, yl + r)), ("L", (xl, yh - r)),
        ("B", (xl, yh - t, xl + t, yh, xl + r, yh))]
    segments: list[Segment] = []
    for op, coords in points:
        pairs = [(coords[k], coords[k + 1]) for k in range(0, len(coords), 2)]
        if transform is not None:
            pairs = [transform(px, py) for px, py in pairs]
        segments.append((op, *[v for pair in pairs for v in pair]))
    segments.append(("C",))
    return segments


def rotation(cx: float, cy: float, angle: float) -> Callable[[float, float], tuple[float, float]]:
    """Page point → that point turned ``angle`` degrees counter-clockwise (as seen) about
    (cx, cy)."""
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def turn(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - cx, cy - y  # y upwards for the turn
        return cx + dx * c - dy * s, cy - (dx * s + dy * c)
    return turn


def table(sheet: Sheet, x: float, top: float, widths: tuple[float, ...], row_h: float,
          rows: list[tuple[str, ...]], aligns: str, size: float, *, header_h: float,
          rule: Colour, header_colour: Colour, ink: Colour, header_size: float) -> float:
    """Rows of text in ruled cells; the first row is the header (centred, ``header_colour``).
    Alignment letters per column: l, c or r. Text too wide for its cell is squeezed. Returns
    the y of the bottom rule."""
    total_w = sum(widths)
    bottom = top + header_h + row_h * (len(rows) - 1)
    ys = [top, top + header_h] + [top + header_h + row_h * k for k in range(1, len(rows))]
    for y in ys[1:-1]:
        sheet.line(x, y, x + total_w, y, 0.5 * PT, rule)
    edges = [x]
    for w in widths:
        edges.append(edges[-1] + w)
    for e in edges[1:-1]:
        sheet.line(e, top, e, bottom, 0.5 * PT, rule)
    sheet.rect(x, top, total_w, bottom - top, line_width=0.9 * PT, stroke=rule)
    pad = 1.6 * size / 3
    for k, row in enumerate(rows):
        h = header_h if k == 0 else row_h
        fs = header_size if k == 0 else size
        baseline = ys[k] + h / 2 + fs * 0.36
        colour = header_colour if k == 0 else ink
        for col, cell in enumerate(row):
            if cell:
                align = "c" if k == 0 else aligns[col]
                sheet.fit(cell, edges[col] + pad, edges[col + 1] - pad, baseline, fs, colour,
                          align)
    return bottom
