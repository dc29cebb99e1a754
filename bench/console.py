"""Benchmark: the consoles' pages, their weight and server time (issue 12: < 100 KB, p50 < 50 ms).

Through the Chalice app (``chalice.test.Client``) on DynamoDB Local + moto, as ``bench.pages``
measures the payer's pages: the demo people sign in (the operator without TOTP, the others with
a code from their secret), then each console page is requested N times after three warm-up
requests with the person's session; the sign-in itself (argon2id verification included) is
measured on the operator. Server time is the median and p95; bytes as sent, and gzipped; and
the DynamoDB calls one view makes (what the time is mostly made of on DynamoDB Local, whose
calls cost ~15 ms each on this shared machine, several times what DynamoDB's do). The load
average at the start and the end is printed with the table: on a shared machine the same code
measures twice as slow at load 12 as at load 4, so compare runs only at a like load. The
people keep both console cookies a browser keeps (``console_claims`` too: the pages that only
read then start their reads with the session's).

    .venv/bin/python -m bench.console [N_REQUESTS]
"""

from __future__ import annotations

import gzip
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from urllib.parse import urlencode

from bench.harness import CallCounter, local_world
from bench.pages import _pct

FORM = "application/x-www-form-urlencoded"


def _cookies(response) -> list[str]:
    value = response.headers.get("Set-Cookie") or []
    return [c.split(";")[0] for c in (value if isinstance(value, list) else [value])]


def _sign_in(client, who: dict, otp: str = "") -> list[str]:
    form = client.http.get("/console")
    csrf = _cookies(form)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.body.decode()).group(1)
    r = client.http.post("/console/sign-in", headers={"Content-Type": FORM,
                                                      "Cookie": "; ".join(csrf)},
                         body=urlencode({"username": who["username"],
                                         "password": who["password"], "otp": otp,
                                         "csrf_token": token}))
    assert r.status_code == 303, r.body[:300]
    return csrf + [c for c in _cookies(r) if c.startswith(("console_session=", "console_claims="))]


def _timed(call: Callable[[int], object], n: int) -> list[float]:
    times = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        call(i)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return times


def _billed_twice(deps, code: str) -> tuple[str, str]:
    """Pay ``code`` twice (two WeChat Pay orders) and issue its bill: the bill's console page,
    and the second payment's, an exception left to the unit by hand (``manual``, as the refund
    job leaves a counter payment)."""
    from chalicelib.domain.payments import Payment
    from chalicelib.services import notes as notes_service
    from chalicelib.services.issuance import issue_bill
    from chalicelib.services.payments import record_payment

    orders = [notes_service.open_order(deps, code, {"channel": "wechatpay"}) for _ in range(2)]
    for n, order in enumerate(orders):  # both opened while unpaid: the second is an exception
        record_payment(deps, Payment(channel="wechatpay", channel_txn_id=f"4200BENCH{n}",
                                     out_trade_no=order.out_trade_no,
                                     amount_fen=order.amount_fen,
                                     paid_at=deps.clock().isoformat(timespec="seconds"),
                                     notification_id=f"EV-BENCH{n}"))
    ref = issue_bill(deps, code)
    assert ref is not None
    [row] = [r for r in deps.payments.for_note(code) if r.status == "exception"]
    deps.refunds.finish(row.payment_id, "manual", detail="bench")
    return (f"/console/unit/bills/{ref.bill_code}/{ref.bill_number}",
            f"/console/unit/exceptions/{row.channel}/{row.channel_txn_id}")


