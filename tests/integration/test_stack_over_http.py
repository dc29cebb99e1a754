"""The running local stack over HTTP: note → simulator payment → bill → files → offline check.

Everything goes through the processes a developer runs (``python -m devstack.stack``,
the simulator command, the ``verify-bill`` CLI); nothing is imported into this process except
the helper that signs a WeChat notification.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.stack_client import (
    REPO,
    auth,
    bill_api,
    create_note,
    fetch,
    issue_a_bill,
    last_errors,
    pay_with_simulator,
    rows_of,
    run_scheduled_jobs,
    sms_to,
    verify_offline,
    wait_for_sms,
    wait_until_issued,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issued(stack: dict[str, Any]) -> dict[str, Any]:
    """A note of unit 0, paid with the simulator command and issued by the stack's worker."""
    return issue_a_bill(stack)


@pytest.fixture(scope="module")
def files(stack: dict[str, Any], issued: dict[str, Any],
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    bill = issued["bill"]
    folder = tmp_path_factory.mktemp("bill-files")
    got = {}
    for kind in ("pdf", "xml"):
        response = fetch(f"{bill_api(stack, bill)}/{kind}", check_code=bill["check_code"])
        got[kind] = folder / f"{bill['bill_code']}-{bill['bill_number']}.{kind}"
        got[kind].write_bytes(response.content)
    return got


def test_a_note_paid_through_the_simulator_is_issued(stack: dict[str, Any],
                                                     issued: dict[str, Any]) -> None:
    assert issued["payment"]["channel"] == "wechatpay"
    assert issued["payment"]["amount_fen"] == 10050
    bill = issued["bill"]
    assert re.fullmatch(r"\d{8}", bill["bill_code"]), bill
    assert re.fullmatch(r"\d{10}", bill["bill_number"]), bill
    assert re.fullmatch(r"[0-9A-Za-z]{6}", bill["check_code"]), bill
    assert bill["url"].startswith(f"{stack['base_url']}/bills/{bill['bill_code']}/"
                                  f"{bill['bill_number']}?check_code={bill['check_code']}")


@pytest.mark.parametrize("unit", [0, 1])
def test_a_units_own_alipay_merchant_is_paid_with_the_simulator_command(
        stack: dict[str, Any], unit: int) -> None:
    """The command pays as the payer would, at the merchant the order was opened for (the
    notification it signed itself named the deployment's seller, refused with 409)."""
    seller = f"20880000000009{unit}1"
    grant = requests.post(f"{stack['simulator_url']}/alipay/_sim/app-auth",
                          json={"seller_id": seller}, timeout=10).json()
    finance = {"Authorization": f"Bearer {stack['finance']['api_key']}"}
    url = (f"{stack['base_url']}/v1/admin/units/{stack['units'][unit]['unit_code']}"
           "/merchants/alipay")
    put = requests.put(url, headers=finance, timeout=10, json={
        "seller_id": seller, "auth_app_id": grant["auth_app_id"],
        "app_auth_token": grant["app_auth_token"]})
    assert put.status_code == 200, put.text
    try:
        created = create_note(stack, unit)
        pay_with_simulator(stack, created["payment_code"], "alipay")
        note = wait_until_issued(stack, created["payment_code"], unit)
        assert (note["payment"]["channel"], note["payment"]["amount_fen"]) == ("alipay", 10050)
    finally:
        assert requests.delete(url, headers=finance, timeout=10).status_code == 200


def test_a_cancelled_alipay_authorisation_is_found_by_the_next_slice_not_the_next_morning(
        stack: dict[str, Any]) -> None:
    """The simulator command cancels a unit's Alipay authorisation: Alipay's signed message
    reaches the stack's application gateway (answered success), and the scheduler's next run
    re-checks, so the unit warns of it."""
    seller, unit = "2088000000000921", stack["units"][1]["unit_code"]
    grant = requests.post(f"{stack['simulator_url']}/alipay/_sim/app-auth",
                          json={"seller_id": seller}, timeout=10).json()
    finance = {"Authorization": f"Bearer {stack['finance']['api_key']}"}
    url = f"{stack['base_url']}/v1/admin/units/{unit}"
    put = requests.put(f"{url}/merchants/alipay", headers=finance, timeout=10, json={
        "seller_id": seller, "auth_app_id": grant["auth_app_id"],
        "app_auth_token": grant["app_auth_token"]})
    assert put.status_code == 200, put.text
    try:
        done = subprocess.run(
            [sys.executable, "-m", "devstack.simulator", "--stack", stack["stack_path"],
             "cancel-auth", seller], cwd=REPO, capture_output=True, text=True, timeout=60,
            check=False)
        assert done.returncode == 0 and "HTTP 200" in done.stdout, (done.stdout, done.stderr)

        def logged() -> str:
            return "".join(p.read_text(errors="replace")
                           for p in Path(stack["local_dir"]).glob("stack-run-*.log"))

        deadline = time.monotonic() + 60
        while "alipay cancellations re-checked" not in logged() and time.monotonic() < deadline:
            run_scheduled_jobs(stack)  # the scheduler's next run, now
            time.sleep(3)
        assert "alipay cancellations re-checked" in logged(), last_errors(stack)
        # The API process's copy of the unit is at most a minute old (adapters/cached_units).
        deadline, found = time.monotonic() + 75, []
        while not found and time.monotonic() < deadline:
            unit_view = requests.get(url, headers=finance, timeout=10).json()
            found = [w for w in unit_view["warnings"] if w["code"] == "merchant_token_invalid"]
            time.sleep(0 if found else 2)
        assert found, f"no merchant_token_invalid shown\n{last_errors(stack)}"
    finally:
        requests.post(f"{stack['simulator_url']}/alipay/_sim/app-auth",
                      json={"seller_id": seller}, timeout=10)
        assert requests.delete(f"{url}/merchants/alipay", headers=finance,
                               timeout=10).status_code == 200


def test_the_public_bill_json_describes_the_bill(stack: dict[str, Any],
                                                 issued: dict[str, Any]) -> None:
    bill = issued["bill"]
    view = fetch(bill_api(stack, bill), check_code=bill["check_code"]).json()
    assert view["status"] == "normal"
    assert (view["bill_code"], view["bill_number"], view["check_code"]) == (
        bill["bill_code"], bill["bill_number"], bill["check_code"])
    assert view["total_fen"] == 10050 and view["total_capitals"] == "壹佰元伍角整"
    assert view["payment_code"] == issued["payment_code"]
    assert view["issuing_unit"]["unit_code"] == stack["units"][0]["unit_code"]
    assert view["pdf_url"].startswith(f"{bill_api(stack, bill)}/pdf?")
    assert view["xml_url"].startswith(f"{bill_api(stack, bill)}/xml?")


def test_the_bill_files_are_a_pdf_and_an_xml(files: dict[str, Path]) -> None:
    assert files["pdf"].read_bytes().startswith(b"%PDF-")
    assert files["xml"].read_bytes().lstrip().startswith(b"<?xml")


@pytest.mark.parametrize("kind", ["pdf", "xml"])
def test_the_offline_cli_verifies_the_downloaded_file(stack: dict[str, Any],
                                                      files: dict[str, Path], kind: str) -> None:
    done = verify_offline(stack, files[kind])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout
    assert re.search(r"^OK\s+unit signature", done.stdout, re.M), done.stdout
    assert re.search(r"^OK\s+supervisor signature", done.stdout, re.M), done.stdout


def test_the_offline_cli_rejects_an_xml_with_one_amount_digit_changed(
        stack: dict[str, Any], files: dict[str, Path], tmp_path: Path) -> None:
    xml = files["xml"].read_text(encoding="utf-8")
    match = re.search(r"<TotalAmount>(\d)", xml)
    assert match, xml[:2000]
    digit = match.group(1)
    tampered = xml[:match.start(1)] + ("9" if digit != "9" else "8") + xml[match.end(1):]
    assert tampered != xml and len(tampered) == len(xml)
    copy = tmp_path / "tampered.xml"
    copy.write_text(tampered, encoding="utf-8")

    done = verify_offline(stack, copy)

    assert done.returncode != 0, done.stdout
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert failed, done.stdout + done.stderr
    assert any(re.search(r"(unit|supervisor) signature", line) for line in failed), failed


def test_the_sm2_units_bill_from_the_running_stack_verifies_offline(
        stack: dict[str, Any], tmp_path: Path) -> None:
    """Unit 1 of the stack (the traffic police) signs with SM2, and so does the finance
    department for its bills: both signatures SM2, checked by ``verify-bill`` with the
    stack's published keys."""
    issued = issue_a_bill(stack, unit=1)
    bill = issued["bill"]
    path = tmp_path / "sm2.xml"
    path.write_bytes(fetch(f"{bill_api(stack, bill)}/xml", check_code=bill["check_code"]).content)
    assert path.read_bytes().count(b"<Algorithm>SM2</Algorithm>") == 2
    done = verify_offline(stack, path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout
    keys = fetch(f"{stack['base_url']}/v1/public/keys").json()["keys"]
    assert {k["alg"] for k in keys} == {"ES256", "SM2"}


def test_a_unit_cannot_see_another_units_note(stack: dict[str, Any],
                                              issued: dict[str, Any]) -> None:
    code = issued["payment_code"]
    other = requests.get(f"{stack['base_url']}/v1/notes/{code}", headers=auth(stack, 1),
                         timeout=10)
    assert other.status_code == 404, other.text
    assert "error" in other.json() and other.json()["error"]["code"]
    assert "payer" not in other.json()
    mine = requests.get(f"{stack['base_url']}/v1/notes/{code}", headers=auth(stack, 0),
                        timeout=10)
    assert mine.status_code == 200


def test_the_payer_gets_one_sms_with_the_bill_link(stack: dict[str, Any],
                                                   issued: dict[str, Any]) -> None:
    texts = wait_for_sms(stack, issued["phone"])
    time.sleep(2)  # a duplicate would come from a second job run: give it the chance
    texts = sms_to(stack, issued["phone"])
    assert len(texts) == 1, texts
    assert issued["bill"]["url"] in texts[0], texts[0]


def open_wechat_order(stack: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    note = create_note(stack)
    opened = requests.post(f"{stack['base_url']}/v1/public/notes/{note['payment_code']}/pay",
                           json={"channel": "wechatpay"}, timeout=10)
    assert opened.status_code == 201, opened.text
    return note, opened.json()


def post_at_once(url: str, body: bytes, headers: dict[str, str], times: int = 20, *,
                 resend: int = 0) -> list[int | str]:
    """POST the same bytes from ``times`` threads released together; each answer's status.

    ``resend``: how often a thread sends again after a refused or reset connection, as WeChat
    sends an unacknowledged notification again. Without it a failed connection is its repr.
    """
    start = threading.Barrier(times)
    statuses: list[int | str] = []
    lock = threading.Lock()

    def post() -> None:
        start.wait()
        status: int | str = "not sent"
        for attempt in range(resend + 1):
            try:
                status = requests.post(url, data=body, headers=headers, timeout=30).status_code
                break
            except requests.ConnectionError as exc:
                status = repr(exc)
                time.sleep(0.2 * (attempt + 1))
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=post) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(statuses) == times, "a sender thread hung"
    return statuses


def test_the_same_wechat_notification_twenty_times_at_once_gives_one_of_each(
        stack: dict[str, Any]) -> None:
    from devstack.notifications import wechatpay_notification

    note, order = open_wechat_order(stack)
    code = note["payment_code"]
    body, headers = wechatpay_notification(stack, order["out_trade_no"], order["amount_fen"])

    statuses = post_at_once(f"{stack['base_url']}/callbacks/wechatpay", body, headers,
                            resend=5)

    assert set(statuses) <= {200, 204}, statuses
    issued = wait_until_issued(stack, code)
    assert wait_for_sms(stack, note["phone"]), "no SMS within 30 s"
    time.sleep(3)  # let any duplicate job run before counting
    payments = rows_of(stack, "payments", code)
    assert len(payments) == 1, payments
    assert payments[0]["status"]["S"] == "applied"
    bills = rows_of(stack, "bills", code)
    assert len(bills) == 1, bills
    texts = sms_to(stack, note["phone"])
    assert len(texts) == 1, texts
    assert issued["bill"]["url"] in texts[0]


def test_every_one_of_twenty_simultaneous_notifications_gets_an_answer(
        stack: dict[str, Any]) -> None:
    from devstack.notifications import wechatpay_notification

    _, order = open_wechat_order(stack)
    body, headers = wechatpay_notification(stack, order["out_trade_no"], order["amount_fen"])
    for _ in range(10):  # a burst is refused only when the accept loop falls behind: try again
        statuses = post_at_once(f"{stack['base_url']}/callbacks/wechatpay", body, headers)
        answers = {s for s in statuses if isinstance(s, int)}
        if not answers <= {200, 204}:  # another failure than the one expected here
            pytest.fail(f"unexpected answers: {statuses}")
        refused = [s for s in statuses if not isinstance(s, int)]
        assert not refused, f"{len(refused)} of 20 connections refused or reset: {refused[0]}"
