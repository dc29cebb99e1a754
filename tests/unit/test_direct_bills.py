"""Direct issuance (``domain/direct_bills``, ``services/direct_bills``): what the request must
say, and how a retry resumes after a failure at each step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.direct_bills import read_direct_payment
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.notes import NoteStatus
from chalicelib.services.direct_bills import direct_bill_view, issue_direct_bill
from chalicelib.services.issuance import issue_bill
from devstack.seed import REIMBURSING
from tests.unit.scenario import UNIT, note_body

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def direct(**changes) -> dict:
    body = {**note_body(), "paid_by": "cash"}
    body.pop("due_date")
    return {**body, **changes}


def test_paid_at_defaults_to_now_in_china_time():
    assert read_direct_payment({"paid_by": "transfer"}, NOW).paid_at == "2026-03-02T10:00:00+08:00"


@pytest.mark.parametrize(("changes", "field", "why"), [
    ({"paid_by": None}, "paid_by", "cash | transfer | pos | other"),
    ({"paid_by": "wechatpay"}, "paid_by", "cash | transfer | pos | other"),
    ({"paid_at": "2026-03-02 10:00"}, "paid_at", "offset"),
    ({"paid_at": 1772416800}, "paid_at", "offset"),
    ({"paid_at": "2026-03-02T10:00:01+08:00"}, "paid_at", "future"),
    ({"paid_at": "2025-02-28T10:00:00+08:00"}, "paid_at", "366 days"),
    ({"due_date": "2026-03-31"}, "due_date", "already received"),
    ({"notify_payer": True}, "notify_payer", "already received"),
])
def test_a_wrong_field_is_named(changes, field, why):
    with pytest.raises(ValidationFailed) as caught:
        read_direct_payment({"paid_by": "cash", **changes}, NOW)
    assert why in caught.value.fields[field]


def test_every_wrong_field_of_note_and_payment_is_named_at_once(deps):
    with pytest.raises(ValidationFailed) as caught:
        issue_direct_bill(deps, UNIT, direct(paid_by="card", total_fen=1))
    assert {"paid_by", "total_fen"} <= set(caught.value.fields)
    assert deps.jobs.issue == []


def test_a_reimbursing_unit_may_not_issue(deps):
    with pytest.raises(Forbidden):
        issue_direct_bill(deps, REIMBURSING[0], direct())


def test_the_note_is_paid_by_the_unit_and_queued_then_issued(deps):
    note, created = issue_direct_bill(deps, UNIT, direct(paid_by="pos"), "k1")
    assert created and note.status is NoteStatus.PAID
    assert (note.payment.channel, note.payment.amount_fen) == ("pos", note.total_fen)
    assert note.payment.paid_at == "2026-03-02T10:00:00+08:00"
    status, view = direct_bill_view(deps, note)
    assert status == 202 and view["status_url"].endswith(f"/v1/notes/{note.payment_code}")
    assert deps.jobs.issue == [note.payment_code]
    issue_bill(deps, note.payment_code)  # what the issue job does
    again, created = issue_direct_bill(deps, UNIT, direct(paid_by="pos"), "k1")
    assert not created and again.status is NoteStatus.ISSUED
    status, view = direct_bill_view(deps, again)
    assert status == 201 and view["bill_number"] == again.bill.bill_number


def test_a_retry_after_the_note_was_written_but_not_paid_pays_it(deps):
    from chalicelib.services.notes import create_note

    body = direct()
    unpaid, _ = create_note(deps, UNIT, body, "k2")  # the first attempt died here
    note, created = issue_direct_bill(deps, UNIT, body, "k2")
    assert not created and note.payment_code == unpaid.payment_code
    assert note.status is NoteStatus.PAID and note.payment.channel == "cash"


def test_a_retry_while_paid_but_not_issued_queues_issuance_again(deps):
    note, _ = issue_direct_bill(deps, UNIT, direct(), "k3")
    deps.jobs.issue.clear()  # the first enqueue was lost
    again, _ = issue_direct_bill(deps, UNIT, direct(), "k3")
    assert again.status is NoteStatus.PAID
    assert deps.jobs.issue == [note.payment_code]
