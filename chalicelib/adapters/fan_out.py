"""Independent reads at the same time: a page that needs four DynamoDB requests whose
arguments do not depend on each other's answers waits for the slowest, not for the sum.

``gather(*calls)`` runs each call (a function of no argument) and returns their results in
order. The first runs in the caller's thread, the others in a per-process pool of threads
(botocore's clients, and so pynamodb's models, are safe to share between threads). Every call
is waited for before ``gather`` returns or raises, so no read outlives the request that asked
for it; when several fail, the first in order is raised.

A call may gather in turn (an adapter whose own reads are independent, inside a service's
gather): it then uses the pool of the next depth, so a worker never waits for a worker of its
own pool and no number of nested gathers can deadlock. Below ``MAX_DEPTH`` the calls simply
run one after the other.

``gather(*calls, at_most=n)`` makes no more than ``n`` of the calls at once: ``n`` lanes, each
taking the next call nobody has started, until none is left (a job's calls to a channel, bounded
so as not to flood it). Once a call has failed, no lane starts another.

Nothing here knows what it runs: bootstrap offers it to services as ``Ports.gather``, and
adapters whose reads fan out (``dynamo_activity``, ``dynamo_units``) import it directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

WORKERS = 8  # the widest fan-out (the payment channels of a day) in one round trip
MAX_DEPTH = 2

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()
_local = threading.local()


def _pool(depth: int) -> ThreadPoolExecutor:
    with _lock:
        if depth not in _pools:
            _pools[depth] = ThreadPoolExecutor(WORKERS, thread_name_prefix=f"fan-out-{depth}")
        return _pools[depth]


def _at_depth(depth: int, call: Callable[[], Any]) -> Any:
    _local.depth = depth
    return call()


def gather(*calls: Callable[[], Any], at_most: int | None = None) -> list[Any]:
    """The results of ``calls``, in order, the calls made at the same time (no more than
    ``at_most`` at once, when given)."""
    if at_most is not None and 0 < at_most < len(calls):
        return _in_lanes(calls, at_most)
    depth = getattr(_local, "depth", 0)
    if len(calls) < 2 or depth >= MAX_DEPTH:
        return [call() for call in calls]
    pool = _pool(depth)
    futures: list[Future[Any]] = [pool.submit(_at_depth, depth + 1, call) for call in calls[1:]]
    results: list[Any] = []
    failure: BaseException | None = None
    try:
        results.append(calls[0]())
    except Exception as exc:  # noqa: BLE001 - raised below, once every read has finished
        failure = exc
    for future in futures:
        try:
            results.append(future.result())
        except Exception as exc:  # noqa: BLE001 - the first failure in order is raised
            failure = failure or exc
    if failure is not None:
        raise failure
    return results


def _in_lanes(calls: tuple[Callable[[], Any], ...], lanes: int) -> list[Any]:
    """``calls`` made by ``lanes`` lanes gathered at once, each taking the next call nobody has
    started; their results in order. A failure stops every lane before its next call."""
    results: list[Any] = [None] * len(calls)
    taken = iter(range(len(calls)))
    lock = threading.Lock()
    failed = threading.Event()

    def lane() -> None:
        while not failed.is_set():
            with lock:
                i = next(taken, None)
            if i is None:
                return
            try:
                results[i] = calls[i]()
            except BaseException:
                failed.set()
                raise

    gather(*[lane] * lanes)
    return results