def console(n: int) -> tuple[list[tuple[str, int, int, int, float, float, str]], list[float]]:
    from chalice.test import Client

    import app as application
    from chalicelib.services import people, unit_console
    from chalicelib.services.people import Actor
    from devstack.seed import people_document

    rows = []
    with local_world() as (deps, seeded):
        listed = {p["role"]: p for p in people_document(seeded.state)}
        operator = listed["unit_operator"]
        actor = Actor(operator["username"], people.Role.UNIT_OPERATOR, "340100001", "bench")
        form = {"payer_name": "张三", "payer_type": "individual", "payer_phone": "13812345678",
                "payer_credit_code": "", "due_date": "", "remark": "",
                "rows": [{"item_code": "103040100101", "quantity": "1", "standard": "80.00"}]}
        codes = [unit_console.create(deps, actor, form, f"bench-{i}").payment_code
                 for i in range(20)]
        bill, exception = _billed_twice(deps, codes[-1])
        counter = CallCounter()
        counter.attach_pynamodb(deps)
        with Client(application.app) as client:
            # each code of the time it is used: on a busy machine, making the notes above
            # can outlast a TOTP step
            sessions = {role: _sign_in(client, who, people.totp_now(
                who["totp_secret"], int(deps.clock().timestamp()))
                if "totp_secret" in who else "") for role, who in listed.items()}
            paths = [("sign-in form", None, "/console"),
                     ("finance home", "finance_admin", "/console/finance"),
                     ("finance people", "finance_admin", "/console/finance/people"),
                     ("finance person", "finance_admin",
                      f"/console/finance/people/{operator['username']}"),
                     ("my account", "unit_operator", "/console/me"),
                     ("finance audit", "finance_auditor", "/console/finance/audit"),
                     ("finance units", "finance_admin", "/console/finance/units"),
                     ("finance unit", "finance_admin", "/console/finance/units/340100001"),
                     ("finance day", "finance_auditor", "/console/finance/day"),
                     ("unit home", "unit_operator", "/console/unit"),
                     ("unit new note form", "unit_operator", "/console/unit/notes/new"),
                     ("unit note detail", "unit_operator", f"/console/unit/notes/{codes[0]}"),
                     ("unit notes (list)", "unit_operator", "/console/unit/notes"),
                     ("unit bills (31 days)", "unit_operator", "/console/unit/bills"),
                     ("unit bill", "unit_admin", bill),
                     ("unit bill: confirm", "unit_admin", f"{bill}/confirm/reverse"),
                     ("unit exceptions", "unit_admin", "/console/unit/exceptions"),
                     ("unit refund: confirm", "unit_admin", f"{exception}/confirm/offline"),
                     ("unit people", "unit_admin", "/console/unit/people")]
            for label, role, path in paths:
                headers = {"Cookie": "; ".join(sessions[role])} if role else {}
                last = {}

                def get(i: int, path=path, headers=headers, last=last) -> None:
                    last["r"] = client.http.get(path, headers=headers)

                times = _timed(get, n)
                counter.clear()
                get(0)
                calls = ", ".join(f"{c}" for c in counter.detailed) or "none"
                body = last["r"].body
                assert last["r"].status_code == 200, (label, last["r"].status_code, body[:200])
                rows.append((label, 200, len(body), len(gzip.compress(body)),
                             statistics.median(times) * 1000, _pct(times, 0.95), calls))
            sign_ins = _timed(lambda i: _sign_in(client, operator), max(10, n // 5))
    return rows, sign_ins


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


def main(n: int = 50) -> None:
    before = _load()
    rows, sign_ins = console(n)
    print(f"\nConsole pages through the Chalice app, {n} requests each, DynamoDB Local + moto")
    print(f"load average: {before} at the start, {_load()} at the end\n")
    print(f"{'page':<22}{'status':>7}{'bytes':>8}{'gzip':>7}{'p50 ms':>9}{'p95 ms':>9}"
          "  DynamoDB calls of one view")
    for label, status, size, zipped, p50, p95, calls in rows:
        print(f"{label:<22}{status:>7}{size:>8}{zipped:>7}{p50:>9.2f}{p95:>9.2f}  {calls}")
    print(f"\nSign-in (GET the form, POST it: argon2id included), {len(sign_ins)} times: "
          f"p50 {_pct(sign_ins, 0.5):.1f} ms, p95 {_pct(sign_ins, 0.95):.1f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
