"""The payment notice (缴款通知书) of a note, as its collecting unit prints it for the payer.

The unit asks for it by payment code (``GET /v1/notes/<code>/notice.pdf``); only its own notes
are found (another unit's is ``NotFound``, as when reading it). The drawing is the
``NoticeRenderer`` port's (``adapters/pdf_notice.py``); this module says what goes on it: the
note, the unit's name, the region whose finance department supervises it, and the pay page
the QR code opens.
"""

from __future__ import annotations

from chalicelib.domain.units import Unit
from chalicelib.services.notes import get_unit_note
from chalicelib.services.ports import Ports


def notice_pdf(deps: Ports, unit: Unit, payment_code: str) -> bytes:
    """The notice of ``unit``'s note ``payment_code``, as a PDF."""
    note = get_unit_note(deps, unit, payment_code)
    return deps.notice_renderer.render(
        note, unit_name=unit.name, region_name=deps.settings.region_name,
        pay_url=f"{deps.settings.public_base_url}/pay/{note.payment_code}")
