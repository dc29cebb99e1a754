"""The PDF of a fiscal bill (财政电子票据), laid out like the printed form, with its XML attached.

``render_bill_pdf`` draws an A5 landscape page: the title under the finance department's oval
监制 seal, the four key elements (票据代码, 票据号码, 校验码, 开票日期), the payer, the ruled
items table, the total in capitals and figures, the remark, the issuing unit under its round seal,
checker and handling person, and the verification QR code. The signed XML, which is the legal
carrier, travels inside the PDF as an attachment; ``extract_attached_xml`` gets it back.
Up to 20 items fit on one page (rows shrink past 8); more continue on further pages.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from chalicelib.adapters.pdf_render import (
    SAVE_LOCK,
    SEAL_RED,
    attach_file,
    draw_fit,
    draw_oval_seal,
    draw_qr,
    draw_round_seal,
    draw_stamp,
    draw_table,
    draw_text,
    register_cjk_font,
)
from chalicelib.domain.bills import Bill
from chalicelib.domain.money import fen_to_capitals, fen_to_yuan
from chalicelib.domain.notes import Item

PAGE_W, PAGE_H = 210 * mm, 148 * mm
LEFT, RIGHT = 10 * mm, 200 * mm
ITEMS_PER_PAGE = 20
FORM = (0.50, 0.16, 0.13)  # the printed form's brown-red rules and labels, never seal red
INK = (0.08, 0.08, 0.1)
COLUMNS = ("项目编码", "项目名称", "单位", "数量", "标准（元）", "金额（元）")
WIDTHS = tuple(w * mm for w in (30, 64, 16, 20, 28, 32))
ALIGNS = "lccrrr"
TABLE_TOP = 99 * mm
TABLE_BOTTOM = 27 * mm


def _label_value(c: Canvas, x: float, y: float, label: str, value: str, font: str,
                 size: float = 9) -> float:
    """Draw a brown label and its black value; return the x where the value ends."""
    c.setFillColorRGB(*FORM)
    c.setFont(font, size)
    c.drawString(x, y, label)
    x += pdfmetrics.stringWidth(label, font, size)
    c.setFillColorRGB(*INK)
    c.drawString(x, y, value)
    return x + pdfmetrics.stringWidth(value, font, size)


def _item_row(item: Item) -> tuple[str, ...]:
    return (item.item_code, item.name, item.unit or "", item.quantity,
            fen_to_yuan(item.standard_fen), fen_to_yuan(item.amount_fen))


def _header(c: Canvas, bill: Bill, font: str, supervisor_name: str, verify_url: str) -> None:
    draw_oval_seal(c, PAGE_W / 2, 134 * mm, 40 * mm, 20 * mm, supervisor_name, "监制章",
                   font=font)
    c.setFillColorRGB(*INK)
    size = 17.0
    while pdfmetrics.stringWidth(bill.title, font, size) > 128 * mm and size > 11:
        size -= 0.5
    c.setStrokeColorRGB(*INK)
    width = pdfmetrics.stringWidth(bill.title, font, size)
    draw_text(c, bill.title, (PAGE_W - width) / 2, 117.5 * mm, font, size, bold=True)
    draw_qr(c, verify_url, LEFT - 2 * mm, 118 * mm, 26 * mm)
    c.setFillColorRGB(*FORM)
    c.setFont(font, 7)
    c.drawCentredString(LEFT + 11 * mm, 115.5 * mm, "扫码查验")
    fields = (("票据代码：", bill.bill_code), ("票据号码：", bill.bill_number),
              ("校验码：", bill.check_code), ("开票日期：", bill.issue_date))
    for k, (label, value) in enumerate(fields):
        _label_value(c, LEFT + (0, 50, 103, 146)[k] * mm, 107.5 * mm, label, value, font)
    _label_value(c, LEFT, 102 * mm, "交款人统一社会信用代码：", bill.payer_credit_code or "", font)
    _label_value(c, LEFT + 103 * mm, 102 * mm, "交款人：", bill.payer_name, font)


def _table(c: Canvas, bill: Bill, items: tuple[Item, ...], font: str) -> float:
    """The items table, the total and the remark; return the bottom of the frame."""
    remark_h = 10 * mm if len(items) <= 8 else 7 * mm
    total_h, header_h = 7 * mm, 6 * mm
    rows = max(8, len(items))
    row_h = (TABLE_TOP - TABLE_BOTTOM - header_h - total_h - remark_h) / rows
    size = min(8.5, row_h * 0.78)
    body = [_item_row(i) for i in items] + [("",) * 6] * (rows - len(items))
    c.setFillColorRGB(*INK)
    y = draw_table(c, LEFT, TABLE_TOP, WIDTHS, row_h, [COLUMNS, *body], ALIGNS, font, size,
                   header_h=header_h, rule_colour=FORM, header_colour=FORM,
                   header_size=8.5)
    c.setFillColorRGB(*FORM)
    x_mid = LEFT + sum(WIDTHS[:4])
    c.saveState()
    c.setStrokeColorRGB(*FORM)
    c.setLineWidth(0.5)
    c.line(LEFT, y - total_h, RIGHT, y - total_h)
    c.line(LEFT + WIDTHS[0], y, LEFT + WIDTHS[0], y - total_h - remark_h)
    c.line(x_mid, y, x_mid, y - total_h)
    c.setLineWidth(0.9)
    c.rect(LEFT, y - total_h - remark_h, RIGHT - LEFT, total_h + remark_h, stroke=1, fill=0)
    c.restoreState()
    base = y - total_h / 2 - 3.2
    c.setFont(font, 8.5)
    c.drawCentredString(LEFT + WIDTHS[0] / 2, base, "金额合计（大写）")
    c.drawString(x_mid + 2 * mm, base, "（小写）")
    c.setFillColorRGB(*INK)
    c.setFont(font, 10)
    c.drawString(LEFT + WIDTHS[0] + 2 * mm, base, fen_to_capitals(bill.total_fen))
    c.drawRightString(RIGHT - 2 * mm, base, "¥" + fen_to_yuan(bill.total_fen))
    c.setFillColorRGB(*FORM)
    c.setFont(font, 8.5)
    top = y - total_h
    c.drawCentredString(LEFT + WIDTHS[0] / 2, top - remark_h / 2 - 3, "备注")
    c.setFillColorRGB(*INK)
    _remark(c, bill.remark or "", LEFT + WIDTHS[0] + 2 * mm, RIGHT - 2 * mm, top, remark_h, font)
    return y - total_h - remark_h


def _remark(c: Canvas, text: str, left: float, right: float, top: float, height: float,
            font: str) -> None:
    """Wrap the remark into at most two lines inside its cell (the second squeezed to fit)."""
    size = 8.0 if pdfmetrics.stringWidth(text, font, 8.0) <= right - left else 7.5
    lines: list[str] = []
    line = ""
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, font, size) > right - left:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], "".join(lines[1:])]
    step = size + 1.5
    first = top - height / 2 + (len(lines) - 1) * step / 2 - size * 0.36
    for k, part in enumerate(lines):
        draw_fit(c, part, left, right, first - k * step, font, size)


def _footer(c: Canvas, bill: Bill, font: str, unit_seal_png: bytes | None) -> None:
    """Signatures line; the unit's seal goes on first so the text over it stays readable."""
    y = 15 * mm
    label = "收款单位（章）："
    start = LEFT + pdfmetrics.stringWidth(label, font, 9)
    end = start + pdfmetrics.stringWidth(bill.issuing_unit_name, font, 9)
    cx, cy, r = max((start + end) / 2, LEFT + 24 * mm), 17 * mm, 13.5 * mm
    if unit_seal_png is None:
        draw_round_seal(c, cx, cy, r, bill.issuing_unit_name, bottom="票据专用章", font=font)
    else:
        c.drawImage(_seal_image(unit_seal_png), cx - r, cy - r, 2 * r, 2 * r,
                    mask="auto", preserveAspectRatio=True, anchor="c")
    _label_value(c, LEFT, y, label, bill.issuing_unit_name, font)
    _label_value(c, LEFT + 118 * mm, y, "复核人：", bill.checker, font)
    _label_value(c, LEFT + 156 * mm, y, "收款人：", bill.handling_person, font)


