"""Layout pages (``domain/layout.py``) drawn onto a reportlab canvas, and the font metrics the
layouts measure with.

The layout speaks millimetres from the top left, y downwards; PDF speaks points from the bottom
left, y upwards: each coordinate is turned here, once. Colours, line widths and the font size
are set only when they change; a turned, squeezed, emboldened or translucent run gets its own
saved graphics state. QR codes are drawn by ``pdf_render.draw_qr`` (one filled path in module
units), images as reportlab's ``drawImage`` draws them, scaled down first (``seal_image``) and
made into an image XObject once per process per seal (``draw_seal_image``).
"""

from __future__ import annotations

import copy
import io
import zlib
from functools import cache, lru_cache

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, _digester
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFImageXObject, PDFObjectReference
from reportlab.pdfgen.canvas import Canvas, aspectRatioFix

from chalicelib.adapters.pdf_render import draw_qr
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.layout import (
    BOLD_STROKE,
    PT,
    Image,
    Line,
    Page,
    Path,
    QrCode,
    Rect,
    Sheet,
    Text,
)
from chalicelib.domain.layout_seals import round_seal, stamp

CACHE_SIZE = 4096


class ReportlabMetrics:
    """FontMetrics of a font registered with reportlab (``pdf_render.register_cjk_font``).

    Widths are those reportlab uses when it draws, to the last bit (the sum of the glyphs'
    widths in 1/1000 em, × 0.001 × size, in that order), read from the font's width table once
    per text: labels repeat on every bill, and reportlab's own ``stringWidth`` costs several
    microseconds a call."""

    def __init__(self, font_name: str) -> None:
        face = pdfmetrics.getFont(font_name).face  # type: ignore[attr-defined]
        self._widths: dict[int, float] = face.charWidths
        self._default = float(face.defaultWidth)
        self._units: dict[str, tuple[float, tuple[float, ...]]] = {}
        self._advances: dict[tuple[str, float], tuple[float, ...]] = {}

    def _glyphs(self, text: str) -> tuple[float, tuple[float, ...]]:
        found = self._units.get(text)
        if found is None:
            if len(self._units) >= CACHE_SIZE:  # values differ from bill to bill: bound it
                self._units.clear()
            get, default = self._widths.get, self._default
            widths = tuple([get(ord(ch), default) for ch in text])
            found = self._units[text] = (sum(widths), widths)
        return found

    def width(self, text: str, size: float) -> float:
        return self._glyphs(text)[0] * 0.001 * size

    def advances(self, text: str, size: float) -> tuple[float, ...]:
        key = (text, size)
        found = self._advances.get(key)
        if found is None:
            if len(self._advances) >= CACHE_SIZE:
                self._advances.clear()
            scale = size * 0.001
            found = self._advances[key] = tuple([w * scale for w in self._glyphs(text)[1]])
        return found


@cache
def metrics_for(font_name: str) -> ReportlabMetrics:
    return ReportlabMetrics(font_name)


# The seal is printed 27 mm across: 320 pixels is 300 dpi. An upload may be up to 2000 pixels a
# side, which embedded as it is made a 21 KB PNG into a 9.6 MB bill (over the upload limit of
# POST /v1/verifications/file); it is scaled down first, the same way every time and in every
# format.
SEAL_PIXELS = 320


def seal_image(png: bytes):  # -> PIL.Image.Image (PIL is imported lazily)
    """The uploaded seal ``png`` as a PIL image at most ``SEAL_PIXELS`` a side: a copy of the
    one decoded and scaled the first time this process met these bytes. Scaling a 2000-pixel
    seal takes over a second on a busy core, and a unit's every bill carries the same seal."""
    return _scaled_seal(png).copy()


@lru_cache(maxsize=16)  # ≤ 16 × (256 KB key + 400 KB image): a few units' seals per process
def _scaled_seal(png: bytes):  # -> PIL.Image.Image
    from PIL import Image as PILImage  # reportlab's own dependency, only for uploaded seals

    try:
        image: PILImage.Image = PILImage.open(io.BytesIO(png))
        image.load()  # decoded here, where its failures become ours, not later in reportlab
        if max(image.size) > SEAL_PIXELS:
            image = image.convert("RGBA")
            image.thumbnail((SEAL_PIXELS, SEAL_PIXELS), PILImage.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, zlib.error, PILImage.DecompressionBombError) as exc:
        # Pillow's ways of saying it cannot read the file (UnidentifiedImageError is an
        # OSError; a broken PNG chunk a SyntaxError). domain/seal_images refuses such a file
        # before it is kept; this is for a file that passes those checks and still fails.
        raise ValidationFailed("印章图片无法绘制到票据上", {"file": f"cannot be drawn: {exc}"[:200]},
                               code="seal_invalid") from None
    return image


