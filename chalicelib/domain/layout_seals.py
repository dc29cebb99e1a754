"""Seals and stamps drawn as layout operations: the unit's round seal, the finance department's
oval 监制 seal, and the status stamp (已冲红, 已作废) across a page.

All in vector on a ``layout.Sheet`` (millimetres, y downwards): rings and ellipses as Bézier
paths, characters as text runs turned to follow the arc, in translucent seal red so that
whatever lies under a seal stays readable.
"""

from __future__ import annotations

import bisect
import math
from functools import lru_cache

from chalicelib.domain.layout import (
    PT,
    Colour,
    FontMetrics,
    Op,
    Sheet,
    ellipse,
    rotation,
    round_rect,
)

SEAL_RED: Colour = (0xD0 / 255, 0x02 / 255, 0x1B / 255)
SEAL_ALPHA = 0.88  # translucent ink


def _glyph(sheet: Sheet, ch: str, x: float, y: float, angle: float, size: float,
           squeeze: float) -> None:
    """One character centred on (x, y), turned by ``angle`` degrees, a little emboldened."""
    width = sheet.measure(ch, size) * squeeze
    ox, oy = rotation(x, y, angle)(x - width / 2, y + size * 0.36)
    sheet.text(ch, ox, oy, size, SEAL_RED, squeeze=squeeze, bold=True, angle=angle,
               alpha=SEAL_ALPHA)


def _centred_line(sheet: Sheet, text: str, cx: float, y: float, size: float,
                  max_width: float) -> None:
    width = sheet.measure(text, size)
    squeeze = min(1.0, max_width / width) if width else 1.0
    sheet.text(text, cx - width * squeeze / 2, y, size, SEAL_RED, squeeze=squeeze, bold=True,
               alpha=SEAL_ALPHA)


def _star(sheet: Sheet, cx: float, cy: float, radius: float) -> None:
    segments: list[tuple] = []
    for k in range(10):
        rad = radius if k % 2 == 0 else radius * 0.382
        a = math.pi / 2 + k * math.pi / 5
        segments.append(("M" if k == 0 else "L", cx + rad * math.cos(a), cy - rad * math.sin(a)))
    segments.append(("C",))
    sheet.path(segments, stroke=None, fill=SEAL_RED, alpha=SEAL_ALPHA)


def round_seal(sheet: Sheet, cx: float, cy: float, r: float, text: str, centre: str = "★", *,
               bottom: str = "") -> None:
    """A red round official seal centred on (cx, cy): double ring, ``text`` along the upper
    arc, a star (or the ``centre`` text) in the middle, ``bottom`` (票据专用章) set straight."""
    sheet.ops.extend(_seal_ops(sheet.metrics, _round_seal, (cx, cy, r, text, centre, bottom)))


def oval_seal(sheet: Sheet, cx: float, cy: float, w: float, h: float, top_text: str,
              bottom_text: str) -> None:
    """The finance department's oval 监制 seal: ``top_text`` along the upper arc of a ``w``×``h``
    ellipse centred on (cx, cy), ``bottom_text`` (监制章) set straight in the lower half."""
    sheet.ops.extend(_seal_ops(sheet.metrics, _oval_seal, (cx, cy, w, h, top_text, bottom_text)))


@lru_cache(maxsize=64)
def _seal_ops(metrics: FontMetrics, draw, args: tuple) -> tuple[Op, ...]:
    """The operations of one seal, drawn once: a unit's seal and the finance department's are
    the same on every bill, and their lettering is most of a page's layout work."""
    sheet = Sheet(0, 0, metrics)
    draw(sheet, *args)
    return tuple(sheet.ops)


def _round_seal(sheet: Sheet, cx: float, cy: float, r: float, text: str, centre: str,
                bottom: str) -> None:
    sheet.path(ellipse(cx, cy, r - r * 0.035, r - r * 0.035), line_width=r * 0.07,
               stroke=SEAL_RED, alpha=SEAL_ALPHA)
    sheet.path(ellipse(cx, cy, r * 0.87, r * 0.87), line_width=r * 0.012, stroke=SEAL_RED,
               alpha=SEAL_ALPHA)
    n = len(text)
    if n:
        span = math.radians(min(230.0, max(150.0, n * 21.0)))
        step = span / (n - 1) if n > 1 else 0.0
        rt = r * 0.655
        size = min(r * 0.27, rt * (step or span) * 0.92 / 0.8)
        for i, ch in enumerate(text):
            a = math.pi / 2 + span / 2 - i * step if n > 1 else math.pi / 2
            _glyph(sheet, ch, cx + rt * math.cos(a), cy - rt * math.sin(a),
                   math.degrees(a) - 90, size, 0.8)
    if centre == "★":
        _star(sheet, cx, cy - (r * 0.03 if bottom else 0), r * 0.24)
    elif centre:
        _centred_line(sheet, centre, cx, cy + r * 0.1, r * 0.3, r * 0.9)
    if bottom:
        _centred_line(sheet, bottom, cx, cy + r * 0.58, r * 0.18, r * 0.85)


def _oval_seal(sheet: Sheet, cx: float, cy: float, w: float, h: float, top_text: str,
               bottom_text: str) -> None:
    lw = h * 0.045
    sheet.path(ellipse(cx, cy, w / 2 - lw / 2, h / 2 - lw / 2), line_width=lw, stroke=SEAL_RED,
               alpha=SEAL_ALPHA)
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
        _glyph(sheet, ch, cx + a * math.cos(t), cy - b * math.sin(t),
               math.degrees(normal) - 90, size, 0.85)
    if bottom_text:
        _centred_line(sheet, bottom_text, cx, cy + h * 0.3, h * 0.17, w * 0.5)


def stamp(sheet: Sheet, text: str, cx: float, cy: float, size: float, alpha: float) -> None:
    """Stamp ``text`` in seal red across the page, turned 18 degrees, framed, centred on
    (cx, cy), at ``alpha`` opacity: what a bill or slip has become (已冲红, 已作废)."""
    width = sheet.measure(text, size)
    turn = rotation(cx, cy, 18)
    frame = round_rect(cx - width / 2 - 6, cy - size * 0.7, width + 12, size * 1.25, 3,
                       transform=turn)
    sheet.path(frame, line_width=3 * PT, stroke=SEAL_RED, alpha=alpha)
    x, y = turn(cx - width / 2, cy + size * 0.3)
    sheet.text(text, x, y, size, SEAL_RED, angle=18, alpha=alpha)