# The seal is printed 27 mm across: 320 pixels is 300 dpi. An upload may be up to 2000 pixels a
# side, which embedded as it is made a 21 KB PNG into a 9.6 MB bill (over the upload limit of
# POST /v1/verifications/file); it is scaled down first, the same way every time.
SEAL_PIXELS = 320


def _seal_image(png: bytes) -> ImageReader:
    from PIL import Image  # reportlab's own dependency, loaded only for uploaded seals

    image: Image.Image = Image.open(io.BytesIO(png))
    if max(image.size) > SEAL_PIXELS:
        image = image.convert("RGBA")
        image.thumbnail((SEAL_PIXELS, SEAL_PIXELS), Image.Resampling.LANCZOS)
    return ImageReader(image)


def _status(c: Canvas, status_text: str, font: str) -> None:
    """Stamp the status (已冲红, 已作废) diagonally across the page, and print it straight in
    the top right corner too, where text extraction and screen readers find it whole."""
    c.saveState()
    c.setFillColorRGB(*SEAL_RED)
    c.setStrokeColorRGB(*SEAL_RED)
    c.setLineWidth(1.2)
    width = pdfmetrics.stringWidth(status_text, font, 13)
    c.roundRect(RIGHT - width - 6 * mm, 129 * mm, width + 6 * mm, 9 * mm, 1.5 * mm)
    c.setFont(font, 13)
    c.drawRightString(RIGHT - 3 * mm, 131.8 * mm, status_text)
    c.restoreState()
    draw_stamp(c, status_text, PAGE_W / 2, PAGE_H / 2 - 6 * mm, font, 46.0, 0.55)


