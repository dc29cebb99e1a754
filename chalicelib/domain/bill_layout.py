"""The layout of a fiscal bill (财政电子票据) as printed: pages of drawing operations
(``layout.Page``) that the PDF renderer and the OFD writer both draw, so every format shows the
same page.

An A5 landscape page (210 × 148 mm): the title under the finance department's oval 监制 seal, the
verification QR code, the four key elements (票据代码, 票据号码, 校验码, 开票日期), the payer, the
ruled items table, the total in capitals and figures, the remark, the issuing unit under its
round seal (its uploaded image, or one drawn), checker and handling person. Up to 20 items fit
on one page (rows shrink past 8); more continue on further pages, numbered. A status
(已冲红, 已作废) is boxed in the top right corner and stamped across every page.

The bill's template (``bill_templates``, recorded on the bill) decides what differs by kind: how
the payer is called (交款人, 捐赠人), the block of extra fields between the payer and the items
(就诊信息, 住院信息, 捐赠信息, 往来信息: a heading cell, then the fields three to a row, a long
text a row of its own), the columns of the items table, and the fixed remarks printed under the
bill's own remark. The default template (every bill issued before templates) draws the page as
it always was. With a block, fewer items fit on a page (their rows never drop below 2.6 mm).
"""

from __future__ import annotations

from chalicelib.domain import bill_templates
from chalicelib.domain.bill_templates import BillTemplate, Column
from chalicelib.domain.bills import Bill
from chalicelib.domain.layout import PT, Colour, FontMetrics, Page, Sheet, round_rect, table
from chalicelib.domain.layout_seals import SEAL_RED, oval_seal, round_seal, stamp
from chalicelib.domain.money import fen_to_capitals, fen_to_yuan
from chalicelib.domain.notes import Item

PAGE_W, PAGE_H = 210.0, 148.0
LEFT, RIGHT = 10.0, 200.0
ITEMS_PER_PAGE = 20
FORM: Colour = (0.50, 0.16, 0.13)  # the printed form's brown-red rules and labels, never seal red
INK: Colour = (0.08, 0.08, 0.1)
TABLE_TOP = 49.0  # without a block of extra fields
TABLE_BOTTOM = 121.0
SEAL_CENTRE_Y, SEAL_RADIUS = 131.0, 13.5  # the unit's seal, over the 收款单位 line
CHECKER_X = 118.0  # where 复核人 starts on the signatures line, from LEFT
BLOCK_ROW = 5.0  # the height of a row of extra fields
BLOCK_COLUMNS = 3  # fields to a row; a long text takes a row of its own
WIDE_TEXT = 20  # a text field allowed more characters than this is long
MIN_ROW = 2.6  # the lowest an item row may get (20 items on a page without a block)
FIXED_REMARK_LINE = 3.4  # the remark cell grows by this for each fixed remark


def layout_bill(bill: Bill, *, metrics: FontMetrics, verify_url: str, supervisor_name: str,
                status_text: str | None = None, unit_seal_png: bytes | None = None,
                unit_seal: bool = True) -> list[Page]:
    """The pages of ``bill``; ``verify_url`` goes into the QR code, ``supervisor_name`` (the
    finance department) onto the 监制 seal, ``unit_seal_png`` (the unit's uploaded seal) over
    the unit's name instead of a drawn seal. Without ``unit_seal`` the unit's seal is left off
    the pages: a sealed OFD shows it as its electronic seal's appearance instead, in
    ``unit_seal_box``."""
    tpl = bill.template
    rows = _block_rows(tpl, bill)
    top = TABLE_TOP + (len(rows) * BLOCK_ROW + 1.5 if rows else 0.0)
    per_page = _items_per_page(tpl, top)
    chunks = [bill.items[k:k + per_page]
              for k in range(0, len(bill.items), per_page)] or [()]
    pages = []
    for number, items in enumerate(chunks, start=1):
        sheet = Sheet(PAGE_W, PAGE_H, metrics)
        _header(sheet, bill, supervisor_name, verify_url, tpl.payer_label)
        _footer(sheet, bill, unit_seal_png, unit_seal)  # before the table: its seal lies under
        # the text
        if rows:
            _block(sheet, tpl, rows, TABLE_TOP, top)
        _table(sheet, bill, items, tpl, top)
        if len(chunks) > 1:
            sheet.text(f"第{number}页/共{len(chunks)}页", RIGHT, 143, 7 * PT, FORM, align="r")
        if status_text:
            _status(sheet, status_text)
        pages.append(sheet.page())
    return pages


