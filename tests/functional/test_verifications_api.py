"""POST /v1/verifications: a reimbursing unit checks a bill's elements (查验)."""

from __future__ import annotations

import json

import pytest

from tests.functional.support import assert_error, body_of, issued_bill


def verify(world, client, body: dict, unit: int = 0, kind: str = "reimbursers"):
    return client.http.post("/v1/verifications", headers=world.auth(unit, kind=kind),
                            body=json.dumps(body))


def elements(bill: dict, **changes) -> dict:
    return {"bill_code": bill["bill_code"], "bill_number": bill["bill_number"],
            "check_code": bill["check_code"], **changes}


def test_an_authentic_bill_is_normal_and_its_check_count_rises_by_one_each_time(world, client):
    _, bill = issued_bill(world, client)

    counts = []
    for _ in range(3):
        r = verify(world, client, elements(bill))
        assert r.status_code == 200, r.body
        answer = body_of(r)
        assert answer["result"] == "authentic"
        assert answer["status"] == "normal"
        assert answer["bill"]["bill_number"] == bill["bill_number"]
        assert answer["bill"]["total_fen"] == 10000
        assert "reimbursement" in answer
        counts.append(answer["check_count"])
    assert counts == [1, 2, 3]


def test_the_check_count_is_shared_by_every_reimbursing_unit(world, client):
    _, bill = issued_bill(world, client)
    assert body_of(verify(world, client, elements(bill), unit=0))["check_count"] == 1
    assert body_of(verify(world, client, elements(bill), unit=1))["check_count"] == 2


def test_the_right_amount_and_date_are_authentic(world, client):
    _, bill = issued_bill(world, client)
    issue_date = bill["issued_at"][:10]
    answer = body_of(verify(world, client, elements(bill, total_fen=10000,
                                                     issue_date=issue_date)))
    assert answer["result"] == "authentic"


def test_a_wrong_check_code_is_not_found(world, client):
    _, bill = issued_bill(world, client)
    wrong = bill["check_code"][:-1] + ("A" if bill["check_code"][-1] != "A" else "B")
    r = verify(world, client, elements(bill, check_code=wrong))
    assert r.status_code == 200, r.body
    answer = body_of(r)
    assert answer["result"] == "not_found"
    assert answer["bill"] is None


def test_a_bill_number_never_issued_is_not_found(world, client):
    _, bill = issued_bill(world, client)
    answer = body_of(verify(world, client, elements(bill, bill_number="0000009999")))
    assert answer["result"] == "not_found"


def test_the_right_elements_with_a_wrong_total_is_a_mismatch_naming_total_fen(world, client):
    _, bill = issued_bill(world, client)
    r = verify(world, client, elements(bill, total_fen=10001))
    assert r.status_code == 200, r.body
    answer = body_of(r)
    assert answer["result"] == "mismatch"
    assert "total_fen" in answer["mismatched_fields"]
    assert "issue_date" not in answer["mismatched_fields"]


def test_the_right_elements_with_a_wrong_issue_date_is_a_mismatch_naming_issue_date(
        world, client):
    _, bill = issued_bill(world, client)
    answer = body_of(verify(world, client, elements(bill, issue_date="2020-01-01")))
    assert answer["result"] == "mismatch"
    assert "issue_date" in answer["mismatched_fields"]


def test_a_collecting_units_key_is_403(world, client):
    _, bill = issued_bill(world, client)
    assert_error(verify(world, client, elements(bill), kind="units"), 403)


def test_no_key_is_401(world, client):
    _, bill = issued_bill(world, client)
    r = client.http.post("/v1/verifications", headers={"Content-Type": "application/json"},
                         body=json.dumps(elements(bill)))
    assert_error(r, 401)


@pytest.mark.parametrize("field, value", [
    ("bill_code", "3401012"), ("bill_code", "3401012X"), ("bill_code", 34010126),
    ("bill_number", "1"), ("check_code", "abc"), ("check_code", "abc-12")])
def test_a_malformed_element_is_400_naming_the_field(world, client, field, value):
    body = {"bill_code": "34010126", "bill_number": "0000000001", "check_code": "aB3dE9",
            field: value}
    assert_error(verify(world, client, body), 400, field)


@pytest.mark.parametrize("field, value", [("total_fen", "100.00"), ("total_fen", 1.5),
                                          ("issue_date", "2026/01/01")])
def test_a_malformed_optional_element_is_400_naming_the_field(world, client, field, value):
    body = {"bill_code": "34010126", "bill_number": "0000000001", "check_code": "aB3dE9",
            field: value}
    assert_error(verify(world, client, body), 400, field)


def test_a_malformed_body_is_400(world, client):
    r = client.http.post("/v1/verifications", headers=world.auth(0, kind="reimbursers"),
                         body="{not json")
    assert_error(r, 400)


def test_an_authentic_verification_makes_two_dynamodb_requests_once_the_key_is_known(
        world, client, monkeypatch):
    """One read (the bill, the guessing counters and the reimbursement together) and one write
    (the count and the audit row together); the caller's API key is known from the first
    request on."""
    from botocore.client import BaseClient

    _, bill = issued_bill(world, client)
    assert body_of(verify(world, client, elements(bill)))["result"] == "authentic"
    made: list[str] = []
    original = BaseClient._make_api_call

    def counted(self, operation_name, params):
        made.append(f"{self.meta.service_model.service_name} {operation_name}")
        return original(self, operation_name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    answer = body_of(verify(world, client, elements(bill)))
    assert answer["result"] == "authentic" and answer["check_count"] == 2
    assert made == ["dynamodb BatchGetItem", "dynamodb TransactWriteItems"]
    assert [e.outcome for e in world.deps.audit.query(bill_id=bill["bill_code"]
                                                         + bill["bill_number"])] \
        == ["authentic", "authentic"]
