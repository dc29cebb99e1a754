"""The finance department's key (CONTRACT v2): it alone opens ``/v1/admin``, within its region."""

import json

from chalicelib.cli import main
from chalicelib.services.finance_keys import create_finance_key, revoke_finance_key
from tests.functional.support import assert_error, body_of


def _finance(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}


def test_the_seeded_finance_key_sees_a_unit_with_its_fee_items_and_ranges(world, client):
    r = client.http.get("/v1/admin/units/340100001", headers=world.finance_auth())
    assert r.status_code == 200, r.body
    body = body_of(r)
    assert body["unit"]["name"] == "合肥市不动产登记中心" and body["unit"]["kind"] == "collecting"
    assert [i["item_code"] for i in body["fee_items"]] == [
        "103040100101", "103040100102", "103040100103"]
    ranges = {r["kind_code"]: r for r in body["ranges"]}
    assert set(ranges) == {"0101", "0301"}
    assert ranges["0101"]["used"] == 0 and ranges["0101"]["left"] == 5000
    assert body["warnings"] == []


def test_unit_keys_are_refused_403_and_no_or_unknown_keys_401_on_admin_routes(world, client):
    url = "/v1/admin/units/340100001"
    for unit_auth in (world.auth(0), world.auth(1), world.auth(0, kind="reimbursers")):
        assert assert_error(client.http.get(url, headers=unit_auth), 403)["code"] == \
            "not_a_finance_key"
    assert assert_error(client.http.get(url), 401)["code"] == "missing_credential"
    assert assert_error(client.http.get(url, headers=_finance("fk_never_issued")),
                        401)["code"] == "unknown_credential"


def test_a_finance_key_cannot_act_for_a_unit(world, client):
    r = client.http.post("/v1/notes", headers=world.finance_auth(), body="{}")
    assert assert_error(r, 403)["code"] == "wrong_kind_of_unit"


def test_a_revoked_finance_key_is_refused_at_once(world, client):
    key, api_key = create_finance_key(world.deps, scope="34", label="安徽省财政厅信息中心")
    url = "/v1/admin/units/340100001"
    assert client.http.get(url, headers=_finance(api_key)).status_code == 200
    revoke_finance_key(world.deps, key.key_id)
    assert assert_error(client.http.get(url, headers=_finance(api_key)),
                        401)["code"] == "unknown_credential"


def test_a_finance_key_sees_only_the_units_of_its_region(world, client):
    """Hefei's units (340100) are seen by Hefei's city bureau; another city's bureau and a
    county of Hefei get the answer of a unit that does not exist."""
    url = "/v1/admin/units/340100001"
    _, city = create_finance_key(world.deps, scope="3401", label="合肥市财政局")
    _, county = create_finance_key(world.deps, scope="340102", label="瑶海区财政局")
    _, wuhu = create_finance_key(world.deps, scope="340200", label="芜湖市财政局")
    assert client.http.get(url, headers=_finance(city)).status_code == 200
    for outsider in (county, wuhu):
        assert assert_error(client.http.get(url, headers=_finance(outsider)),
                            404)["code"] == "unit_not_found"
    unknown = client.http.get("/v1/admin/units/999999999", headers=_finance(city))
    assert assert_error(unknown, 404)["code"] == "unit_not_found"


def test_the_operator_makes_lists_and_revokes_finance_keys_from_the_command_line(
        world, client, capsys):
    assert main(["create-finance-key", "--scope", "340100", "--label", "合肥市财政局"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["scope"] == "3401" and made["level"] == "city"
    assert client.http.get("/v1/admin/units/340100002",
                           headers=_finance(made["api_key"])).status_code == 200
    assert main(["finance-keys"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert made["key_id"] in [k["key_id"] for k in listed]
    assert all("api_key" not in k for k in listed)
    assert main(["revoke-finance-key", "--key-id", made["key_id"]]) == 0
    assert json.loads(capsys.readouterr().out)["revoked_at"]
    assert client.http.get("/v1/admin/units/340100002",
                           headers=_finance(made["api_key"])).status_code == 401
    events = world.deps.audit.query(bill_id=f"admin#finance_key#{made['key_id']}")
    assert {e.action for e in events} == {"create_finance_key", "revoke_finance_key"}
