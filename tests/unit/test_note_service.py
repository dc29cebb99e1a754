"""Creating, reading, cancelling notes and opening channel orders, against the fakes."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from chalicelib.domain.codes import payment_code_problem
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.domain.notes import NoteStatus
from chalicelib.services import notes as service
from chalicelib.services.notes import _request_hash
from devstack.seed import REIMBURSING
from tests.fakes import FakeNotes
from tests.unit.scenario import (
    OTHER_ITEMS,
    OTHER_UNIT,
    PHONE,
    UNIT,
    create_note,
    note_body,
    paid_note,
)


def without_extra(note):
    return replace(note, extra={})


def test_creates_an_unpaid_note_with_a_payment_code_of_the_unit_region_and_year(deps):
    note, created = service.create_note(deps, UNIT, note_body())
    assert created and note.status is NoteStatus.UNPAID
    assert note.payment_code.startswith("34010026") and payment_code_problem(note.payment_code) \
        is None
    assert note.unit_code == UNIT.unit_code and note.bill_kind == UNIT.bill_kind
    assert note.created_at == "2026-03-02T10:00:00+08:00"
    assert note.expires_at == "2026-04-01T00:00:00+08:00"
    assert without_extra(deps.notes.get(note.payment_code)) == note


def test_a_bill_kind_in_the_request_overrides_the_unit_default(deps):
    assert create_note(deps, bill_kind="0301").bill_kind == "0301"


def test_a_bill_kind_without_a_number_range_of_the_unit_is_refused(deps):
    with pytest.raises(ValidationFailed) as exc:
        service.create_note(deps, UNIT, note_body(bill_kind="0601"))
    assert list(exc.value.fields) == ["bill_kind"]
    assert deps.notes.rows == {}


def test_each_note_gets_its_own_payment_code(deps):
    codes = {create_note(deps).payment_code for _ in range(20)}
    assert len(codes) == 20


def test_the_same_idempotency_key_and_body_return_the_same_note(deps):
    first, created = service.create_note(deps, UNIT, note_body(), "order-42")
    again, created_again = service.create_note(deps, UNIT, note_body(), "order-42")
    assert created and not created_again
    assert without_extra(again) == first
    assert len(deps.notes.rows) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(deps):
    service.create_note(deps, UNIT, note_body(), "order-42")
    with pytest.raises(Conflict) as exc:
        service.create_note(deps, UNIT, note_body(remark="另一笔"), "order-42")
    assert exc.value.code == "idempotency_key_reused"
    assert len(deps.notes.rows) == 1


def test_a_request_still_in_progress_under_the_same_key_is_a_conflict(deps):
    deps.idempotency.claim(f"{UNIT.unit_code}#order-42", _request_hash(note_body()), deps.clock())
    with pytest.raises(Conflict) as exc:
        service.create_note(deps, UNIT, note_body(), "order-42")
    assert exc.value.code == "request_in_progress"


def test_without_an_idempotency_key_every_request_creates_a_note(deps):
    first, _ = service.create_note(deps, UNIT, note_body())
    second, created = service.create_note(deps, UNIT, note_body())
    assert created and first.payment_code != second.payment_code


def test_idempotency_keys_belong_to_one_unit(deps):
    body = note_body(items=[{"item_code": OTHER_ITEMS[0][0], "name": OTHER_ITEMS[0][1],
                             "quantity": "1", "standard_fen": 8000, "amount_fen": 8000}])
    mine, _ = service.create_note(deps, UNIT, note_body(), "same-key")
    theirs, created = service.create_note(deps, OTHER_UNIT, body, "same-key")
    assert created and theirs.payment_code != mine.payment_code


@pytest.mark.parametrize("key", ["", "k" * 129, "tab\there", "new\nline"])
def test_refuses_a_malformed_idempotency_key(deps, key):
    with pytest.raises(ValidationFailed) as exc:
        service.create_note(deps, UNIT, note_body(), key)
    assert "Idempotency-Key" in exc.value.fields


class NotesThatFailOnce(FakeNotes):
    """A note store whose first write fails, as DynamoDB may."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def add(self, note) -> None:
        if not self.failed:
            self.failed = True
            raise ServiceUnavailable("notes table unavailable")
        super().add(note)


def test_a_failed_creation_releases_the_idempotency_key_for_the_retry(deps):
    deps.overrides["notes"] = NotesThatFailOnce()
    with pytest.raises(ServiceUnavailable):
        service.create_note(deps, UNIT, note_body(), "retry-me")
    note, created = service.create_note(deps, UNIT, note_body(), "retry-me")
    assert created and deps.notes.get(note.payment_code) is not None


