"""Collecting units' routes: POST /v1/notes, GET /v1/notes/{code}, cancel, and the notice PDF."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.codes import payment_code_problem
from tests.functional.support import (
    NOTE,
    assert_error,
    body_of,
    create_note,
    iso_with_offset,
    notification,
    open_order,
    paid_note,
    post_notification,
)


def post_note(world, client, body, unit: int = 0, kind: str = "units", **headers):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.http.post("/v1/notes", headers={**world.auth(unit, kind=kind), **headers},
                            body=raw)


# --- what a created note looks like ----------------------------------------------------------

def test_a_created_note_carries_every_field_of_the_contract(world, client):
    r = post_note(world, client, NOTE)

    assert r.status_code == 201, r.body
    note = body_of(r)
    assert re.fullmatch(r"[0-9]{20}", note["payment_code"])
    assert payment_code_problem(note["payment_code"]) is None
    assert note["payment_code"].startswith("340100")  # the unit's region
    assert note["status"] == "unpaid"
    assert note["total_fen"] == 10000
    assert note["pay_url"].endswith(f"/pay/{note['payment_code']}")
    assert note["notice_pdf_url"].endswith(f"/v1/notes/{note['payment_code']}/notice.pdf")
    assert iso_with_offset(note["created_at"]).utcoffset().total_seconds() == 8 * 3600


def test_a_note_with_a_due_date_expires_at_the_end_of_that_day_china_time(world, client):
    due = (world.clock() + timedelta(days=30)).date()
    note = create_note(world, client, {**NOTE, "due_date": due.isoformat()})
    assert note["due_date"] == due.isoformat()
    assert note["expires_at"] == f"{due + timedelta(days=1)}T00:00:00+08:00"
    assert iso_with_offset(note["expires_at"])


def test_a_note_due_on_new_years_eve_expires_at_the_first_moment_of_the_next_year(world, client):
    # 1 December 2026, 10:00 in China: the day a due date 30 days on first crossed a year.
    world.clock.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    note = create_note(world, client, {**NOTE, "due_date": "2026-12-31"})
    assert note["due_date"] == "2026-12-31"
    assert note["expires_at"] == "2027-01-01T00:00:00+08:00"


def test_get_returns_the_note_as_created(world, client):
    created = create_note(world, client)
    r = client.http.get(f"/v1/notes/{created['payment_code']}", headers=world.auth())
    assert r.status_code == 200
    note = body_of(r)
    for name in ("payment_code", "status", "total_fen", "pay_url", "notice_pdf_url",
                 "created_at"):
        assert note[name] == created[name]
    assert note["payer"]["name"] == "张三" and note["payer"]["phone"] == "13812345678"
    assert [i["amount_fen"] for i in note["items"]] == [8000, 2000]
    assert note["payment"] is None and note["bill"] is None


# --- validation ------------------------------------------------------------------------------

def test_rejects_a_note_naming_every_bad_field(world, client):
    bad = {"payer": {"name": "", "type": "person", "phone": "12345"},
           "items": [{"item_code": "999", "name": "x", "quantity": 0, "standard_fen": -1,
                      "amount_fen": 1.5}],
           "total_fen": "100", "due_date": "2000-01-01", "bill_kind": "9999"}

    error = assert_error(post_note(world, client, bad), 400,
                         "payer.name", "payer.type", "payer.phone", "items[0].item_code",
                         "items[0].quantity", "items[0].standard_fen", "items[0].amount_fen",
                         "total_fen", "due_date", "bill_kind")
    assert error["code"] == "validation_failed"


def test_rejects_a_total_that_is_not_the_sum_of_the_items(world, client):
    assert_error(post_note(world, client, {**NOTE, "total_fen": 9999}), 400, "total_fen")


def test_rejects_an_amount_that_is_not_quantity_times_standard(world, client):
    items = [dict(NOTE["items"][0], quantity=2)]
    assert_error(post_note(world, client, {**NOTE, "items": items, "total_fen": 8000}), 400,
                 "items[0].amount_fen")


def test_rejects_an_organization_payer_without_a_credit_code(world, client):
    payer = {"name": "合肥某某科技有限公司", "type": "organization"}
    assert_error(post_note(world, client, {**NOTE, "payer": payer}), 400, "payer.credit_code")


def test_rejects_a_fee_item_of_another_unit(world, client):
    items = [dict(NOTE["items"][0], item_code="103050101001")]  # the traffic police's item
    assert_error(post_note(world, client, {**NOTE, "items": items, "total_fen": 8000}), 400,
                 "items[0].item_code")


def test_rejects_a_note_without_items_or_payer(world, client):
    assert_error(post_note(world, client, {"total_fen": 100}), 400, "payer", "items")


@pytest.mark.parametrize("raw", ["{bad", "", "[]", "null", '"a note"', b"\xff\xfe{}"],
                         ids=["broken", "empty", "array", "null", "string", "not-utf8"])
def test_a_malformed_body_is_a_400_in_the_contract_error_shape(world, client, raw):
    assert_error(post_note(world, client, raw), 400)


def test_a_deeply_nested_body_is_a_400_not_a_5xx(world, client):
    assert_error(post_note(world, client, "[" * 100_000), 400, "body")


def test_a_bill_kind_that_is_not_a_string_is_a_400_not_a_5xx(world, client):
    assert_error(post_note(world, client, {**NOTE, "bill_kind": ["0101"]}), 400, "bill_kind")


UNFIT_TEXT = [
    pytest.param("remark", {**NOTE, "remark": "3-501\u0000"}, id="nul-in-remark"),
    pytest.param("items[0].name", {**NOTE, "items": [dict(NOTE["items"][0], name="登记\u000b费")],
                                   "total_fen": 8000}, id="vertical-tab-in-item"),
    pytest.param("payer.name", {**NOTE, "payer": {**NOTE["payer"], "name": "张\ud800三"}},
                 id="surrogate-in-name"),
    pytest.param("remark", {**NOTE, "remark": "3-501\ufffe号"}, id="noncharacter-in-remark"),
]


@pytest.mark.parametrize("where, body", UNFIT_TEXT)
def test_rejects_text_that_cannot_go_into_the_bill_xml(world, client, where, body):
    assert_error(post_note(world, client, body), 400, where)


@pytest.mark.parametrize("where, body", UNFIT_TEXT)
def test_a_note_that_was_accepted_can_be_issued_once_paid(world, client, where, body):
    r = post_note(world, client, body)
    if r.status_code == 400:  # refused up front: nothing can get stuck after payment
        assert where in body_of(r)["error"]["fields"]
        return
    code = body_of(r)["payment_code"]
    order = open_order(client, code)
    assert post_notification(client, *notification(world, order)).status_code in (200, 204)
    world.drain()
    assert body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth()))["status"] \
        == "issued"


# --- credentials -----------------------------------------------------------------------------

def test_no_credential_is_401(world, client):
    r = client.http.post("/v1/notes", headers={"Content-Type": "application/json"},
                         body=json.dumps(NOTE))
    assert_error(r, 401)


@pytest.mark.parametrize("authorization", ["Bearer ck_not_a_key_we_issued", "Basic Zm9vOmJhcg==",
                                           "Bearer "])
def test_an_unknown_or_malformed_credential_is_401(world, client, authorization):
    r = client.http.post("/v1/notes", body=json.dumps(NOTE), headers={
        "Content-Type": "application/json", "Authorization": authorization})
    assert_error(r, 401)


def test_a_reimbursing_units_key_is_403(world, client):
    assert_error(post_note(world, client, NOTE, kind="reimbursers"), 403)
    code = create_note(world, client)["payment_code"]
    r = client.http.get(f"/v1/notes/{code}", headers=world.auth(0, kind="reimbursers"))
    assert_error(r, 403)


def test_another_units_note_is_404_to_read_cancel_or_print(world, client):
    code = create_note(world, client, unit=0)["payment_code"]
    other = world.auth(1)
    assert_error(client.http.get(f"/v1/notes/{code}", headers=other), 404)
    assert_error(client.http.post(f"/v1/notes/{code}/cancel", headers=other), 404)
    assert_error(client.http.get(f"/v1/notes/{code}/notice.pdf", headers=other), 404)
    assert body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth(0)))["status"] \
        == "unpaid"


def test_an_unknown_payment_code_is_404(world, client):
    from chalicelib.domain.codes import make_payment_code

    code = make_payment_code("340100", world.clock().year, 987654)
    assert_error(client.http.get(f"/v1/notes/{code}", headers=world.auth()), 404)


# --- idempotency -----------------------------------------------------------------------------

def test_a_retry_with_the_same_idempotency_key_and_body_returns_the_same_note(world, client):
    first = post_note(world, client, NOTE, **{"Idempotency-Key": "order-2026-0001"})
    again = post_note(world, client, NOTE, **{"Idempotency-Key": "order-2026-0001"})

    assert first.status_code == again.status_code == 201
    assert body_of(first)["payment_code"] == body_of(again)["payment_code"]
    assert body_of(first) == body_of(again)


def test_the_same_idempotency_key_with_another_body_is_409(world, client):
    assert post_note(world, client, NOTE, **{"Idempotency-Key": "k-1"}).status_code == 201
    other = {**NOTE, "remark": "另一份缴款书"}
    error = assert_error(post_note(world, client, other, **{"Idempotency-Key": "k-1"}), 409)
    assert error["code"]


def test_idempotency_keys_of_two_units_do_not_collide(world, client):
    body_b = {**NOTE, "items": [{"item_code": "103050101002", "name": "机动车驾驶证工本费",
                                 "quantity": 1, "standard_fen": 1000, "amount_fen": 1000}],
              "total_fen": 1000}
    a = post_note(world, client, NOTE, unit=0, **{"Idempotency-Key": "shared"})
    b = post_note(world, client, body_b, unit=1, **{"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201
    assert body_of(a)["payment_code"] != body_of(b)["payment_code"]


class _DiesBeforeCompleting:
    """The idempotency store of a process that dies after writing the note, before completing
    the claim (a Lambda timeout, say)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def complete(self, idempotency_id, result):
        raise SystemExit("the process died")


