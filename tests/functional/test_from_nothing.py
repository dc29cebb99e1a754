"""From nothing, by API: the finance key creates a unit, a fee item with its standard and a
number range; the unit's own key creates a note; the payer pays; the bill is issued and
verifies. The one step that is not an API call is the unit's signing key: only the operator's
``rotate-key`` may write signing keys (the API's role may not: tests/package)."""

import json

from chalicelib.adapters.bill_files import verify_bill_file
from chalicelib.cli import main
from tests.functional.support import body_of, notification, open_order, post_notification


def test_a_unit_made_by_api_issues_a_bill_that_verifies(world, client, capsys):
    finance = world.finance_auth()
    r = client.http.post("/v1/admin/units", headers=finance, body=json.dumps({
        "unit_code": "340104001", "name": "合肥市蜀山区市场监督管理局", "kind": "collecting",
        "region_code": "340104"}))
    assert r.status_code == 201, r.body
    unit_key = body_of(r)["api_key"]
    r = client.http.put("/v1/admin/units/340104001/fee-items/103050199001", headers=finance,
                        body=json.dumps({"name": "检验检测费", "unit": "次", "bill_kind": "0301",
                                         "standard_fen": 3500, "valid_from": "2026-01-01"}))
    assert r.status_code == 201, r.body
    r = client.http.post("/v1/admin/units/340104001/ranges", headers=finance,
                         body=json.dumps({"bill_kind": "0301", "count": 1000}))
    assert r.status_code == 201, r.body
    bill_code, first = body_of(r)["bill_code"], body_of(r)["first_number"]
    assert bill_code == "34030126"  # 安徽 (34), 一般缴款书 (0301), 2026: shared by the province

    assert main(["rotate-key", "--kid", "unit-340104001-2026a", "--use", "unit",
                 "--owner", "340104001"]) == 0  # the operator: signing keys are not by API
    capsys.readouterr()

    unit = {"Authorization": f"Bearer {unit_key}", "Content-Type": "application/json"}
    r = client.http.post("/v1/notes", headers=unit, body=json.dumps({
        "payer": {"name": "李四", "type": "individual", "phone": "13912345678"},
        "items": [{"item_code": "103050199001", "name": "检验检测费", "unit": "次",
                   "quantity": 2, "standard_fen": 3500, "amount_fen": 7000}],
        "total_fen": 7000}))
    assert r.status_code == 201, r.body
    code = body_of(r)["payment_code"]
    assert code.startswith("34010426")

    order = open_order(client, code)
    assert post_notification(client, *notification(world, order)).status_code in (200, 204)
    world.drain()
    note = body_of(client.http.get(f"/v1/notes/{code}", headers=unit))
    assert note["status"] == "issued", note
    bill = note["bill"]
    assert bill["bill_code"] == bill_code and bill["bill_number"] == first

    r = client.http.post("/v1/verifications", headers=world.auth(0, kind="reimbursers"),
                         body=json.dumps({k: bill[k] for k in ("bill_code", "bill_number",
                                                               "check_code")}))
    assert body_of(r)["result"] == "authentic" and body_of(r)["bill"]["total_fen"] == 7000
    q = f"check_code={bill['check_code']}"
    xml = client.http.get(f"/v1/public/bills/{bill_code}/{bill['bill_number']}/xml?{q}").body
    keys = {k["kid"]: k for k in body_of(client.http.get("/v1/public/keys"))["keys"]}
    report = verify_bill_file(xml, keys)
    assert report.ok, report.checks

    detail = body_of(client.http.get("/v1/admin/units/340104001", headers=finance))
    [used] = detail["ranges"]
    assert (used["used"], used["void"], used["left"]) == (1, 0, 999)
    assert detail["warnings"] == []