def test_a_fee_item_of_another_unit_is_refused_naming_the_item(deps):
    body = note_body(items=[{"item_code": OTHER_ITEMS[0][0], "name": "罚没收入", "quantity": "1",
                             "standard_fen": 8000, "amount_fen": 8000}])
    with pytest.raises(ValidationFailed) as exc:
        service.create_note(deps, UNIT, body)
    assert exc.value.fields == {"items[0].item_code": "is not a fee item of this unit"}
    assert deps.notes.rows == {}


def test_an_invalid_request_takes_no_payment_code(deps):
    with pytest.raises(ValidationFailed):
        service.create_note(deps, UNIT, note_body(total_fen=1))
    assert deps.counters.values == {}


def test_a_unit_reads_its_own_note(deps):
    note = create_note(deps)
    assert service.get_unit_note(deps, UNIT, note.payment_code).payment_code == note.payment_code


def test_a_unit_cannot_read_another_units_note(deps):
    note = create_note(deps)
    with pytest.raises(NotFound) as exc:
        service.get_unit_note(deps, OTHER_UNIT, note.payment_code)
    assert exc.value.code == "note_not_found"


def test_a_unit_cannot_cancel_another_units_note(deps):
    note = create_note(deps)
    with pytest.raises(NotFound):
        service.cancel_note(deps, OTHER_UNIT, note.payment_code)
    assert deps.notes.get(note.payment_code).status is NoteStatus.UNPAID


def test_an_unknown_note_is_not_found(deps):
    with pytest.raises(NotFound):
        service.get_unit_note(deps, UNIT, "34010026000000000000")
    with pytest.raises(NotFound):
        service.get_public_note(deps, "34010026000000000000", "203.0.113.9")


def test_cancelling_an_unpaid_note_cancels_it(deps):
    note = create_note(deps)
    assert service.cancel_note(deps, UNIT, note.payment_code).status is NoteStatus.CANCELLED
    assert deps.notes.get(note.payment_code).status is NoteStatus.CANCELLED


def test_a_paid_note_cannot_be_cancelled(deps):
    note = paid_note(deps)
    with pytest.raises(IllegalTransition):
        service.cancel_note(deps, UNIT, note.payment_code)
    assert deps.notes.get(note.payment_code).status is NoteStatus.PAID


def test_a_cancelled_note_cannot_be_cancelled_again(deps):
    note = create_note(deps)
    service.cancel_note(deps, UNIT, note.payment_code)
    with pytest.raises(IllegalTransition):
        service.cancel_note(deps, UNIT, note.payment_code)


def test_an_expired_note_cannot_be_cancelled(deps, clock):
    note = create_note(deps, due_date="2026-03-02")
    clock.advance(days=1)
    with pytest.raises(IllegalTransition):
        service.cancel_note(deps, UNIT, note.payment_code)


def test_opening_an_order_names_the_note_its_amount_and_the_channel(deps):
    note = create_note(deps)
    order = service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    assert re.fullmatch(r"[0-9A-Za-z]{8,32}", order.out_trade_no)
    assert order.out_trade_no.startswith(note.payment_code)
    assert (order.payment_code, order.channel, order.amount_fen) == (
        note.payment_code, "wechatpay", 8000)
    assert deps.notes.get_order(order.out_trade_no) == order


def test_each_order_of_a_note_has_its_own_out_trade_no(deps):
    numbers = {service.open_order(deps, note.payment_code, {"channel": "wechatpay"}).out_trade_no
               for note in (create_note(deps), create_note(deps)) for _ in range(5)}
    assert len(numbers) == 10


def test_an_order_lives_two_hours_at_most(deps):
    order = service.open_order(deps, create_note(deps).payment_code, {"channel": "wechatpay"})
    assert order.created_at == "2026-03-02T10:00:00+08:00"
    assert order.expires_at == "2026-03-02T12:00:00+08:00"


def test_an_order_closes_when_its_note_expires(deps, clock):
    note = create_note(deps, due_date="2026-03-02")
    clock.advance(hours=13)  # 23:00 in China, one hour before the note expires
    order = service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    assert order.expires_at == "2026-03-03T00:00:00+08:00"


def test_no_order_can_be_opened_for_a_cancelled_note(deps):
    note = create_note(deps)
    service.cancel_note(deps, UNIT, note.payment_code)
    with pytest.raises(IllegalTransition) as exc:
        service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
    assert exc.value.code == "note_not_payable"
    assert deps.notes.orders == {}


def test_no_order_can_be_opened_for_an_expired_note(deps, clock):
    note = create_note(deps, due_date="2026-03-02")
    clock.advance(days=1)
    with pytest.raises(IllegalTransition):
        service.open_order(deps, note.payment_code, {"channel": "wechatpay"})


