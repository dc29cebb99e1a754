"""A small OFD rasteriser for tests: draws an OFD's pages to PNG with PIL, using the font the OFD
embeds, so that a person (and a test) can look at what a reader would show.

It knows what our writer emits (``adapters/ofd_bill.py``) and reads it the way the standard
says, independently of the writer's code: a page's objects in order; ``Boundary`` as the
object's origin; ``CTM`` applied to object coordinates; ``TextCode`` X/Y as the first glyph's
baseline origin with ``DeltaX`` (``g N v`` too) to the next; ``AbbreviatedData`` with
``M L B Q C`` (curves flattened); images in the unit square scaled by ``CTM``; ``Alpha``; and
the appearance of each electronic seal (GB/T 38540): its picture (PNG, or an OFD drawn by this
same rasteriser) read from the seal inside ``SignedValue.dat`` and laid over the page in its
``StampAnnot`` boundary, the way ink lies on paper (multiplied). Not a general OFD renderer: no
clips, patterns, templates, dashes or other annotations.
"""

from __future__ import annotations

import io
import math
import posixpath
import xml.etree.ElementTree as ET
import zipfile

from PIL import Image, ImageChops, ImageDraw, ImageFont

NS = "{http://www.ofdspec.org/2016}"


def _loc(base: str, location: str) -> str:
    location = location.strip()
    if location.startswith("/"):
        return location.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), location))


def _numbers(text: str | None) -> list[float]:
    out: list[float] = []
    tokens = (text or "").split()
    k = 0
    while k < len(tokens):
        if tokens[k] == "g":
            out.extend([float(tokens[k + 2])] * int(tokens[k + 1]))
            k += 3
        else:
            out.append(float(tokens[k]))
            k += 1
    return out


def _colour(element: ET.Element | None, default: tuple[int, int, int] | None):
    if element is None:
        return default
    return tuple(int(v) for v in element.get("Value", "0 0 0").split())


