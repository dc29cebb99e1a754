"""Bills of each kind drawn from their templates, on the running local stack (DynamoDB Local):
the seed's hospital and charity issue directly with their kinds' extra fields, and each bill's
files verify offline with the ``verify-bill`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.template_samples import SAMPLES
from tests.integration.stack_client import (
    auth,
    bill_api,
    fetch,
    unique_phone,
    verify_offline,
    wait_until_issued,
)

pytestmark = pytest.mark.integration

UNIT_OF = {"medical-outpatient": "340100003", "medical-inpatient": "340100003",
           "donation-receipt": "340100004", "settlement-receipt": "340100004"}
DATES = ("visit_date", "admitted_on", "discharged_on", "refund_due_date")


def unit_index(stack: dict[str, Any], unit_code: str) -> int:
    return next(k for k, u in enumerate(stack["units"]) if u["unit_code"] == unit_code)


@pytest.mark.parametrize("template_id", sorted(UNIT_OF))
def test_a_direct_bill_of_each_kind_carries_its_fields_and_verifies_offline(
        stack: dict[str, Any], template_id: str, tmp_path: Path) -> None:
    unit = unit_index(stack, UNIT_OF[template_id])
    body = {"payer": {"name": "张小明", "type": "individual", "phone": unique_phone()},
            "paid_by": "pos", **SAMPLES[template_id]}
    # Dates long past, never in the stack's future (whatever its clock is set to).
    body["extra"] = {k: "2020-01-06" if k in DATES else v for k, v in body["extra"].items()}
    created = requests.post(f"{stack['base_url']}/v1/bills", json=body,
                            headers=auth(stack, unit), timeout=10)
    assert created.status_code in (201, 202), created.text
    note = wait_until_issued(stack, created.json()["payment_code"], unit)
    bill = note["bill"]
    view = fetch(bill_api(stack, bill), check_code=bill["check_code"]).json()
    assert view["template"]["template_id"] == template_id
    assert view["extra"] == body["extra"]
    pdf = tmp_path / "bill.pdf"
    pdf.write_bytes(fetch(f"{bill_api(stack, bill)}/pdf", check_code=bill["check_code"]).content)
    done = verify_offline(stack, pdf)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_bill_of_a_kind_with_fields_is_refused_without_them(stack: dict[str, Any]) -> None:
    unit = unit_index(stack, "340100003")
    body = {"payer": {"name": "张小明", "type": "individual"}, "paid_by": "cash",
            **{k: v for k, v in SAMPLES["medical-outpatient"].items() if k != "extra"}}
    refused = requests.post(f"{stack['base_url']}/v1/bills", json=body,
                            headers=auth(stack, unit), timeout=10)
    assert refused.status_code == 400, refused.text
    assert "extra.outpatient_number" in refused.json()["error"]["fields"]
