"""The bill and notice PDFs, read back the way people and machines read them.

Text is extracted with ``pdftotext``, pages are rasterised with ``pdftoppm`` and QR codes decoded
with ``zbarimg``; red seal ink is counted in the raster. A missing tool or font fails the test
with the package to install: nothing is skipped. The sample pages are written to
``tests/output/`` for a person to look at.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.adapters.pdf_bill import extract_attached_xml, render_bill_pdf
from chalicelib.adapters.pdf_notice import render_notice_pdf
from chalicelib.domain.bills import BILL_KINDS, Bill
from chalicelib.domain.notes import Item, Note, Payer

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
OUTPUT = Path(__file__).resolve().parents[1] / "output"
UNIT = "北京市公安局公安交通管理局"
PAYMENT_CODE = "11010126598066104097"
VERIFY_URL = "https://pjcy.czj.beijing.gov.cn/v?c=11010125&n=0000123456&k=aB3dE9"
PAY_URL = f"https://pay.czj.beijing.gov.cn/p/{PAYMENT_CODE}"
XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice><Header><EInvoiceID>6543210000-52101011'
       '</EInvoiceID></Header><EInvoiceData><Main><EInvoiceName>北京市非税收入统一票据（电子）'
       '</EInvoiceName></Main></EInvoiceData></EInvoice>\n').encode()
ITEMS = (
    Item("103050101001", "机动车违法停车罚款", "1", 10000, 10000, "次"),
    Item("103040203002", "驾驶证工本费", "2", 1000, 2000, "本"),
    Item("103040203005", "机动车号牌工本费", "1", 3000, 3000, "副"),
)
BILL = Bill(
    bill_code="11010125", bill_number="0000123456", check_code="aB3dE9", kind_code="0101",
    title=BILL_KINDS["0101"].title.format(region="北京市"), region_code="110000",
    issued_at="2026-03-02T10:20:30+08:00", issuing_unit_code="414001", issuing_unit_name=UNIT,
    payer_name="张三丰", payer_type="individual", payer_credit_code="11010519800101123X",
    items=ITEMS, total_fen=15000, payment_code=PAYMENT_CODE, payment_channel="wechat",
    channel_txn_id="4200002026030212345678", handling_person="李四", checker="王五",
    remark=f"缴款码：{PAYMENT_CODE}；违法停车，决定书编号 1101052026000123",
)
NOTE = Note(
    payment_code=PAYMENT_CODE, unit_code="414001", region_code="110000",
    payer=Payer("张三丰", "individual", phone="13812345678"), items=ITEMS, total_fen=15000,
    bill_kind="0101", created_at="2026-03-01T09:00:00+08:00", due_date="2026-03-15",
)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install {package}")
    return path


def _run(args: list[str]) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


def _bill(**changes: object) -> bytes:
    if not Path(FONT).is_file():
        pytest.fail(f"CJK font missing at {FONT}: apt-get install fonts-wqy-microhei")
    kwargs: dict = {"verify_url": VERIFY_URL, "xml_bytes": XML, "font_path": FONT,
                    "supervisor_name": "北京市财政局"}
    bill = changes.pop("bill", BILL)
    kwargs.update(changes)
    return render_bill_pdf(bill, **kwargs)  # type: ignore[arg-type]


def _notice(note: Note = NOTE) -> bytes:
    if not Path(FONT).is_file():
        pytest.fail(f"CJK font missing at {FONT}: apt-get install fonts-wqy-microhei")
    return render_notice_pdf(note, unit_name=UNIT, region_name="北京市", pay_url=PAY_URL,
                             font_path=FONT)


def _text(pdf: bytes, tmp_path: Path) -> str:
    src = tmp_path / "doc.pdf"
    src.write_bytes(pdf)
    return _run([_tool("pdftotext", "poppler-utils"), "-enc", "UTF-8", str(src), "-"]).decode()


def _png(pdf: bytes, tmp_path: Path, dpi: int = 150) -> Path:
    src = tmp_path / "page.pdf"
    src.write_bytes(pdf)
    _run([_tool("pdftoppm", "poppler-utils"), "-r", str(dpi), "-png", "-singlefile", "-f", "1",
          str(src), str(tmp_path / "page")])
    return tmp_path / "page.png"


def _decoded_qr(png: Path) -> list[str]:
    out = _run([_tool("zbarimg", "zbar-tools"), "--raw", "-q", str(png)]).decode()
    return out.splitlines()


def _red_pixels(pdf: bytes, tmp_path: Path, box: tuple[float, float, float, float]) -> int:
    """Clearly red pixels (seal ink) in ``box`` = (left, top, right, bottom) fractions of page 1,
    counted in the binary PPM (P6) that pdftoppm writes by default."""
    src = tmp_path / "red.pdf"
    src.write_bytes(pdf)
    _run([_tool("pdftoppm", "poppler-utils"), "-r", "100", "-singlefile", str(src),
          str(tmp_path / "red")])
    ppm = (tmp_path / "red.ppm").read_bytes()
    magic, width, height, maxval, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255"
    w, h = int(width), int(height)
    x0, y0, x1, y1 = int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)
    count = 0
    for y in range(y0, y1):
        row = pixels[3 * (y * w + x0): 3 * (y * w + x1)]
        for i in range(0, len(row), 3):
            r, g, b = row[i], row[i + 1], row[i + 2]
            count += r > 170 and g < 90 and b < 100
    return count


def _save_sample(png: Path, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / ".gitignore").write_text("*\n")  # the directory ignores itself, like .pytest_cache
    shutil.copyfile(png, OUTPUT / name)


@pytest.fixture(scope="module")
def bill_pdf() -> bytes:
    return _bill()


@pytest.fixture(scope="module")
def notice_pdf() -> bytes:
    return _notice()


def test_bill_text_carries_every_key_element(bill_pdf: bytes, tmp_path: Path) -> None:
    text = _text(bill_pdf, tmp_path)
    for expected in ("北京市非税收入统一票据（电子）", "11010125", "0000123456", "aB3dE9",
                     "2026-03-02", "壹佰伍拾元整", "150.00", "张三丰", "11010519800101123X",
                     UNIT, "机动车违法停车罚款", "驾驶证工本费", "机动车号牌工本费", "王五",
                     "李四", "扫码查验", PAYMENT_CODE):
        assert expected in text, expected


def test_bill_fonts_are_all_embedded_subsets(bill_pdf: bytes, tmp_path: Path) -> None:
    src = tmp_path / "fonts.pdf"
    src.write_bytes(bill_pdf)
    rows = _run([_tool("pdffonts", "poppler-utils"), str(src)]).decode().splitlines()[2:]
    assert rows, "no fonts"
    for row in rows:
        name, *_, emb, sub, uni, _obj, _gen = row.split()
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert "+" in name, row


def test_bill_page_shows_the_verify_qr_code_and_a_red_seal(bill_pdf: bytes,
                                                           tmp_path: Path) -> None:
    png = _png(bill_pdf, tmp_path)
    _save_sample(png, "bill.png")
    assert _decoded_qr(png) == [VERIFY_URL]
    assert _red_pixels(bill_pdf, tmp_path, (0.0, 0.7, 0.5, 1.0)) > 1000  # the unit seal
    assert _red_pixels(bill_pdf, tmp_path, (0.3, 0.0, 0.7, 0.2)) > 800  # the 监制 seal


def test_bill_is_one_a5_landscape_page_with_the_xml_attached(bill_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(bill_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 148)
    assert list(reader.attachments) == ["11010125-0000123456.xml"]
    assert extract_attached_xml(bill_pdf) == XML


def test_extract_attached_xml_is_none_without_an_attachment(notice_pdf: bytes) -> None:
    assert extract_attached_xml(notice_pdf) is None  # unreadable bytes: test_pdf_uploads.py


def test_a_bill_with_twenty_items_stays_on_one_page(tmp_path: Path) -> None:
    items = tuple(Item(f"1030501010{k:02d}", f"第{k}号收费项目", "1", 500, 500, "次")
                  for k in range(1, 21))
    pdf = _bill(bill=dataclasses.replace(BILL, items=items, total_fen=10000))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = _text(pdf, tmp_path)
    for k in range(1, 21):
        assert f"第{k}号收费项目" in text
    assert "壹佰元整" in text


def test_a_bill_with_more_than_twenty_items_continues_on_a_second_page(tmp_path: Path) -> None:
    items = tuple(Item(f"1030501010{k:02d}", f"第{k}号收费项目", "1", 100, 100, "次")
                  for k in range(1, 26))
    pdf = _bill(bill=dataclasses.replace(BILL, items=items, total_fen=2500))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    text = _text(pdf, tmp_path)
    assert all(f"第{k}号收费项目" in text for k in range(1, 26))
    assert "第2页/共2页" in text


def test_a_reversed_bill_is_stamped_with_its_status(tmp_path: Path) -> None:
    pdf = _bill(status_text="已冲红")
    assert "已冲红" in _text(pdf, tmp_path)
    assert _decoded_qr(_png(pdf, tmp_path)) == [VERIFY_URL]


def _red_disc_png(size: int = 64) -> bytes:
    """A red disc on transparency, as an RGBA PNG, built with the standard library."""
    rows = b""
    for y in range(size):
        row = bytearray(b"\x00")
        for x in range(size):
            inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 2 - 1) ** 2
            row += bytes((208, 2, 27, 255 if inside else 0))
        rows += bytes(row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def test_a_bill_uses_the_unit_seal_image_when_given(tmp_path: Path) -> None:
    pdf = _bill(unit_seal_png=_red_disc_png())
    assert _red_pixels(pdf, tmp_path, (0.0, 0.7, 0.5, 1.0)) > 5000  # a filled disc
    assert UNIT in _text(pdf, tmp_path)


def test_a_large_seal_image_is_scaled_down_so_the_bill_stays_small() -> None:
    big = _smooth_png(2000)
    assert len(big) <= 256 * 1024  # an acceptable upload (domain/units.check_seal_png)
    pdf = _bill(unit_seal_png=big)
    # Embedded at full size this seal made a 320 KB bill (another 2000-pixel one, 9.6 MB).
    assert len(pdf) < 200 * 1024, len(pdf)


def _smooth_png(size: int) -> bytes:
    """A square RGBA PNG that PNG's filters shrink well and a PDF's plain Flate does not."""
    import io

    from PIL import Image

    image = Image.radial_gradient("L").resize((size, size)).convert("RGBA")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_notice_text_carries_payer_amount_code_and_ways_to_pay(notice_pdf: bytes,
                                                               tmp_path: Path) -> None:
    text = _text(notice_pdf, tmp_path)
    for expected in ("非税收入缴款通知书", UNIT, "张三丰", "138****5678",
                     "110101 26 59806610409 7", "壹佰伍拾元整", "150.00", "2026-03-15",
                     "机动车违法停车罚款", "微信、支付宝、云闪付扫码缴款", "缴款方式", "银行柜台",
                     PAY_URL):
        assert expected in text, expected
    assert "13812345678" not in text


def test_notice_page_shows_the_pay_qr_code_and_a_red_seal(notice_pdf: bytes,
                                                          tmp_path: Path) -> None:
    png = _png(notice_pdf, tmp_path)
    _save_sample(png, "notice.png")
    assert _decoded_qr(png) == [PAY_URL]
    assert _red_pixels(notice_pdf, tmp_path, (0.4, 0.8, 1.0, 1.0)) > 1500
    reader = PdfReader(io.BytesIO(notice_pdf))
    assert len(reader.pages) == 1
    assert round(float(reader.pages[0].mediabox.height) / 72 * 25.4) == 297


def test_a_notice_without_a_due_date_says_none(tmp_path: Path) -> None:
    text = _text(_notice(dataclasses.replace(NOTE, due_date=None)), tmp_path)
    assert "限缴日期" in text and "无" in text


def test_reportlab_formats_numbers_with_its_c_accelerator():
    # rl-accel is pinned in requirements.txt; reportlab silently falls back to Python without it.
    import _rl_accel
    from reportlab.lib import rl_accel

    assert rl_accel.fp_str is _rl_accel.fp_str


def _rgb_png(size: int = 48) -> bytes:
    """A seal without an alpha channel (reportlab then embeds no soft mask)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), (208, 2, 27)).save(out, format="PNG")
    return out.getvalue()


