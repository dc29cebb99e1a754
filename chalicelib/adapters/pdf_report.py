"""The weekly report (每周一报) as a PDF: A4 landscape, the bills' CJK font, reportlab's charts.

The page shows exactly the figures of the report's JSON (``domain/reports.build_weekly_report``):
the week's totals, money paid by channel (a pie), each day's notes and payments (bars), then one
table per unit and one per unit and fee item, continued over pages as needed (platypus). Amounts
are printed in yuan from the fen exactly (``fen_to_yuan_grouped``), never through a float; the
charts alone scale yuan as floats, for drawing.

``PdfReportRenderer`` is the ``ReportRenderer`` port (``services/reports.py``).
"""

from __future__ import annotations

import io

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from chalicelib.adapters.pdf_render import SAVE_LOCK, register_cjk_font
from chalicelib.domain.money import fen_to_yuan_grouped
from chalicelib.domain.reports import CHANNEL_NAMES, FIGURE_NAMES, FIGURES, ITEM_FIGURES

INK = colors.Color(0.08, 0.08, 0.1)
RULE = colors.Color(0.55, 0.55, 0.6)
HEAD = colors.Color(0.92, 0.93, 0.96)
PALETTE = [colors.Color(*c) for c in ((0.16, 0.38, 0.71), (0.20, 0.62, 0.38),
                                      (0.85, 0.50, 0.10), (0.60, 0.25, 0.60),
                                      (0.45, 0.45, 0.45), (0.75, 0.20, 0.20),
                                      (0.10, 0.60, 0.65), (0.55, 0.45, 0.20))]
STATES = {"final": "已定稿", "live": "本周进行中（实时数据，尚未定稿）"}
WEEKDAYS = "一二三四五六日"


def _yuan(fen: int) -> str:
    return fen_to_yuan_grouped(fen)


def _cell(tally: dict) -> str:
    return f"{tally['count']} 笔<br/>{_yuan(tally['total_fen'])}"


class _Styles:
    def __init__(self, font: str) -> None:
        self.title = ParagraphStyle("title", fontName=font, fontSize=16, leading=21,
                                    textColor=INK, wordWrap="CJK")
        self.heading = ParagraphStyle("heading", fontName=font, fontSize=11.5, leading=15,
                                      textColor=INK, spaceBefore=5 * mm, spaceAfter=2 * mm,
                                      wordWrap="CJK")
        self.body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12,
                                   textColor=INK, wordWrap="CJK")
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5,
                                   textColor=INK, wordWrap="CJK")
        self.num = ParagraphStyle("num", parent=self.cell, alignment=2)


