"""Issuing the bill of a paid note: gap-free numbers, two signatures, archive, note, SMS job."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from chalicelib.adapters.bill_files import verify_bill_file
from chalicelib.domain.bills import BillStatus
from chalicelib.domain.errors import NoNumberRange, NotFound, ServiceUnavailable
from chalicelib.domain.notes import NoteStatus
from chalicelib.services import notes as note_service
from chalicelib.services.issuance import (
    archive_key,
    current_finance_key,
    issue_bill,
    issue_bills,
)
from chalicelib.services.ranges import allocate_range
from devstack.seed import FINANCE_KID
from tests.unit.scenario import (
    OTHER_ITEMS,
    OTHER_UNIT,
    PHONE,
    UNIT,
    create_note,
    numbers_taken,
    paid_note,
    pay,
)


def txn(i: int) -> str:
    return f"42000000012026030200000{i:05d}"


def test_issues_bill_number_one_for_the_first_paid_note(deps):
    note = paid_note(deps)
    ref = issue_bill(deps, note.payment_code)
    assert ref is not None
    assert (ref.bill_code, ref.bill_number) == ("34010126", "0000000001")
    assert len(ref.check_code) == 6 and ref.issued_at == "2026-03-02T10:00:00+08:00"


def test_the_issued_bill_carries_the_note_and_the_payment(deps):
    note = paid_note(deps)
    ref = issue_bill(deps, note.payment_code)
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    bill = record.bill
    assert record.status is BillStatus.NORMAL and record.payer_phone == PHONE
    assert (bill.payment_code, bill.total_fen, bill.items) == (note.payment_code, 8000, note.items)
    assert (bill.issuing_unit_name, bill.handling_person, bill.checker) == (
        UNIT.name, "王敏", "李强")
    assert bill.title == "安徽省非税收入统一票据（电子）"
    assert bill.channel_txn_id == note.payment.channel_txn_id
    assert bill.remark == f"缴款码：{note.payment_code}；测试"


def test_both_signatures_of_the_archived_xml_verify_against_the_public_keys(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    report = verify_bill_file(deps.archive.get(record.xml.key), deps.keys.public())
    assert report.ok, report.failed()
    assert [s.kid for s in report.bill.signatures] == ["unit-340100001-2026a", FINANCE_KID]
    assert report.bill.bill == record.bill


def test_the_archived_pdf_carries_the_same_signed_xml(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    pdf = deps.archive.get(record.pdf.key)
    assert pdf.startswith(b"%PDF-")
    assert verify_bill_file(pdf, deps.keys.public()).ok


def test_a_signature_does_not_verify_with_another_units_key(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    keys = deps.keys.public()
    keys["unit-340100001-2026a"] = {**keys[FINANCE_KID], "use": "unit",  # another ES256 key
                                    "kid": "unit-340100001-2026a", "owner": "340100001"}
    report = verify_bill_file(deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number)
                                               .xml.key), keys)
    assert not report.ok
    assert report.failed() == ["unit signature (unit-340100001-2026a): signature does not match "
                               "the content (altered or wrong key)"]


def test_archives_both_files_under_the_bill_reference(deps):
    ref = issue_bill(deps, paid_note(deps).payment_code)
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    base = "bills/34010126/0000000001/34010126-0000000001"
    assert (record.xml.key, record.pdf.key) == (f"{base}.xml", f"{base}.pdf")
    assert deps.archive.writes == [f"{base}.xml", f"{base}.pdf"]
    assert deps.archive.files[record.xml.key][1] == "application/xml"
    assert deps.archive.files[record.pdf.key][1] == "application/pdf"
    assert record.xml.size == len(deps.archive.get(record.xml.key))


def test_the_note_is_marked_issued_with_its_bill_and_one_sms_is_queued(deps):
    note = paid_note(deps)
    ref = issue_bill(deps, note.payment_code)
    issued = deps.notes.get(note.payment_code)
    assert issued.status is NoteStatus.ISSUED and issued.bill == ref
    assert deps.jobs.sms == [(ref.bill_code, ref.bill_number)]


def test_issuing_twice_gives_the_same_bill_and_takes_no_second_number(deps):
    note = paid_note(deps)
    first = issue_bill(deps, note.payment_code)
    files = dict(deps.archive.files)
    again = issue_bill(deps, note.payment_code)
    assert again == first
    assert deps.archive.files == files
    assert numbers_taken(deps) == 1
    following = issue_bill(deps, paid_note(deps, txn(2)).payment_code)
    assert following.bill_number == "0000000002"


def test_consecutive_notes_get_consecutive_numbers(deps):
    notes = [paid_note(deps, txn(i)) for i in range(3)]
    numbers = [issue_bill(deps, n.payment_code).bill_number for n in notes]
    assert numbers == ["0000000001", "0000000002", "0000000003"]


def test_numbers_follow_the_order_of_issuance_not_of_payment(deps):
    first, second = paid_note(deps, txn(1)), paid_note(deps, txn(2))
    assert issue_bill(deps, second.payment_code).bill_number == "0000000001"
    assert issue_bill(deps, first.payment_code).bill_number == "0000000002"


@pytest.mark.parametrize("suffix", [".xml", ".pdf"])
def test_an_archive_failure_midway_is_finished_by_the_retry_with_the_same_number(deps, suffix):
    note = paid_note(deps)
    deps.archive.fail_next_put(suffix)
    with pytest.raises(ServiceUnavailable):
        issue_bill(deps, note.payment_code)
    assert deps.notes.get(note.payment_code).status is NoteStatus.PAID
    assert deps.jobs.sms == []
    ref = issue_bill(deps, note.payment_code)
    assert ref.bill_number == "0000000001"
    assert numbers_taken(deps) == 1
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert verify_bill_file(deps.archive.get(record.xml.key), deps.keys.public()).ok
    assert verify_bill_file(deps.archive.get(record.pdf.key), deps.keys.public()).ok
    assert deps.jobs.sms == [(ref.bill_code, ref.bill_number)]


def test_a_retry_after_the_xml_was_archived_keeps_that_xml_and_its_check_code(deps, clock):
    note = paid_note(deps)
    deps.archive.fail_next_put(".pdf")
    with pytest.raises(ServiceUnavailable):
        issue_bill(deps, note.payment_code)
    first_xml = dict(deps.archive.files)
    clock.advance(minutes=3)
    ref = issue_bill(deps, note.payment_code)
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert deps.archive.get(record.xml.key) == first_xml[record.xml.key][0]
    assert ref.issued_at == "2026-03-02T10:00:00+08:00"
    assert ref.check_code.encode() in deps.archive.get(record.xml.key)


class DrawnWhileUploading:
    """The archive and the renderer of ``deps``, watched: the XML's upload waits (up to two
    seconds) for the PDF to be drawn, and says whether it was drawn meanwhile."""

    def __init__(self, deps) -> None:
        self.archive, self.renderer = deps.archive, deps.renderer
        self.drawing = threading.Event()
        self.drawn_during_upload: list[bool] = []

    def put_once(self, key, body, content_type):
        if key.endswith(".xml"):
            self.drawn_during_upload.append(self.drawing.wait(2))
        return self.archive.put_once(key, body, content_type)

    def render(self, *args, **kwargs):
        self.drawing.set()
        return self.renderer.render(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.archive, name)


def test_the_pdf_is_drawn_while_the_xml_is_uploading_and_archived_after_it(deps):
    note = paid_note(deps)
    watched = DrawnWhileUploading(deps)
    deps.overrides["archive"] = deps.overrides["renderer"] = watched
    ref = issue_bill(deps, note.payment_code)
    assert watched.drawn_during_upload == [True]
    assert [k.rsplit(".", 1)[1] for k in watched.archive.writes] == ["xml", "pdf"]
    record = deps.bills.get(ref.bill_code, ref.bill_number)
    assert verify_bill_file(deps.archive.get(record.pdf.key), deps.keys.public()).ok


class NextDrawnWhilePdfUploads:
    """The archive, the renderer and the bills of ``deps``, watched: a PDF's upload waits (up to
    two seconds) for another bill to be drawn, and says whether one was; each save notes how
    many PDFs were archived by then."""

    def __init__(self, deps) -> None:
        self.archive, self.renderer, self.bills = deps.archive, deps.renderer, deps.bills
        self.drawings = 0
        self.drawn_again = threading.Event()
        self.next_drawn_during_upload: list[bool] = []
        self.pdfs_when_saved: list[int] = []

    def put_once(self, key, body, content_type):
        if key.endswith(".pdf") and not self.next_drawn_during_upload:  # the first bill's
            self.next_drawn_during_upload.append(self.drawn_again.wait(2))
        return self.archive.put_once(key, body, content_type)

    def render(self, *args, **kwargs):
        self.drawings += 1
        if self.drawings > 1:
            self.drawn_again.set()
        return self.renderer.render(*args, **kwargs)

    def complete_many(self, saving):
        self.pdfs_when_saved.append(sum(k.endswith(".pdf") for k in self.archive.writes))
        return self.bills.complete_many(saving)

    def __getattr__(self, name):
        return getattr(self.bills if name in ("get", "reserve_many", "reserve", "complete_issue")
                       else self.archive, name)


def test_a_bills_pdf_uploads_while_the_batchs_next_bill_is_drawn_and_all_before_the_save(deps):
    notes = [paid_note(deps), paid_note(deps, txn=txn(2))]
    watched = NextDrawnWhilePdfUploads(deps)
    deps.overrides["archive"] = deps.overrides["renderer"] = deps.overrides["bills"] = watched
    refs = issue_bills(deps, [note.payment_code for note in notes])
    assert watched.next_drawn_during_upload == [True]
    assert watched.pdfs_when_saved == [2]  # one save of both, after both PDFs
    for ref in refs.values():
        record = watched.bills.get(ref.bill_code, ref.bill_number)
        assert verify_bill_file(watched.archive.get(record.pdf.key), deps.keys.public()).ok


def test_a_pdf_upload_that_fails_in_a_batch_fails_only_its_own_bill(deps):
    notes = [paid_note(deps), paid_note(deps, txn=txn(2))]
    deps.archive.fail_next_put(".pdf")
    outcomes = issue_bills(deps, [note.payment_code for note in notes])
    first, second = (outcomes[note.payment_code] for note in notes)
    assert isinstance(first, ServiceUnavailable)
    assert deps.notes.get(notes[0].payment_code).status is NoteStatus.PAID
    assert deps.notes.get(notes[1].payment_code).status is NoteStatus.ISSUED
    assert deps.jobs.sms == [(second.bill_code, second.bill_number)]
    retried = issue_bill(deps, notes[0].payment_code)
    assert retried.bill_number == "0000000001"


def test_a_number_taken_in_one_year_is_kept_when_the_retry_runs_in_the_next(deps, clock):
    note = paid_note(deps)
    clock.now = clock.now.replace(month=12, day=31, hour=15, minute=59)  # 23:59 in China
    deps.archive.fail_next_put(".pdf")
    with pytest.raises(ServiceUnavailable):
        issue_bill(deps, note.payment_code)
    clock.advance(minutes=5)
    ref = issue_bill(deps, note.payment_code)
    assert (ref.bill_code, ref.bill_number) == ("34010126", "0000000001")
    assert archive_key(deps.bills.get(ref.bill_code, ref.bill_number).bill, "pdf") in \
        deps.archive.files


def test_an_issued_note_only_queues_its_sms_again(deps):
    note = paid_note(deps)
    ref = issue_bill(deps, note.payment_code)
    assert issue_bill(deps, note.payment_code) == ref
    assert deps.jobs.sms == [(ref.bill_code, ref.bill_number)] * 2


@pytest.mark.parametrize("cancel", [False, True])
def test_a_note_that_is_not_paid_gets_no_bill(deps, cancel):
    note = create_note(deps)
    if cancel:
        note_service.cancel_note(deps, UNIT, note.payment_code)
    assert issue_bill(deps, note.payment_code) is None
    assert numbers_taken(deps) == 0 and deps.archive.files == {} and deps.jobs.sms == []


def test_an_unknown_note_gets_no_bill(deps):
    assert issue_bill(deps, "34010026000000000000") is None
    assert numbers_taken(deps) == 0


def test_a_unit_without_a_signing_key_cannot_issue(deps):
    note = paid_note(deps)
    deps.units.put(replace(UNIT, signing_kid=None), None)
    with pytest.raises(NotFound):
        issue_bill(deps, note.payment_code)
    assert numbers_taken(deps) == 0


def test_the_newest_finance_key_in_force_signs(deps):
    old = deps.keys.get(FINANCE_KID)
    deps.keys.put(replace(old, kid="finance-34-2026b", not_before="2026-03-01T00:00:00+08:00"))
    deps.keys.put(replace(old, kid="finance-34-2027a", not_before="2027-01-01T00:00:00+08:00"))
    deps.keys.put(replace(old, kid="finance-34-2025z", not_before="2025-01-01T00:00:00+08:00",
                          not_after="2026-01-01T00:00:00+08:00"))
    assert current_finance_key(deps, "2026-03-02T10:00:00+08:00").kid == "finance-34-2026b"
    assert current_finance_key(deps, "2026-02-01T10:00:00+08:00").kid == FINANCE_KID
    assert current_finance_key(deps, "2025-12-31T23:59:59+08:00").kid == "finance-34-2025z"
    with pytest.raises(NotFound):
        current_finance_key(deps, "2024-12-31T23:59:59+08:00")


def test_a_unit_out_of_numbers_waits_and_a_new_range_continues_without_a_gap(deps):
    deps.units.set_bill_kinds(UNIT.unit_code, UNIT.bill_kind, (UNIT.bill_kind, "0301", "0201"))
    small = allocate_range(deps, UNIT.unit_code, "0201", 2)
    notes = [paid_note(deps, txn(i), bill_kind="0201") for i in range(3)]
    numbers = [issue_bill(deps, n.payment_code).bill_number for n in notes[:2]]
    with pytest.raises(NoNumberRange):
        issue_bill(deps, notes[2].payment_code)
    assert deps.notes.get(notes[2].payment_code).status is NoteStatus.PAID
    more = allocate_range(deps, UNIT.unit_code, "0201", 10)
    numbers.append(issue_bill(deps, notes[2].payment_code).bill_number)
    assert (small.start, small.end, more.start) == (1, 2, 3)
    assert numbers == ["0000000001", "0000000002", "0000000003"]


def test_two_units_sharing_a_bill_code_never_get_the_same_number(deps):
    mine = paid_note(deps, txn(1), bill_kind="0301")
    body = {"payer": {"name": "李四", "type": "individual"}, "total_fen": 5000,
            "items": [{"item_code": OTHER_ITEMS[0][0], "name": OTHER_ITEMS[0][1],
                       "quantity": "1", "standard_fen": 5000, "amount_fen": 5000}]}
    theirs, _ = note_service.create_note(deps, OTHER_UNIT, body)
    pay(deps, theirs, txn(2))
    refs = [issue_bill(deps, mine.payment_code), issue_bill(deps, theirs.payment_code)]
    assert refs[0].bill_code == refs[1].bill_code == "34030126"
    assert refs[0].bill_number != refs[1].bill_number