def _two_pages_with_seals(draw, pngs: list[bytes]) -> bytes:
    from reportlab import rl_config
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    invariant, rl_config.invariant = rl_config.invariant, 1  # no dates, a fixed document id
    try:
        c = Canvas(out, pagesize=(400, 300), pageCompression=1)
        for page in range(2):
            for k, png in enumerate(pngs):
                draw(c, png, 20 + 90 * k, 40 + 10 * page, 80, 60 + 20 * k)
            c.showPage()
        c.save()
    finally:
        rl_config.invariant = invariant
    return out.getvalue()


def test_a_seal_image_is_written_byte_for_byte_as_reportlabs_draw_image_writes_it() -> None:
    from reportlab.lib.utils import ImageReader

    from chalicelib.adapters.pdf_layout import draw_seal_image, seal_image

    def reportlab(c, png, x, y, w, h):
        c.drawImage(ImageReader(seal_image(png)), x, y, w, h, mask="auto",
                    preserveAspectRatio=True, anchor="c")

    # with and without an alpha channel, one larger than SEAL_PIXELS, each twice a page
    pngs = [_red_disc_png(), _rgb_png(), _smooth_png(400), _red_disc_png()]
    assert _two_pages_with_seals(draw_seal_image, pngs) == _two_pages_with_seals(reportlab, pngs)


