"""The paper payment notice (缴款通知书) a collecting unit prints and hands to the payer.

``render_notice_pdf`` draws an A4 portrait page: the unit, the payer (named in full: this is the
payer's own paper; the phone is masked), the 20-digit payment code large and grouped for reading,
the amount in figures and capitals, the due date, the fee items, the pay QR code and the ways to
pay (scan, agent bank counter, online). Up to 20 items fit on the first page; more continue on
further pages.

``render_bill_notice_pdf`` draws the 告知单 of an issued bill, also A4 portrait: the slip a unit
hands a payer who has no phone, telling them the bill's code, number and check code (large; the
check code spaced, marked case-sensitive and spelled out, since 0/O and 1/l/I look alike on
paper), who paid how much to whom and when, and where to fetch the bill: its QR code and the
same link printed in full. A voided or reversed bill's slip says so, in a box and stamped across
the page.

``PdfNoticeRenderer`` is the ``NoticeRenderer`` port services reach both through
(``services/notices.py``).
"""

from __future__ import annotations

import io
import re

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from chalicelib.adapters.pdf_layout import draw_round_seal, draw_stamp
from chalicelib.adapters.pdf_render import (
    SAVE_LOCK,
    draw_fit,
    draw_qr,
    draw_table,
    draw_text,
    register_cjk_font,
)
from chalicelib.domain.bills import Bill
from chalicelib.domain.layout_seals import SEAL_RED
from chalicelib.domain.masking import mask_phone
from chalicelib.domain.money import fen_to_capitals, fen_to_yuan, fen_to_yuan_grouped
from chalicelib.domain.notes import Item, Note

PAGE_W, PAGE_H = 210 * mm, 297 * mm
LEFT, RIGHT = 15 * mm, 195 * mm
FIRST_PAGE_ITEMS, LATER_PAGE_ITEMS = 20, 30
FORM = (0.50, 0.16, 0.13)  # the printed form's brown-red rules and labels, never seal red
INK = (0.08, 0.08, 0.1)
COLUMNS = ("项目编码", "项目名称", "单位", "数量", "标准（元）", "金额（元）")
WIDTHS = tuple(w * mm for w in (32, 56, 16, 18, 28, 30))
ALIGNS = "lccrrr"
_TOKENS = re.compile(r" ?[!-~\u00a0]+|.")


def group_payment_code(code: str) -> str:
    """``11010126889862171593`` → ``110101 26 88986217159 3`` (region, year, sequence, check)."""
    return f"{code[:6]} {code[6:8]} {code[8:19]} {code[19:]}".strip()


def _item_row(item: Item) -> tuple[str, ...]:
    return (item.item_code, item.name, item.unit or "", item.quantity,
            fen_to_yuan(item.standard_fen), fen_to_yuan(item.amount_fen))


def _title(c: Canvas, text: str, font: str, y: float) -> None:
    size, spacing = 22.0, 2.0
    width = pdfmetrics.stringWidth(text, font, size) + spacing * (len(text) - 1)
    c.setFillColorRGB(*INK)
    c.setStrokeColorRGB(*INK)
    draw_text(c, text, (PAGE_W - width) / 2, y, font, size, bold=True, char_space=spacing)


def _cell(c: Canvas, text: str, left: float, right: float, y: float, font: str, size: float,
          colour: tuple[float, float, float], align: str = "l") -> None:
    c.setFillColorRGB(*colour)
    draw_fit(c, text, left + 2.5 * mm, right - 2.5 * mm, y, font, size, align)


# A grid's columns: label, value, and for rows split in two a second label and value.
GRID_COLUMNS = (LEFT, LEFT + 30 * mm, LEFT + 95 * mm, LEFT + 125 * mm, RIGHT)


def _rule_grid(c: Canvas, top: float, row_h: float, rows: int,
               split_rows: tuple[int, ...]) -> float:
    """Rule a form grid of ``rows`` rows from ``top``: a label column on every row, the rows
    in ``split_rows`` split into two label-value pairs; return its bottom."""
    cols = GRID_COLUMNS
    bottom = top - rows * row_h
    c.saveState()
    c.setStrokeColorRGB(*FORM)
    c.setLineWidth(0.5)
    for k in range(1, rows):
        c.line(LEFT, top - k * row_h, RIGHT, top - k * row_h)
    c.line(cols[1], top, cols[1], bottom)
    for k in split_rows:
        y0 = top - k * row_h
        c.line(cols[2], y0, cols[2], y0 - row_h)
        c.line(cols[3], y0, cols[3], y0 - row_h)
    c.setLineWidth(1)
    c.rect(LEFT, bottom, RIGHT - LEFT, top - bottom)
    c.restoreState()
    return bottom


