"""Issuing the fiscal bill of a paid note: number, check code, two signatures, PDF, archive.

Runs as an SQS job and is idempotent: a second run for the same note finds the number reserved
and the files archived (keys are never overwritten), and converges on the same bill.

Steps: reserve number → compose bill → unit signs → finance signs → XML → PDF (XML attached) →
archive both → bill record, note issued and the payer's index key in one write → enqueue SMS
(when the payer gave a phone).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain import bill_xml
from chalicelib.domain.bills import Bill, BillStatus, bill_from_note
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import new_check_code
from chalicelib.domain.errors import BillNotVerified, NotFound, ServiceUnavailable
from chalicelib.domain.notes import BillRef, Note, NoteStatus
from chalicelib.domain.records import ArchivedFile, BillRecord, Reservation
from chalicelib.domain.units import SigningKey, Unit
from chalicelib.services.links import bill_url
from chalicelib.services.phones import phone_key
from chalicelib.services.ports import Ports
from chalicelib.services.seals import seal_png_of

log = logging.getLogger(__name__)
# The uploads run beside the issuing thread (start_archiving): a bill's XML while its PDF is
# drawn, its PDF while the batch's next bill is signed and drawn; the local worker runs four
# jobs at once, so a few threads wait on the network for all of them.
_UPLOADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="archive-upload")

def _in_force(key: SigningKey, at: str) -> bool:
    moment = datetime.fromisoformat(at)
    return datetime.fromisoformat(key.not_before) <= moment and (
        key.not_after is None or moment < datetime.fromisoformat(key.not_after))


def current_finance_key(deps: Ports, now: str, alg: str | None = None) -> SigningKey:
    """The finance department's signing key in force at ``now`` (the newest, after rotation).

    With ``alg``, its key of that algorithm when it has one in force: a bill its unit signs
    with SM2 is countersigned with SM2 too (a 国密 bill end to end), one signed ES256 with ES256.
    A finance department without a key of that algorithm countersigns with its newest key.
    """
    candidates = [k for k in deps.keys.all() if k.use == "finance" and _in_force(k, now)]
    if not candidates:
        raise NotFound("no finance department signing key in force")
    same = [k for k in candidates if k.alg == alg]
    return max(same or candidates, key=lambda k: k.not_before)


def unit_key_at(deps: Ports, unit: Unit, sign_time: str) -> SigningKey:
    """The unit's signing key in force at ``sign_time`` (the bill's time, taken with its number).

    Not simply the unit's current key: a rotation between the reservation and the signing would
    otherwise sign with a key that was not yet in force at ``SignTime``, which never verifies.
    The unit's current key when it was in force then (two keys may be in force from the same
    moment: a unit moved to a key of another algorithm by the seed), else the newest one.
    """
    candidates = [k for k in deps.keys.all()
                  if k.use == "unit" and k.owner == unit.unit_code and _in_force(k, sign_time)]
    if not candidates:
        raise NotFound(f"unit {unit.unit_code} had no signing key in force at {sign_time}")
    return max(candidates, key=lambda k: (k.not_before, k.kid == unit.signing_kid))


def check_signatures(deps: Ports, xml: bytes) -> None:
    """Both signatures of ``xml`` must hold with the published keys, else ``BillNotVerified``."""
    report = deps.bill_files.verify(xml, {k.kid: k.public() for k in deps.keys.all()})
    if not report.ok:
        raise BillNotVerified("signed bill does not verify: " + "; ".join(report.failed()))


def sign_document(deps: Ports, bill: Bill, unit_key: SigningKey, finance_key: SigningKey) -> bytes:
    """Build the XML and add the unit's then the finance department's signature."""
    root = bill_xml.build_document(bill)
    states = bill_xml.SignedStates(root)  # the bill written once for both signing inputs
    sign_time = bill.issued_at
    for earlier, (role, key) in enumerate((("unit", unit_key), ("supervisor", finance_key))):
        message = states.signing_input(earlier, role, key.kid, key.alg, sign_time)
        value = deps.signer.sign(key.key_ref, message, key.alg)
        bill_xml.append_signature(root, bill_xml.SignatureInfo(
            role=role, kid=key.kid, alg=key.alg, sign_time=sign_time,
            value_b64=base64.b64encode(value).decode()))
    return bill_xml.serialize(root)


def archive_key(bill: Bill, ext: str) -> str:
    return f"bills/{bill.bill_code}/{bill.bill_number}/{bill.bill_code}-{bill.bill_number}.{ext}"


def archive_bill(deps: Ports, bill: Bill, unit: Unit) -> tuple[ArchivedFile, ArchivedFile]:
    """Sign the bill twice, render its PDF and archive both; safe to run again for one bill.

    If an earlier run archived the XML already (with other signature bytes: neither ECDSA nor
    SM2 is deterministic), that XML is kept and the PDF is rendered from it. The unit signs with its
    key in force at the bill's time, and both signatures are verified with the published keys
    before anything is archived (``BillNotVerified`` otherwise, so the job runs again).
    """
    xml_file, pdf_upload = start_archiving(deps, bill, unit)
    return xml_file, pdf_upload.result()


def start_archiving(deps: Ports, bill: Bill, unit: Unit,
                    ) -> tuple[ArchivedFile, Future[ArchivedFile]]:
    """``archive_bill`` with the PDF's upload left running: the XML archived, and the PDF's
    upload (started once the XML is archived). A batch draws its next bill meanwhile; a bill
    is saved only once its upload is done (``issue_bills``)."""
    unit_key = unit_key_at(deps, unit, bill.issued_at)
    signed = sign_document(deps, bill, unit_key,
                           current_finance_key(deps, bill.issued_at, unit_key.alg))
    check_signatures(deps, signed)  # before anything is archived: the archive is write-once
    seal = seal_png_of(deps, unit, bill.issued_at)  # the seal in force then, not the newest
    # The PDF is drawn while the XML is on its way to the archive (drawing is CPU, the upload
    # waits on the network), from the XML just signed; it is archived only once the XML is, so
    # the order of the writes is unchanged. Should an earlier run have archived another XML
    # for this bill, the PDF is drawn again from that one.
    upload = _UPLOADS.submit(deps.archive.put_once, archive_key(bill, "xml"), signed,
                             "application/xml")
    try:
        pdf = render_pdf(deps, bill, signed, unit_seal_png=seal)
    finally:
        xml_file = upload.result()  # its failure first: the XML is what a retry must find
    if xml_file.sha256 != hashlib.sha256(signed).hexdigest():
        pdf = render_pdf(deps, bill, deps.archive.get(xml_file.key), unit_seal_png=seal)
    return xml_file, _UPLOADS.submit(deps.archive.put_once, archive_key(bill, "pdf"), pdf,
                                     "application/pdf")


def issue_bill(deps: Ports, payment_code: str) -> BillRef | None:
    """Issue the bill of a paid note (or finish an issuance that stopped midway): the bill, or
    None when there is nothing to issue. Raises what stopped it (the job then runs again)."""
    outcome = issue_bills(deps, [payment_code])[payment_code]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


type Outcome = BillRef | None | Exception


@dataclass
class _Issuing:
    """One note of a batch on its way to a bill."""

    note: Note
    unit: Unit
    bill: Bill | None = None
    xml_file: ArchivedFile | None = None
    pdf_upload: Future[ArchivedFile] | None = None
    record: BillRecord | None = None
    ref: BillRef | None = None


def issue_bills(deps: Ports, payment_codes: Sequence[str],
                notes: Mapping[str, Note] | None = None) -> dict[str, Outcome]:
    """Issue the bills of several paid notes together, each exactly once; by payment code, the
    bill issued (or found issued), None when there is nothing to issue, or the exception that
    stopped that note (its job must run again; the others are not held back by it).

    Each note's guarantees are those of issuing it alone: its number is taken with it, both
    its files are archived before its bill is saved, its text is queued once its bill is
    saved. What is shared is the requests: the notes are read in one request, the numbers of
    one unit and kind taken in one transaction, the bills saved (each with its note) in one
    transaction, the texts queued in one request. When a shared write is refused, its notes
    go one by one, as alone, so that one note's trouble is only its own. ``notes``: the notes
    as the caller has just read them (``deps.notes.get_many``), else they are read here.
    """
    codes = list(dict.fromkeys(payment_codes))
    outcomes: dict[str, Outcome] = {}
    try:
        if notes is None:
            notes = deps.notes.get_many(codes)
    except Exception as exc:  # noqa: BLE001 - every job of the batch runs again
        return dict.fromkeys(codes, exc)
    issuing: list[_Issuing] = []
    for code in codes:
        note = notes.get(code)
        try:
            if note is None:
                log.warning("issue job for unknown note %s", code)
                outcomes[code] = None
            elif note.status is NoteStatus.ISSUED and note.bill is not None:
                outcomes[code] = _finish_issued(deps, note)
            elif note.status is not NoteStatus.PAID:
                log.info("note %s is %s: nothing to issue", code, note.status.value)
                outcomes[code] = None
            else:
                issuing.append(_Issuing(note, _signing_unit(deps, note)))
        except Exception as exc:  # noqa: BLE001 - this note's job runs again, alone
            log.exception("issuing %s failed", code)
            outcomes[code] = exc
    _reserve(deps, issuing, outcomes)
    archiving = [j for j in issuing if j.bill is not None]
    for job in archiving:
        try:
            _archive(deps, job)
        except Exception as exc:  # noqa: BLE001 - this note's job runs again, alone
            log.exception("issuing %s failed", job.note.payment_code)
            outcomes[job.note.payment_code] = exc
    for job in archiving:  # every PDF archived before any bill of the batch is saved
        try:
            _archived(job)
        except Exception as exc:  # noqa: BLE001 - this note's job runs again, alone
            log.exception("archiving the PDF of %s failed", job.note.payment_code)
            outcomes[job.note.payment_code] = exc
    _save(deps, [j for j in issuing if j.record is not None and
                 j.note.payment_code not in outcomes], outcomes)
    return outcomes


def _finish_issued(deps: Ports, note: Note) -> BillRef:
    """A note issued by an earlier run, which may have stopped before its last two steps."""
    assert note.bill is not None
    if note.payer.phone:  # the text job would find no one to text
        deps.jobs.send_sms(note.bill.bill_code, note.bill.bill_number)  # SMS dedups itself
    index_for_payer(deps, note.bill.bill_code + note.bill.bill_number, note.bill.issued_at,
                    note.payer.phone)
    return note.bill


def _signing_unit(deps: Ports, note: Note) -> Unit:
    unit = deps.units.get(note.unit_code)
    if unit is None or not unit.signing_kid:
        raise NotFound(f"unit {note.unit_code} has no signing key")
    return unit


def _reserve(deps: Ports, issuing: list[_Issuing], outcomes: dict[str, Outcome]) -> None:
    """Take the notes' numbers (together), and compose each bill (``job.bill``)."""
    if not issuing:
        return
    issued_at = deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")
    asked = [(job.note, new_check_code()) for job in issuing]
    reservations: list[Reservation | None | Exception]
    try:
        reservations = list(deps.bills.reserve_many(asked, issued_at=issued_at))
    except Exception:  # noqa: BLE001 - one by one: a note's failure is its own
        log.warning("numbers for %d notes: taken one by one", len(asked), exc_info=True)
        reservations = []
        for note, check_code in asked:
            try:
                reservations.append(deps.bills.reserve(note, check_code=check_code,
                                                       issued_at=issued_at))
            except Exception as exc:  # noqa: BLE001 - this note's job runs again, alone
                reservations.append(exc)
    for job, reservation in zip(issuing, reservations, strict=True):
        code = job.note.payment_code
        if reservation is None or isinstance(reservation, Exception):
            outcomes[code] = reservation
            continue
        unit = job.unit
        job.bill = bill_from_note(
            job.note, bill_code=reservation.bill_code, bill_number=reservation.bill_number,
            check_code=reservation.check_code,
            issued_at=datetime.fromisoformat(reservation.issued_at),
            region_name=deps.settings.region_name, unit_name=unit.name,
            handling_person=unit.handling_person or unit.name,
            checker=unit.checker or "系统复核")


