"""Operator commands: units with API keys, and the finance department's audit log."""

import json

import pytest

from chalicelib.cli import main
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.records import AuditEvent
from chalicelib.services.units import create_unit, rotate_api_key
from tests.functional.test_reimbursements_api import issued_bill


def test_a_new_reimbursing_unit_can_verify_with_the_key_it_was_given(world, client):
    bill = issued_bill(world, client)
    unit, key = create_unit(world.deps, unit_code="340100903", name="合肥某医院财务科",
                            kind="reimbursing", region_code="340100")
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    r = client.http.post("/v1/verifications", headers=headers, body=json.dumps(body))
    assert r.status_code == 200 and json.loads(r.body)["result"] == "authentic"
    assert client.http.post("/v1/notes", headers=headers, body="{}").status_code == 403
    new_key = rotate_api_key(world.deps, unit.unit_code)
    assert client.http.post("/v1/verifications", headers=headers,
                            body=json.dumps(body)).status_code == 401
    headers["Authorization"] = f"Bearer {new_key}"
    assert client.http.post("/v1/verifications", headers=headers,
                            body=json.dumps(body)).status_code == 200
    events = world.deps.audit.query(unit_code="340100903")
    assert [e.outcome for e in events if e.action == "verify"] == ["authentic", "authentic"]
    assert {e.action for e in events} - {"verify"} == {  # the operator's changes, audited
        "create_unit", "create_api_key", "revoke_api_key"}


def test_the_audit_command_prints_each_event_as_the_audit_table_holds_it(world, capsys):
    for minute, detail in ((0, None), (1, {"voucher_no": "记-1"})):
        world.deps.audit.append(AuditEvent(
            bill_id="B1", unit_code="340100903", action="reimburse" if detail else "verify",
            outcome="ok", client="203.0.113.9", at=f"2026-06-15T10:0{minute}:00+08:00",
            detail=detail))
    assert main(["audit", "--bill", "B1"]) == 0
    newest, oldest = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert newest.pop("event_id").startswith("2026-06-15T10:01:00+08:00#")
    assert oldest.pop("event_id").startswith("2026-06-15T10:00:00+08:00#")
    row = {"bill_id": "B1", "unit_code": "340100903", "day": "2026-06-15",
           "outcome": "ok", "client": "203.0.113.9"}
    assert newest == {**row, "action": "reimburse", "detail": {"voucher_no": "记-1"}}
    assert oldest == {**row, "action": "verify"}


def test_bad_or_duplicate_units_are_refused(world):
    with pytest.raises(ValidationFailed) as bad:
        create_unit(world.deps, unit_code="x", name="", kind="other", region_code="1")
    assert set(bad.value.fields) == {"unit_code", "name", "kind", "region_code"}
    with pytest.raises(Conflict):
        create_unit(world.deps, unit_code="340100901", name="重复", kind="reimbursing",
                    region_code="340100")