def test_no_order_can_be_opened_for_a_paid_note(deps):
    note = paid_note(deps)
    with pytest.raises(IllegalTransition):
        service.open_order(deps, note.payment_code, {"channel": "wechatpay"})


@pytest.mark.parametrize("body", [{}, {"channel": "cash"}, None, {"channel": "bank"}])
def test_an_order_needs_a_channel_that_takes_orders(deps, body):
    note = create_note(deps)
    with pytest.raises(ValidationFailed) as exc:
        service.open_order(deps, note.payment_code, body)
    assert "channel" in exc.value.fields


def test_an_order_needs_a_channel_enabled_here(deps):
    deps.settings = replace(deps.settings, enabled_channels=("wechatpay",))
    note = create_note(deps)
    with pytest.raises(ValidationFailed) as exc:
        service.open_order(deps, note.payment_code, {"channel": "alipay"})
    assert exc.value.code == "channel_unavailable"


def test_an_order_for_an_unknown_note_is_not_found(deps):
    with pytest.raises(NotFound):
        service.open_order(deps, "34010026000000000000", {"channel": "wechatpay"})


def test_the_public_view_masks_the_payer(deps):
    note = create_note(deps)
    view = service.note_view(deps, note, public=True)
    assert view["payer"] == {"name": "张*", "type": "individual", "phone": "138****5678"}
    assert PHONE not in repr(view) and "notice_pdf_url" not in view
    assert view["pay_url"] == f"http://testserver/pay/{note.payment_code}"


def test_the_unit_view_shows_the_payer_and_the_channel_transaction(deps):
    note = paid_note(deps)
    view = service.note_view(deps, note, public=False)
    assert view["payer"]["phone"] == PHONE and view["status"] == "paid"
    assert view["payment"]["channel_txn_id"] == "4200000001202603020000000001"
    assert service.note_view(deps, note, public=True)["payment"].get("channel_txn_id") is None


def test_a_view_shows_the_status_a_reader_sees_now(deps, clock):
    note = create_note(deps, due_date="2026-03-02")
    clock.advance(days=1)
    assert service.note_view(deps, note, public=True)["status"] == "expired"


def test_only_a_collecting_unit_may_act_on_notes():
    assert service.require_collecting(UNIT) is UNIT
    with pytest.raises(Forbidden):
        service.require_collecting(REIMBURSING[0])


class CrashAfterWriting:
    """Idempotency store whose ``complete`` never happens: the process died after the note was
    written and before the claim was completed."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def complete(self, idempotency_id: str, result: str) -> None:
        raise SystemExit("the process died")


def test_a_retry_that_takes_over_a_crashed_claim_returns_the_note_the_crash_left(deps, clock):
    store = deps.idempotency
    deps.overrides["idempotency"] = CrashAfterWriting(store)
    with pytest.raises(SystemExit):
        service.create_note(deps, UNIT, note_body(), "crash-1")
    deps.overrides["idempotency"] = store
    [left] = deps.notes.rows
    with pytest.raises(Conflict):  # still in progress for a minute
        service.create_note(deps, UNIT, note_body(), "crash-1")
    clock.advance(seconds=61)

    note, created = service.create_note(deps, UNIT, note_body(), "crash-1")

    assert (note.payment_code, created) == (left, False)
    assert list(deps.notes.rows) == [left]
    again, created_again = service.create_note(deps, UNIT, note_body(), "crash-1")
    assert (again.payment_code, created_again) == (left, False)


def test_a_retry_that_takes_over_a_claim_whose_note_was_never_written_writes_it_once(deps, clock):
    deps.overrides["notes"] = NotesThatFailOnce()  # the write fails: the claim is released
    with pytest.raises(ServiceUnavailable):
        service.create_note(deps, UNIT, note_body(), "crash-2")
    attached = deps.idempotency.records[f"{UNIT.unit_code}#crash-2"]["result"]

    note, created = service.create_note(deps, UNIT, note_body(), "crash-2")

    assert created and note.payment_code == attached
    assert list(deps.notes.rows) == [attached]


def test_a_stale_claim_is_not_taken_over_by_another_body(deps, clock):
    deps.overrides["idempotency"] = CrashAfterWriting(deps.idempotency)
    with pytest.raises(SystemExit):
        service.create_note(deps, UNIT, note_body(), "crash-3")
    deps.overrides["idempotency"] = deps.idempotency.inner
    clock.advance(seconds=61)
    with pytest.raises(Conflict) as refused:
        service.create_note(deps, UNIT, note_body(remark="另一笔"), "crash-3")
    assert refused.value.code == "idempotency_key_reused"
    assert len(deps.notes.rows) == 1