def _archive(deps: Ports, job: _Issuing) -> None:
    """Sign, check and draw the bill, archive its XML and start its PDF's upload."""
    assert job.bill is not None
    job.xml_file, job.pdf_upload = start_archiving(deps, job.bill, job.unit)


def _archived(job: _Issuing) -> None:
    """Once its PDF is archived, the bill ready to be saved (``job.record``)."""
    bill, xml_file, upload = job.bill, job.xml_file, job.pdf_upload
    if bill is None or xml_file is None or upload is None:
        return  # not drawn: its outcome says why
    pdf_file = upload.result()
    job.ref = BillRef(bill_code=bill.bill_code, bill_number=bill.bill_number,
                      check_code=bill.check_code, issued_at=bill.issued_at)
    job.record = BillRecord(bill=bill, status=BillStatus.NORMAL,
                            payer_phone=job.note.payer.phone, xml=xml_file, pdf=pdf_file)


def _save(deps: Ports, ready: list[_Issuing], outcomes: dict[str, Outcome]) -> None:
    """Save each bill with its note (all in one transaction, else one by one), then queue the
    texts of those saved (one request)."""
    def saving(job: _Issuing) -> tuple[BillRecord, BillRef, tuple[str, str] | None]:
        assert job.record is not None and job.ref is not None
        bill = job.record.bill
        return job.record, job.ref, payer_index_keys(deps, bill.bill_id, bill.issued_at,
                                                      job.note.payer.phone)

    if not ready:
        return
    saved: list[_Issuing] = []
    try:
        deps.bills.complete_many([saving(job) for job in ready])
        saved = ready
    except Exception:  # noqa: BLE001 - one by one: a bill's failure is its own
        log.warning("%d bills: saved one by one", len(ready), exc_info=True)
        for job in ready:
            try:
                deps.bills.complete_issue(*saving(job))
                saved.append(job)
            except Exception as exc:  # noqa: BLE001 - this note's job runs again, alone
                log.exception("saving the bill of %s failed", job.note.payment_code)
                outcomes[job.note.payment_code] = exc
    texts = {(job.ref.bill_code, job.ref.bill_number): job for job in saved
             if job.ref is not None and job.note.payer.phone}
    try:  # without a phone the text job would only read the bill and stop
        unqueued = set(deps.jobs.send_sms_many(list(texts))) if texts else set()
        failure: Exception = ServiceUnavailable("the text job was not queued")
    except Exception as exc:  # noqa: BLE001 - their jobs run again and find the bill issued
        unqueued, failure = set(texts), exc
    for job in saved:
        assert job.ref is not None
        code = job.note.payment_code
        if (job.ref.bill_code, job.ref.bill_number) in unqueued:
            outcomes[code] = failure
            continue
        outcomes[code] = job.ref
        log.info("bill %s-%s issued for %s", job.ref.bill_code, job.ref.bill_number, code)