def test_a_seal_image_is_compressed_once_per_process_however_many_bills_carry_it() -> None:
    from chalicelib.adapters.pdf_layout import _seal_xobject

    png = _red_disc_png(40)
    _bill(unit_seal_png=png)
    made, used = _seal_xobject.cache_info().misses, _seal_xobject.cache_info().hits
    _bill(unit_seal_png=png)
    assert _seal_xobject.cache_info().misses == made  # the second bill made no new XObject
    assert _seal_xobject.cache_info().hits == used + 1


def _font_files(pdf: bytes) -> list[bytes]:
    """The embedded font programs of page 1, by font name (F1+0, F1+1, ...)."""
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    return [fonts[name].get_object()["/FontDescriptor"]["/FontFile2"].get_data()
            for name in sorted(fonts)]


def _unseeded(bill: Bill, **changes: object) -> bytes:
    """The bill as it was drawn before its first subset was seeded: one subset, in the order
    the page prints its characters."""
    from chalicelib.adapters import pdf_bill

    original = pdf_bill.pdf_from_pages

    def plain(*args, **kwargs):
        return original(*args[:4])

    pdf_bill.pdf_from_pages = plain
    try:
        return _bill(bill=bill, **changes)
    finally:
        pdf_bill.pdf_from_pages = original


