"""What the concurrency tests need besides the stack: deliveries as each channel sends them,
senders that behave like a channel (resend until acknowledged), counts straight from the stores,
and a ``local_world`` that leaves this process's environment as it found it.
"""

from __future__ import annotations

import os
import secrets
import string
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests

from devstack.notifications import (
    alipay_notification,
    bank_notification,
    unionpay_notification,
    wechatpay_notification,
)

CHANNELS = ("wechatpay", "alipay", "unionpay", "bank")
ITEMS = {"340100001": ("103040100101", "不动产登记费（住宅）"),
         "340100002": ("103050101002", "机动车驾驶证工本费")}
RESENDS = 8  # a channel sends an unacknowledged notification again, with a pause
DRAIN_TIMEOUT = 300.0


@dataclass
class Delivery:
    """One signed copy of a channel's notification for one transaction."""

    channel: str
    payment_code: str
    body: bytes
    headers: dict[str, str]
    answers: list[int | str] = field(default_factory=list)  # every try, in order

    def acknowledged(self) -> bool:
        return bool(self.answers) and isinstance(self.answers[-1], int) \
            and self.answers[-1] in (200, 204)


def open_order(stack: dict[str, Any], payment_code: str, channel: str) -> dict[str, Any]:
    response = requests.post(f"{stack['base_url']}/v1/public/notes/{payment_code}/pay",
                             json={"channel": channel}, timeout=15)
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(stack: dict[str, Any], channel: str, payment_code: str, amount_fen: int,
               copies: int, order: dict[str, Any] | None = None) -> list[Delivery]:
    """``copies`` deliveries of ONE transaction, each signed anew (new nonce and time), as a
    channel resends it: the transaction id (and Alipay's notify_id) stay the same."""
    txn = secrets.token_hex(8)
    made = []
    for _ in range(copies):
        if channel == "bank":
            body, headers = bank_notification(stack, payment_code, amount_fen, bank_txn_id=txn)
        else:
            assert order is not None, f"{channel} pays an order"
            out_trade_no = order["out_trade_no"]
            if channel == "wechatpay":
                body, headers = wechatpay_notification(stack, out_trade_no, amount_fen,
                                                       transaction_id="4200" + txn)
            elif channel == "alipay":
                body, headers = alipay_notification(
                    stack, out_trade_no, amount_fen, trade_no="2026" + str(int(txn, 16)),
                    notify_id=txn + "rg")
            else:
                body, headers = unionpay_notification(stack, out_trade_no, amount_fen,
                                                      queryId="95" + str(int(txn, 16))[:19])
        made.append(Delivery(channel, payment_code, body, headers))
    return made


def send(stack: dict[str, Any], delivery: Delivery, start: threading.Barrier | None = None
         ) -> None:
    """POST it as its channel would: again after a 5xx or a broken connection."""
    if start is not None:
        start.wait(timeout=120)
    url = f"{stack['base_url']}/callbacks/{delivery.channel}"
    for attempt in range(RESENDS):
        try:
            status = requests.post(url, data=delivery.body, headers=delivery.headers,
                                   timeout=60).status_code
        except requests.ConnectionError as exc:
            delivery.answers.append(type(exc).__name__)
        else:
            delivery.answers.append(status)
            if status < 500:
                return
        time.sleep(0.2 * (attempt + 1))


def send_in_groups(stack: dict[str, Any], groups: list[list[Delivery]], workers: int) -> None:
    """Each group's deliveries are released together (a barrier); ``workers`` threads in all,
    a multiple of every group's size so that a group never waits for a thread."""
    assert all(workers % len(group) == 0 for group in groups)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="channel") as pool:
        futures = [pool.submit(send, stack, delivery, barrier)
                   for group in groups
                   for barrier in [threading.Barrier(len(group))]
                   for delivery in group]
        for future in futures:
            future.result(timeout=600)


def dynamodb(stack: dict[str, Any]) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack["dynamodb_endpoint_url"],
                        region_name="cn-north-1", aws_access_key_id="local",
                        aws_secret_access_key="local")


def rows_by_note(stack: dict[str, Any], table: str, codes: set[str]
                 ) -> dict[str, list[dict[str, Any]]]:
    """Every item of a DynamoDB Local table whose payment_code is one of ``codes``, by code;
    ``table`` is the settings' name for it (``PAYMENTS``, ``BILLS``). One scan."""
    from chalicelib.config import load_settings

    rows: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    pages = dynamodb(stack).get_paginator("scan").paginate(
        TableName=load_settings({**os.environ, "STAGE": "local"}).table(table))
    for page in pages:
        for item in page["Items"]:
            code = item.get("payment_code", {}).get("S")
            if code in rows:
                rows[code].append(item)
    return rows


