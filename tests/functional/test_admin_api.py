"""The finance department's administration API (CONTRACT v2 ``/v1/admin``): units, fee items,
number ranges and API keys, each change in the audit log, each key within its region."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalicelib.services.finance_keys import create_finance_key
from tests.functional.support import assert_error, body_of

UNIT = {"unit_code": "340100050", "name": "合肥市自然资源和规划局", "kind": "collecting",
        "region_code": "340100"}


def _valid_credit_code() -> str:
    from chalicelib.domain.credit_code import check_character

    first17 = "91340100MA2NX1234"
    return first17 + check_character(first17)


def _post(client, world, path, body, headers=None):
    return client.http.post(path, headers=headers or world.finance_auth(),
                            body=json.dumps(body))


def _put(client, world, path, body, headers=None):
    return client.http.put(path, headers=headers or world.finance_auth(),
                           body=json.dumps(body))


def _finance(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}


def test_a_new_unit_gets_its_key_once_and_its_code_only_once(world, client):
    r = _post(client, world, "/v1/admin/units", {**UNIT, "credit_code": _valid_credit_code()})
    assert r.status_code == 201, r.body
    created = body_of(r)
    assert created["unit_code"] == "340100050" and created["api_key"].startswith("ck_")
    assert r.headers["Cache-Control"] == "no-store"
    again = _post(client, world, "/v1/admin/units", {**UNIT, "name": "冒名单位"})
    assert assert_error(again, 409)["code"] == "unit_exists"
    detail = body_of(client.http.get("/v1/admin/units/340100050", headers=world.finance_auth()))
    assert detail["unit"]["name"] == UNIT["name"]
    assert detail["unit"]["credit_code"] == _valid_credit_code()
    assert [k["key_id"] for k in detail["api_keys"]] and "api_key" not in detail["api_keys"][0]
    assert {w["code"] for w in detail["warnings"]} == {"no_signing_key", "no_range"}
    [event] = world.deps.audit.query(bill_id="admin#unit#340100050")
    assert event.action == "create_unit" and event.client.startswith("finance:key_")
    assert event.detail["name"] == UNIT["name"]


def test_a_bad_unit_is_refused_naming_every_field_and_nothing_is_made(world, client):
    bad = {"unit_code": "3-4", "name": "", "kind": "payer", "region_code": "34010",
           "credit_code": "91340100MA2NX12340", "color": "red"}
    r = _post(client, world, "/v1/admin/units", bad)
    fields = assert_error(r, 400)["fields"]
    assert set(fields) == {"unit_code", "name", "kind", "region_code", "credit_code", "color"}
    assert "check character" in fields["credit_code"]
    assert assert_error(_post(client, world, "/v1/admin/units", [1]), 400)["fields"]
    assert world.deps.units.get("3-4") is None


def test_a_city_bureau_creates_units_only_in_its_city(world, client):
    _, wuhu = create_finance_key(world.deps, scope="3402", label="芜湖市财政局")
    r = _post(client, world, "/v1/admin/units", UNIT, headers=_finance(wuhu))
    assert assert_error(r, 403, "region_code")["code"] == "outside_region"
    r = _post(client, world, "/v1/admin/units", {**UNIT, "unit_code": "340202001",
                                                 "region_code": "340202"},
              headers=_finance(wuhu))
    assert r.status_code == 201
    assert world.deps.units.get("340100050") is None


def test_a_fee_item_is_created_then_replaced_with_its_standard(world, client):
    path = "/v1/admin/units/340100001/fee-items/103040100199"
    item = {"name": "测绘成果复制费", "unit": "件", "bill_kind": "0101", "standard_fen": 5000,
            "valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    r = _put(client, world, path, item)
    assert r.status_code == 201 and body_of(r) == {
        **item, "item_code": "103040100199", "min_fen": None, "max_fen": None}
    ranged = {"name": "测绘成果复制费", "bill_kind": "0101", "min_fen": 1000, "max_fen": 9000}
    world.clock.now += timedelta(seconds=1)
    r = _put(client, world, path, ranged)
    assert r.status_code == 200 and body_of(r)["standard_fen"] is None
    assert body_of(r)["min_fen"] == 1000
    events = world.deps.audit.query(bill_id="admin#unit#340100001")
    assert [(e.action, e.outcome) for e in events] == [("put_fee_item", "updated"),
                                                       ("put_fee_item", "created")]
    assert events[0].detail["previous"]["standard_fen"] == 5000


def test_a_bad_fee_item_is_refused_naming_the_field(world, client):
    path = "/v1/admin/units/340100001/fee-items/103040100199"
    cases = [({"name": "x", "bill_kind": "0101"}, "standard_fen"),
             ({"name": "x", "bill_kind": "0101", "standard_fen": 1, "min_fen": 1,
               "max_fen": 2}, "standard_fen"),
             ({"name": "x", "bill_kind": "0101", "min_fen": 5}, "max_fen"),
             ({"name": "x", "bill_kind": "0101", "min_fen": 5, "max_fen": 4}, "max_fen"),
             ({"name": "x", "bill_kind": "9999", "standard_fen": 1}, "bill_kind"),
             ({"name": "x", "bill_kind": "0101", "standard_fen": 1.5}, "standard_fen"),
             ({"name": "x", "bill_kind": "0101", "standard_fen": 1, "valid_from": "2026-13-01"},
              "valid_from"),
             ({"name": "x", "bill_kind": "0101", "standard_fen": 1, "valid_from": "2026-06-01",
               "valid_to": "2026-05-01"}, "valid_to"),
             ({"bill_kind": "0101", "standard_fen": 1}, "name")]
    for body, field in cases:
        assert_error(_put(client, world, path, body), 400, field)
    bad_code = _put(client, world, "/v1/admin/units/340100001/fee-items/a-b",
                     {"name": "x", "bill_kind": "0101", "standard_fen": 1})
    assert_error(bad_code, 400, "item_code")
    assert "103040100199" not in world.deps.units.fee_items("340100001")
    unknown = _put(client, world, "/v1/admin/units/999999/fee-items/1",
                   {"name": "x", "bill_kind": "0101", "standard_fen": 1})
    assert assert_error(unknown, 404)["code"] == "unit_not_found"
    reimburser = _put(client, world, "/v1/admin/units/340100901/fee-items/1",
                      {"name": "x", "bill_kind": "0101", "standard_fen": 1})
    assert assert_error(reimburser, 409)["code"] == "not_a_collecting_unit"


def test_ranges_follow_each_other_and_are_reported_with_used_void_and_left(world, client):
    path = "/v1/admin/units/340100001/ranges"
    first = body_of(_post(client, world, path, {"bill_kind": "0101", "count": 100}))
    second = body_of(_post(client, world, path, {"bill_kind": "0101", "count": 50,
                                                 "year": 2026}))
    assert first["bill_code"] == second["bill_code"] == "34010126"
    assert int(second["first_number"]) == int(first["last_number"]) + 1
    assert int(second["last_number"]) - int(second["first_number"]) == 49
    detail = body_of(client.http.get("/v1/admin/units/340100001", headers=world.finance_auth()))
    ranges = [r for r in detail["ranges"] if r["kind_code"] == "0101"]
    assert [r["left"] for r in ranges] == [5000, 100, 50]
    assert [e.action for e in world.deps.audit.query(bill_id="admin#unit#340100001")] == [
        "allocate_range", "allocate_range"]


def test_a_bad_range_request_is_refused_naming_the_field(world, client):
    path = "/v1/admin/units/340100001/ranges"
    for body, field in [({"bill_kind": "0101", "count": 0}, "count"),
                        ({"bill_kind": "0101", "count": 1_000_001}, "count"),
                        ({"bill_kind": "0101", "count": True}, "count"),
                        ({"bill_kind": "0101", "count": 10, "year": 2030}, "year"),
                        ({"bill_kind": "01", "count": 10}, "bill_kind"),
                        ({"bill_kind": "0101", "count": 10, "start": 1}, "start")]:
        assert_error(_post(client, world, path, body), 400, field)
    assert assert_error(_post(client, world, "/v1/admin/units/340100901/ranges",
                              {"bill_kind": "0101", "count": 10}), 409)["code"] == \
        "not_a_collecting_unit"


def test_ranges_asked_for_at_the_same_time_never_overlap(world, client, monkeypatch):
    """Twelve requests on six threads: each reads the bill code's mark, then writes its range
    on the condition that the mark has not moved; the losers read again. DynamoDB applies a
    transaction atomically; moto does not between threads, so its transactions are made
    atomic here (a lock around each), and the race left is the real one, read then write."""
    from moto.dynamodb.models import DynamoDBBackend

    atomic = threading.Lock()
    transact = DynamoDBBackend.transact_write_items

    def one_at_a_time(self, *args, **kwargs):
        with atomic:
            return transact(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", one_at_a_time)
    path = "/v1/admin/units/340100002/ranges"
    allowed = client.http.put("/v1/admin/units/340100002/bill-kinds",
                              headers=world.finance_auth(),
                              body=json.dumps({"bill_kinds": ["0301", "0701"]}))
    assert allowed.status_code == 200, allowed.body

    def allocate(_: int) -> dict:
        r = _post(client, world, path, {"bill_kind": "0701", "count": 10})
        assert r.status_code == 201, r.body
        return body_of(r)

    with ThreadPoolExecutor(max_workers=6) as pool:
        ranges = list(pool.map(allocate, range(12)))
    spans = sorted((int(r["first_number"]), int(r["last_number"])) for r in ranges)
    assert spans == [(1 + 10 * n, 10 + 10 * n) for n in range(12)]


def test_an_allocation_that_keeps_losing_is_answered_503_and_writes_nothing(
        world, client, monkeypatch):
    """A range row where the bill code's mark says none can be (as if written by hand): every
    attempt's condition fails; the caller is told to retry later, never a 500."""
    from chalicelib.adapters import dynamo_ranges
    from chalicelib.adapters.dynamo_models import NumberRangeModel

    monkeypatch.setattr(dynamo_ranges, "ALLOCATE_ATTEMPTS", 3)
    world.deps.units.set_bill_kinds("340100002", "0301", ("0301", "0701"))  # not audited
    NumberRangeModel("340100002#0701", "34070126#0000000001", unit_code="340100002",
                     kind_code="0701", bill_code="34070126", start=1, end=1, next=1,
                     allocated_at="2026-06-15T10:00:00+08:00").save()
    r = _post(client, world, "/v1/admin/units/340100002/ranges",
              {"bill_kind": "0701", "count": 10})
    assert assert_error(r, 503)["code"] == "range_contention"
    assert len(world.deps.ranges.for_unit("340100002", "0701")) == 1
    assert world.deps.audit.query(bill_id="admin#unit#340100002") == []


