"""事前审核: a note or a direct bill may use only its unit's fee items, within their standards,
validity and bill kind; otherwise 400 naming the field, and nothing is created."""

import json

from tests.functional.support import assert_error, body_of

ITEM = "/v1/admin/units/340100001/fee-items/{}"


def _item(world, client, code: str, **standard) -> None:
    body = {"name": "测绘成果复制费", "unit": "件", "bill_kind": "0101", **standard}
    r = client.http.put(ITEM.format(code), headers=world.finance_auth(), body=json.dumps(body))
    assert r.status_code in (200, 201), r.body


def _note(items: list[dict], **extra) -> dict:
    return {"payer": {"name": "张三", "type": "individual"}, "items": items,
            "total_fen": sum(i["amount_fen"] for i in items), **extra}


def _line(code: str, standard: int, quantity: int = 1) -> dict:
    return {"item_code": code, "name": "测绘成果复制费", "unit": "件", "quantity": quantity,
            "standard_fen": standard, "amount_fen": standard * quantity}


def _post(world, client, path: str, body: dict):
    return client.http.post(path, headers=world.auth(0), body=json.dumps(body))


def _count(world) -> int:
    ddb = world.deps._client("dynamodb")
    return ddb.scan(TableName=world.deps.settings.table("NOTES"), Select="COUNT")["Count"]


def test_a_note_at_the_fixed_standard_is_made_and_one_off_it_is_refused(world, client):
    _item(world, client, "F1", standard_fen=5000)
    assert _post(world, client, "/v1/notes", _note([_line("F1", 5000, 3)])).status_code == 201
    before = _count(world)
    r = _post(world, client, "/v1/notes", _note([_line("103040100101", 8000),
                                                  _line("F1", 4999)]))
    error = assert_error(r, 400, "items[1].standard_fen")
    assert error["code"] == "outside_fee_standard" and "5000" in error["fields"][
        "items[1].standard_fen"]
    assert _count(world) == before


def test_a_ranged_item_takes_any_standard_within_its_range(world, client):
    _item(world, client, "R1", min_fen=2000, max_fen=20000)
    for standard in (2000, 12345, 20000):
        assert _post(world, client, "/v1/notes", _note([_line("R1", standard)])).status_code == 201
    for standard in (1999, 20001):
        assert_error(_post(world, client, "/v1/notes", _note([_line("R1", standard)])), 400,
                     "items[0].standard_fen")


def test_an_item_outside_its_validity_or_on_another_bill_kind_is_refused(world, client):
    _item(world, client, "V1", standard_fen=100, valid_from="2026-06-16")  # from tomorrow
    _item(world, client, "V2", standard_fen=100, valid_to="2026-06-14")  # until yesterday
    _item(world, client, "V3", standard_fen=100, valid_from="2026-06-15",
          valid_to="2026-06-15")  # today only (the pinned clock: 2026-06-15, China)
    for code in ("V1", "V2"):
        assert_error(_post(world, client, "/v1/notes", _note([_line(code, 100)])), 400,
                     "items[0].item_code")
    assert _post(world, client, "/v1/notes", _note([_line("V3", 100)])).status_code == 201
    other_kind = _post(world, client, "/v1/notes", _note([_line("V3", 100)], bill_kind="0301"))
    assert "0101" in assert_error(other_kind, 400, "items[0].item_code")["fields"][
        "items[0].item_code"]


def test_an_item_of_another_unit_is_refused(world, client):
    _item(world, client, "F1", standard_fen=5000)
    r = client.http.post("/v1/notes", headers=world.auth(1),
                         body=json.dumps(_note([_line("F1", 5000)])))
    assert_error(r, 400, "items[0].item_code")


def test_a_direct_bill_keeps_to_the_standards_too(world, client):
    _item(world, client, "F1", standard_fen=5000)
    r = _post(world, client, "/v1/bills", _note([_line("F1", 4000)], paid_by="cash"))
    assert_error(r, 400, "items[0].standard_fen")
    ok = _post(world, client, "/v1/bills", _note([_line("F1", 5000)], paid_by="cash"))
    assert ok.status_code in (201, 202), ok.body


def test_the_demo_units_items_from_before_standards_still_take_any_amount(world, client):
    r = _post(world, client, "/v1/notes", _note([_line("103040100101", 7777)]))
    assert r.status_code == 201 and body_of(r)["total_fen"] == 7777