def sms_by_phone(stack: dict[str, Any], phones: set[str]) -> dict[str, list[str]]:
    data = requests.get(f"{stack['aws_endpoint_url']}/moto-api/data.json", timeout=30).json()
    texts: dict[str, list[str]] = {phone: [] for phone in phones}
    for message in data.get("sns", {}).get("SMS", []):
        phone = str(message.get("phone_number", "")).removeprefix("+86")
        if phone in texts:
            texts[phone].append(message["message"])
    return texts


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               explain: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s\n{explain()}")
        time.sleep(1)


def queues_drained(stack: dict[str, Any]) -> bool:
    """True when neither the issuance nor the SMS queue holds a message, visible or not."""
    sqs = boto3.client("sqs", endpoint_url=stack["aws_endpoint_url"], region_name="cn-north-1",
                       aws_access_key_id="local", aws_secret_access_key="local")
    for name in ("fiscal-issue-bill", "fiscal-send-sms"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if any(int(v) for v in counts.values()):
            return False
    return True


@contextmanager
def isolated_world() -> Iterator[tuple[Any, Any]]:
    """``bench.harness.local_world()``, with this process's environment and process-wide deps
    restored afterwards (it points both at its own DynamoDB Local and moto). DynamoDB Local
    keeps this world in memory: it is never restarted, and the 500 bills' writes cost its JVM
    ~40 % less CPU than on SQLite files."""
    from bench.harness import local_world
    from chalicelib import bootstrap

    saved = dict(os.environ)
    try:
        with local_world(in_memory=True) as (deps, seeded):
            yield deps, seeded
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.use(None)


def run_all(work: list[Callable[[], Any]], workers: int, timeout: float = 600
            ) -> list[Any]:
    """Run every callable on ``workers`` threads; each result, or the exception it raised."""

    def guarded(job: Callable[[], Any]) -> Any:
        try:
            return job()
        except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
            return exc

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker") as pool:
        futures = [pool.submit(guarded, job) for job in work]
        return [future.result(timeout=timeout) for future in futures]


def failures(results: list[Any]) -> Counter[str]:
    """What went wrong among ``run_all`` results (exceptions and Nones), counted by kind."""
    return Counter(repr(r)[:300] for r in results if r is None or isinstance(r, Exception))


# --- in process, on local_world ---------------------------------------------------------


def paid_notes(deps: Any, unit_code: str, count: int, *, checkout: bool = True) -> list[str]:
    """``count`` notes of one unit, each paid through a WeChat order; their payment codes.

    The order is opened as the pay page opens it, or with ``checkout=False`` written straight
    to the store (no guessing budget or open-order slot spent: only the payment matters)."""
    from chalicelib.domain.codes import new_out_trade_no
    from chalicelib.domain.payments import ChannelOrder, Payment
    from chalicelib.services import notes as notes_service

    unit = deps.units.get(unit_code)
    item_code, name = ITEMS[unit_code]
    body = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
            "items": [{"item_code": item_code, "name": name, "quantity": 1,
                       "standard_fen": 8000, "amount_fen": 8000}], "total_fen": 8000}

    def one() -> str:
        note, _ = notes_service.create_note(deps, unit, body)
        if checkout:
            order = notes_service.open_order(deps, note.payment_code, {"channel": "wechatpay"})
        else:
            order = ChannelOrder(out_trade_no=new_out_trade_no(note.payment_code),
                                 payment_code=note.payment_code, channel="wechatpay",
                                 amount_fen=8000, created_at=note.created_at,
                                 expires_at="2099-01-01T00:00:00+08:00")
            deps.notes.add_order(order)
        deps.payments.record(Payment(
            channel="wechatpay", channel_txn_id=secrets.token_hex(12),
            out_trade_no=order.out_trade_no, amount_fen=8000, paid_at=note.created_at))
        return note.payment_code

    codes = run_all([one] * count, workers=8)
    assert not failures(codes), failures(codes)
    return codes


def issue(deps: Any, payment_code: str, runs: int = 5) -> Any:
    """``issue_bill`` as the SQS job runs it: a run that fails is delivered again (see the
    reportlab test in test_concurrency.py for why a run may fail when threads share a process)."""
    from chalicelib.services.issuance import issue_bill

    for run in range(runs):
        try:
            return issue_bill(deps, payment_code)
        except Exception:
            if run == runs - 1:
                raise
    raise AssertionError("unreachable")


def wrong_codes(right: str, count: int) -> list[str]:
    alphabet = string.digits + string.ascii_letters
    codes: list[str] = []
    while len(codes) < count:
        code = "".join(secrets.choice(alphabet) for _ in range(6))
        if code != right:
            codes.append(code)
    return codes
