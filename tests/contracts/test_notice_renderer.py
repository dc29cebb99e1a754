"""NoticeRenderer: PdfNoticeRenderer, the one adapter (it draws in memory, so the unit tier uses
it too): an A4 PDF titled with the payment code, by the unit, the items continued on further
pages past the first page's twenty."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.adapters.pdf_notice import PdfNoticeRenderer
from chalicelib.domain.notes import Item, Note, NoteStatus, Payer

FONT = Path(__file__).resolve().parents[2] / "chalicelib" / "fonts" / "wqy-microhei.ttc"
NOTE = Note(payment_code="34010026000000000017", unit_code="340100001", region_code="340100",
            bill_kind="0101",
            payer=Payer(name="张三", type="individual", phone="13812345678"),
            items=(Item(item_code="103040100101", name="不动产登记费（住宅）", unit="件",
                        quantity="1", standard_fen=8000, amount_fen=8000),),
            total_fen=8000, created_at="2026-06-15T10:00:00+08:00", status=NoteStatus.UNPAID)


@pytest.fixture
def renderer() -> PdfNoticeRenderer:
    return PdfNoticeRenderer(str(FONT))


def draw(renderer: PdfNoticeRenderer, note: Note) -> PdfReader:
    pdf = renderer.render(note, unit_name="合肥市不动产登记中心", region_name="安徽省",
                          pay_url=f"https://pj.example/pay/{note.payment_code}")
    return PdfReader(io.BytesIO(pdf))


class TestNoticeRenderer:
    def test_the_notice_is_one_a4_page_titled_with_the_payment_code_by_the_unit(self, renderer):
        notice = draw(renderer, NOTE)
        assert len(notice.pages) == 1
        assert [round(float(v)) for v in notice.pages[0].mediabox[2:]] == [595, 842]  # A4
        assert notice.metadata.title == "非税收入缴款通知书 34010026000000000017"
        assert notice.metadata.author == "合肥市不动产登记中心"

    def test_items_past_the_first_pages_twenty_continue_on_the_next(self, renderer):
        many = replace(NOTE, items=NOTE.items * 25, total_fen=8000 * 25)
        assert len(draw(renderer, many).pages) == 2
