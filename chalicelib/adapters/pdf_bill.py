"""The PDF of a fiscal bill (财政电子票据): its layout (``domain/bill_layout.py``) drawn by
reportlab, with the signed XML attached.

The page itself (title, 监制 seal, key elements, items table, seals, QR code) is laid out once,
format-neutral, by ``layout_bill``; this module draws those pages (``pdf_layout.draw_page``),
sets the document's metadata and attaches the signed XML, which is the legal carrier;
``extract_attached_xml`` gets it back.
"""

from __future__ import annotations

import dataclasses
import io
from functools import lru_cache

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from chalicelib.adapters.pdf_layout import ReportlabMetrics, draw_page, metrics_for
from chalicelib.adapters.pdf_render import (
    SAVE_LOCK,
    attach_file,
    register_cjk_font,
    seed_first_subset,
)
from chalicelib.domain.bill_layout import layout_bill
from chalicelib.domain.bills import Bill
from chalicelib.domain.layout import Page, Text


def render_bill_pdf(bill: Bill, *, verify_url: str, xml_bytes: bytes, font_path: str,
                    supervisor_name: str, status_text: str | None = None,
                    unit_seal_png: bytes | None = None) -> bytes:
    """Render ``bill`` as a PDF (A5 landscape) with ``xml_bytes`` attached as
    ``{bill_code}-{bill_number}.xml``; ``status_text`` (已冲红, 已作废) is stamped across it."""
    font = register_cjk_font(font_path)
    metrics = metrics_for(font)
    pages = layout_bill(bill, metrics=metrics, verify_url=verify_url,
                        supervisor_name=supervisor_name, status_text=status_text,
                        unit_seal_png=unit_seal_png)
    common = printed_on_every_bill(_blank(bill), metrics, supervisor_name, status_text,
                                   unit_seal_png is not None)
    return pdf_from_pages(bill, pages, xml_bytes, font, common)


def _blank(bill: Bill) -> Bill:
    """``bill`` with every value of its own left out: what stays is its kind, template and
    unit (title, labels, the unit's name, seal and people)."""
    return dataclasses.replace(
        bill, bill_code="", bill_number="", check_code="", issued_at="", payer_name="",
        payer_type="", payer_credit_code=None, items=(), total_fen=0, payment_code="",
        payment_channel="", channel_txn_id="", remark=None, related_bill=None, extra=())


@lru_cache(maxsize=64)
def printed_on_every_bill(blank: Bill, metrics: ReportlabMetrics, supervisor_name: str,
                          status_text: str | None, seal_image: bool) -> str:
    """The characters a blank bill's first page prints (``_blank``), in the order it prints
    them: what every bill of that kind and unit prints, whatever its payer and items. A value
    that happens to print one of them uses it; a character left unused on a bill (零 of the
    blank's total) only makes its font subset a glyph larger."""
    page = layout_bill(blank, metrics=metrics, verify_url="", supervisor_name=supervisor_name,
                       status_text=status_text, unit_seal_png=b"" if seal_image else None)[0]
    return "".join(dict.fromkeys("".join(op.text for op in page.ops if isinstance(op, Text))))


def pdf_from_pages(bill: Bill, pages: list[Page], xml_bytes: bytes, font: str,
                   common: str = "") -> bytes:
    """The PDF of laid-out ``pages`` (drawn in the registered ``font``), titled after ``bill``,
    with ``xml_bytes`` attached; ``common``, the characters every bill of its kind prints,
    make the font's first subset (``pdf_render.seed_first_subset``)."""
    out = io.BytesIO()
    size = (pages[0].width * mm, pages[0].height * mm)
    c = Canvas(out, pagesize=size, pageCompression=1, initialFontName=font, initialFontSize=9)
    if common:
        seed_first_subset(c, font, common)
    c.setTitle(f"{bill.title} {bill.bill_code}-{bill.bill_number}")
    c.setAuthor(bill.issuing_unit_name)
    c.setSubject("财政电子票据")
    for page in pages:
        draw_page(c, page, font)
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
