"""ReportRenderer: PdfReportRenderer, the one adapter (it draws in memory): the weekly report on
A4 landscape, titled with its week, printing the report's own figures in yuan, its tables
continued over pages."""

from __future__ import annotations

import io

from pypdf import PdfReader

from chalicelib.adapters.pdf_report import PdfReportRenderer
from chalicelib.domain.reports import Week, WeekRecords, build_weekly_report
from tests.fakes import make_settings
from tests.unit.test_weekly_report import _bill, _note

WEEK = Week(2026, 24)


def report(units: int) -> dict:
    records = WeekRecords()
    for i in range(units):
        note = _note(f"{i:020d}", f"3401{i:05d}", WEEK.days()[i % 7],
                     [("103040100101", 123456), ("103040100102", 1)], "alipay", True)
        records.notes_created.append(note)
        records.notes_paid.append(note)
        records.bills_issued.append(_bill(note, 1))
    return build_weekly_report(WEEK, records, state="final",
                               generated_at="2026-06-15T01:00:00+08:00",
                               unit_names={f"3401{i:05d}": "合肥市不动产登记中心" for i in range(units)})


def draw(units: int) -> PdfReader:
    renderer = PdfReportRenderer(make_settings().font_path, "安徽省")
    return PdfReader(io.BytesIO(renderer.render_weekly(report(units))))


class TestReportRenderer:
    def test_the_report_is_a4_landscape_titled_with_its_week(self):
        pdf = draw(2)
        assert [round(float(v)) for v in pdf.pages[0].mediabox[2:]] == [842, 595]
        assert pdf.metadata.title == "每周一报 2026-W24"
        text = pdf.pages[0].extract_text()
        assert "安徽省非税收入每周一报" in text and "已定稿" in text

    def test_it_prints_the_reports_figures_in_yuan(self):
        text = "".join(p.extract_text() for p in draw(2).pages)
        assert "2,469.14" in text  # two notes of 1,234.57 yuan: the week's total
        assert "1,234.57" in text and "合肥市不动产登记中心" in text

    def test_many_units_continue_on_further_pages(self):
        assert len(draw(60).pages) > 2