def payer_index_keys(deps: Ports, bill_id: str, issued_at: str,
                     phone: str | None) -> tuple[str, str] | None:
    """The keys that put a bill under its payer's phone for "my bills": (HMAC of the phone,
    issue time in UTC + ``#`` + bill id); None without a phone, or without the pepper (the bill
    stands, only the payer's list lacks it)."""
    if not phone:
        return None
    issued = datetime.fromisoformat(issued_at).astimezone(UTC).isoformat(timespec="seconds")
    try:
        return phone_key(deps.payer_pepper, phone), f"{issued}#{bill_id}"
    except RuntimeError as exc:
        log.error("bill %s not indexed for its payer: %s", bill_id, exc)
        return None


def index_for_payer(deps: Ports, bill_id: str, issued_at: str, phone: str | None) -> None:
    """Put an issued bill under its payer's phone key, for "my bills" (idempotent).

    Issuance writes it (in the transaction that completes the bill; this separate write is for
    a reversal's red bill, and for a run that finds its bill issued already: it may have been
    completed by older code that indexed in a second write and stopped before it), not the
    text message: a payer's list shows a bill once it is issued, whether or not the text
    reaches them."""
    keys = payer_index_keys(deps, bill_id, issued_at, phone)
    if keys is not None:
        deps.payer_bills.index(bill_id, *keys)


def render_pdf(deps: Ports, bill: Bill, xml_bytes: bytes, status_text: str | None = None,
               unit_seal_png: bytes | None = None) -> bytes:
    return deps.renderer.render(
        bill, verify_url=bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code),
        xml_bytes=xml_bytes, status_text=status_text, unit_seal_png=unit_seal_png)
