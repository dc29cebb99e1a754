"""Looking bills up: the public bill page and files, the keys, and verification by units.

A bill is found by (bill_code, bill_number) and shown only with its check code, compared in
constant time. Wrong check codes are counted per guesser (a client's address, or an
authenticated unit), overall and per bill (``limits``), so guessing is stopped (429) long
before a 62^6 space could be searched, without locking the bill's rightful holders out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from chalicelib.domain import bill_templates
from chalicelib.domain.bills import Bill
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import check_bill_reference, is_bill_code, is_bill_number
from chalicelib.domain.errors import NotFound, ServiceUnavailable, ValidationFailed
from chalicelib.domain.money import fen_to_capitals, fen_to_yuan
from chalicelib.domain.records import BillLookup, BillRecord
from chalicelib.domain.units import OfdSealing, Unit
from chalicelib.services import limits
from chalicelib.services.limits import Guesser
from chalicelib.services.links import bill_url
from chalicelib.services.ports import Ports
from chalicelib.services.seals import seal_png_of

log = logging.getLogger(__name__)


def unit_bill(deps: Ports, unit: Unit, bill_code: str, bill_number: str) -> BillRecord:
    """One of ``unit``'s own bills, by code and number (its key is the proof, no check code);
    another unit's bill is ``NotFound``, as one that does not exist."""
    if not is_bill_code(bill_code) or not is_bill_number(bill_number):
        raise ValidationFailed("票据信息格式不正确",
                               {"bill_code": "8 digits", "bill_number": "10 digits"})
    record = deps.bills.get(bill_code, bill_number)
    if record is None or record.bill.issuing_unit_code != unit.unit_code:
        raise NotFound("票据不存在", code="bill_not_found")
    return record


def find_bill(deps: Ports, bill_code: str, bill_number: str, check_code: str,
              guesser: Guesser) -> BillRecord:
    """The bill, if the three elements match; NotFound otherwise.

    Wrong codes are counted against the guesser (``limits``), never against the bill: a storm
    of wrong guesses stops its sender only, and whoever holds the right code still gets in.
    """
    found = look_up_bill(deps, bill_code, bill_number, check_code, guesser)
    assert found.record is not None
    return found.record


def look_up_bill(deps: Ports, bill_code: str, bill_number: str, check_code: str,
                 guesser: Guesser, *, reimbursement: bool = False) -> BillLookup:
    """``find_bill``, in one read: the guesser's counters and the bill (and, when asked, its
    reimbursement) come in one request, and the budget is checked before the bill is looked
    at, as ``limits.guard`` does."""
    check_bill_reference(bill_code, bill_number, check_code)
    bill_id = bill_code + bill_number
    checked = limits.budgets(deps, guesser, bill_id)
    found = deps.bills.lookup(bill_code, bill_number, [b.counter_id for b in checked],
                              reimbursement=reimbursement)
    limits.refuse_used_up(checked, found.counters)
    record = found.record
    if record is None or not hmac.compare_digest(record.bill.check_code.encode(),
                                                 check_code.encode()):
        limits.count_miss(deps, guesser, bill_id)
        raise NotFound("未查询到该票据，请核对票据代码、号码和校验码", code="bill_not_found")
    return found


def bill_view(deps: Ports, record: BillRecord) -> dict:
    bill = record.bill
    base = deps.settings.public_base_url
    query = f"check_code={bill.check_code}"
    api = f"{base}/v1/public/bills/{bill.bill_code}/{bill.bill_number}"
    return {
        "bill_code": bill.bill_code, "bill_number": bill.bill_number,
        "check_code": bill.check_code, "title": bill.title, "kind_code": bill.kind_code,
        "status": record.status.value, "issue_date": bill.issue_date, "issued_at": bill.issued_at,
        "issuing_unit": {"unit_code": bill.issuing_unit_code, "name": bill.issuing_unit_name},
        "payer": {"name": bill.payer_name, "type": bill.payer_type,
                  "credit_code": bill.payer_credit_code},
        "items": [{"item_code": i.item_code, "name": i.name, "unit": i.unit,
                   "quantity": i.quantity, "standard_fen": i.standard_fen,
                   "amount_fen": i.amount_fen} for i in bill.items],
        "total_fen": bill.total_fen, "total_yuan": fen_to_yuan(bill.total_fen),
        "total_capitals": fen_to_capitals(bill.total_fen),
        "payment_code": bill.payment_code, "payment_channel": bill.payment_channel,
        "remark": bill.remark, "handling_person": bill.handling_person, "checker": bill.checker,
        "template": {"template_id": bill.template.template_id,
                     "version": bill.template.version, "name": bill.template.name},
        "extra": bill_templates.extra_view(bill.template, bill.extra),
        "url": bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code),
        "pdf_url": f"{api}/pdf?{query}", "xml_url": f"{api}/xml?{query}",
        "ofd_url": f"{api}/ofd?{query}",
        "files": {"pdf_sha256": record.pdf.sha256, "xml_sha256": record.xml.sha256},
        "reversed_by": _split(record.links.get("reversed_by")),
        "reverses": _split(record.links.get("reverses")),
        "paper": _split(record.links.get("paper")),
        "void_reason": record.void_reason,
    }


