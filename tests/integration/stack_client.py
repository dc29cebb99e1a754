"""What the integration tests do to a running local stack: over HTTP, and through its commands."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
ISSUE_TIMEOUT = 30.0
_phones = itertools.count(1)


def unique_phone() -> str:
    """A mainland mobile number no other note of this run uses (to find its SMS)."""
    return f"139{int(time.time()) % 10_000:04d}{next(_phones):04d}"


def stack_now(stack: dict[str, Any]) -> datetime:
    """Now on the stack's clock (``devstack/clock.py``: real time + the offset it reports)."""
    return datetime.now(UTC) + timedelta(seconds=stack.get("clock_offset_seconds", 0.0))


def auth(stack: dict[str, Any], unit: int = 0) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack['units'][unit]['api_key']}"}


def note_body(stack: dict[str, Any], phone: str, unit: int = 0) -> dict[str, Any]:
    items = stack["units"][unit]["fee_items"]
    return {
        "payer": {"name": "张小明", "type": "individual", "phone": phone},
        "items": [{"item_code": items[0]["item_code"], "name": items[0]["name"], "unit": "件",
                   "quantity": 1, "standard_fen": 8000, "amount_fen": 8000},
                  {"item_code": items[-1]["item_code"], "name": items[-1]["name"], "unit": "本",
                   "quantity": 2, "standard_fen": 1025, "amount_fen": 2050}],
        "total_fen": 10050,
        "remark": "集成测试",
    }


def create_note(stack: dict[str, Any], unit: int = 0, phone: str | None = None
                ) -> dict[str, Any]:
    body = note_body(stack, phone or unique_phone(), unit)
    response = requests.post(f"{stack['base_url']}/v1/notes", json=body,
                             headers=auth(stack, unit), timeout=10)
    assert response.status_code == 201, response.text
    return {**response.json(), "phone": body["payer"]["phone"]}


def get_note(stack: dict[str, Any], payment_code: str, unit: int = 0) -> dict[str, Any]:
    response = requests.get(f"{stack['base_url']}/v1/notes/{payment_code}",
                            headers=auth(stack, unit), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def pay_with_simulator(stack: dict[str, Any], payment_code: str,
                       channel: str = "wechatpay") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "devstack.simulator", "--stack", stack["stack_path"],
         "pay", payment_code, "--channel", channel], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, (f"simulator pay failed:\n{done.stdout}\n{done.stderr}\n"
                                  f"{last_errors(stack)}")
    return done.stdout


def wait_until_issued(stack: dict[str, Any], payment_code: str, unit: int = 0,
                      timeout: float = ISSUE_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    note = get_note(stack, payment_code, unit)
    while note["status"] != "issued" and time.monotonic() < deadline:
        time.sleep(0.3)
        note = get_note(stack, payment_code, unit)
    assert note["status"] == "issued", (f"not issued within {timeout:.0f} s: {note}\n"
                                        f"{last_errors(stack)}")
    return note


def run_scheduled_jobs(stack: dict[str, Any]) -> None:
    """Ask the stack's scheduler to run its jobs (active query, refunds, weekly report) now
    instead of at the end of its minute (SIGUSR1: ``devstack/jobs.Scheduler.run_soon``). A
    wake-up sent while the jobs start is lost, so a test waiting for their effect asks again
    now and then."""
    os.kill(stack["pid"], signal.SIGUSR1)


def last_errors(stack: dict[str, Any], limit: int = 3000) -> str:
    """The end of the stack's latest log from its last traceback, to explain a failure."""
    logs = sorted(Path(stack["local_dir"]).glob("stack-run-*.log"),
                  key=lambda p: p.stat().st_mtime)
    if not logs:
        return "(no stack log)"
    text = logs[-1].read_text(errors="replace")
    at = text.rfind("Traceback")
    if at < 0:
        return f"(no traceback in {logs[-1]})"
    return f"--- last traceback in {logs[-1]} ---\n{text[at:at + limit]}"


def issue_a_bill(stack: dict[str, Any], unit: int = 0) -> dict[str, Any]:
    """Create a note, pay it with the simulator command, wait for its bill; the issued note."""
    created = create_note(stack, unit)
    pay_with_simulator(stack, created["payment_code"])
    return {**wait_until_issued(stack, created["payment_code"], unit), "phone": created["phone"]}


def bill_api(stack: dict[str, Any], bill: dict[str, Any]) -> str:
    return f"{stack['base_url']}/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"


def fetch(url: str, **params: str) -> requests.Response:
    response = requests.get(url, params=params, timeout=15)
    assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:500]}"
    return response


def verify_offline(stack: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "verify-bill", "--keys-url",
         f"{stack['base_url']}/v1/public/keys", "--root-fingerprint", stack["root_fingerprint"],
         str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def sms_messages(stack: dict[str, Any]) -> list[dict[str, Any]]:
    """Every SMS moto's SNS recorded: ``[{phone_number, message, message_id}]``."""
    data = fetch(f"{stack['aws_endpoint_url']}/moto-api/data.json").json()
    return list(data.get("sns", {}).get("SMS", []))


def sms_to(stack: dict[str, Any], phone: str) -> list[str]:
    number = "+86" + phone
    return [m["message"] for m in sms_messages(stack) if m.get("phone_number") == number]


def wait_for_sms(stack: dict[str, Any], phone: str, timeout: float = ISSUE_TIMEOUT) -> list[str]:
    deadline = time.monotonic() + timeout
    texts = sms_to(stack, phone)
    while not texts and time.monotonic() < deadline:
        time.sleep(0.3)
        texts = sms_to(stack, phone)
    assert texts, f"no SMS to {phone} within {timeout:.0f} s\n{last_errors(stack)}"
    return texts


def rows_of(stack: dict[str, Any], table_suffix: str, payment_code: str) -> list[dict[str, Any]]:
    """The items of the DynamoDB Local table named ``*{table_suffix}`` for one payment code."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=stack["dynamodb_endpoint_url"],
                       region_name="cn-north-1", aws_access_key_id="local",
                       aws_secret_access_key="local")
    names = [n for n in ddb.list_tables()["TableNames"] if n.endswith(table_suffix)]
    assert len(names) == 1, f"no single table ending in {table_suffix!r}: {names}"
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(
            TableName=names[0], FilterExpression="payment_code = :c",
            ExpressionAttributeValues={":c": {"S": payment_code}}):
        items.extend(page["Items"])
    return items