def _label_value(sheet: Sheet, x: float, y: float, label: str, value: str,
                 size: float = 9 * PT) -> float:
    """A brown label and its black value; return the x where the value ends."""
    x = sheet.text(label, x, y, size, FORM)
    return sheet.text(value, x, y, size, INK)


def _cell(item: Item, column: Column) -> str:
    return {"item_code": item.item_code, "name": item.name, "unit": item.unit or "",
            "quantity": item.quantity, "standard": fen_to_yuan(item.standard_fen),
            "amount": fen_to_yuan(item.amount_fen)}[column.key]


def _block_rows(tpl: BillTemplate, bill: Bill) -> list[list[tuple[str, str]]]:
    """The extra fields present, as rows of (label, value): three to a row; a long text is a
    row of its own (a row of one field spans the block)."""
    wide = {f.label for f in tpl.fields if f.type == "text" and f.max_length > WIDE_TEXT}
    rows: list[list[tuple[str, str]]] = []
    open_row = False  # whether the last row takes more fields
    for label, value in bill_templates.labelled(tpl, bill.extra):
        if label in wide:
            rows.append([(label, value)])
            open_row = False
        elif open_row and len(rows[-1]) < BLOCK_COLUMNS:
            rows[-1].append((label, value))
        else:
            rows.append([(label, value)])
            open_row = True
    return rows


def _remark_h(items: int, tpl: BillTemplate) -> float:
    return (10.0 if items <= 8 else 7.0) + FIXED_REMARK_LINE * len(tpl.remarks)


def _items_per_page(tpl: BillTemplate, top: float) -> int:
    """As many items as fit with rows of at least ``MIN_ROW`` (20 at most)."""
    room = TABLE_BOTTOM - top - 6.0 - 7.0 - _remark_h(ITEMS_PER_PAGE, tpl)
    return max(1, min(ITEMS_PER_PAGE, int(room / MIN_ROW + 1e-9)))


def _block(sheet: Sheet, tpl: BillTemplate, rows: list[list[tuple[str, str]]], top: float,
           bottom: float) -> None:
    """The extra fields in a ruled box: the template's heading in the left cell (as 备注's),
    the fields to its right, three to a row (a row of one spans the box)."""
    label_w = tpl.columns[0].width_mm
    thin, size = 0.5 * PT, 8.5 * PT
    sheet.rect(LEFT, top, RIGHT - LEFT, bottom - top, line_width=0.9 * PT, stroke=FORM)
    sheet.line(LEFT + label_w, top, LEFT + label_w, bottom, thin, FORM)
    sheet.text(tpl.block_title, LEFT + label_w / 2, (top + bottom) / 2 + size * 0.36, size,
               FORM, align="c")
    left, width = LEFT + label_w + 2, RIGHT - LEFT - label_w - 4
    for k, row in enumerate(rows):
        baseline = top + 0.75 + k * BLOCK_ROW + BLOCK_ROW / 2 + size * 0.36
        cell = width if len(row) == 1 else width / BLOCK_COLUMNS
        for n, (label, value) in enumerate(row):
            x = left + n * cell
            end = sheet.text(label + "：", x, baseline, size, FORM)
            sheet.fit(value, end, x + cell - 2, baseline, size, INK)


