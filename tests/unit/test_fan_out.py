"""Independent reads run at the same time, come back in order, and fail as one."""

from __future__ import annotations

import threading

import pytest

from chalicelib.adapters.fan_out import WORKERS, gather


def test_the_results_come_back_in_the_order_of_the_calls():
    assert gather(lambda: 1, lambda: "two", lambda: [3]) == [1, "two", [3]]
    assert gather(lambda: 1) == [1]
    assert gather() == []


def test_the_calls_run_at_the_same_time():
    # each call waits for all the others: run one after the other, the barrier would break
    barrier = threading.Barrier(4, timeout=5)
    assert gather(*(lambda n=n: (barrier.wait(), n)[1] for n in range(4))) == [0, 1, 2, 3]


def test_the_first_failure_in_order_is_raised_once_every_call_has_finished():
    finished = []
    release = threading.Event()

    def slow() -> str:
        release.wait(5)
        finished.append("slow")
        return "slow"

    def fails(message: str) -> str:
        release.set()
        raise LookupError(message)

    with pytest.raises(LookupError, match="second"):
        gather(slow, lambda: fails("second"), lambda: fails("third"))
    assert finished == ["slow"]


def test_gathers_nested_deeper_than_the_pool_is_wide_finish():
    # a service's gather whose every call is an adapter's gather, twice the pool's width
    barrier = threading.Barrier(WORKERS, timeout=5)

    def adapter(n: int) -> list[int]:
        return gather(*(lambda m=m: m + n for m in range(3)))

    def service() -> list[list[int]]:
        barrier.wait()  # every worker of the first pool busy at once
        return gather(*(lambda n=n: adapter(n) for n in range(2 * WORKERS)))

    results = gather(*(service for _ in range(WORKERS)))
    assert results == [[[n, n + 1, n + 2] for n in range(2 * WORKERS)]] * WORKERS


def test_at_most_so_many_calls_run_at_once_and_the_results_come_back_in_order():
    running, most = [0], [0]
    lock = threading.Lock()
    several = threading.Barrier(3, timeout=5)  # three at once, or the barrier breaks

    def call(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if n < 3:
            several.wait()
        threading.Event().wait(0.01)
        with lock:
            running[0] -= 1
        return n * n

    assert gather(*(lambda n=n: call(n) for n in range(12)), at_most=3) == [
        n * n for n in range(12)]
    assert most[0] == 3


def test_with_a_bound_no_call_starts_once_one_has_failed():
    started = []

    def call(n: int) -> int:
        started.append(n)
        if n == 1:
            raise LookupError("one")
        threading.Event().wait(0.02)  # the others take longer: the failure comes first
        return n

    with pytest.raises(LookupError, match="one"):
        gather(*(lambda n=n: call(n) for n in range(10)), at_most=2)
    assert sorted(started) == [0, 1]  # the other lane's call, then no more
