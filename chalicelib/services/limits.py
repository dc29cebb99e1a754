"""Rate limits: counters in fixed windows, and the guessing budget of every public code route.

A limit is an atomic counter (``CounterRepository.next_value``) whose id names its window
(``…#2026061510`` for an hour, ``…#20260615`` for a day, China time) and which expires with it.

Guessing (猜码): anyone who can name a payment code, an order number or a bill's check code sees
the note or bill behind it, so every public route that takes one shares one budget per guesser:
``GUESSES_PER_CLIENT_PER_HOUR`` failed lookups per client per hour (an authenticated reimbursing
unit has its own, larger budget, keyed by the unit). The budget is checked BEFORE the lookup
and spent only by a failed one: once it is used up, even a right code gets 429, so answers
after the limit cannot tell a right guess from a wrong one. Other clients are not affected.

A client is its address; an IPv6 address counts by its /64 prefix, because one subscriber is
routinely given a whole /64 and could otherwise change address for every guess.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import RateLimited
from chalicelib.services.ports import Ports

GUESSES_PER_CLIENT_PER_HOUR = 30
GUESSES_PER_UNIT_PER_HOUR = 600  # an authenticated reimbursing unit checking batches
GUESSES_PER_BILL_PER_DAY = 10  # per guesser and bill: a check code is 6 characters of 62
GUESSING_MESSAGE = "查询过于频繁，请一小时后再试"
BILL_GUESSING_MESSAGE = "该票据今日校验码错误次数过多，请明日再试"


def client_key(address: str) -> str:
    """The key a client is counted under: an IPv4 address as is, an IPv6 address by its /64.

    An IPv4-mapped IPv6 address counts as its IPv4 address; anything unparsable is kept as
    given (trimmed and bounded), so a strange proxy header still counts somewhere.
    """
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _hour(deps: Ports) -> str:
    return f"{deps.clock().astimezone(CHINA_TZ):%Y%m%d%H}"


def _day(deps: Ports) -> str:
    return f"{deps.clock().astimezone(CHINA_TZ):%Y%m%d}"


def limit(deps: Ports, counter_id: str, most: int, window: timedelta, message: str) -> None:
    """Count one event; ``RateLimited`` once more than ``most`` fell in the window."""
    expires = int((deps.clock() + window).timestamp())
    if deps.counters.next_value(counter_id, expires) > most:
        raise RateLimited(message, retry_after=int(window.total_seconds()))


def seconds_to_midnight(now: datetime) -> int:
    local = now.astimezone(CHINA_TZ)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - local).total_seconds()))


def limit_today(deps: Ports, counter_id: str, most: int, message: str) -> None:
    """Count one event today (China time); ``RateLimited`` until midnight once over ``most``."""
    now = deps.clock()
    retry_after = seconds_to_midnight(now)
    if deps.counters.next_value(counter_id, int(now.timestamp()) + retry_after + 3600) > most:
        raise RateLimited(message, retry_after=retry_after)


def refuse_when_used_up(deps: Ports, counter_id: str, most: int, retry_after: int,
                        message: str) -> None:
    """``RateLimited`` when the counter already reached ``most``; counts nothing."""
    if deps.counters.value(counter_id) >= most:
        raise RateLimited(message, retry_after=retry_after)


@dataclass(frozen=True)
class Guesser:
    """Who is guessing and how much they may: a public client (by address) or a unit."""

    key: str
    per_hour: int = GUESSES_PER_CLIENT_PER_HOUR

    @classmethod
    def client(cls, address: str) -> Guesser:
        return cls(f"ip:{client_key(address)}")

    @classmethod
    def unit(cls, unit_code: str) -> Guesser:
        return cls(f"unit:{unit_code}", GUESSES_PER_UNIT_PER_HOUR)


def _guess_counter(deps: Ports, guesser: Guesser) -> str:
    return f"guess#{guesser.key}#{_hour(deps)}"


def _bill_counter(deps: Ports, guesser: Guesser, bill_id: str) -> str:
    return f"guess-bill#{guesser.key}#{bill_id}#{_day(deps)}"


@dataclass(frozen=True)
class Budget:
    """One counter a guesser must not have used up: ``most`` misses, then 429 with
    ``retry_after``."""

    counter_id: str
    most: int
    retry_after: int
    message: str


def budgets(deps: Ports, guesser: Guesser, bill_id: str | None = None) -> list[Budget]:
    """The counters ``guard`` checks, for a caller that reads them itself (together with the
    bill: ``BillRepository.lookup``) and then calls ``refuse_used_up``."""
    found = [Budget(_guess_counter(deps, guesser), guesser.per_hour, 3600, GUESSING_MESSAGE)]
    if bill_id is not None:
        found.append(Budget(_bill_counter(deps, guesser, bill_id), GUESSES_PER_BILL_PER_DAY,
                            seconds_to_midnight(deps.clock()), BILL_GUESSING_MESSAGE))
    return found


def refuse_used_up(checked: list[Budget], values: dict[str, int]) -> None:
    """``RateLimited`` for the first budget whose counter (in ``values``) reached its limit."""
    for budget in checked:
        if values.get(budget.counter_id, 0) >= budget.most:
            raise RateLimited(budget.message, retry_after=budget.retry_after)


def guard(deps: Ports, guesser: Guesser, bill_id: str | None = None) -> None:
    """Before a lookup by code: refuse a guesser whose budget is used up (right code or not)."""
    for budget in budgets(deps, guesser, bill_id):
        refuse_when_used_up(deps, budget.counter_id, budget.most, budget.retry_after,
                            budget.message)


def count_miss(deps: Ports, guesser: Guesser, bill_id: str | None = None) -> None:
    """After a failed lookup: spend one guess (and one on that bill); ``RateLimited`` past it."""
    if bill_id is not None:
        limit_today(deps, _bill_counter(deps, guesser, bill_id), GUESSES_PER_BILL_PER_DAY,
                    BILL_GUESSING_MESSAGE)
    limit(deps, _guess_counter(deps, guesser), guesser.per_hour, timedelta(hours=1),
          GUESSING_MESSAGE)