def draw_seal_image(c: Canvas, png: bytes, x: float, y: float, width: float,
                    height: float) -> None:
    """What ``c.drawImage(ImageReader(seal_image(png)), x, y, width, height, mask="auto",
    preserveAspectRatio=True, anchor="c")`` writes, byte for byte, from the image XObject made
    the first time this process met ``png``.

    reportlab's ``drawImage`` turns the image into an XObject for every document: it reads the
    pixels, digests them for the name, compresses them and the alpha mask (zlib, ~200 KB of
    pixels for a 320-pixel seal): about 8 ms of a bill's 12-20. A unit's every bill carries the
    same seal, so that is done once (``_seal_xobject``); each document gets its own shallow
    copies (reportlab marks an object with its name in the document), registered the way
    ``drawImage`` registers them. ``tests/unit/test_pdf_rendering.py`` compares the bytes with
    reportlab's own ``drawImage``."""
    image, smask = _seal_xobject(png)
    doc = c._doc  # type: ignore[attr-defined]
    c._currentPageHasImages = 1  # type: ignore[attr-defined]
    name = image.name
    registered = doc.getXObjectName(name)
    drawn = doc.idToObject.get(registered, None)
    if not drawn:
        drawn = copy.copy(image)
        c._setXObjects(drawn)  # type: ignore[attr-defined]
        doc.Reference(drawn, registered)
        doc.addForm(name, drawn)
        if smask is not None:
            mask_name = doc.getXObjectName(smask.name)
            if not doc.idToObject.get(mask_name, None):
                mask = copy.copy(smask)
                c._setXObjects(mask)  # type: ignore[attr-defined]
                drawn.smask = doc.Reference(mask, mask_name)
            else:
                drawn.smask = PDFObjectReference(mask_name)
    x, y, width, height, _ = aspectRatioFix(True, "c", x, y, width, height, drawn.width,
                                            drawn.height, False)
    c.saveState()
    c.translate(x, y)
    c.scale(width, height)
    c._code.append(f"/{registered} Do")  # type: ignore[attr-defined]
    c.restoreState()
    c._formsinuse.append(name)  # type: ignore[attr-defined]


@lru_cache(maxsize=16)  # ≤ 16 × (256 KB key + the compressed pixels and mask): a few seals
def _seal_xobject(png: bytes) -> tuple[PDFImageXObject, PDFImageXObject | None]:
    """The image XObject ``drawImage`` makes of the seal ``png`` (mask "auto"), and its soft
    mask (the alpha channel) apart; neither is registered in any document."""
    reader = ImageReader(seal_image(png))
    pixels = reader.getRGBData()  # sets _dataA, the alpha channel's reader (None without)
    alpha = reader._dataA  # type: ignore[attr-defined]
    mask_data = alpha.getRGBData() if alpha else b"auto"  # drawImage's: str(mask) if no alpha
    name = _digester(pixels + mask_data)
    image = PDFImageXObject(name, reader, mask="auto")
    image.name = name
    smask = image.__dict__.pop("_smask", None)
    return image, smask


class _State:
    """What the canvas has set now, so that nothing is set twice in a row."""

    __slots__ = ("fill", "stroke", "width", "font")

    def __init__(self) -> None:
        self.fill: tuple | None = None
        self.stroke: tuple | None = None
        self.width: float | None = None
        self.font: float | None = None


