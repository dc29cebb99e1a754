"""The bill's layout (``domain/bill_layout.py``): format-neutral pages of drawing operations.

Laid out with a fixed-pitch fake font (every character half an em, CJK a full em), so that the
layout is tested without reportlab; ``ReportlabMetrics`` is tested against reportlab itself.
"""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.domain.bill_layout import ITEMS_PER_PAGE, PAGE_H, PAGE_W, layout_bill
from chalicelib.domain.layout import Image, Line, Page, Path, QrCode, Rect, Text
from chalicelib.domain.layout_seals import SEAL_RED
from chalicelib.domain.notes import Item
from tests.unit.test_pdf_rendering import BILL, FONT, VERIFY_URL


class FixedPitch:
    """FontMetrics of an imaginary font: ASCII half an em wide, everything else one em."""

    def advances(self, text: str, size: float) -> tuple[float, ...]:
        return tuple(size * (0.5 if ord(ch) < 128 else 1.0) for ch in text)

    def width(self, text: str, size: float) -> float:
        return sum(self.advances(text, size))


METRICS = FixedPitch()


def _pages(bill=BILL, **kwargs) -> list[Page]:
    return layout_bill(bill, metrics=METRICS, verify_url=VERIFY_URL,
                       supervisor_name="北京市财政局", **kwargs)


def _texts(page: Page) -> list[Text]:
    return [op for op in page.ops if isinstance(op, Text)]


def _many(n: int):
    items = tuple(Item(f"1030401001{k:02d}", f"项目{k}", "1", 100, 100, "件")
                  for k in range(n))
    return dataclasses.replace(BILL, items=items, total_fen=100 * n)


def test_a_bill_is_laid_out_with_its_key_elements_payer_items_and_total() -> None:
    [page] = _pages()
    words = {t.text for t in _texts(page)}
    assert {BILL.title, BILL.bill_code, BILL.bill_number, BILL.check_code, "2026-03-02",
            BILL.payer_name, BILL.payer_credit_code, "机动车违法停车罚款", "¥150.00",
            "壹佰伍拾元整", "李四", "王五"} <= words
    assert (page.width, page.height) == (PAGE_W, PAGE_H) == (210, 148)
    [qr] = [op for op in page.ops if isinstance(op, QrCode)]
    assert qr.data == VERIFY_URL and qr.size == 26


def test_every_text_run_has_one_advance_per_character_squeeze_included() -> None:
    long_name = dataclasses.replace(BILL, items=(Item("1", "很" * 40, "1", 1, 1, "次"),),
                                    total_fen=1)
    [page] = _pages(long_name)
    for run in _texts(page):
        assert len(run.advances) == len(run.text)
        assert run.width == pytest.approx(
            METRICS.width(run.text, run.size) * run.squeeze
            + run.char_space * len(run.text))
    [squeezed] = [t for t in _texts(page) if t.text == "很" * 40]
    assert squeezed.squeeze < 1 and squeezed.x + squeezed.width <= 10 + 30 + 64


def test_everything_lies_on_the_page() -> None:
    for page in _pages(_many(25), status_text="已冲红"):
        for op in page.ops:
            if isinstance(op, Text):
                xs, ys = (op.x, op.x + op.width), (op.y - op.size, op.y)
            elif isinstance(op, Line):
                xs, ys = (op.x1, op.x2), (op.y1, op.y2)
            elif isinstance(op, Rect | Image):
                xs, ys = (op.x, op.x + op.w), (op.y, op.y + op.h)
            elif isinstance(op, QrCode):
                xs, ys = (op.x, op.x + op.size), (op.y, op.y + op.size)
            else:
                assert isinstance(op, Path)
                xs = tuple(v for s in op.segments for v in s[1::2])
                ys = tuple(v for s in op.segments for v in s[2::2])
            assert 0 <= min(xs) and max(xs) <= PAGE_W, op
            assert 0 <= min(ys) and max(ys) <= PAGE_H, op


def test_more_items_than_a_page_holds_continue_on_numbered_pages() -> None:
    pages = _pages(_many(ITEMS_PER_PAGE + 5))
    assert len(pages) == 2
    assert "第1页/共2页" in {t.text for t in _texts(pages[0])}
    assert "项目24" in {t.text for t in _texts(pages[1])}
    assert "项目24" not in {t.text for t in _texts(pages[0])}
    assert len(_pages(_many(ITEMS_PER_PAGE))) == 1


def test_a_status_is_boxed_in_the_corner_and_stamped_across_every_page() -> None:
    for page in _pages(_many(25), status_text="已冲红"):
        stamps = [t for t in _texts(page) if t.text == "已冲红"]
        assert [t.angle for t in stamps] == [0, 18]
        assert all(t.colour == SEAL_RED for t in stamps)
        assert stamps[1].alpha < 1
    assert "已冲红" not in {t.text for t in _texts(_pages()[0])}


def test_an_uploaded_seal_image_takes_the_place_of_the_drawn_seal() -> None:
    [drawn] = _pages()
    [uploaded] = _pages(unit_seal_png=b"\x89PNG seal")
    assert not [op for op in drawn.ops if isinstance(op, Image)]
    [image] = [op for op in uploaded.ops if isinstance(op, Image)]
    assert image.png == b"\x89PNG seal" and image.w == image.h == 27

    def lettering(page: Page) -> str:  # one turned glyph at a time, along the seals' arcs
        return "".join(t.text for t in _texts(page)
                       if t.colour == SEAL_RED and t.bold and len(t.text) == 1)
    assert lettering(drawn) == "北京市财政局" + BILL.issuing_unit_name
    assert lettering(uploaded) == "北京市财政局"


def test_a_long_remark_wraps_onto_two_lines_inside_its_cell() -> None:
    [page] = _pages(dataclasses.replace(BILL, remark="备注文字" * 40))
    lines = [t for t in _texts(page) if t.text.startswith(("备注文字", "字备注", "注文字", "文字"))]
    assert len(lines) == 2 and lines[0].y < lines[1].y
    assert all(t.x >= 42 and t.x + t.width <= 198.01 for t in lines)


def test_reportlab_metrics_measure_exactly_what_reportlab_draws() -> None:
    from reportlab.pdfbase import pdfmetrics

    from chalicelib.adapters.pdf_layout import metrics_for
    from chalicelib.adapters.pdf_render import register_cjk_font

    font = register_cjk_font(FONT)
    metrics = metrics_for(font)
    for text in ("北京市非税收入统一票据（电子）", "0000123456", "¥-150.00", "aB3dE9 x", ""):
        for size in (3.175, 17 * 25.4 / 72, 2.9, 1.23456):
            assert metrics.width(text, size) == pdfmetrics.stringWidth(text, font, size)
            assert abs(sum(metrics.advances(text, size)) - metrics.width(text, size)) < 1e-9


def test_a_long_unit_name_is_squeezed_short_of_the_checker() -> None:
    long_unit = dataclasses.replace(BILL, issuing_unit_name="新疆维吾尔自治区伊犁哈萨克自治州"
                                    "人民政府办公厅机关事务管理局后勤服务中心")
    [page] = _pages(long_unit)
    [name] = [t for t in _texts(page) if t.text == long_unit.issuing_unit_name]
    [checker] = [t for t in _texts(page) if t.text == "复核人："]
    assert name.squeeze < 1 and name.x + name.width <= checker.x - 2
    [short] = [t for t in _texts(_pages()[0]) if t.text == BILL.issuing_unit_name]
    assert short.squeeze == 1