def render_bill_pdf(bill: Bill, *, verify_url: str, xml_bytes: bytes, font_path: str,
                    supervisor_name: str, status_text: str | None = None,
                    unit_seal_png: bytes | None = None) -> bytes:
    """Render ``bill`` as a PDF (A5 landscape) with ``xml_bytes`` attached as
    ``{bill_code}-{bill_number}.xml``; ``status_text`` (已冲红, 已作废) is stamped across it."""
    font = register_cjk_font(font_path)
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1, initialFontName=font,
               initialFontSize=9)
    c.setTitle(f"{bill.title} {bill.bill_code}-{bill.bill_number}")
    c.setAuthor(bill.issuing_unit_name)
    c.setSubject("财政电子票据")
    chunks = [bill.items[k:k + ITEMS_PER_PAGE]
              for k in range(0, len(bill.items), ITEMS_PER_PAGE)] or [()]
    for page, items in enumerate(chunks, start=1):
        _header(c, bill, font, supervisor_name, verify_url)
        _footer(c, bill, font, unit_seal_png)  # before the table: its seal lies under the text
        _table(c, bill, items, font)
        if len(chunks) > 1:
            c.setFillColorRGB(*FORM)
            c.setFont(font, 7)
            c.drawRightString(RIGHT, 5 * mm, f"第{page}页/共{len(chunks)}页")
        if status_text:
            _status(c, status_text, font)
        c.showPage()
    attach_file(c, f"{bill.bill_code}-{bill.bill_number}.xml", xml_bytes, "application/xml",
                "财政电子票据（签名 XML）")
    with SAVE_LOCK:
        c.save()
    return out.getvalue()


# Reading an uploaded PDF is bounded before pypdf sees it (the size) and while it reads (every
# decoder's output, the filters per stream, the size of arrays and dictionaries). A bill PDF is
# 37 KB with 2 items, 46 KB with 50, about 300 KB with a 256 KB seal image that does not
# compress; its XML attachment is at most about 30 KB.
MAX_PDF_BYTES = 1024 * 1024
MAX_DECODED_BYTES = 1024 * 1024  # per stream: nothing we need to read is larger
MAX_ATTACHMENTS = 8  # our PDFs carry one; stop looking after this many
EOF_WINDOW = 1024  # where a PDF's %%EOF must be: pypdf would otherwise look for it line by line
# backwards through the whole file (1.5 s for 1 MB of short lines)


