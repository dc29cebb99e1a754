"""The paper a collecting unit prints for a payer: a note's payment notice, a bill's 告知单.

The payment notice (缴款通知书): the unit asks for it by payment code
(``GET /v1/notes/<code>/notice.pdf``); only its own notes are found (another unit's is
``NotFound``, as when reading it). It carries the note, the unit's name, the region whose
finance department supervises it, and the pay page the QR code opens.

The 告知单 (``GET /v1/bills/<code>/<number>/notice.pdf``): for a payer with no phone to receive
the bill on, it tells the bill's code, number and check code and where to fetch it (the bill's
public link, also its QR code). Only the issuing unit gets it (another unit's bill is
``NotFound``, as one that does not exist). A voided or reversed bill still has one, saying what
became of it (and naming the red bill), since the payer may ask after it either way. Drawing a
page costs tens of milliseconds of CPU, so each unit may draw ``BILL_NOTICES_PER_UNIT_PER_HOUR``
an hour (a busy cash window prints a few hundred a day); past that, 429 until the hour ends.

The drawing is the ``NoticeRenderer`` port's (``adapters/pdf_notice.py``); this module says what
goes on it.
"""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.bills import BillStatus
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.records import BillRecord
from chalicelib.domain.units import Unit
from chalicelib.services import limits, links
from chalicelib.services.bills import unit_bill
from chalicelib.services.notes import get_unit_note
from chalicelib.services.ports import Ports

BILL_NOTICES_PER_UNIT_PER_HOUR = 2000
BILL_NOTICE_LIMIT_MESSAGE = "本单位告知单打印过于频繁，请一小时后再试"


def notice_pdf(deps: Ports, unit: Unit, payment_code: str) -> bytes:
    """The notice of ``unit``'s note ``payment_code``, as a PDF."""
    note = get_unit_note(deps, unit, payment_code)
    return deps.notice_renderer.render(
        note, unit_name=unit.name, region_name=deps.settings.region_name,
        pay_url=f"{deps.settings.public_base_url}/pay/{note.payment_code}")


def _status(record: BillRecord) -> tuple[str | None, str]:
    """What the slip says of a bill that is no longer normal: the word, and one sentence."""
    if record.status is BillStatus.VOIDED:
        return "已作废", "本票据已作废，不能作为报销凭证。"
    if record.status is BillStatus.REVERSED:
        red = record.links.get("reversed_by")
        named = f"，红字票据代码 {red[:8]}、号码 {red[8:]}" if red else ""
        return "已冲红", f"本票据已冲红{named}，不能再作为报销凭证。"
    return None, ""


def bill_notice_pdf(deps: Ports, unit: Unit, bill_code: str, bill_number: str) -> bytes:
    """The 告知单 of ``unit``'s bill, as a PDF; ``RateLimited`` past the unit's hourly budget."""
    record = unit_bill(deps, unit, bill_code, bill_number)
    hour = f"{deps.clock().astimezone(CHINA_TZ):%Y%m%d%H}"
    limits.limit(deps, f"bill-notice#{unit.unit_code}#{hour}", BILL_NOTICES_PER_UNIT_PER_HOUR,
                 timedelta(hours=1), BILL_NOTICE_LIMIT_MESSAGE)
    bill = record.bill
    status_text, status_note = _status(record)
    return deps.notice_renderer.render_bill(
        bill, bill_url=links.bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code),
        status_text=status_text, status_note=status_note)