class OfdPages:
    """The pages of an OFD package, rasterised at ``dpi``."""

    def __init__(self, data: bytes) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        root = ET.fromstring(self.zip.read("OFD.xml"))
        self.doc = _loc("OFD.xml", root.findtext(f"{NS}DocBody/{NS}DocRoot"))
        document = ET.fromstring(self.zip.read(self.doc))
        box = _numbers(document.findtext(f"{NS}CommonData/{NS}PageArea/{NS}PhysicalBox"))
        self.size_mm = (box[2], box[3])
        self.fonts: dict[str, bytes] = {}
        self.media: dict[str, bytes] = {}
        for tag in ("PublicRes", "DocumentRes"):
            for loc in document.iter(f"{NS}{tag}"):
                path = _loc(self.doc, loc.text or "")
                res = ET.fromstring(self.zip.read(path))
                base = _loc(path, res.get("BaseLoc", "") + "/x")
                for font in res.iter(f"{NS}Font"):
                    self.fonts[font.get("ID")] = self.zip.read(
                        _loc(base, font.findtext(f"{NS}FontFile")))
                for media in res.iter(f"{NS}MultiMedia"):
                    self.media[media.get("ID")] = self.zip.read(
                        _loc(base, media.findtext(f"{NS}MediaFile")))
        self.pages = [_loc(self.doc, p.get("BaseLoc")) for p in document.iter(f"{NS}Page")]
        self.page_ids = [p.get("ID") for p in document.iter(f"{NS}Page")]
        self.stamps: list[tuple[str, list[float], str, bytes]] = []  # page, box, kind, picture
        listing = root.findtext(f"{NS}DocBody/{NS}Signatures")
        if listing:
            path = _loc("OFD.xml", listing)
            for record in ET.fromstring(self.zip.read(path)).iter(f"{NS}Signature"):
                sig_path = _loc(path, record.get("BaseLoc"))
                signature = ET.fromstring(self.zip.read(sig_path))
                kind, picture = _seal_picture(self.zip.read(
                    _loc(sig_path, signature.findtext(f"{NS}SignedValue"))))
                for annot in signature.iter(f"{NS}StampAnnot"):
                    self.stamps.append((annot.get("PageRef"), _numbers(annot.get("Boundary")),
                                        kind, picture))

    def render(self, index: int, dpi: int = 100) -> Image.Image:
        scale = dpi / 25.4
        page = Image.new("RGB", (round(self.size_mm[0] * scale), round(self.size_mm[1] * scale)),
                         "white")
        content = ET.fromstring(self.zip.read(self.pages[index]))
        for layer in content.iter(f"{NS}Layer"):
            for obj in layer:
                tag = obj.tag.removeprefix(NS)
                bx, by, _, _ = _numbers(obj.get("Boundary"))
                ctm = _numbers(obj.get("CTM")) or [1, 0, 0, 1, 0, 0]
                alpha = int(obj.get("Alpha", "255"))

                def to_page(x: float, y: float, bx=bx, by=by, ctm=ctm) -> tuple[float, float]:
                    return ((bx + ctm[0] * x + ctm[2] * y + ctm[4]) * scale,
                            (by + ctm[1] * x + ctm[3] * y + ctm[5]) * scale)
                if tag == "PathObject":
                    self._path(page, obj, to_page, scale * math.sqrt(abs(
                        ctm[0] * ctm[3] - ctm[1] * ctm[2])), alpha)
                elif tag == "TextObject":
                    self._text(page, obj, to_page, ctm, scale, alpha)
                elif tag == "ImageObject":
                    self._image(page, obj, to_page)
        for page_ref, (x, y, w, h), kind, picture in self.stamps:
            if page_ref != self.page_ids[index]:
                continue
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            if kind == "ofd":
                drawn = OfdPages(picture).render(0, dpi).resize(size, Image.Resampling.LANCZOS)
            else:
                png = Image.open(io.BytesIO(picture)).convert("RGBA").resize(
                    size, Image.Resampling.LANCZOS)
                drawn = Image.new("RGB", size, "white")
                drawn.paste(png.convert("RGB"), (0, 0), png)
            at = (round(x * scale), round(y * scale))
            region = page.crop((*at, at[0] + size[0], at[1] + size[1]))
            page.paste(ImageChops.multiply(region, drawn), at)
        return page

    def _overlay(self, page: Image.Image, draw, alpha: int) -> None:
        mask = Image.new("L", page.size, 0)
        colour = draw(ImageDraw.Draw(mask))
        if alpha != 255:
            mask = mask.point(lambda v: v * alpha // 255)
        page.paste(Image.new("RGB", page.size, colour), (0, 0), mask)

    def _path(self, page, obj, to_page, scale, alpha) -> None:
        tokens = (obj.findtext(f"{NS}AbbreviatedData") or "").split()
        subpaths: list[list[tuple[float, float]]] = []
        k, current = 0, (0.0, 0.0)
        while k < len(tokens):
            op = tokens[k]
            k += 1
            count = {"M": 2, "S": 2, "L": 2, "Q": 4, "B": 6, "C": 0}[op]
            v = [float(t) for t in tokens[k:k + count]]
            k += count
            if op in "MS":
                subpaths.append([to_page(*v)])
                current = (v[0], v[1])
            elif op == "L":
                subpaths[-1].append(to_page(*v))
                current = (v[0], v[1])
            elif op in "BQ":
                pts = [current, *zip(v[0::2], v[1::2], strict=True)]
                for step in range(1, 17):
                    t = step / 16
                    if op == "B":
                        x = sum(c * p[0] for c, p in zip(_bernstein3(t), pts, strict=True))
                        y = sum(c * p[1] for c, p in zip(_bernstein3(t), pts, strict=True))
                    else:
                        x = (1 - t) ** 2 * pts[0][0] + 2 * t * (1 - t) * pts[1][0] + t * t * pts[2][0]
                        y = (1 - t) ** 2 * pts[0][1] + 2 * t * (1 - t) * pts[1][1] + t * t * pts[2][1]
                    subpaths[-1].append(to_page(x, y))
                current = pts[-1]
            elif op == "C" and subpaths:
                subpaths[-1].append(subpaths[-1][0])
        if obj.get("Fill", "false") == "true":
            fill = _colour(obj.find(f"{NS}FillColor"), (0, 0, 0))
            for points in subpaths:
                if len(points) > 2:
                    self._overlay(page, lambda d, p=points, c=fill: (d.polygon(p, fill=255), c)[1],
                                  alpha)
        if obj.get("Stroke", "true") == "true":
            stroke = _colour(obj.find(f"{NS}StrokeColor"), (0, 0, 0))
            width = max(1, round(float(obj.get("LineWidth", "0.353")) * scale))
            for points in subpaths:
                self._overlay(page, lambda d, p=points, c=stroke, w=width: (
                    d.line(p, fill=255, width=w, joint="curve"), c)[1], alpha)

    def _text(self, page, obj, to_page, ctm, scale, alpha) -> None:
        size = float(obj.get("Size"))
        px = max(1, round(size * scale * 4))  # drawn 4× larger, then scaled down: smoother
        font = ImageFont.truetype(io.BytesIO(self.fonts[obj.get("Font")]), px)
        fill = _colour(obj.find(f"{NS}FillColor"), (0, 0, 0))
        angle = math.degrees(math.atan2(-ctm[1], ctm[0]))
        squeeze = math.hypot(ctm[0], ctm[1])
        stroke = round(float(obj.get("LineWidth", "0")) * scale * 4 / 2) \
            if obj.get("Stroke") == "true" else 0
        x = y = 0.0
        for code in obj.iter(f"{NS}TextCode"):
            x = float(code.get("X", x))
            y = float(code.get("Y", y))
            deltas = _numbers(code.get("DeltaX"))
            gx = x
            for k, ch in enumerate(code.text or ""):
                patch = Image.new("L", (4 * px, 4 * px), 0)
                ImageDraw.Draw(patch).text((2 * px, 2 * px), ch, fill=255, font=font,
                                           anchor="ls", stroke_width=stroke, stroke_fill=255)
                if squeeze != 1:
                    patch = patch.resize((max(1, round(4 * px * squeeze)), 4 * px))
                origin = (patch.width / 2, 2 * px)
                if angle:
                    patch = patch.rotate(angle, center=origin, resample=Image.Resampling.BICUBIC)
                small = patch.resize((max(1, round(patch.width / 4)), max(1, round(patch.height / 4))),
                                     Image.Resampling.LANCZOS)
                if alpha != 255:
                    small = small.point(lambda v: v * alpha // 255)
                ox, oy = to_page(gx, y)
                at = (round(ox - origin[0] / 4), round(oy - origin[1] / 4))
                page.paste(Image.new("RGB", small.size, fill), at, small)
                if k < len(deltas):
                    gx += deltas[k]

    def _image(self, page, obj, to_page) -> None:
        picture = Image.open(io.BytesIO(self.media[obj.get("ResourceID")])).convert("RGBA")
        (x0, y0), (x1, y1) = to_page(0, 0), to_page(1, 1)
        size = (max(1, round(x1 - x0)), max(1, round(y1 - y0)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
        page.paste(picture.convert("RGB"), (round(x0), round(y0)), picture)


def _bernstein3(t: float) -> tuple[float, float, float, float]:
    u = 1 - t
    return u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t


def _der(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the DER element at ``at``."""
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        length, at = int.from_bytes(data[at:at + count], "big"), at + count
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        element = _der(data, start)
        out.append(element)
        start = element[2]
    return out


def _seal_picture(signed_value: bytes) -> tuple[str, bytes]:
    """(kind, bytes) of the picture in a GB/T 38540 v4 SES_Signature:
    SES_Signature → TBS_Sign → SES_Seal → SES_SealInfo → SES_ESPictrueInfo{type, data, …}."""
    _, start, end = _der(signed_value, 0)
    _, start, end = _children(signed_value, start, end)[0]  # TBS_Sign
    _, start, end = _children(signed_value, start, end)[1]  # SES_Seal
    _, start, end = _children(signed_value, start, end)[0]  # SES_SealInfo
    _, start, end = _children(signed_value, start, end)[3]  # SES_ESPictrueInfo
    (_, ks, ke), (_, ds, de) = _children(signed_value, start, end)[:2]
    return signed_value[ks:ke].decode().lower(), signed_value[ds:de]