def test_a_retry_after_a_crash_takes_over_the_claim_and_returns_the_first_note(world, client):
    from chalicelib.adapters.dynamo_models import NoteModel
    from chalicelib.services.notes import create_note as create

    store = world.deps.idempotency
    world.deps.overrides["idempotency"] = _DiesBeforeCompleting(store)
    with pytest.raises(SystemExit):
        create(world.deps, world.deps.units.get("340100001"), NOTE, "crash-2026-0001")
    world.deps.overrides["idempotency"] = store
    [left] = [row.payment_code for row in NoteModel.scan()]
    busy = post_note(world, client, NOTE, **{"Idempotency-Key": "crash-2026-0001"})
    assert assert_error(busy, 409)["code"] == "request_in_progress"
    world.clock.now += timedelta(seconds=61)  # the claim is stale: a retry takes it over

    again = post_note(world, client, NOTE, **{"Idempotency-Key": "crash-2026-0001"})

    assert again.status_code == 201 and body_of(again)["payment_code"] == left
    assert [row.payment_code for row in NoteModel.scan()] == [left]
    replay = post_note(world, client, NOTE, **{"Idempotency-Key": "crash-2026-0001"})
    assert body_of(replay)["payment_code"] == left


def test_without_an_idempotency_key_each_post_creates_a_new_note(world, client):
    codes = {create_note(world, client)["payment_code"] for _ in range(3)}
    assert len(codes) == 3


