"""NoticeRenderer: PdfNoticeRenderer, the one adapter (it draws in memory, so the unit tier uses
it too): an A4 PDF titled with the payment code, by the unit, the items continued on further
pages past the first page's twenty; a bill's 告知单 is one A4 page titled with the bill, saying
what became of a bill that is no longer normal."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from chalicelib.adapters.pdf_notice import PdfNoticeRenderer
from chalicelib.domain.bills import Bill
from chalicelib.domain.notes import Item, Note, NoteStatus, Payer

FONT = Path(__file__).resolve().parents[2] / "chalicelib" / "fonts" / "wqy-microhei.ttc"
NOTE = Note(payment_code="34010026000000000017", unit_code="340100001", region_code="340100",
            bill_kind="0101",
            payer=Payer(name="张三", type="individual", phone="13812345678"),
            items=(Item(item_code="103040100101", name="不动产登记费（住宅）", unit="件",
                        quantity="1", standard_fen=8000, amount_fen=8000),),
            total_fen=8000, created_at="2026-06-15T10:00:00+08:00", status=NoteStatus.UNPAID)

BILL = Bill(bill_code="34010126", bill_number="0000000017", check_code="aB3dE9", kind_code="0101",
            title="安徽省非税收入统一票据（电子）", region_code="340100",
            issued_at="2026-06-15T10:05:00+08:00", issuing_unit_code="340100001",
            issuing_unit_name="合肥市不动产登记中心", payer_name="张三", payer_type="individual",
            payer_credit_code=None, items=NOTE.items, total_fen=8000,
            payment_code=NOTE.payment_code, payment_channel="cash", channel_txn_id="",
            handling_person="李四", checker="王五")
BILL_URL = "https://pj.example/bills/34010126/0000000017?check_code=aB3dE9"


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

    def test_a_bills_notice_is_one_a4_page_titled_with_the_bill_by_its_unit(self, renderer):
        notice = PdfReader(io.BytesIO(renderer.render_bill(BILL, bill_url=BILL_URL)))
        assert len(notice.pages) == 1
        assert [round(float(v)) for v in notice.pages[0].mediabox[2:]] == [595, 842]  # A4
        assert notice.metadata.title == "财政电子票据告知单 34010126-0000000017"
        assert notice.metadata.author == "合肥市不动产登记中心"
        text = notice.pages[0].extract_text()
        assert "a B 3 d E 9" in text and BILL_URL in text and "票据状态" not in text
        assert "小写a 大写B 数字3 小写d 大写E 数字9" in text  # 0/O, 1/l/I are told apart

    def test_a_bills_notice_says_what_became_of_the_bill(self, renderer):
        pdf = renderer.render_bill(BILL, bill_url=BILL_URL, status_text="已作废",
                                   status_note="本票据已作废，不能作为报销凭证。")
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert "票据状态：已作废" in text and "本票据已作废，不能作为报销凭证。" in text