def test_a_unit_moves_to_a_new_key_then_the_old_one_is_revoked(world, client):
    old = world.auth(0)
    r = _post(client, world, "/v1/admin/units/340100001/api-keys", {})
    assert r.status_code == 201, r.body
    new = body_of(r)
    new_auth = {**old, "Authorization": f"Bearer {new['api_key']}"}
    for auth in (old, new_auth):
        assert client.http.get("/v1/payment-exceptions", headers=auth).status_code == 200
    keys = body_of(client.http.get("/v1/admin/units/340100001",
                                   headers=world.finance_auth()))["api_keys"]
    assert len(keys) == 2 and keys[1]["key_id"] == new["key_id"]
    world.clock.now += timedelta(seconds=1)
    r = client.http.delete(f"/v1/admin/units/340100001/api-keys/{keys[0]['key_id']}",
                           headers=world.finance_auth())
    assert r.status_code == 200 and body_of(r)["revoked_at"]
    world.clock.now += timedelta(seconds=1)
    assert client.http.get("/v1/payment-exceptions", headers=old).status_code == 401
    assert client.http.get("/v1/payment-exceptions", headers=new_auth).status_code == 200
    other = client.http.delete(f"/v1/admin/units/340100002/api-keys/{new['key_id']}",
                               headers=world.finance_auth())
    assert assert_error(other, 404)["code"] == "key_not_found"
    assert client.http.get("/v1/payment-exceptions", headers=new_auth).status_code == 200
    actions = [e.action for e in world.deps.audit.query(bill_id="admin#unit#340100001")]
    assert actions == ["revoke_api_key", "create_api_key"]


