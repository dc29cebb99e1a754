"""Active query (主动查询): ask the channel about orders whose notification never came.

Every channel delivers its notifications at least once but advises to query when none arrives
(payment-channels.md §4.6). The scheduled job takes the open orders (a sparse index, oldest
first) opened more than ``QUERY_AFTER`` ago, page by page, all of them unless its time budget
runs out (then the next run goes on; a note has at most five open orders, ``notes``). An order
whose note is no longer unpaid, or which is past its expiry by ``QUERY_UNTIL`` (the channels
close it at expiry: we set it when opening), leaves the index unasked. Any other is asked
about; a payment the channel reports is recorded exactly as its notification would be
(``record_payment``: the same idempotent write, issuance enqueued), and the order leaves the
index. A channel that does not answer is asked next time.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import DomainError
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.payments import ChannelOrder
from chalicelib.services.merchants import authorised
from chalicelib.services.payments import record_payment
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)
QUERY_AFTER = timedelta(minutes=3)
QUERY_UNTIL = timedelta(hours=1)
BATCH = 100
# The job runs every 5 minutes in a Lambda of 30 s; a channel call may take its 10 s timeout,
# so no new order is asked about once 18 s have gone.
BUDGET_SECONDS = 18.0


def query_open_orders(deps: Ports, limit: int = BATCH, budget: float = BUDGET_SECONDS,
                      timer: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Ask the channels about every open order, page after page of ``limit``, until the index
    is done or ``budget`` seconds have gone (the rest waits for the next run, oldest first);
    how many ended which way (for the log)."""
    now = deps.clock()
    before = (now - QUERY_AFTER).astimezone(CHINA_TZ).isoformat(timespec="seconds")
    counts: Counter[str] = Counter()
    started, after = timer(), None
    while True:
        page = deps.notes.open_orders(before, limit, after)
        for order in page:
            if timer() - started >= budget:
                counts["deferred"] += 1  # one at least: the next run starts from the oldest
                log.warning("open orders: time budget spent, the rest waits for the next run")
                return _logged(counts)
            counts[_ask(deps, order, now)] += 1
        if len(page) < limit:
            return _logged(counts)
        after = page[-1]


def _logged(counts: Counter[str]) -> dict[str, int]:
    if counts:
        log.info("open orders queried: %s", dict(counts))
    return dict(counts)


def _ask(deps: Ports, order: ChannelOrder, now: datetime) -> str:
    if now > datetime.fromisoformat(order.expires_at) + QUERY_UNTIL:
        deps.notes.close_order(order.out_trade_no)
        return "expired"
    note = deps.notes.get(order.payment_code)
    if note is None or note.status is not NoteStatus.UNPAID:  # stored: paid before expiry counts
        deps.notes.close_order(order.out_trade_no)
        return "settled"
    try:
        payment = deps.channel_api(order.channel).query(authorised(deps, order))
    except DomainError as exc:  # ServiceUnavailable mostly: the channel is asked again
        log.warning("%s order %s not answered: %s", order.channel, order.out_trade_no,
                    exc.message)
        return "unavailable"
    if payment is None:
        return "unpaid"
    outcome = record_payment(deps, payment)
    deps.notes.close_order(order.out_trade_no)
    log.info("%s order %s paid, found by query: %s", order.channel, order.out_trade_no,
             outcome.value)
    return outcome.value
