"""Units' seals (印章): set one, see it on a sample bill, and find the one a bill carries.

The finance department (``PUT /v1/admin/units/{code}/seal``, or the finance console) or a unit
itself (``PUT /v1/units/me/seal``) sets a seal image; every bill the unit issues from
``SEAL_DELAY`` later carries it, in the PDF archived at issuance and in every OFD drawn later.
A bill's seal is the one in force at its issue time (``Unit.seal_at``), never simply the
unit's current one: setting a new seal changes no bill already issued, in any format.

Why the delay: a warm process keeps its copy of a unit for up to a minute
(``adapters/cached_units``). A seal in force at once could be missing from the copy an issuance
job draws its PDF from, while an OFD drawn later from a fresh copy would carry it: the two
formats of one bill would differ. From ``SEAL_DELAY`` on, every copy in use holds the new seal.

- **Checked whole before it is kept** (``domain/seal_images``: size, PNG by its bytes, every
  chunk's CRC, dimensions, the image data inflated within a bound), then drawn once on a sample
  bill: a file the renderer cannot draw is refused now, not found by an issuance job later.
- **Kept like a bill's files**: in the archive (write-once, Object Lock in production) under
  ``seals/<unit_code>/<sha256>.png``; the same image twice is the same object. The unit's row
  names it and keeps the history ``[{key, since}]``.
- **Audited**: ``set_seal`` with the image's digest, size, dimensions and the previous seal.
- **A sample bill** (样张) shows a seal before or after it is set: a bill of the unit drawn
  with made-up payer and items, numbered 0000000000, stamped 样张 across the page and carrying
  an unsigned XML, so it can never pass for a bill.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from chalicelib.domain import bill_xml
from chalicelib.domain.bills import BILL_KINDS, Bill
from chalicelib.domain.china_time import china_iso
from chalicelib.domain.notes import Item
from chalicelib.domain.seal_images import SealImage, check_seal_png
from chalicelib.domain.units import KEY_CACHE_SECONDS, Seal, Unit
from chalicelib.services.changes import record_change
from chalicelib.services.ports import Ports

SAMPLE_STAMP = "样张"
SEAL_DELAY = timedelta(seconds=2 * KEY_CACHE_SECONDS)  # = 2 × the unit cache's lifetime


def sample_bill(unit: Unit, region_name: str, at: datetime) -> Bill:
    """A bill of ``unit`` that no one paid: what its bills look like, nothing more."""
    kind = BILL_KINDS[unit.bill_kind]
    items = (Item(item_code="001", name="样张收费项目", quantity="1", standard_fen=10000,
                  amount_fen=10000, unit="次"),)
    return Bill(bill_code="00000000", bill_number="0000000000", check_code="000000",
                kind_code=kind.code, title=kind.title.format(region=region_name),
                region_code=unit.region_code or "000000", issued_at=china_iso(at),
                issuing_unit_code=unit.unit_code, issuing_unit_name=unit.name,
                payer_name="样张缴款人", payer_type="individual", payer_credit_code=None,
                items=items, total_fen=10000, payment_code="0" * 20,
                payment_channel="bank", channel_txn_id="sample",
                handling_person=unit.handling_person or unit.name,
                checker=unit.checker or "系统复核", remark="样张，不是票据，不作报销凭证")


def sample_pdf(deps: Ports, unit: Unit, png: bytes | None) -> bytes:
    """The sample bill of ``unit`` drawn with the seal image ``png`` (None: the drawn seal)."""
    bill = sample_bill(unit, deps.settings.region_name, deps.clock())
    return deps.renderer.render(
        bill, verify_url=deps.settings.public_base_url.rstrip("/") + "/console",
        xml_bytes=bill_xml.serialize(bill_xml.build_document(bill)),
        status_text=SAMPLE_STAMP, unit_seal_png=png)


def checked_sample(deps: Ports, unit: Unit, png: bytes) -> tuple[SealImage, bytes]:
    """Check a seal image and draw the sample bill with it: the facts and the sample's PDF.
    ``ValidationFailed`` when the image is not acceptable or cannot be drawn."""
    image = check_seal_png(png)
    return image, sample_pdf(deps, unit, png)  # the renderer's ValidationFailed if it cannot


def set_seal(deps: Ports, unit: Unit, png: bytes, who: str) -> Seal:
    """Make ``png`` the unit's seal on every bill issued from now on; the seal (its archive
    key and since when)."""
    image, _ = checked_sample(deps, unit, png)
    digest = hashlib.sha256(png).hexdigest()
    key = f"seals/{unit.unit_code}/{digest}.png"
    deps.archive.put_once(key, png, "image/png")
    seal = Seal(key=key, since=china_iso(deps.clock() + SEAL_DELAY))
    deps.units.add_seal(unit.unit_code, seal)
    record_change(deps, who, "set_seal", unit.unit_code, {
        "sha256": digest, "bytes": image.size, "width": image.width, "height": image.height,
        "since": seal.since, "previous": unit.seal_key})
    return seal


def seal_png_of(deps: Ports, unit: Unit, moment: str) -> bytes | None:
    """The seal image a bill of ``unit`` issued at ``moment`` carries (None: drawn)."""
    key = unit.seal_at(moment)
    return deps.archive.get(key) if key else None


def seal_view(unit: Unit) -> dict | None:
    """The unit's current seal as the API shows it (None: none set, bills draw one)."""
    if not unit.seal_key:
        return None
    current = unit.seals[-1] if unit.seals else Seal(unit.seal_key, "")
    return {**current.public(), "history": [s.public() for s in unit.seals]}