def _split(bill_id: str | None) -> dict | None:
    return {"bill_code": bill_id[:8], "bill_number": bill_id[8:]} if bill_id else None


def bill_file(deps: Ports, record: BillRecord, kind: str) -> bytes:
    """The archived file, exactly as issued: its first version, checked against its digest."""
    archived = record.pdf if kind == "pdf" else record.xml
    body = deps.archive.get(archived.key, archived.version_id)
    if hashlib.sha256(body).hexdigest() != archived.sha256:
        log.error("archive integrity: %s differs from its recorded SHA-256", archived.key)
        raise ServiceUnavailable("票据文件暂时无法提供，请稍后再试")
    return body


# An OFD is drawn on request (tens of milliseconds of CPU), not served from the archive: however
# many times the holder of a bill's check code asks, at most this many are drawn per bill an hour.
OFD_RENDERS_PER_BILL_PER_HOUR = 30
OFD_LIMIT_MESSAGE = "本票据的 OFD 文件下载过于频繁，请一小时后再试"


def ofd_sealing(deps: Ports, bill: Bill, unit: Unit | None) -> OfdSealing | None:
    """Who seals the bill's OFD now: the issuing unit's key in force now (the signature is made
    now) and the finance department's current key of the same algorithm, which makes the
    seal. None, and the OFD goes out unsealed, when the unit has no key in force any more (a
    closed unit, a revoked key); verification then reports the OFD's pages unprotected."""
    from chalicelib.services.issuance import current_finance_key, unit_key_at

    now = deps.clock().astimezone(CHINA_TZ)
    at = now.isoformat(timespec="seconds")
    if unit is None:
        return None
    try:
        unit_key = unit_key_at(deps, unit, at)
        maker_key = current_finance_key(deps, at, unit_key.alg)
    except NotFound as exc:
        log.warning("OFD of %s goes out unsealed: %s", bill.bill_id, exc)
        return None
    return OfdSealing(unit_key=unit_key, unit_name=bill.issuing_unit_name, maker_key=maker_key,
                      maker_name=deps.settings.supervisor_name, at=now)


def bill_ofd(deps: Ports, record: BillRecord) -> bytes:
    """The bill as OFD (GB/T 33190): the layout of its PDF, with its archived XML attached byte
    for byte, drawn on request from that XML and sealed by the issuing unit (GB/T 38540:
    ``ofd_sealing``); ``RateLimited`` past the bill's hourly budget."""
    bill = record.bill
    hour = f"{deps.clock().astimezone(CHINA_TZ):%Y%m%d%H}"
    limits.limit(deps, f"bill-ofd#{bill.bill_id}#{hour}", OFD_RENDERS_PER_BILL_PER_HOUR,
                 timedelta(hours=1), OFD_LIMIT_MESSAGE)
    xml = bill_file(deps, record, "xml")
    unit = deps.units.get(bill.issuing_unit_code)
    # The seal in force when it was issued, as its archived PDF shows (services/seals).
    seal = seal_png_of(deps, unit, bill.issued_at) if unit is not None else None
    return deps.ofd_renderer.render(
        bill, verify_url=bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code),
        xml_bytes=xml, unit_seal_png=seal, sealing=ofd_sealing(deps, bill, unit))


def public_keys(deps: Ports) -> dict:
    """The finance root key and every signing key, each endorsed by the root (key_trust)."""
    from chalicelib.domain.key_trust import ROOT_USE
    from chalicelib.services.keys import root_view

    return {"root": root_view(deps),
            "keys": [k.public() for k in deps.keys.all() if k.use != ROOT_USE]}