def test_units_are_listed_by_region_a_page_at_a_time_with_a_sealed_cursor(world, client):
    for code, region in (("340102002", "340102"), ("340102001", "340102"),
                         ("340202001", "340202")):
        _post(client, world, "/v1/admin/units", {**UNIT, "unit_code": code,
                                                 "region_code": region})
    url = "/v1/admin/units?region=340102&limit=1"
    first = body_of(client.http.get(url, headers=world.finance_auth()))
    assert [u["unit_code"] for u in first["units"]] == ["340102001"]
    rest = body_of(client.http.get(f"{url}&cursor={first['next_cursor']}",
                                   headers=world.finance_auth()))
    assert [u["unit_code"] for u in rest["units"]] == ["340102002"]
    assert rest["next_cursor"]  # a full page: the next one is empty
    end = body_of(client.http.get(f"{url}&cursor={rest['next_cursor']}",
                                  headers=world.finance_auth()))
    assert end == {"units": [], "next_cursor": None}
    city = body_of(client.http.get("/v1/admin/units?region=340100&limit=100",
                                   headers=world.finance_auth()))
    codes = [u["unit_code"] for u in city["units"]]
    assert {"340100001", "340100901", "340102001", "340102002"} <= set(codes)
    assert "340202001" not in codes and codes == sorted(codes) and city["next_cursor"] is None
    _, county = create_finance_key(world.deps, scope="340102", label="瑶海区财政局")
    mine = body_of(client.http.get("/v1/admin/units", headers=_finance(county)))
    assert [u["unit_code"] for u in mine["units"]] == ["340102001", "340102002"]
    outside = client.http.get("/v1/admin/units?region=3402", headers=_finance(county))
    assert assert_error(outside, 403, "region")["code"] == "outside_region"
    stolen = client.http.get(f"{url}&cursor={first['next_cursor']}", headers=_finance(county))
    assert_error(stolen, 400, "cursor")
    edited = first["next_cursor"][:-2] + ("AA" if not first["next_cursor"].endswith("AA")
                                          else "BB")
    assert_error(client.http.get(f"{url}&cursor={edited}", headers=world.finance_auth()),
                 400, "cursor")
    other_question = client.http.get(f"/v1/admin/units?limit=1&cursor={first['next_cursor']}",
                                     headers=world.finance_auth())
    assert_error(other_question, 400, "cursor")
    for bad in ("limit=0", "limit=101", "limit=x", "region=3"):
        assert_error(client.http.get(f"/v1/admin/units?{bad}", headers=world.finance_auth()),
                     400)


def test_a_new_key_takes_no_choices_so_a_body_with_any_is_refused(world, client):
    r = _post(client, world, "/v1/admin/units/340100001/api-keys", {"label": "x"})
    assert_error(r, 400, "body")
    assert len(world.deps.units.api_keys("340100001")) == 1
