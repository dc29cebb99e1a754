"""DynamoBills remembers the range it takes numbers from (``RANGE_MEMORY_SECONDS``): the next
number is tried without reading the unit's ranges, safely (the transaction's condition), and
ranges allocated meanwhile are seen once the memory is a minute old. The fake has no memory to
mirror: it reads its ranges every time, which is what the memory converges on."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamo_bills import RANGE_MEMORY_SECONDS, DynamoBills
from tests.contracts.builders import BILL_CODE, allocate, at, pay
from tests.contracts.conftest import DynamoStores, _shared, shared_connection
from tests.functional.support import counting_aws_calls


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamo(aws):
    stores = _shared(DynamoStores())
    ticks = Ticks()
    bills = DynamoBills(monotonic=ticks)
    bills._connection = shared_connection()
    return stores, bills, ticks


def take(stores, bills, n: int) -> tuple[str, str]:
    taken = bills.reserve(pay(stores, n), check_code="1", issued_at=at(2))
    return taken.bill_code, taken.bill_number


def test_the_next_number_is_taken_without_reading_the_ranges_again(dynamo, monkeypatch):
    stores, bills, _ = dynamo
    allocate(stores, 5)
    take(stores, bills, 1)
    note = pay(stores, 2)
    with counting_aws_calls(monkeypatch) as calls:
        taken = bills.reserve(note, check_code="1", issued_at=at(2))
    assert calls.calls == ["dynamodb.TransactWriteItems"]
    assert taken.bill_number == "0000000002"


def test_a_number_another_process_took_meanwhile_is_not_taken_again(dynamo, monkeypatch):
    stores, bills, _ = dynamo
    allocate(stores, 5)
    take(stores, bills, 1)
    take(stores, stores.bills, 2)  # another process: number 2
    note = pay(stores, 3)
    with counting_aws_calls(monkeypatch) as calls:
        taken = bills.reserve(note, check_code="1", issued_at=at(2))
    assert taken.bill_number == "0000000003"
    # the guess of 2 is cancelled; the note and the ranges are read again, 3 is taken
    assert calls.calls == ["dynamodb.TransactWriteItems", "dynamodb.GetItem", "dynamodb.Query",
                           "dynamodb.TransactWriteItems"]
    assert take(stores, bills, 4) == (BILL_CODE, "0000000004")  # remembered again


def test_a_range_allocated_meanwhile_is_seen_once_the_memory_is_a_minute_old(dynamo):
    stores, bills, ticks = dynamo
    allocate(stores, 5)
    assert take(stores, bills, 1) == (BILL_CODE, "0000000001")
    allocate(stores, 5, bill_code="34030125")  # an older code: its numbers go first
    ticks.now += RANGE_MEMORY_SECONDS
    assert take(stores, bills, 2) == (BILL_CODE, "0000000002")  # within the minute
    ticks.now += 1
    assert take(stores, bills, 3) == ("34030125", "0000000001")


def test_a_used_up_range_is_followed_by_the_next_one(dynamo):
    stores, bills, _ = dynamo
    allocate(stores, 2)
    allocate(stores, 2)
    assert [take(stores, bills, n)[1] for n in (1, 2, 3)] == [
        "0000000001", "0000000002", "0000000003"]