# --- cancel ----------------------------------------------------------------------------------

def test_cancelling_an_unpaid_note_answers_200_with_status_cancelled(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth())
    assert r.status_code == 200, r.body
    assert body_of(r)["status"] == "cancelled"
    assert body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth()))["status"] \
        == "cancelled"


def test_cancelling_a_cancelled_note_again_is_409(world, client):
    code = create_note(world, client)["payment_code"]
    assert client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth()).status_code == 200
    assert_error(client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth()), 409)


def test_cancelling_a_paid_note_is_409_and_it_stays_paid(world, client):
    code, _ = paid_note(world, client)
    assert_error(client.http.post(f"/v1/notes/{code}/cancel", headers=world.auth()), 409)
    assert body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth()))["status"] \
        == "paid"


# --- the notice ------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", [None, "*/*", "application/pdf"])
def test_the_notice_is_a_pdf(world, client, accept):
    code = create_note(world, client)["payment_code"]
    headers = {"Authorization": world.auth()["Authorization"]}
    if accept:
        headers["Accept"] = accept
    r = client.http.get(f"/v1/notes/{code}/notice.pdf", headers=headers)
    assert r.status_code == 200, r.body[:200]
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.body.startswith(b"%PDF-") and b"%%EOF" in r.body[-64:]


def test_the_notice_needs_the_units_credential(world, client):
    code = create_note(world, client)["payment_code"]
    assert_error(client.http.get(f"/v1/notes/{code}/notice.pdf"), 401)


def test_a_body_that_is_not_json_gets_the_contract_error_shape(world, client):
    headers = dict(world.auth(), **{"Content-Type": "application/x-www-form-urlencoded"})
    r = client.http.post("/v1/notes", headers=headers, body="payer=x")
    assert r.status_code == 400
    assert json.loads(r.body)["error"]["fields"]["body"].startswith("invalid JSON")
