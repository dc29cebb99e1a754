"""The OFD (GB/T 33190-2016 版式文档) of a fiscal bill: the same layout as its PDF, written as a
zip of XML parts, with the signed XML attached.

DA/T 95 wants the layout files of archived vouchers in OFD. The pages come from the same
``bill_layout.layout_bill`` as the PDF (measured with the same metrics), so both formats show the
same page. The package, as ``/work/shared/reference/ofd.md`` recommends:

    OFD.xml                              DocInfo (DocID, title, CustomData: the key fields)
    Doc_0/Document.xml                   CommonData (MaxUnitID, 210×148 mm), Pages, Attachments
    Doc_0/PublicRes.xml                  the RGB colour space and the font (BaseLoc Res)
    Doc_0/DocumentRes.xml                the images: QR codes and an uploaded seal, as PNG
    Doc_0/Res/font_N.ttf, image_N.png    a TrueType subset of the glyphs used (``ttf_subset``)
    Doc_0/Pages/Page_K/Content.xml       one Body layer of Text/Path/ImageObjects per page
    Doc_0/Attachs/Attachments.xml        the signed bill XML, byte for byte, Format xml
    Doc_0/Attachs/{code}-{number}.xml

Every part is ``ofd:``-prefixed XML in the XSD's element order, UTF-8 without BOM. One allocator
numbers fonts, colour spaces, pages, layers, objects, images and the attachment; ``MaxUnitID``
is the last it gave. Text objects carry ``DeltaX`` from the layout's own advances and never a
space (a run is split into TextCodes at spaces, and at characters outside the BMP, which
readers count differently); turned or squeezed runs get a ``CTM``. Paths use only ``M L B C``.
Images sit in the unit square scaled by ``CTM`` to their size. The output depends only on its
inputs: zip entries carry the bill's issue time, in a fixed order.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import struct
import zipfile
import zlib
from dataclasses import replace
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from chalicelib.adapters.ofd_seal import SIGNATURES_LOC, Picture, Sign, sign_package
from chalicelib.adapters.pdf_layout import metrics_for, seal_image
from chalicelib.adapters.pdf_render import register_cjk_font
from chalicelib.adapters.qr_masks import qr_matrix
from chalicelib.adapters.ttf_subset import face
from chalicelib.domain.bill_layout import layout_bill, unit_seal_box
from chalicelib.domain.bills import Bill
from chalicelib.domain.layout import (
    BOLD_STROKE,
    Image,
    Line,
    Page,
    Path,
    QrCode,
    Rect,
    Sheet,
    Text,
)
from chalicelib.domain.layout_seals import round_seal
from chalicelib.domain.money import fen_to_yuan
from chalicelib.domain.units import OfdSealing

NS = "http://www.ofdspec.org/2016"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
FONT_NAME, FONT_FAMILY = "黑体", "SimHei"  # what a reader that ignores FontFile substitutes
QR_MODULE_PIXELS = 8  # a 26 mm code of 37 modules: about 290 dpi
ASCENT, DESCENT = 1.0, 0.25  # in ems: a text object's box above and below its baseline
MEDIA_TYPE = "application/ofd"


def render_bill_ofd(bill: Bill, *, verify_url: str, xml_bytes: bytes, font_path: str,
                    supervisor_name: str, status_text: str | None = None,
                    unit_seal_png: bytes | None = None, sealing: OfdSealing | None = None,
                    sign: Sign | None = None) -> bytes:
    """The OFD of ``bill`` (the PDF's pages) with ``xml_bytes`` attached as
    ``{bill_code}-{bill_number}.xml``; ``status_text`` (已冲红, 已作废) is stamped across it.
    With ``sealing`` it carries the issuing unit's electronic seal (``ofd_seal``), every
    signature made by ``sign`` (the ``Signer`` port's): the unit's seal is then not page
    content but the seal's appearance (a StampAnnot on every page, where the PDF has it)."""
    metrics = metrics_for(register_cjk_font(font_path))
    pages = layout_bill(bill, metrics=metrics, verify_url=verify_url,
                        supervisor_name=supervisor_name, status_text=status_text,
                        unit_seal_png=unit_seal_png, unit_seal=sealing is None)
    if sealing is None:
        return ofd_from_pages(bill, pages, xml_bytes, font_path)
    picture, box = seal_picture(bill.issuing_unit_name, unit_seal_png, font_path,
                                unit_seal_box(bill, metrics))
    return ofd_from_pages(bill, pages, xml_bytes, font_path, sealing, picture, sign, box)


class OfdBillRenderer:
    """``render_bill_ofd`` with the font and the supervisor of the settings, sealing with the
    keys of ``signer`` (the ``Signer`` port: KMS in production)."""

    def __init__(self, font_path: str, supervisor_name: str, signer: Any = None) -> None:
        self._font_path = font_path
        self._supervisor_name = supervisor_name
        self._signer = signer

    def render(self, bill: Bill, *, verify_url: str, xml_bytes: bytes,
               status_text: str | None = None, unit_seal_png: bytes | None = None,
               sealing: OfdSealing | None = None) -> bytes:
        sign = None if self._signer is None else self._signer.sign
        if sealing is not None and sign is None:
            raise ValueError("this renderer has no signer to seal with")
        return render_bill_ofd(bill, verify_url=verify_url, xml_bytes=xml_bytes,
                               font_path=self._font_path, supervisor_name=self._supervisor_name,
                               status_text=status_text, unit_seal_png=unit_seal_png,
                               sealing=sealing, sign=sign)


def _n(value: float) -> str:
    """A number as OFD wants it: fixed point, at most 4 decimals, no exponent, no -0."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _colour(tag: str, colour: tuple[float, float, float]) -> str:
    return f'<ofd:{tag} Value="{" ".join(str(round(c * 255)) for c in colour)}"/>'


class _Ids:
    """The document's one ID space: 1, 2, 3…; ``last`` is MaxUnitID."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> int:
        self.last += 1
        return self.last


class _Writer:
    def __init__(self, font_id: int, ids: _Ids) -> None:
        self.font_id = font_id
        self.ids = ids
        self.media: dict[bytes, tuple[int, str]] = {}  # PNG bytes → (resource ID, file name)

    def page(self, page: Page) -> str:
        layer = self.ids()
        parts = [HEAD, f'<ofd:Page xmlns:ofd="{NS}"><ofd:Content>',
                 f'<ofd:Layer ID="{layer}" Type="Body">']
        for op in page.ops:
            if isinstance(op, Text):
                parts.append(self.text(op))
            elif isinstance(op, Line):
                parts.append(self.path([("M", op.x1, op.y1), ("L", op.x2, op.y2)],
                                       op.line_width, op.colour, None, 1.0))
            elif isinstance(op, Rect):
                parts.append(self.path([("M", op.x, op.y), ("L", op.x + op.w, op.y),
                                        ("L", op.x + op.w, op.y + op.h),
                                        ("L", op.x, op.y + op.h), ("C",)],
                                       op.line_width, op.stroke, op.fill, 1.0))
            elif isinstance(op, Path):
                parts.append(self.path(list(op.segments), op.line_width, op.stroke, op.fill,
                                       op.alpha))
            elif isinstance(op, Image):
                parts.append(self.image(op))
            elif isinstance(op, QrCode):
                parts.append(self.qr(op))
        parts.append("</ofd:Layer></ofd:Content></ofd:Page>")
        return "".join(parts)

    def text(self, op: Text) -> str:
        squeeze = op.squeeze
        advances = [a / squeeze for a in op.advances]  # object space: the CTM squeezes
        width = sum(advances)
        c, s = math.cos(math.radians(op.angle)), math.sin(math.radians(op.angle))
        ctm = (squeeze * c, -squeeze * s, s, c)  # turned counter-clockwise as seen, y down
        corners = [(x, y) for x in (0.0, width) for y in (-ASCENT * op.size, DESCENT * op.size)]
        xs = [op.x + ctm[0] * x + ctm[2] * y for x, y in corners]
        ys = [op.y + ctm[1] * x + ctm[3] * y for x, y in corners]
        bx, by = min(xs), min(ys)
        box = f"{_n(bx)} {_n(by)} {_n(max(xs) - bx)} {_n(max(ys) - by)}"
        attrs = [f'ID="{self.ids()}"', f'Boundary="{box}"', f'Font="{self.font_id}"',
                 f'Size="{_n(op.size)}"']
        if op.angle or squeeze != 1.0:
            attrs.append(f'CTM="{" ".join(_n(v) for v in ctm)} {_n(op.x - bx)} {_n(op.y - by)}"')
            x0, y0 = 0.0, 0.0
        else:
            x0, y0 = op.x - bx, op.y - by
        if op.bold:
            attrs += ['Stroke="true"', f'LineWidth="{_n(op.size * BOLD_STROKE)}"']
        if op.alpha != 1.0:
            attrs.append(f'Alpha="{round(op.alpha * 255)}"')
        parts = [f"<ofd:TextObject {' '.join(attrs)}>", _colour("FillColor", op.colour)]
        if op.bold:
            parts.append(_colour("StrokeColor", op.colour))
        x = x0
        for start, chunk in _chunks(op.text):
            at = x0 + sum(advances[:start])
            deltas = " ".join(_n(a) for a in advances[start:start + len(chunk) - 1])
            delta = f' DeltaX="{deltas}"' if deltas else ""
            parts.append(f'<ofd:TextCode X="{_n(at)}" Y="{_n(y0)}"{delta}>{escape(chunk)}'
                         "</ofd:TextCode>")
            x = at
        del x
        parts.append("</ofd:TextObject>")
        return "".join(parts)

    def path(self, segments: list, line_width: float, stroke, fill, alpha: float) -> str:
        xs = [v for seg in segments for v in seg[1::2]]
        ys = [v for seg in segments for v in seg[2::2]]
        pad = line_width / 2 + 0.05
        bx, by = min(xs) - pad, min(ys) - pad
        w, h = max(xs) + pad - bx, max(ys) + pad - by
        data = []
        for seg in segments:
            coords = [_n(v - (bx if k % 2 == 0 else by)) for k, v in enumerate(seg[1:])]
            data.append(" ".join([seg[0], *coords]))
        attrs = [f'ID="{self.ids()}"', f'Boundary="{_n(bx)} {_n(by)} {_n(w)} {_n(h)}"',
                 f'LineWidth="{_n(line_width)}"',
                 f'Stroke="{"true" if stroke is not None else "false"}"',
                 f'Fill="{"true" if fill is not None else "false"}"']
        if alpha != 1.0:
            attrs.append(f'Alpha="{round(alpha * 255)}"')
        parts = [f"<ofd:PathObject {' '.join(attrs)}>"]
        if stroke is not None:
            parts.append(_colour("StrokeColor", stroke))
        if fill is not None:
            parts.append(_colour("FillColor", fill))
        parts.append(f"<ofd:AbbreviatedData>{' '.join(data)}</ofd:AbbreviatedData>"
                     "</ofd:PathObject>")
        return "".join(parts)

    def _image(self, png: bytes, x: float, y: float, w: float, h: float) -> str:
        if png not in self.media:
            self.media[png] = (self.ids(), f"image_{len(self.media) + 1}.png")
        resource = self.media[png][0]
        return (f'<ofd:ImageObject ID="{self.ids()}" Boundary="{_n(x)} {_n(y)} {_n(w)} {_n(h)}"'
                f' CTM="{_n(w)} 0 0 {_n(h)} 0 0" ResourceID="{resource}"/>')

    def image(self, op: Image) -> str:
        picture = seal_image(op.png)  # the same pixels the PDF embeds
        iw, ih = picture.size
        scale = min(op.w / iw, op.h / ih)
        w, h = iw * scale, ih * scale
        out = io.BytesIO()
        picture.save(out, "PNG")
        return self._image(out.getvalue(), op.x + (op.w - w) / 2, op.y + (op.h - h) / 2, w, h)

    def qr(self, op: QrCode) -> str:
        return self._image(qr_png(op.data), op.x, op.y, op.size, op.size)


def _chunks(text: str) -> list[tuple[int, str]]:
    """(start, chunk) for the runs of ``text`` between spaces; a character outside the BMP is a
    chunk of its own."""
    chunks: list[tuple[int, str]] = []
    start = None
    for k, ch in enumerate(text + " "):
        if ch.isspace() or ord(ch) > 0xFFFF:
            if start is not None:
                chunks.append((start, text[start:k]))
                start = None
            if ord(ch) > 0xFFFF:
                chunks.append((k, ch))
        elif start is None:
            start = k
    return chunks


def qr_png(data: str) -> bytes:
    """``data`` as a QR code (level M, as the PDF draws it) in a 1-bit PNG with a white border of
    two modules, ``QR_MODULE_PIXELS`` pixels a module."""
    matrix = qr_matrix(data)
    n, px = len(matrix) + 4, QR_MODULE_PIXELS
    rows = []
    for r in range(n):
        bits = [0 if 2 <= r < n - 2 and 2 <= c < n - 2 and matrix[r - 2][c - 2] else 1
                for c in range(n) for _ in range(px)]
        packed = bytearray(b"\0")  # filter: none
        for k in range(0, len(bits), 8):
            byte = 0
            for bit in bits[k:k + 8]:
                byte = byte << 1 | bit
            packed.append(byte << (8 - len(bits[k:k + 8])))
        rows.extend([bytes(packed)] * px)
    size = n * px

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(
            ">I", zlib.crc32(tag + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 1, 0, 0,
                                                               0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def _custom_data(bill: Bill) -> list[tuple[str, str]]:
    return [("票据代码", bill.bill_code), ("票据号码", bill.bill_number),
            ("校验码", bill.check_code), ("开票日期", bill.issue_date),
            ("合计金额", fen_to_yuan(bill.total_fen)), ("交款人", bill.payer_name),
            ("开票单位", bill.issuing_unit_name), ("票据种类", bill.kind_code)]


def ofd_from_pages(bill: Bill, pages: list[Page], xml_bytes: bytes, font_path: str,
                   sealing: OfdSealing | None = None, picture: Picture | None = None,
                   sign: Sign | None = None,
                   stamp_box: tuple[float, float, float, float] | None = None) -> bytes:
    """The OFD package of laid-out ``pages`` with ``xml_bytes`` attached; sealed (GB/T 38540)
    by ``sealing`` with the seal's ``picture`` shown in ``stamp_box`` on every page."""
    name = f"{bill.bill_code}-{bill.bill_number}"
    custom = "".join(f"<ofd:CustomData Name={quoteattr(k)}>{escape(v)}</ofd:CustomData>"
                     for k, v in _custom_data(bill))
    info = (f"<ofd:Title>{escape(f'{bill.title} {name}')}</ofd:Title>"
            f"<ofd:Author>{escape(bill.issuing_unit_name)}</ofd:Author>"
            "<ofd:Subject>财政电子票据</ofd:Subject>"
            f"<ofd:CreationDate>{bill.issue_date}</ofd:CreationDate>"
            "<ofd:Creator>财政电子票据系统</ofd:Creator>"
            f"<ofd:CustomDatas>{custom}</ofd:CustomDatas>")
    doc_id = hashlib.sha256(f"fiscal-bill:{bill.bill_id}".encode()).hexdigest()[:32]
    files, page_ids = package_files(pages, font_path, doc_id=doc_id, info=info,
                                    attachment=(name, xml_bytes, bill.issued_at),
                                    signed=sealing is not None)
    if sealing is not None:
        if picture is None or sign is None or stamp_box is None:
            raise ValueError("a sealed OFD needs the seal's picture, its place and a signer")
        files = sign_package(files, sealing, picture, sign,
                             [(page_id, stamp_box) for page_id in page_ids])
    return _zip(files, bill.issued_at)


def package_files(pages: list[Page], font_path: str, *, doc_id: str, info: str,
                  attachment: tuple[str, bytes, str] | None = None,
                  signed: bool = False) -> tuple[list[tuple[str, bytes]], list[int]]:
    """The parts of an OFD of ``pages``: ``info`` is the DocInfo after its DocID (Title…
    CustomDatas, already XML), ``attachment`` (name, bytes, creation time) an XML attached,
    ``signed`` names the signature list in OFD.xml (``ofd_seal.sign_package`` writes it).
    Also the pages' IDs."""
    ids = _Ids()
    font_id, colour_space = ids(), ids()
    writer = _Writer(font_id, ids)
    page_ids, contents = [], []
    for page in pages:
        page_ids.append(ids())
        contents.append(writer.page(page))
    attachment_id = ids() if attachment is not None else 0
    chars = "".join(sorted({ch for p in pages for op in p.ops if isinstance(op, Text)
                            for ch in op.text if not ch.isspace()}))
    files: list[tuple[str, bytes]] = []
    signatures = f"<ofd:Signatures>{SIGNATURES_LOC}</ofd:Signatures>" if signed else ""
    files.append(("OFD.xml", (
        f'{HEAD}<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
        f"<ofd:DocID>{doc_id}</ofd:DocID>{info}</ofd:DocInfo>"
        f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{signatures}</ofd:DocBody></ofd:OFD>"
    ).encode()))
    width, height = pages[0].width, pages[0].height
    page_list = "".join(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{k}/Content.xml"/>'
                        for k, pid in enumerate(page_ids))
    attachments = ("<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>"
                   if attachment is not None else "")
    files.append(("Doc_0/Document.xml", (
        f'{HEAD}<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{ids.last}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_n(width)} {_n(height)}</ofd:PhysicalBox>"
        "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
        "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
        f"<ofd:DefaultCS>{colour_space}</ofd:DefaultCS></ofd:CommonData>"
        f"<ofd:Pages>{page_list}</ofd:Pages>{attachments}</ofd:Document>").encode()))
    files.append(("Doc_0/PublicRes.xml", (
        f'{HEAD}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:ColorSpaces>'
        f'<ofd:ColorSpace ID="{colour_space}" Type="RGB" BitsPerComponent="8"/>'
        f'</ofd:ColorSpaces><ofd:Fonts><ofd:Font ID="{font_id}" FontName="{FONT_NAME}" '
        f'FamilyName="{FONT_FAMILY}"><ofd:FontFile>font_{font_id}.ttf</ofd:FontFile></ofd:Font>'
        "</ofd:Fonts></ofd:Res>").encode()))
    media = "".join(f'<ofd:MultiMedia ID="{rid}" Type="Image" Format="PNG">'
                    f"<ofd:MediaFile>{file}</ofd:MediaFile></ofd:MultiMedia>"
                    for rid, file in writer.media.values())
    files.append(("Doc_0/DocumentRes.xml", (
        f'{HEAD}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        + (f"<ofd:MultiMedias>{media}</ofd:MultiMedias>" if media else "")
        + "</ofd:Res>").encode()))
    files.append((f"Doc_0/Res/font_{font_id}.ttf", face(font_path).subset(chars)))
    for png, (_, file) in writer.media.items():
        files.append((f"Doc_0/Res/{file}", png))
    for k, content in enumerate(contents):
        files.append((f"Doc_0/Pages/Page_{k}/Content.xml", content.encode()))
    if attachment is not None:
        name, data, created = attachment
        files.append(("Doc_0/Attachs/Attachments.xml", (
            f'{HEAD}<ofd:Attachments xmlns:ofd="{NS}"><ofd:Attachment ID="{attachment_id}" '
            f'Name="{name}" Format="xml" CreationDate="{created}" '
            f'Size="{_n(len(data) / 1024)}" Visible="false">'
            f"<ofd:FileLoc>{name}.xml</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"
        ).encode()))
        files.append((f"Doc_0/Attachs/{name}.xml", data))
    return files, page_ids


SEAL_PICTURE_TIME = "2020-01-01T00:00:00"  # the drawn seal's OFD: the same bytes for every bill


@functools.lru_cache(maxsize=64)
def seal_picture(unit_name: str, unit_seal_png: bytes | None, font_path: str,
                 box: tuple[float, float, float, float],
                 ) -> tuple[Picture, tuple[float, float, float, float]]:
    """The picture of the unit's seal for its SES_Seal, and where it goes within ``box``: the
    uploaded image as the PDF shows it (PNG, fitted in the box keeping its proportions), or the
    drawn seal as an OFD of its own (vector, as in the PDF). The same for every bill of a unit,
    so that its seal (and the finance department's signatures in it) is made once."""
    x, y, w, h = box
    if unit_seal_png is not None:
        picture = seal_image(unit_seal_png)
        iw, ih = picture.size
        scale = min(w / iw, h / ih)
        fw, fh = iw * scale, ih * scale
        out = io.BytesIO()
        picture.save(out, "PNG")
        return (Picture("png", out.getvalue(), round(fw), round(fh)),
                (x + (w - fw) / 2, y + (h - fh) / 2, fw, fh))
    sheet = Sheet(w, h, metrics_for(register_cjk_font(font_path)))
    round_seal(sheet, w / 2, h / 2, w / 2, unit_name, bottom="票据专用章")
    # ofd.js leaves every path of a seal's picture unfilled: the filled star gets an outline
    # of its own colour too, so that it shows there (hollow) and is unchanged elsewhere
    sheet.ops.extend(replace(op, stroke=op.fill, line_width=0.25) for op in list(sheet.ops)
                     if isinstance(op, Path) and op.fill is not None and op.stroke is None)
    doc_id = hashlib.sha256(f"seal:{unit_name}".encode()).hexdigest()[:32]
    files, _ = package_files([sheet.page()], font_path, doc_id=doc_id,
                             info=f"<ofd:Title>{escape(unit_name)}票据专用章</ofd:Title>")
    return Picture("ofd", _zip(files, SEAL_PICTURE_TIME), round(w), round(h)), box


def _zip(files: list[tuple[str, bytes]], issued_at: str) -> bytes:
    """A plain deflate zip whose every entry carries the bill's issue time (China time)."""
    stamp = (int(issued_at[:4]), int(issued_at[5:7]), int(issued_at[8:10]),
             int(issued_at[11:13]), int(issued_at[14:16]), int(issued_at[17:19]) // 2 * 2)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, data, compresslevel=6)
    return out.getvalue()
