"""The weekly report as the finance console shows it: a view-model of ``services/reports``.

``report_page`` gives the template (``console/finance_report.html``) everything already
formatted: the figures in yuan (exact, from the fen), the week's neighbours, and the charts as
numbers the template draws as inline SVG (bars scaled to the largest day; the channels' share
as stacked segments), so the page needs no script and no outside resource.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.money import fen_to_yuan_grouped
from chalicelib.domain.reports import (
    CHANNEL_NAMES,
    FIGURE_NAMES,
    FIGURES,
    ITEM_FIGURES,
    parse_week,
    week_of,
)
from chalicelib.services.ports import Ports
from chalicelib.services.reports import weekly_report

WEEKDAYS = "一二三四五六日"
CHART_W, CHART_H = 560, 180
COLOURS = ("#0b57d0", "#1a7f37", "#bc4c00", "#8250df", "#57606a", "#cf222e", "#0a7ea4",
           "#7d4e00")


def report_page(deps: Ports, week_text: str | None, scope: str = "") -> dict[str, Any]:
    """The page's context for ``week_text`` (default: the week running now)."""
    week = parse_week(week_text) if week_text else week_of(deps.clock())
    body, state = weekly_report(deps, week.label, "json", scope)
    report = json.loads(body)
    days = report["days"]
    peak = max([d["notes_issued"]["total_fen"] for d in days]
               + [d["paid"]["total_fen"] for d in days] + [1])
    slot = CHART_W / 7
    bars = []
    for i, d in enumerate(days):
        for j, figure in enumerate(("notes_issued", "paid")):
            fen = d[figure]["total_fen"]
            height = round(CHART_H * fen / peak, 1)
            bars.append({"x": round(i * slot + 10 + j * (slot - 20) / 2, 1),
                         "y": round(CHART_H - height, 1), "w": round((slot - 24) / 2, 1),
                         "h": height, "colour": COLOURS[j],
                         "label": f"{d['date']} {FIGURE_NAMES[figure]} {fen_to_yuan_grouped(fen)} 元"})
    paid = report["totals"]["paid"]["total_fen"] or 1
    offset, segments = 0.0, []
    for i, c in enumerate(report["by_channel"]):
        width = round(CHART_W * c["total_fen"] / paid, 1)
        segments.append({"x": offset, "w": width, "colour": COLOURS[i % len(COLOURS)],
                         "name": CHANNEL_NAMES.get(c["channel"], c["channel"]),
                         "count": c["count"], "yuan": fen_to_yuan_grouped(c["total_fen"])})
        offset += width
    return {
        "report": report, "state": state, "week": week.label,
        "previous": week.previous().label, "next": week.next().label,
        "has_next": week.next().state(deps.clock()) != "future",
        "figures": [(f, FIGURE_NAMES[f]) for f in FIGURES],
        "item_figures": [(f, FIGURE_NAMES[f]) for f in ITEM_FIGURES],
        "yuan": fen_to_yuan_grouped,
        "day_labels": [{"x": round(i * slot + slot / 2, 1),
                        "text": f"{d['date'][5:]} 周{WEEKDAYS[i]}"} for i, d in enumerate(days)],
        "bars": bars, "segments": segments, "chart_w": CHART_W, "chart_h": CHART_H,
        "peak_yuan": fen_to_yuan_grouped(peak if peak > 1 else 0),
        "csv_url": f"/v1/admin/reports/weekly/{week.label}.csv",
        "pdf_url": f"/v1/admin/reports/weekly/{week.label}.pdf",
    }