def test_bills_of_one_kind_and_unit_share_their_first_font_subset(tmp_path: Path) -> None:
    # the labels, title, seals and the unit's name and people are one subset, the same bytes
    # in every such bill; the payer's name and the items are a second, small one
    other = dataclasses.replace(BILL, payer_name="欧阳娜娜", bill_number="0000123457",
                                items=(Item("103040203009", "临时号牌工本费", "1", 500, 500,
                                            "副"),), total_fen=500, remark="补办")
    first, second = _font_files(_bill()), _font_files(_bill(bill=other))
    assert len(first) == len(second) == 2
    assert first[0] == second[0]
    assert first[1] != second[1] and len(first[1]) < len(first[0]) / 3
    assert _text(_bill(bill=other), tmp_path) == _text(_unseeded(other), tmp_path)


@pytest.mark.parametrize("changes", [
    {}, {"status_text": "已冲红"}, {"unit_seal_png": "disc"},
    {"bill": dataclasses.replace(BILL, items=ITEMS * 9, payer_name="欧阳娜娜")},
], ids=["plain", "reversed", "seal image", "two pages"])
def test_a_bill_with_a_seeded_subset_draws_every_page_as_before(changes: dict,
                                                                tmp_path: Path) -> None:
    if changes.get("unit_seal_png") == "disc":
        changes["unit_seal_png"] = _red_disc_png()
    seeded, plain = _bill(**changes), _unseeded(changes.pop("bill", BILL), **changes)
    assert (len(_font_files(seeded)), len(_font_files(plain))) == (2, 1)
    pages = []
    for name, pdf in (("seeded", seeded), ("plain", plain)):
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        _run([_tool("pdftoppm", "poppler-utils"), "-r", "100", str(tmp_path / f"{name}.pdf"),
              str(tmp_path / name)])
        pages.append(sorted(p.read_bytes() for p in tmp_path.glob(f"{name}-*.ppm")))
    assert len(pages[0]) == len(PdfReader(io.BytesIO(seeded)).pages)
    assert pages[0] == pages[1]
    assert _text(seeded, tmp_path) == _text(plain, tmp_path)


def test_the_first_subset_of_a_kind_and_unit_is_made_and_compressed_once() -> None:
    from reportlab.pdfbase import pdfdoc, pdfmetrics

    from chalicelib.adapters.pdf_render import register_cjk_font

    maker = pdfmetrics.getFont(register_cjk_font(FONT)).face.makeSubset
    _bill()
    made, compressed = [], []
    make, compress = maker._make, pdfdoc.zlib.compress
    maker._make = lambda subset: made.append(len(subset)) or make(subset)
    pdfdoc.zlib.compress = lambda data, *a: compressed.append(len(data)) or compress(data, *a)
    try:
        _bill(bill=dataclasses.replace(BILL, payer_name="欧阳娜娜"))
    finally:
        del maker._make
        pdfdoc.zlib.compress = compress
    assert len(made) == 1  # the second subset only: the payer's name
    # the page, the second subset's font and its ToUnicode map, the attached XML; not the
    # first subset's font and map
    assert len(compressed) == 4