def draw_page(c: Canvas, page: Page, font: str) -> None:
    """Draw ``page``'s operations onto ``c`` (whose page is ``page.width`` × ``page.height``
    millimetres), all text in ``font``. Does not end the page."""
    height = page.height * mm
    state = _State()

    def fill(colour: tuple) -> None:
        if state.fill != colour:
            c.setFillColorRGB(*colour)
            state.fill = colour

    def stroke(colour: tuple, width: float) -> None:
        if state.stroke != colour:
            c.setStrokeColorRGB(*colour)
            state.stroke = colour
        if state.width != width:
            c.setLineWidth(width)
            state.width = width

    for op in page.ops:
        if isinstance(op, Text):
            x, y, size = op.x * mm, height - op.y * mm, op.size / 25.4 * 72
            if op.angle or op.squeeze != 1.0 or op.bold or op.alpha != 1.0 or op.char_space:
                _special_text(c, op, x, y, size, font)
            else:
                fill(op.colour)
                if state.font != size:
                    c.setFont(font, size)
                    state.font = size
                c.drawString(x, y, op.text)
        elif isinstance(op, Line):
            stroke(op.colour, op.line_width * mm)
            c.line(op.x1 * mm, height - op.y1 * mm, op.x2 * mm, height - op.y2 * mm)
        elif isinstance(op, Rect):
            if op.stroke is not None:
                stroke(op.stroke, op.line_width * mm)
            if op.fill is not None:
                fill(op.fill)
            c.rect(op.x * mm, height - (op.y + op.h) * mm, op.w * mm, op.h * mm,
                   stroke=int(op.stroke is not None), fill=int(op.fill is not None))
        elif isinstance(op, Path):
            if op.alpha != 1.0:
                c.saveState()
                _path(c, op, height)
                c.restoreState()
                state.__init__()  # type: ignore[misc]
            else:
                if op.stroke is not None:
                    stroke(op.stroke, op.line_width * mm)
                if op.fill is not None:
                    fill(op.fill)
                _path(c, op, height, set_colours=False)
        elif isinstance(op, Image):
            draw_seal_image(c, op.png, op.x * mm, height - (op.y + op.h) * mm, op.w * mm,
                            op.h * mm)
        elif isinstance(op, QrCode):
            draw_qr(c, op.data, op.x * mm, height - (op.y + op.size) * mm, op.size * mm)
            state.__init__()  # type: ignore[misc]


def _special_text(c: Canvas, op: Text, x: float, y: float, size: float, font: str) -> None:
    """A run turned, squeezed, spaced, emboldened or translucent: in its own graphics state
    (the text state Tz, Tc, Tr outlives ET, so it must not leak)."""
    c.saveState()
    c.setFillColorRGB(*op.colour)
    if op.alpha != 1.0:
        c.setFillAlpha(op.alpha)
    if op.bold:
        c.setStrokeColorRGB(*op.colour)
        if op.alpha != 1.0:
            c.setStrokeAlpha(op.alpha)
        c.setLineWidth(size * BOLD_STROKE)
    if op.angle:
        c.translate(x, y)
        c.rotate(op.angle)
        x = y = 0.0
    text = c.beginText(x, y)
    text.setFont(font, size)
    if op.squeeze != 1.0:
        text.setHorizScale(op.squeeze * 100)
    if op.char_space:
        text.setCharSpace(op.char_space * mm)
    if op.bold:
        text.setTextRenderMode(2)
    text.textOut(op.text)
    c.drawText(text)
    c.restoreState()


def _path(c: Canvas, op: Path, height: float, set_colours: bool = True) -> None:
    if set_colours:
        if op.stroke is not None:
            c.setStrokeColorRGB(*op.stroke)
            c.setLineWidth(op.line_width * mm)
        if op.fill is not None:
            c.setFillColorRGB(*op.fill)
        if op.alpha != 1.0:
            c.setFillAlpha(op.alpha)
            c.setStrokeAlpha(op.alpha)
    p = c.beginPath()
    for seg in op.segments:
        kind = seg[0]
        if kind == "M":
            p.moveTo(seg[1] * mm, height - seg[2] * mm)
        elif kind == "L":
            p.lineTo(seg[1] * mm, height - seg[2] * mm)
        elif kind == "B":
            p.curveTo(seg[1] * mm, height - seg[2] * mm, seg[3] * mm, height - seg[4] * mm,
                      seg[5] * mm, height - seg[6] * mm)
        else:
            p.close()
    c.drawPath(p, stroke=int(op.stroke is not None), fill=int(op.fill is not None))


def _draw_on(c: Canvas, font: str, draw) -> None:
    """Lay out with ``draw(sheet)`` on a sheet the size of ``c``'s page, then draw it on ``c``."""
    width, height = c._pagesize  # type: ignore[attr-defined]
    sheet = Sheet(width / mm, height / mm, metrics_for(font))
    draw(sheet)
    draw_page(c, sheet.page(), font)


def draw_round_seal(c: Canvas, cx: float, cy: float, r: float, text: str, *, font: str,
                    bottom: str = "") -> None:
    """``layout_seals.round_seal`` on a page drawn directly on a canvas (points, y upwards)."""
    height = c._pagesize[1]  # type: ignore[attr-defined]
    _draw_on(c, font, lambda sheet: round_seal(sheet, cx / mm, (height - cy) / mm, r / mm, text,
                                               bottom=bottom))


def draw_stamp(c: Canvas, text: str, cx: float, cy: float, font: str, size: float,
               alpha: float) -> None:
    """``layout_seals.stamp`` (``size`` in points) on a page drawn directly on a canvas."""
    height = c._pagesize[1]  # type: ignore[attr-defined]
    _draw_on(c, font, lambda sheet: stamp(sheet, text, cx / mm, (height - cy) / mm, size * PT,
                                          alpha))