def _info_grid(c: Canvas, note: Note, unit_name: str, region_name: str, font: str,
               top: float) -> float:
    """The ruled grid of who, how much, by when and the payment code; return its bottom."""
    row_h = 9.5 * mm
    cols = GRID_COLUMNS
    # the payment code and the capitals span the whole row
    bottom = _rule_grid(c, top, row_h, rows=5, split_rows=(0, 2, 3))
    phone = mask_phone(note.payer.phone) or "—"
    cells = [
        ("缴款人", note.payer.name, "联系电话", phone),
        ("缴款码", "", "", ""),
        ("执收单位", unit_name, "所属地区", region_name),
        ("金额（小写）", "¥" + fen_to_yuan_grouped(note.total_fen), "限缴日期",
         note.due_date or "无"),
        ("金额（大写）", fen_to_capitals(note.total_fen), "", ""),
    ]
    for k, (l1, v1, l2, v2) in enumerate(cells):
        base = top - k * row_h - row_h / 2 - 3.6
        _cell(c, l1, cols[0], cols[1], base, font, 10, FORM, "c")
        right = cols[2] if l2 else RIGHT
        _cell(c, v1, cols[1], right, base, font, 11 if k != 3 else 12, INK)
        if l2:
            _cell(c, l2, cols[2], cols[3], base, font, 10, FORM, "c")
            _cell(c, v2, cols[3], RIGHT, base, font, 11, INK)
    # The payment code, large and grouped, is what a bank clerk types in.
    code_base = top - row_h - row_h / 2 - 5.5
    c.setFillColorRGB(*INK)
    c.setFont(font, 18)
    c.drawString(cols[1] + 3 * mm, code_base, group_payment_code(note.payment_code))
    c.setFillColorRGB(*FORM)
    c.setFont(font, 8)
    c.drawRightString(RIGHT - 3 * mm, code_base + 1, "（20 位，缴款时请核对）")
    return bottom


def _items(c: Canvas, items: tuple[Item, ...], font: str, top: float, room: float,
           total: tuple[str, int] | None) -> float:
    """The items table, with a (label, fen) total row if given; return its bottom."""
    body = [_item_row(i) for i in items]
    last = [(total[0], "", "", "", "", fen_to_yuan(total[1]))] if total else []
    rows = max(8, len(body) + len(last))  # a form: at least eight ruled rows
    header_h = 8 * mm
    row_h = min(8 * mm, (room - header_h) / rows)
    body += [("",) * 6] * (rows - len(body) - len(last)) + last
    c.setFillColorRGB(*INK)
    return draw_table(c, LEFT, top, WIDTHS, row_h, [COLUMNS, *body], ALIGNS, font,
                      min(10.0, row_h * 0.72), header_h=header_h, rule_colour=FORM,
                      header_colour=FORM, header_size=10)


