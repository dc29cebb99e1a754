"""GET /v1/notes (CONTRACT v2): a unit's own notes newest first, the finance key's of every
unit within its region, paged with a cursor no one can turn against another unit."""

from datetime import timedelta

from chalicelib.services.finance_keys import create_finance_key
from tests.functional.support import NOTE, assert_error, body_of, create_note


def _codes(r) -> list[str]:
    assert r.status_code == 200, r.body
    return [n["payment_code"] for n in body_of(r)["notes"]]


POLICE = {"payer": {"name": "李四", "type": "individual"},
          "items": [{"item_code": "103050101002", "name": "机动车驾驶证工本费", "quantity": 1,
                     "standard_fen": 1000, "amount_fen": 1000}], "total_fen": 1000}


def _notes(world, client, unit: int, n: int) -> list[str]:
    made = []
    for _ in range(n):
        body = NOTE if unit == 0 else POLICE
        made.append(create_note(world, client, body, unit=unit)["payment_code"])
        world.clock.now += timedelta(minutes=1)
    return made


def test_a_unit_pages_through_its_own_notes_newest_first(world, client):
    mine = _notes(world, client, 0, 5)
    _notes(world, client, 1, 2)
    r = client.http.get("/v1/notes?limit=2", headers=world.auth(0))
    assert _codes(r) == [mine[4], mine[3]]
    seen, cursor = _codes(r), body_of(r)["next_cursor"]
    while cursor:
        r = client.http.get(f"/v1/notes?limit=2&cursor={cursor}", headers=world.auth(0))
        seen += _codes(r)
        cursor = body_of(r)["next_cursor"]
    assert seen == mine[::-1]
    first = body_of(client.http.get("/v1/notes", headers=world.auth(0)))["notes"][0]
    assert first["status"] == "unpaid" and first["total_fen"] == NOTE["total_fen"]
    assert first["payer"]["name"] == "张三" and first["unit_code"] == "340100001"


def test_a_cursor_cannot_take_a_unit_into_another_units_notes(world, client):
    _notes(world, client, 0, 3)
    _notes(world, client, 1, 3)
    cursor = body_of(client.http.get("/v1/notes?limit=1", headers=world.auth(0)))["next_cursor"]
    stolen = client.http.get(f"/v1/notes?limit=1&cursor={cursor}", headers=world.auth(1))
    assert_error(stolen, 400, "cursor")
    other_filter = client.http.get(f"/v1/notes?limit=1&status=paid&cursor={cursor}",
                                   headers=world.auth(0))
    assert_error(other_filter, 400, "cursor")
    forged = cursor[:-3] + ("abc" if not cursor.endswith("abc") else "xyz")
    assert_error(client.http.get(f"/v1/notes?limit=1&cursor={forged}", headers=world.auth(0)),
                 400, "cursor")
    asks_other = client.http.get("/v1/notes?unit_code=340100002", headers=world.auth(0))
    assert assert_error(asks_other, 403)["code"] == "not_your_unit"


def test_the_list_filters_by_status_and_by_the_days_created(world, client):
    old = _notes(world, client, 0, 1)
    world.clock.now += timedelta(days=2)
    new = _notes(world, client, 0, 2)
    client.http.post(f"/v1/notes/{new[0]}/cancel", headers=world.auth(0))
    cancelled = client.http.get("/v1/notes?status=cancelled", headers=world.auth(0))
    assert _codes(cancelled) == [new[0]]
    assert _codes(client.http.get("/v1/notes?status=unpaid", headers=world.auth(0))) == [
        new[1], old[0]]
    day = old[0] and "2026-06-15"
    only_then = client.http.get(f"/v1/notes?created_from={day}&created_to={day}",
                                headers=world.auth(0))
    assert _codes(only_then) == [old[0]]


def test_an_unpaid_note_past_its_due_date_is_listed_as_expired(world, client):
    code = create_note(world, client, {**NOTE, "due_date": "2026-06-15"})["payment_code"]
    world.clock.now += timedelta(days=2)
    assert _codes(client.http.get("/v1/notes?status=expired", headers=world.auth(0))) == [code]
    assert _codes(client.http.get("/v1/notes?status=unpaid", headers=world.auth(0))) == []


def test_the_finance_key_sees_every_units_notes_and_may_name_one_unit(world, client):
    first = _notes(world, client, 0, 2)
    second = _notes(world, client, 1, 2)
    everyone = client.http.get("/v1/notes", headers=world.finance_auth())
    assert _codes(everyone) == [second[1], second[0], first[1], first[0]]
    one = client.http.get("/v1/notes?unit_code=340100002", headers=world.finance_auth())
    assert _codes(one) == second[::-1]
    paged, cursor = [], None
    while True:
        r = client.http.get("/v1/notes?limit=3" + (f"&cursor={cursor}" if cursor else ""),
                            headers=world.finance_auth())
        paged += _codes(r)
        cursor = body_of(r)["next_cursor"]
        if not cursor:
            break
    assert paged == _codes(everyone)


def test_a_finance_key_of_another_region_sees_none_of_these_notes(world, client):
    _notes(world, client, 0, 2)
    _, wuhu = create_finance_key(world.deps, scope="3402", label="芜湖市财政局")
    auth = {"Authorization": f"Bearer {wuhu}"}
    assert _codes(client.http.get("/v1/notes", headers=auth)) == []
    outside = client.http.get("/v1/notes?unit_code=340100001", headers=auth)
    assert assert_error(outside, 404)["code"] == "unit_not_found"


def test_bad_parameters_are_refused_naming_each(world, client):
    for query, field in [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
                         ("status=lost", "status"), ("created_from=2026-6-1", "created_from"),
                         ("created_from=2026-06-20&created_to=2026-06-01", "created_from"),
                         ("created_from=2024-01-01&created_to=2026-06-15", "created_from"),
                         ("sort=asc", "sort"), ("cursor=abc", "cursor")]:
        assert_error(client.http.get(f"/v1/notes?{query}", headers=world.auth(0)), 400, field)
    reimburser = client.http.get("/v1/notes", headers=world.auth(0, kind="reimbursers"))
    assert assert_error(reimburser, 403)["code"] == "wrong_kind_of_unit"
    assert assert_error(client.http.get("/v1/notes"), 401)["code"] == "missing_credential"


def test_a_list_page_costs_one_index_query_and_nothing_after(world, client, monkeypatch):
    from tests.functional.support import counting_aws_calls

    _notes(world, client, 0, 3)
    client.http.get("/v1/notes", headers=world.auth(0))  # the caller's unit is cached now
    with counting_aws_calls(monkeypatch) as calls:
        r = client.http.get("/v1/notes?limit=20", headers=world.auth(0))
    assert len(_codes(r)) == 3
    assert calls.calls == ["dynamodb.Query"]  # the unit index carries what a list shows


def test_a_billed_note_is_listed_with_its_payment_and_its_bill_from_the_index_alone(
        world, client):
    from tests.functional.support import body_of, issued_bill

    code, bill = issued_bill(world, client)
    [listed] = [n for n in body_of(client.http.get("/v1/notes", headers=world.auth(0)))["notes"]
                if n["payment_code"] == code]
    assert listed["status"] == "issued" and listed["paid_at"]
    assert listed["bill"]["bill_number"] == bill["bill_number"]
    assert listed["payer"]["name"] and listed["total_fen"] > 0
