"""Bills drawn from their templates (``domain/bill_layout.py`` with ``domain/bill_templates``):
the title, the payer's label, the block of extra fields, the item columns and the fixed remarks
of each template; the default template draws the page bills always had.

Laid out with the fixed-pitch fake font of ``test_bill_layout``; the PDFs are read back with
pypdf, as a reader's software would."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import pytest
from pypdf import PdfReader

from chalicelib.adapters.pdf_bill import render_bill_pdf
from chalicelib.domain import bill_templates
from chalicelib.domain.bill_layout import ITEMS_PER_PAGE, layout_bill
from chalicelib.domain.bills import BILL_KINDS, Bill
from chalicelib.domain.layout import Page, Text
from chalicelib.domain.notes import Item
from devstack.template_samples import SAMPLES
from tests.unit.test_bill_layout import METRICS
from tests.unit.test_pdf_rendering import BILL, FONT, VERIFY_URL, XML


def sample(template_id: str, copies: int = 1) -> Bill:
    s = SAMPLES[template_id]
    tpl = bill_templates.latest(template_id)
    assert tpl is not None
    kind = BILL_KINDS[s["bill_kind"]]
    items = tuple(Item(i["item_code"], i["name"], i["quantity"], i["standard_fen"],
                       i["amount_fen"], i["unit"]) for i in s["items"]) * copies
    extra = bill_templates.read_extra(tpl, s["extra"], total_fen=s["total_fen"],
                                      today=date(2026, 6, 15))
    return dataclasses.replace(
        BILL, kind_code=kind.code, title=(tpl.title or kind.title).format(region="安徽省"),
        items=items, total_fen=s["total_fen"] * copies, template_id=tpl.template_id,
        template_version=tpl.version, extra=extra)


def pages(bill: Bill) -> list[Page]:
    return layout_bill(bill, metrics=METRICS, verify_url=VERIFY_URL, supervisor_name="安徽省财政厅")


def words(page: Page) -> list[str]:
    return [op.text for op in page.ops if isinstance(op, Text)]


def test_the_general_template_draws_the_page_bills_had_before_templates():
    legacy = dataclasses.replace(BILL, template_id="", template_version=0)
    general = dataclasses.replace(BILL, template_id="nontax-general", template_version=1)
    assert pages(legacy) == pages(general)
    assert bill_templates.template("", 0) is bill_templates.NONTAX_GENERAL


@pytest.mark.parametrize("template_id", sorted(set(SAMPLES) - {"nontax-general"}))
def test_each_template_draws_its_block_columns_payer_label_and_remarks(template_id):
    bill = sample(template_id)
    tpl = bill.template
    [page] = pages(bill)
    text = words(page)
    assert tpl.block_title in text
    for label, value in bill_templates.labelled(tpl, bill.extra):
        assert f"{label}：" in text and value in text, label
    assert [c.label for c in tpl.columns] == [w for w in text if w in
                                               {c.label for c in tpl.columns}][:len(tpl.columns)]
    assert f"{tpl.payer_label}：" in text
    for line in tpl.remarks:
        assert line in text


def test_a_template_without_the_standard_column_leaves_it_out():
    [page] = pages(sample("settlement-receipt"))
    assert "标准（元）" not in words(page) and "单位" not in words(page)
    [general] = pages(BILL)
    assert "标准（元）" in words(general)


def test_a_block_of_extra_fields_leaves_fewer_items_to_a_page_none_lower_than_the_minimum():
    bill = sample("medical-inpatient", copies=12)  # 36 items
    laid = pages(bill)
    per_page = [sum(1 for w in words(p) if w in {"床位费", "手术费", "卫生材料费"}) for p in laid]
    assert sum(per_page) == 36 and max(per_page) < ITEMS_PER_PAGE
    assert len(laid) == -(-36 // per_page[0])
    assert f"第1页/共{len(laid)}页" in words(laid[0])


@pytest.mark.parametrize("template_id", sorted(SAMPLES))
def test_the_pdf_of_each_template_reads_back_with_its_fields_labels_and_title(template_id):
    bill = sample(template_id)
    pdf = render_bill_pdf(bill, verify_url=VERIFY_URL, xml_bytes=XML, font_path=FONT,
                          supervisor_name="安徽省财政厅")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert bill.title in text
    for label, value in bill_templates.labelled(bill.template, bill.extra):
        assert label in text and value in text, label
    for column in bill.template.columns:
        assert column.label in text