def _reading_limits() -> dict:
    return {
        "maximum_declared_stream_length": MAX_PDF_BYTES,
        "array_based_stream_maximum_output_length": MAX_DECODED_BYTES,
        "array_maximum_element_count": 10_000,
        "dictionary_maximum_element_count": 10_000,
        "jbig2_maximum_output_length": MAX_DECODED_BYTES,
        "lzw_maximum_output_length": MAX_DECODED_BYTES,
        "run_length_maximum_output_length": MAX_DECODED_BYTES,
        "zlib_maximum_output_length": MAX_DECODED_BYTES,
        "zlib_maximum_recovery_input_length": MAX_PDF_BYTES,
        "brotli_maximum_output_length": MAX_DECODED_BYTES,
        "image_maximum_buffer_size": MAX_DECODED_BYTES,
        "stream_filters_maximum_length": 2,
        "stream_decoding_work_maximum_length": 4 * MAX_DECODED_BYTES,
        "stream_parsing_work_maximum_count": 100_000,
        "jbig2dec_binary": None,  # never start an outside decoder for an upload
        "disable_legacy_handling": True,
    }


class PdfBillRenderer:
    """BillRenderer: ``render_bill_pdf`` with the font and the supervisor of the settings."""

    def __init__(self, font_path: str, supervisor_name: str) -> None:
        self._font_path = font_path
        self._supervisor_name = supervisor_name

    def render(self, bill: Bill, *, verify_url: str, xml_bytes: bytes,
               status_text: str | None = None, unit_seal_png: bytes | None = None) -> bytes:
        return render_bill_pdf(bill, verify_url=verify_url, xml_bytes=xml_bytes,
                               font_path=self._font_path,
                               supervisor_name=self._supervisor_name, status_text=status_text,
                               unit_seal_png=unit_seal_png)


def extract_attached_xml(pdf_bytes: bytes) -> bytes | None:
    """The first ``.xml`` file attached to a bill PDF, or None if it carries none.

    Raises ``ValidationFailed`` when the bytes are larger than ``MAX_PDF_BYTES`` or do not end
    with ``%%EOF`` (both before pypdf reads anything), or when pypdf cannot read them: every
    error pypdf raises, whatever its type (a malformed object, a circular ``/Prev``, a decoder
    over its limit), is bad input here. pypdf reads strictly: our PDFs are well formed, and
    the repairs it tries on broken ones (rebuilding the cross-reference table by reading every
    object) cost seconds per megabyte.
    """
    from pypdf import (  # only verification needs it: keep it off the render path
        PdfReader,
        apply_configuration,
    )

    from chalicelib.domain.errors import ValidationFailed

    if len(pdf_bytes) > MAX_PDF_BYTES:
        raise ValidationFailed("PDF 文件过大", {"file": f"a PDF of at most {MAX_PDF_BYTES} bytes"},
                               code="file_too_large")
    if b"%%EOF" not in pdf_bytes[-EOF_WINDOW:]:
        raise ValidationFailed("PDF 文件无法读取", {"file": "unreadable PDF (no %%EOF at the end)"},
                               code="unreadable_pdf")
    try:
        with apply_configuration(**_reading_limits()):
            reader = PdfReader(io.BytesIO(pdf_bytes), strict=True)
            for index, attachment in enumerate(reader.attachment_list):
                if index >= MAX_ATTACHMENTS:
                    break
                if attachment.name.lower().endswith(".xml"):
                    return attachment.content
    except Exception as exc:  # noqa: BLE001 - any failure inside pypdf is a malformed upload
        raise ValidationFailed("PDF 文件无法读取", {"file": f"unreadable PDF ({type(exc).__name__})"},
                               code="unreadable_pdf") from None
    return None