def _ways_to_pay(c: Canvas, note: Note, pay_url: str, region_name: str, font: str,
                 top: float) -> None:
    """The pay QR code, big, and beside it the three ways to pay."""
    size = 56 * mm
    draw_qr(c, pay_url, LEFT - 2 * mm, top - size, size)
    c.setFillColorRGB(*INK)
    c.setFont(font, 10)
    c.drawCentredString(LEFT - 2 * mm + size / 2, top - size - 5 * mm, "微信、支付宝、云闪付扫码缴款")
    x, right = LEFT + 64 * mm, RIGHT
    c.setFillColorRGB(*FORM)
    c.setFont(font, 13)
    c.drawString(x, top - 8 * mm, "缴款方式")
    nbsp_code = group_payment_code(note.payment_code).replace(" ", "\u00a0")
    ways = (
        ("一、扫码缴款", "使用微信、支付宝或云闪付扫描左侧二维码，核对缴款人和金额后缴款。"),
        ("二、银行柜台", f"到{region_name}任一非税收入代理银行网点，向柜员出示缴款码 {nbsp_code} 缴款。"),
        ("三、网上缴款", f"访问 {pay_url} ，输入缴款码缴款。"),
    )
    _steps(c, ways, x, right, top - 17 * mm, font)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``; a run of ASCII (a code, a URL) is
    kept whole unless it alone is wider than a line."""
    def fits(t: str) -> bool:
        return pdfmetrics.stringWidth(t, font, size) <= width

    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        if fits(line + token):
            line += token
            continue
        if line:
            lines.append(line.rstrip())
        line = token.lstrip()
        while not fits(line):
            cut = len(line) - 1
            while cut > 1 and not fits(line[:cut]):
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    return [*lines, line]


def _steps(c: Canvas, steps: tuple[tuple[str, str], ...], x: float, right: float, y: float,
           font: str) -> None:
    """Numbered ways (a heading, then its text wrapped and indented) from baseline ``y`` down."""
    for head, text in steps:
        c.setFillColorRGB(*INK)
        c.setFont(font, 10.5)
        c.drawString(x, y, head)
        y -= 6 * mm
        for line in _wrap(text, font, 9.5, right - x - 4 * mm):
            draw_fit(c, line, x + 4 * mm, right, y, font, 9.5)
            y -= 5 * mm
        y -= 2.5 * mm


def _footer(c: Canvas, note: Note, unit_name: str, font: str) -> None:
    """Tips for the payer, then the unit's signature line under its seal."""
    _signed_footer(c, "温馨提示：请在限缴日期前缴款，逾期可能无法缴款或产生滞纳金；缴款成功后，"
                      "可凭缴款码获取财政电子票据。请妥善保管本通知书，勿将缴款码告知他人。",
                   "执收单位（章）：", unit_name, "填制日期：", note.created_at[:10], font)


def _signed_footer(c: Canvas, tips: str, label: str, unit_name: str, date_label: str,
                   date: str, font: str) -> None:
    """The foot of a notice or slip: the tips, wrapped, then the unit's name after ``label``
    under its round seal, and the date."""
    c.setFillColorRGB(*FORM)
    c.setFont(font, 9)
    y = 54 * mm
    for line in _wrap(tips, font, 9, RIGHT - LEFT):
        c.drawString(LEFT, y, line)
        y -= 5 * mm
    x, size = 100 * mm, 11
    start = x + pdfmetrics.stringWidth(label, font, size)
    end = min(start + pdfmetrics.stringWidth(unit_name, font, size), RIGHT)
    draw_round_seal(c, (start + end) / 2, 27 * mm, 16 * mm, unit_name, font=font)
    for y, text, value in ((28 * mm, label, unit_name), (19 * mm, date_label, date)):
        c.setFillColorRGB(*FORM)
        c.setFont(font, size)
        c.drawString(x, y, text)
        c.setFillColorRGB(*INK)
        draw_fit(c, value, start, RIGHT, y, font, size)


def render_notice_pdf(note: Note, *, unit_name: str, region_name: str, pay_url: str,
                      font_path: str) -> bytes:
    """Render the payment notice of ``note`` as an A4 PDF whose QR code opens ``pay_url``."""
    font = register_cjk_font(font_path)
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1, initialFontName=font,
               initialFontSize=10)
    c.setTitle(f"非税收入缴款通知书 {note.payment_code}")
    c.setAuthor(unit_name)
    first, rest = note.items[:FIRST_PAGE_ITEMS], note.items[FIRST_PAGE_ITEMS:]
    _title(c, "非税收入缴款通知书", font, 271 * mm)
    bottom = _info_grid(c, note, unit_name, region_name, font, 260 * mm)
    c.setFillColorRGB(*FORM)
    c.setFont(font, 12)
    more = f"（共 {len(note.items)} 项，续见下页）" if rest else ""
    c.drawString(LEFT, bottom - 7 * mm, "缴款项目" + more)
    total = (f"合计（共 {len(note.items)} 项）" if rest else "合计", note.total_fen)
    _items(c, first, font, bottom - 10 * mm, 76 * mm, total)
    _ways_to_pay(c, note, pay_url, region_name, font, 124 * mm)
    _footer(c, note, unit_name, font)
    pages = [rest[k:k + LATER_PAGE_ITEMS] for k in range(0, len(rest), LATER_PAGE_ITEMS)]
    for items in pages:
        c.showPage()
        _title(c, "非税收入缴款通知书（续）", font, 270 * mm)
        c.setFillColorRGB(*INK)
        c.setFont(font, 12)
        c.drawString(LEFT, 258 * mm, "缴款码：" + group_payment_code(note.payment_code))
        _items(c, items, font, 250 * mm, 220 * mm, None)
    c.showPage()
    with SAVE_LOCK:
        c.save()
    return out.getvalue()