def _header(sheet: Sheet, bill: Bill, supervisor_name: str, verify_url: str,
            payer_label: str = "交款人") -> None:
    oval_seal(sheet, PAGE_W / 2, 14, 40, 20, supervisor_name, "监制章")
    size = 17.0
    while sheet.measure(bill.title, size * PT) > 128 and size > 11:
        size -= 0.5
    width = sheet.measure(bill.title, size * PT)
    sheet.text(bill.title, (PAGE_W - width) / 2, 30.5, size * PT, INK, bold=True)
    sheet.qr(verify_url, LEFT - 2, 4, 26)
    sheet.text("扫码查验", LEFT + 11, 32.5, 7 * PT, FORM, align="c")
    fields = (("票据代码：", bill.bill_code), ("票据号码：", bill.bill_number),
              ("校验码：", bill.check_code), ("开票日期：", bill.issue_date))
    for k, (label, value) in enumerate(fields):
        _label_value(sheet, LEFT + (0, 50, 103, 146)[k], 40.5, label, value)
    _label_value(sheet, LEFT, 46, f"{payer_label}统一社会信用代码：", bill.payer_credit_code or "")
    _label_value(sheet, LEFT + 103, 46, f"{payer_label}：", bill.payer_name)


def _table(sheet: Sheet, bill: Bill, items: tuple[Item, ...], tpl: BillTemplate,
           top: float = TABLE_TOP) -> float:
    """The items table (the template's columns), the total and the remark (with the template's
    fixed remarks); return the bottom of the frame."""
    remark_h = _remark_h(len(items), tpl)
    total_h, header_h = 7.0, 6.0
    rows = max(8 if top == TABLE_TOP else 5, len(items))
    row_h = (TABLE_BOTTOM - top - header_h - total_h - remark_h) / rows
    size = min(8.5 * PT, row_h * 0.78)
    columns = tpl.columns
    widths = tuple(c.width_mm for c in columns)
    body = [tuple(_cell(i, c) for c in columns) for i in items]
    body += [("",) * len(columns)] * (rows - len(items))
    y = table(sheet, LEFT, top, widths, row_h, [tuple(c.label for c in columns), *body],
              "".join(c.align for c in columns), size, header_h=header_h, rule=FORM,
              header_colour=FORM, ink=INK, header_size=8.5 * PT)
    label_w = widths[0]
    x_mid = RIGHT - 60.0  # the total in figures: the last 60 mm, whatever the columns
    thin = 0.5 * PT
    sheet.line(LEFT, y + total_h, RIGHT, y + total_h, thin, FORM)
    sheet.line(LEFT + label_w, y, LEFT + label_w, y + total_h + remark_h, thin, FORM)
    sheet.line(x_mid, y, x_mid, y + total_h, thin, FORM)
    sheet.rect(LEFT, y, RIGHT - LEFT, total_h + remark_h, line_width=0.9 * PT, stroke=FORM)
    base = y + total_h / 2 + 3.2 * PT
    sheet.text("金额合计（大写）", LEFT + label_w / 2, base, 8.5 * PT, FORM, align="c")
    sheet.text("（小写）", x_mid + 2, base, 8.5 * PT, FORM)
    sheet.text(fen_to_capitals(bill.total_fen), LEFT + label_w + 2, base, 10 * PT, INK)
    sheet.text("¥" + fen_to_yuan(bill.total_fen), RIGHT - 2, base, 10 * PT, INK, align="r")
    top = y + total_h
    sheet.text("备注", LEFT + label_w / 2, top + remark_h / 2 + 3 * PT, 8.5 * PT, FORM,
               align="c")
    fixed = FIXED_REMARK_LINE * len(tpl.remarks)
    _remark(sheet, bill.remark or "", LEFT + label_w + 2, RIGHT - 2, top, remark_h - fixed)
    for k, line in enumerate(tpl.remarks):  # under the bill's own remark, one line each,
        # to the right: clear of the unit's seal, which reaches over the cell's bottom left
        sheet.fit(line, LEFT + label_w + 2, RIGHT - 2,
                  top + remark_h - fixed + k * FIXED_REMARK_LINE + 2.2, 7.5 * PT, FORM,
                  align="r")
    return y + total_h + remark_h