def _table(rows: list[list], widths: list[float], font: str) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("GRID", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _pie(report: dict, font: str) -> Drawing:
    drawing = Drawing(78 * mm, 70 * mm)
    drawing.add(String(0, 66 * mm, "按缴款渠道（已缴款金额）", fontName=font, fontSize=9))
    channels = [c for c in report["by_channel"] if c["total_fen"] > 0]
    if not channels:
        drawing.add(String(0, 30 * mm, "本周无缴款", fontName=font, fontSize=9))
        return drawing
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 14 * mm, 24 * mm, 38 * mm, 38 * mm
    pie.data = [c["total_fen"] / 100 for c in channels]
    pie.labels = None
    pie.slices.strokeColor = colors.white
    for i in range(len(channels)):
        pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
    drawing.add(pie)
    legend = Legend()
    legend.x, legend.y = 2 * mm, 19 * mm
    legend.fontName, legend.fontSize, legend.dy, legend.dx = font, 7.5, 6, 6
    legend.deltay, legend.columnMaximum = 9, 4
    legend.alignment = "right"
    legend.colorNamePairs = [
        (PALETTE[i % len(PALETTE)],
         f"{CHANNEL_NAMES.get(c['channel'], c['channel'])}  {c['count']} 笔  {_yuan(c['total_fen'])} 元")
        for i, c in enumerate(channels)]
    drawing.add(legend)
    return drawing


def _bars(report: dict, font: str) -> Drawing:
    drawing = Drawing(104 * mm, 70 * mm)
    drawing.add(String(0, 66 * mm, "每日开具与缴款（元）", fontName=font, fontSize=9))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 16 * mm, 10 * mm, 86 * mm, 48 * mm
    chart.data = [[d["notes_issued"]["total_fen"] / 100 for d in report["days"]],
                  [d["paid"]["total_fen"] / 100 for d in report["days"]]]
    chart.categoryAxis.categoryNames = [f"{d['date'][5:]}\n周{WEEKDAYS[i]}"
                                        for i, d in enumerate(report["days"])]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor, chart.bars[1].fillColor = PALETTE[0], PALETTE[1]
    chart.bars.strokeColor = None
    chart.barSpacing, chart.groupSpacing = 1, 6
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 48 * mm, 67.5 * mm
    legend.fontName, legend.fontSize, legend.columnMaximum = font, 7.5, 1
    legend.alignment = "right"
    legend.colorNamePairs = [(PALETTE[0], "开具缴款书"), (PALETTE[1], "已缴款")]
    drawing.add(legend)
    return drawing


def render_weekly_pdf(report: dict, *, font_path: str, region_name: str = "") -> bytes:
    """The report as a PDF (A4 landscape)."""
    font = register_cjk_font(font_path)
    styles = _Styles(font)
    story: list = [
        Paragraph(f"{region_name}非税收入每周一报　{report['week']}", styles.title),
        Paragraph(f"统计期间：{report['from']} 至 {report['to']}（北京时间）　"
                  f"状态：{STATES.get(report['state'], report['state'])}　"
                  f"生成时间：{report['generated_at']}　金额单位：元", styles.body),
        Spacer(1, 4 * mm),
    ]
    totals = [["项目", "笔数", "金额（元）"]] + [
        [FIGURE_NAMES[f], str(report["totals"][f]["count"]),
         _yuan(report["totals"][f]["total_fen"])] for f in FIGURES]
    summary = _table(totals, [30 * mm, 16 * mm, 32 * mm], font)
    summary.setStyle(TableStyle([("ALIGN", (1, 1), (-1, -1), "RIGHT")]))
    channel_rows = [["缴款渠道", "笔数", "金额（元）"]] + [
        [CHANNEL_NAMES.get(c["channel"], c["channel"]), str(c["count"]), _yuan(c["total_fen"])]
        for c in report["by_channel"]]
    if not report["by_channel"]:
        channel_rows.append(["本周无缴款", "", ""])
    channels = _table(channel_rows, [30 * mm, 16 * mm, 32 * mm], font)
    channels.setStyle(TableStyle([("ALIGN", (1, 1), (-1, -1), "RIGHT")]))
    kinds = report.get("discrepancies_by_kind", [])  # absent from reports kept before
    kind_rows = [["未处理对账差异", "笔数", "金额（元）"]] + [
        [k["name"], str(k["count"]), _yuan(k["total_fen"])] for k in kinds]
    if not kinds:
        kind_rows.append(["无", "", ""])
    differences = _table(kind_rows, [30 * mm, 16 * mm, 32 * mm], font)
    differences.setStyle(TableStyle([("ALIGN", (1, 1), (-1, -1), "RIGHT")]))
    story.append(Table([[[summary, Spacer(1, 4 * mm), channels, Spacer(1, 4 * mm),
                          differences], _pie(report, font),
                         _bars(report, font)]], colWidths=[84 * mm, 80 * mm, 104 * mm],
                       style=[("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    story.append(Paragraph("按执收单位", styles.heading))
    unit_rows: list[list] = [[Paragraph("单位", styles.cell)] + [
        Paragraph(FIGURE_NAMES[f], styles.cell) for f in FIGURES]]
    for unit in report["units"]:
        unit_rows.append([Paragraph(f"{unit['name'] or unit['unit_code']}<br/>{unit['unit_code']}",
                                    styles.cell)]
                         + [Paragraph(_cell(unit[f]), styles.num) for f in FIGURES])
    if not report["units"]:
        unit_rows.append([Paragraph("本周无记录", styles.cell)] + [""] * len(FIGURES))
    story.append(_table(unit_rows, [52 * mm] + [24 * mm] * len(FIGURES), font))

    story.append(Paragraph("按单位与收费项目", styles.heading))
    item_rows: list[list] = [[Paragraph(t, styles.cell) for t in ("单位", "项目编码", "项目名称")]
                             + [Paragraph(FIGURE_NAMES[f], styles.cell) for f in ITEM_FIGURES]]
    for item in report["items"]:
        item_rows.append([Paragraph(item["unit_code"], styles.cell),
                          Paragraph(item["item_code"], styles.cell),
                          Paragraph(item["name"], styles.cell)]
                         + [Paragraph(_cell(item[f]), styles.num) for f in ITEM_FIGURES])
    if not report["items"]:
        item_rows.append([Paragraph("本周无记录", styles.cell)] + [""] * (2 + len(ITEM_FIGURES)))
    story.append(_table(item_rows, [34 * mm, 30 * mm, 58 * mm] + [24 * mm] * len(ITEM_FIGURES),
                        font))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=14 * mm,
                            rightMargin=14 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"每周一报 {report['week']}", author=region_name)

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(RULE)
        canvas.drawRightString(landscape(A4)[0] - 14 * mm, 7 * mm,
                               f"每周一报 {report['week']}　第 {document.page} 页")
        canvas.restoreState()

    with SAVE_LOCK:  # the shared font's subsetting is not thread-safe (pdf_render)
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


class PdfReportRenderer:
    """ReportRenderer: the weekly report's PDF, with the deployment's CJK font."""

    def __init__(self, font_path: str, region_name: str = "") -> None:
        self._font_path = font_path
        self._region_name = region_name

    def render_weekly(self, report: dict) -> bytes:
        return render_weekly_pdf(report, font_path=self._font_path,
                                 region_name=self._region_name)
