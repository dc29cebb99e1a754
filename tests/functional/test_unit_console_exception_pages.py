"""The unit console's exception payments by date of payment and a page at a time
(``services/unit_refunds.exceptions``): 20 a page, newest first, 下一页 carrying a cursor sealed
to the person and the filters; a date range and a refund state narrow the list (the date is the
index's key condition); another unit's exceptions never appear; a bad date or a cursor carried to
other filters is a 400 page listing nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from chalicelib.adapters.dynamo_models import PaymentModel
from chalicelib.domain.china_time import CHINA_TZ
from tests.functional.test_console_accounts import pages
from tests.functional.test_console_sign_in import sign_in
from tests.functional.test_unit_console import get

EXCEPTIONS = "/console/unit/exceptions"


def exception_rows(unit_code: str, count: int, start: int = 0, status: str = "manual") -> None:
    """``count`` exception payments of ``unit_code``, one every 6 hours back from 06-15 08:00."""
    for n in range(start, start + count):
        paid = (datetime(2026, 6, 15, 8, tzinfo=CHINA_TZ) - timedelta(hours=6 * n)).isoformat()
        PaymentModel(f"bank#EXC{n:04d}", payment_code=f"34010026{n:012d}", channel="bank",
                     channel_txn_id=f"EXC{n:04d}", out_trade_no=f"34010026{n:012d}",
                     amount_fen=100 + n, paid_at=paid, paid_day=paid[:10], status="exception",
                     reason="amount_mismatch", exception_unit=unit_code,
                     refund_status=status).save()


def txns(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="code muted">EXC(\d{4})</span>', page)]


def test_the_units_exceptions_come_twenty_a_page_newest_first_and_never_another_units(
        client, world):
    exception_rows("340100001", 25)
    exception_rows("340100002", 10, start=100)
    cookies, _ = sign_in(client, world, "unit_admin")
    shown = pages(client, cookies, EXCEPTIONS, 5)
    assert len(shown) == 2 and "下一页" in shown[0]
    assert [txns(p) for p in shown] == [list(range(20)), list(range(20, 25))]
    assert "回到第一页" in shown[1]


def test_a_date_range_and_a_refund_state_narrow_the_list(client, world):
    exception_rows("340100001", 12)  # 06-15 08:00 back to 06-12 14:00, 06-14 has 2-5
    exception_rows("340100001", 2, start=50, status="failed")  # 06-02 20:00 and 14:00
    cookies, _ = sign_in(client, world, "unit_admin")
    one_day = get(client, f"{EXCEPTIONS}?paid_from=2026-06-14&paid_to=2026-06-14", cookies)
    assert one_day.status_code == 200 and txns(one_day.body.decode()) == [2, 3, 4, 5]
    since = get(client, f"{EXCEPTIONS}?paid_from=2026-06-14", cookies).body.decode()
    assert txns(since) == list(range(6))
    until = get(client, f"{EXCEPTIONS}?paid_to=2026-06-10", cookies).body.decode()
    assert txns(until) == [50, 51]
    failed = get(client, f"{EXCEPTIONS}?refund_status=failed", cookies).body.decode()
    assert txns(failed) == [50, 51]


def test_a_bad_date_or_a_cursor_carried_to_other_filters_is_refused(client, world):
    exception_rows("340100001", 25)
    cookies, _ = sign_in(client, world, "unit_admin")
    first = get(client, EXCEPTIONS, cookies).body.decode()
    cursor = re.search(r"cursor=([^\"&]+)", first).group(1)
    for path in (f"{EXCEPTIONS}?paid_from=2026-13-01", f"{EXCEPTIONS}?paid_from=yesterday",
                 f"{EXCEPTIONS}?paid_from=2026-06-15&paid_to=2026-06-01",
                 f"{EXCEPTIONS}?refund_status=lost",
                 f"{EXCEPTIONS}?paid_to=2026-06-15&cursor={cursor}",
                 f"{EXCEPTIONS}?cursor={cursor[:-2]}AA"):
        r = get(client, path, cookies)
        assert r.status_code == 400 and txns(r.body.decode()) == [], path
    operator, _ = sign_in(client, world, "unit_operator")  # another person: not theirs
    r = get(client, f"{EXCEPTIONS}?cursor={cursor}", operator)
    assert r.status_code == 400 and txns(r.body.decode()) == []