def _remark(sheet: Sheet, text: str, left: float, right: float, top: float,
            height: float) -> None:
    """Wrap the remark into at most two lines inside its cell (the second squeezed to fit)."""
    size = 8.0 * PT if sheet.measure(text, 8.0 * PT) <= right - left else 7.5 * PT
    lines: list[str] = []
    line, width = "", 0.0
    for ch, advance in zip(text, sheet.metrics.advances(text, size), strict=True):
        if width + advance > right - left:
            lines.append(line)
            line, width = "", 0.0
        line += ch
        width += advance
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], "".join(lines[1:])]
    step = size + 1.5 * PT
    first = top + height / 2 - (len(lines) - 1) * step / 2 + size * 0.36
    for k, part in enumerate(lines):
        sheet.fit(part, left, right, first + k * step, size, INK)


UNIT_LABEL = "收款单位（章）："


def _unit_seal_centre(bill: Bill, metrics: FontMetrics) -> tuple[float, float, float]:
    """(cx, cy, r) of the unit's seal: centred on the printed unit name, short of 复核人."""
    start = LEFT + metrics.width(UNIT_LABEL, 9 * PT)
    room = LEFT + CHECKER_X - 3  # a long unit name is squeezed short of 复核人
    end = min(start + metrics.width(bill.issuing_unit_name, 9 * PT), room)
    return max((start + end) / 2, LEFT + 24), SEAL_CENTRE_Y, SEAL_RADIUS


def unit_seal_box(bill: Bill, metrics: FontMetrics) -> tuple[float, float, float, float]:
    """Where the unit's seal goes on every page: x, y, width, height in mm."""
    cx, cy, r = _unit_seal_centre(bill, metrics)
    return cx - r, cy - r, 2 * r, 2 * r


def _footer(sheet: Sheet, bill: Bill, unit_seal_png: bytes | None, unit_seal: bool) -> None:
    """Signatures line; the unit's seal goes on first so the text over it stays readable."""
    y = 133.0
    label = UNIT_LABEL
    start = LEFT + sheet.measure(label, 9 * PT)
    room = LEFT + CHECKER_X - 3
    cx, cy, r = _unit_seal_centre(bill, sheet.metrics)
    if unit_seal and unit_seal_png is None:
        round_seal(sheet, cx, cy, r, bill.issuing_unit_name, bottom="票据专用章")
    elif unit_seal and unit_seal_png is not None:
        sheet.image(unit_seal_png, cx - r, cy - r, 2 * r, 2 * r)
    sheet.text(label, LEFT, y, 9 * PT, FORM)
    sheet.fit(bill.issuing_unit_name, start, room, y, 9 * PT, INK)
    _label_value(sheet, LEFT + CHECKER_X, y, "复核人：", bill.checker)
    _label_value(sheet, LEFT + 156, y, "收款人：", bill.handling_person)


def _status(sheet: Sheet, status_text: str) -> None:
    """Box the status (已冲红, 已作废) in the top right corner, where text extraction and screen
    readers find it whole, and stamp it diagonally across the page."""
    size = 13 * PT
    width = sheet.measure(status_text, size)
    sheet.path(round_rect(RIGHT - width - 6, 10, width + 6, 9, 1.5), line_width=1.2 * PT,
               stroke=SEAL_RED)
    sheet.text(status_text, RIGHT - 3, 16.2, size, SEAL_RED, align="r")
    stamp(sheet, status_text, PAGE_W / 2, PAGE_H / 2 + 6, 46.0 * PT, 0.55)