def spell_check_code(check_code: str) -> str:
    """``aB3`` → ``小写a 大写B 数字3``: how to type a check code read from paper."""
    def kind(ch: str) -> str:
        return "数字" if ch.isdigit() else "大写" if ch.isupper() else "小写"
    return " ".join(kind(ch) + ch for ch in check_code)


def _bill_grid(c: Canvas, bill: Bill, font: str, top: float) -> float:
    """The bill's three identifiers, large, then who paid how much to whom; return its bottom."""
    row_h = 12 * mm
    cols = GRID_COLUMNS
    # date and amount, payer and unit share a row
    bottom = _rule_grid(c, top, row_h, rows=6, split_rows=(3, 4))
    big = (("票据代码", bill.bill_code, "（8 位）"), ("票据号码", bill.bill_number, "（10 位）"),
           ("校验码", " ".join(bill.check_code), "（6 位，区分大小写）"))
    for k, (label, value, hint) in enumerate(big):
        base = top - k * row_h - row_h / 2
        _cell(c, label, cols[0], cols[1], base - 3.6, font, 11, FORM, "c")
        c.setFillColorRGB(*INK)
        c.setStrokeColorRGB(*INK)
        draw_text(c, value, cols[1] + 4 * mm, base - 7, font, 22, bold=True, char_space=1.5)
        c.setFillColorRGB(*FORM)
        c.setFont(font, 9)
        c.drawRightString(RIGHT - 3 * mm, base + (4 if k == 2 else -3), hint)
    # On paper 0/O/o and 1/l/I look alike: spell out what each character of the check code is.
    c.setFont(font, 8.5)
    c.drawRightString(RIGHT - 3 * mm, top - 2.5 * row_h - 9, spell_check_code(bill.check_code))
    paid = "¥" + fen_to_yuan_grouped(bill.total_fen)
    small = (("开票日期", bill.issue_date, "金额（小写）", paid),
             ("交款人", bill.payer_name, "开票单位", bill.issuing_unit_name),
             ("金额（大写）", fen_to_capitals(bill.total_fen), "", ""))
    for k, (l1, v1, l2, v2) in enumerate(small, start=3):
        base = top - k * row_h - row_h / 2 - 3.6
        _cell(c, l1, cols[0], cols[1], base, font, 10, FORM, "c")
        _cell(c, v1, cols[1], cols[2] if l2 else RIGHT, base, font, 11, INK)
        if l2:
            _cell(c, l2, cols[2], cols[3], base, font, 10, FORM, "c")
            _cell(c, v2, cols[3], RIGHT, base, font, 11, INK)
    return bottom


def _where_to_fetch(c: Canvas, bill_url: str, font: str, top: float) -> float:
    """The bill's QR code, big, beside the ways to get and check the bill, then its link in
    full on one line; return the bottom."""
    size = 58 * mm
    draw_qr(c, bill_url, LEFT - 2 * mm, top - size, size)
    c.setFillColorRGB(*INK)
    c.setFont(font, 10)
    c.drawCentredString(LEFT - 2 * mm + size / 2, top - size - 5 * mm, "扫码查看、下载电子票据")
    x = LEFT + 66 * mm
    c.setFillColorRGB(*FORM)
    c.setFont(font, 13)
    c.drawString(x, top - 8 * mm, "如何获取票据")
    ways = (
        ("一、扫码获取", "用手机扫描左侧二维码，即可查看、下载本张财政电子票据（PDF）。"),
        ("二、网上获取", "在电脑上输入下方链接（票据代码、号码和校验码已在其中），"
                       "即可查看、下载和查验本张票据。"),
        ("三、报销查验", "报销时向报销单位提供票据代码、号码和校验码，报销单位可据此查验票据真伪。"),
    )
    _steps(c, ways, x, RIGHT, top - 17 * mm, font)
    y = top - size - 14 * mm
    c.setFillColorRGB(*FORM)
    c.setFont(font, 10)
    c.drawString(LEFT, y, "票据链接：")
    c.setFillColorRGB(*INK)
    draw_fit(c, bill_url, LEFT + pdfmetrics.stringWidth("票据链接：", font, 10) + 1 * mm,
             RIGHT, y, font, 11)
    return y


