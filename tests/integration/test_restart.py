"""Data written to the local stack survives a restart of the run command (CONTRACT: Local stack).

The session's stack issues a bill, is stopped as a developer stops it (Ctrl-C), and is started
again on the same state folder and ports (the session goes on with it: one stack start fewer than
a stack of this test's own): the bill's page, JSON and files come back the same, still verify
offline, and the API keys in stack.json have not changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.stack_client import (
    bill_api,
    fetch,
    get_note,
    issue_a_bill,
    verify_offline,
)

if TYPE_CHECKING:
    from tests.integration.conftest import StackProcess

pytestmark = pytest.mark.integration


def keys_of(doc: dict[str, Any]) -> dict[str, str]:
    return {u["unit_code"]: u["api_key"] for u in doc["units"] + doc["reimbursers"]}


def snapshot(stack: dict[str, Any], bill: dict[str, Any]) -> dict[str, Any]:
    api = bill_api(stack, bill)
    check = bill["check_code"]
    return {"page": fetch(bill["url"]), "json": fetch(api, check_code=check).json(),
            "pdf": fetch(f"{api}/pdf", check_code=check).content,
            "xml": fetch(f"{api}/xml", check_code=check).content}


def test_a_bill_survives_a_restart_of_the_stack(stack_process: StackProcess,
                                                 tmp_path: Path) -> None:
    first = dict(stack_process.doc)
    issued = issue_a_bill(first)
    bill = issued["bill"]
    before = snapshot(first, bill)
    ports = dict(stack_process.ports)
    assert stack_process.stop() == 0, stack_process.output()

    stack_process.start()  # the same state folder and ports
    second = stack_process
    after = snapshot(second.doc, bill)

    assert second.ports == ports
    assert keys_of(second.doc) == keys_of(first)
    assert second.doc["base_url"] == first["base_url"]
    note = get_note(second.doc, issued["payment_code"])
    assert note["status"] == "issued" and note["bill"] == bill
    page = after["page"].text
    for text in (bill["bill_code"], bill["bill_number"], bill["check_code"], "100.50"):
        assert text in page, text
    assert after["json"] == before["json"]
    assert after["pdf"] == before["pdf"], "the PDF changed across the restart"
    assert after["xml"] == before["xml"], "the XML changed across the restart"
    for kind in ("pdf", "xml"):
        path = tmp_path / f"after-restart.{kind}"
        path.write_bytes(after[kind])
        done = verify_offline(second.doc, path)
        assert done.returncode == 0, done.stdout + done.stderr
