"""Payment notes: the state machine, expiry, and field-by-field validation of a new note."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import IllegalTransition, ValidationFailed
from chalicelib.domain.notes import (
    Note,
    NoteStatus,
    Payer,
    can_move,
    expiry_of,
    new_note,
    validate_new_note,
)

S = NoteStatus
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=CHINA_TZ)
KINDS = frozenset(BILL_KINDS)
ITEMS = {"103040100101": "不动产登记费（住宅）", "103040100103": "不动产权证书工本费"}

# The moves drawn in the docstring of chalicelib/domain/notes.py, and no others.
ALLOWED = {(S.UNPAID, S.PAID), (S.UNPAID, S.CANCELLED), (S.UNPAID, S.EXPIRED),
           (S.PAID, S.ISSUED), (S.PAID, S.REFUNDED), (S.ISSUED, S.REFUNDED)}
ALL_MOVES = [(src, dst) for src in S for dst in S]


def body(**changes):
    base = {
        "payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
        "items": [{"item_code": "103040100101", "name": "不动产登记费", "quantity": "1",
                   "standard_fen": 8000, "amount_fen": 8000, "unit": "件"}],
        "total_fen": 8000, "due_date": "2026-03-31",
    }
    base.update(changes)
    return base


def item(**changes):
    return {**body()["items"][0], **changes}


def problems(request) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        validate_new_note(request, today=TODAY, known_items=ITEMS, bill_kinds=KINDS)
    return exc.value.fields


def note(status: NoteStatus = S.UNPAID, due_date: str | None = "2026-03-31") -> Note:
    draft = validate_new_note(body(due_date=due_date), today=TODAY, known_items=ITEMS,
                              bill_kinds=KINDS)
    created = new_note(draft, payment_code="34010026000000000001", unit_code="340100001",
                       region_code="340100", bill_kind="0301", now=NOW)
    return replace(created, status=status)


@pytest.mark.parametrize(("src", "dst"), ALL_MOVES, ids=[f"{a}->{b}" for a, b in ALL_MOVES])
def test_allows_exactly_the_moves_the_state_diagram_draws(src, dst):
    assert can_move(src, dst) == ((src, dst) in ALLOWED)


@pytest.mark.parametrize("final", [S.CANCELLED, S.EXPIRED, S.REFUNDED])
def test_a_final_state_has_no_way_out(final):
    assert not any(can_move(final, dst) for dst in S)


def test_cancelling_an_unpaid_note_gives_a_cancelled_note():
    assert note().cancelled(NOW).status is S.CANCELLED


@pytest.mark.parametrize("status", [S.PAID, S.ISSUED, S.CANCELLED, S.REFUNDED])
def test_only_an_unpaid_note_can_be_cancelled(status):
    with pytest.raises(IllegalTransition) as exc:
        note(status).cancelled(NOW)
    assert exc.value.code == "note_not_cancellable"


def test_an_expired_note_can_no_longer_be_cancelled():
    with pytest.raises(IllegalTransition):
        note().cancelled(datetime(2026, 4, 1, tzinfo=CHINA_TZ))


def test_only_an_unpaid_note_that_has_not_expired_is_payable():
    note().ensure_payable(NOW)
    for status in (S.PAID, S.ISSUED, S.CANCELLED, S.REFUNDED):
        with pytest.raises(IllegalTransition) as exc:
            note(status).ensure_payable(NOW)
        assert exc.value.code == "note_not_payable"
    with pytest.raises(IllegalTransition):
        note().ensure_payable(datetime(2026, 4, 1, tzinfo=CHINA_TZ))


def test_a_note_is_payable_until_the_end_of_its_due_date_china_time():
    assert expiry_of("2026-03-31") == "2026-04-01T00:00:00+08:00"
    unpaid = note(due_date="2026-03-31")
    last_second = datetime(2026, 3, 31, 23, 59, 59, tzinfo=CHINA_TZ)
    assert unpaid.status_at(last_second) is S.UNPAID
    assert unpaid.status_at(last_second + timedelta(seconds=1)) is S.EXPIRED
    # Midnight in China is 16:00 the day before in UTC.
    assert unpaid.status_at(datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)) is S.UNPAID
    assert unpaid.status_at(datetime(2026, 3, 31, 16, 0, 0, tzinfo=UTC)) is S.EXPIRED


def test_a_note_without_due_date_never_expires():
    assert expiry_of(None) is None
    assert note(due_date=None).status_at(datetime(2099, 1, 1, tzinfo=UTC)) is S.UNPAID


@pytest.mark.parametrize("status", [S.PAID, S.ISSUED, S.CANCELLED, S.REFUNDED])
def test_expiry_changes_only_an_unpaid_note(status):
    assert note(status).status_at(datetime(2027, 1, 1, tzinfo=UTC)) is status


def test_a_new_note_is_unpaid_and_dated_china_time():
    created = note()
    assert created.status is S.UNPAID and created.payment is None and created.bill is None
    assert created.created_at == "2026-03-02T10:00:00+08:00"
    assert created.expires_at == "2026-04-01T00:00:00+08:00"


def test_validation_accepts_a_complete_request():
    draft = validate_new_note(body(remark="  窗口缴费  ", bill_kind="0301"), today=TODAY,
                              known_items=ITEMS, bill_kinds=KINDS)
    assert draft.payer == Payer(name="张三", type="individual", phone="13812345678")
    assert draft.total_fen == 8000 and draft.remark == "窗口缴费" and draft.bill_kind == "0301"
    assert draft.items[0].quantity == "1" and draft.items[0].unit == "件"


def test_a_fractional_quantity_times_the_standard_is_the_amount():
    draft = validate_new_note(
        body(items=[item(quantity=0.3, standard_fen=200000, amount_fen=60000)], total_fen=60000),
        today=TODAY, known_items=ITEMS, bill_kinds=KINDS)
    assert draft.items[0].quantity == "0.3" and draft.items[0].amount_fen == 60000


def test_a_quantity_is_kept_as_the_exact_decimal_given():
    draft = validate_new_note(
        body(items=[item(quantity="2.500", standard_fen=1000, amount_fen=2500)], total_fen=2500),
        today=TODAY, known_items=ITEMS, bill_kinds=KINDS)
    assert draft.items[0].quantity == "2.5"


def test_normalises_a_phone_number_written_with_country_code_and_separators():
    draft = validate_new_note(body(payer={"name": "张三", "type": "individual",
                                          "phone": "+86 138-1234-5678"}),
                              today=TODAY, known_items=ITEMS, bill_kinds=KINDS)
    assert draft.payer.phone == "13812345678"


def test_an_organization_payer_carries_its_credit_code_upper_case():
    draft = validate_new_note(body(payer={"name": "皖江科技有限公司", "type": "organization",
                                          "credit_code": "91340100ma2abcde1x"}),
                              today=TODAY, known_items=ITEMS, bill_kinds=KINDS)
    assert draft.payer.credit_code == "91340100MA2ABCDE1X"


@pytest.mark.parametrize(("payer", "field"), [
    ({"type": "individual"}, "payer.name"),
    ({"name": "   ", "type": "individual"}, "payer.name"),
    ({"name": 12, "type": "individual"}, "payer.name"),
    ({"name": "张" * 101, "type": "individual"}, "payer.name"),
    ({"name": "张三", "type": "person"}, "payer.type"),
    ({"name": "张三"}, "payer.type"),
    ({"name": "张三", "type": "individual", "phone": "12812345678"}, "payer.phone"),
    ({"name": "张三", "type": "individual", "phone": "1381234567"}, "payer.phone"),
    ({"name": "张三", "type": "individual", "phone": "010-12345678"}, "payer.phone"),
    ({"name": "某公司", "type": "organization"}, "payer.credit_code"),
    ({"name": "某公司", "type": "organization", "credit_code": "91340100MA2ABCDE1"},
     "payer.credit_code"),
    ({"name": "某公司", "type": "organization", "credit_code": "91340100MA2ABCDE1I"},
     "payer.credit_code"),
])
def test_names_the_payer_field_that_is_wrong(payer, field):
    assert field in problems(body(payer=payer))


@pytest.mark.parametrize("payer", [None, "张三", ["张三"]])
def test_requires_the_payer_to_be_an_object(payer):
    assert "payer" in problems(body(payer=payer))


@pytest.mark.parametrize(("entry", "field"), [
    (item(item_code="103-04"), "items[0].item_code"),
    (item(item_code=""), "items[0].item_code"),
    (item(item_code=103040100101), "items[0].item_code"),
    (item(item_code="999999999999"), "items[0].item_code"),
    (item(name=""), "items[0].name"),
    (item(quantity=0), "items[0].quantity"),
    (item(quantity="-1"), "items[0].quantity"),
    (item(quantity="abc"), "items[0].quantity"),
    (item(quantity="NaN"), "items[0].quantity"),
    (item(quantity="Infinity"), "items[0].quantity"),
    (item(quantity=True), "items[0].quantity"),
    (item(quantity="0.0000001"), "items[0].quantity"),
    (item(standard_fen=80.0), "items[0].standard_fen"),
    (item(standard_fen=0), "items[0].standard_fen"),
    (item(amount_fen="8000"), "items[0].amount_fen"),
    (item(amount_fen=-8000), "items[0].amount_fen"),
    (item(quantity="2"), "items[0].amount_fen"),
    (item(standard_fen=7999), "items[0].amount_fen"),
])
def test_names_the_item_field_that_is_wrong(entry, field):
    assert field in problems(body(items=[entry]))


def test_a_quantity_times_standard_mismatch_says_what_the_amount_should_be():
    fields = problems(body(items=[item(quantity="0.3", standard_fen=200000, amount_fen=60001)],
                           total_fen=60001))
    assert fields == {"items[0].amount_fen": "must equal quantity × standard_fen = 60000"}


def test_names_the_position_of_the_bad_item():
    fields = problems(body(items=[item(), item(item_code="X")], total_fen=16000))
    assert fields == {"items[1].item_code": "is not a fee item of this unit"}


@pytest.mark.parametrize("items", [None, [], "item", [item()] * 51])
def test_requires_between_one_and_fifty_items(items):
    assert "items" in problems(body(items=items))


def test_requires_each_item_to_be_an_object():
    assert "items[0]" in problems(body(items=["x"], total_fen=8000))


def test_the_total_must_equal_the_sum_of_the_items():
    fields = problems(body(items=[item(), item(item_code="103040100103")], total_fen=8000))
    assert fields == {"total_fen": "must equal the sum of the items' amount_fen"}


@pytest.mark.parametrize("total", [None, 0, -1, 80.0, "8000", True])
def test_the_total_must_be_a_positive_integer_of_fen(total):
    assert "total_fen" in problems(body(total_fen=total))


@pytest.mark.parametrize("due", ["2026-03-01", "2025-12-31"])
def test_refuses_a_due_date_in_the_past(due):
    assert problems(body(due_date=due)) == {"due_date": "must be today or later (YYYY-MM-DD)"}


def test_accepts_a_due_date_of_today():
    draft = validate_new_note(body(due_date="2026-03-02"), today=TODAY, known_items=ITEMS,
                              bill_kinds=KINDS)
    assert draft.due_date == "2026-03-02"


@pytest.mark.parametrize("due", ["2026-13-01", "31/03/2026", "tomorrow", "20260331"])
def test_refuses_a_due_date_that_is_not_yyyy_mm_dd(due):
    assert "due_date" in problems(body(due_date=due))


def test_refuses_a_due_date_written_as_an_iso_week_date():
    assert "due_date" in problems(body(due_date="2026-W14-2"))


def test_refuses_an_unknown_bill_kind():
    assert "bill_kind" in problems(body(bill_kind="9999"))


@pytest.mark.parametrize("kind", [["0301"], {"code": "0301"}])
def test_refuses_a_bill_kind_that_is_not_a_string(kind):
    assert "bill_kind" in problems(body(bill_kind=kind))


@pytest.mark.parametrize("name", ["张\x01三", "张\x00三", "张\x1b三"])
def test_refuses_a_payer_name_with_control_characters(name):
    assert "payer.name" in problems(body(payer={"name": name, "type": "individual"}))


def test_names_every_bad_field_at_once():
    fields = problems({"payer": {"name": "", "type": "x"}, "items": [item(quantity="0")],
                       "total_fen": 0, "due_date": "2020-01-01", "bill_kind": "0000",
                       "remark": "备" * 201})
    assert set(fields) == {"payer.name", "payer.type", "items[0].quantity", "total_fen",
                           "due_date", "bill_kind", "remark"}


@pytest.mark.parametrize("request_body", [None, [], "note"])
def test_requires_the_body_to_be_a_json_object(request_body):
    assert problems(request_body) == {"body": "must be a JSON object"}


def test_any_fee_item_is_accepted_when_the_unit_list_is_not_given():
    draft = validate_new_note(body(items=[item(item_code="ANY1")]), today=TODAY,
                              known_items=None, bill_kinds=KINDS)
    assert draft.items[0].item_code == "ANY1"


def test_a_notes_bill_kind_follows_its_fee_items_unless_asked():
    from chalicelib.domain.notes import bill_kind_for

    body = {"payer": {"name": "张三", "type": "individual"},
            "items": [{"item_code": "A1", "name": "甲", "quantity": 1, "standard_fen": 100,
                       "amount_fen": 100},
                      {"item_code": "B1", "name": "乙", "quantity": 1, "standard_fen": 100,
                       "amount_fen": 100}], "total_fen": 200}
    draft = validate_new_note(body, today=date(2026, 11, 22), known_items=None,
                              bill_kinds=frozenset({"0101", "0301"}))
    assert bill_kind_for(draft, {"A1": "0301", "B1": None}, "0101") == "0301"
    assert bill_kind_for(draft, {}, "0101") == "0101"
    with pytest.raises(ValidationFailed) as mixed:
        bill_kind_for(draft, {"A1": "0301", "B1": "0101"}, "0101")
    assert "items" in mixed.value.fields
    asked = validate_new_note({**body, "bill_kind": "0101"}, today=date(2026, 11, 22),
                              known_items=None, bill_kinds=frozenset({"0101", "0301"}))
    assert bill_kind_for(asked, {"A1": "0301"}, "0301") == "0101"