def _bill_status(c: Canvas, status_text: str, status_note: str, font: str, top: float) -> None:
    """A bill no longer normal: a red box saying what it is now, and the word across the page."""
    c.saveState()
    c.setFillColorRGB(*SEAL_RED)
    c.setStrokeColorRGB(*SEAL_RED)
    c.setLineWidth(1.2)
    c.roundRect(LEFT, top - 13 * mm, RIGHT - LEFT, 13 * mm, 1.5 * mm)
    label = f"票据状态：{status_text}"
    c.setFont(font, 13)
    c.drawString(LEFT + 4 * mm, top - 8.5 * mm, label)
    note_left = LEFT + 10 * mm + pdfmetrics.stringWidth(label, font, 13)
    draw_fit(c, status_note, note_left, RIGHT - 4 * mm, top - 8.2 * mm, font, 10)
    c.restoreState()
    draw_stamp(c, status_text, PAGE_W / 2, 190 * mm, font, 60.0, 0.35)


def _bill_footer(c: Canvas, bill: Bill, font: str) -> None:
    """Tips for the payer, then the issuing unit's signature line under its seal."""
    _signed_footer(c, "温馨提示：本告知单不是票据，不能作为报销凭证；请凭票据代码、号码和校验码获取"
                      "财政电子票据。校验码是获取本票据的凭证，请妥善保管本告知单，勿将校验码告知无关人员。",
                   "开票单位（章）：", bill.issuing_unit_name, "开票日期：", bill.issue_date, font)


def render_bill_notice_pdf(bill: Bill, *, bill_url: str, font_path: str,
                           status_text: str | None = None, status_note: str = "") -> bytes:
    """Render the 告知单 of ``bill`` as a one-page A4 PDF whose QR code opens ``bill_url``;
    ``status_text`` (已作废, 已冲红) and ``status_note`` say what became of the bill."""
    font = register_cjk_font(font_path)
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1, initialFontName=font,
               initialFontSize=10)
    c.setTitle(f"财政电子票据告知单 {bill.bill_code}-{bill.bill_number}")
    c.setAuthor(bill.issuing_unit_name)
    _title(c, "财政电子票据告知单", font, 271 * mm)
    c.setFillColorRGB(*FORM)
    c.setFont(font, 12)
    c.drawCentredString(PAGE_W / 2, 262 * mm, bill.title)
    bottom = _bill_grid(c, bill, font, 255 * mm)
    link_line = _where_to_fetch(c, bill_url, font, bottom - 8 * mm)
    if status_text:
        _bill_status(c, status_text, status_note, font, link_line - 6 * mm)
    _bill_footer(c, bill, font)
    c.showPage()
    with SAVE_LOCK:
        c.save()
    return out.getvalue()


class PdfNoticeRenderer:
    """NoticeRenderer (``services/ports.py``): ``render_notice_pdf`` and
    ``render_bill_notice_pdf`` with one font file."""

    def __init__(self, font_path: str) -> None:
        self._font_path = font_path

    def render(self, note: Note, *, unit_name: str, region_name: str, pay_url: str) -> bytes:
        return render_notice_pdf(note, unit_name=unit_name, region_name=region_name,
                                 pay_url=pay_url, font_path=self._font_path)

    def render_bill(self, bill: Bill, *, bill_url: str, status_text: str | None = None,
                    status_note: str = "") -> bytes:
        return render_bill_notice_pdf(bill, bill_url=bill_url, font_path=self._font_path,
                                      status_text=status_text, status_note=status_note)
