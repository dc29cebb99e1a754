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

Then a busy month (``_busy_month``): 3,000 notes of the operator's unit over the last 30 days,
written straight to the table as the note creation writes them, and the pages measured on
it: the unit pages the list above leaves out (直接开票's form, the unit audit, a person), the
notes list, the payer search (a common name: one of 16 payers, so its 200-row budget runs out
with ~16 found, short of a page; a rare name: 继续查找, and its second request; no match; a
phone, looked up whole; digits of payment codes), the bills'
search, and the day page of yesterday (Beijing): a whole day of them, ~100, at any hour. The earlier pages are measured
before the month is written, so they compare with earlier runs.

    .venv/bin/python -m bench.console [N_REQUESTS]
"""

from __future__ import annotations

import gzip
import html
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote, urlencode

from bench.harness import CallCounter, local_world
from bench.pages import _pct

FORM = "application/x-www-form-urlencoded"
Row = tuple[str, int, int, int, float, float, str]


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


def _measure(client, counter, label: str, path: str, headers: dict, n: int) -> Row:
    last = {}

    def get(i: int) -> None:
        last["r"] = client.http.get(path, headers=headers)

    times = _timed(get, n)
    counter.clear()
    get(0)
    calls = ", ".join(f"{c}" for c in counter.detailed) or "none"
    body = last["r"].body
    assert last["r"].status_code == 200, (label, last["r"].status_code, body[:200])
    return (label, 200, len(body), len(gzip.compress(body)),
            statistics.median(times) * 1000, _pct(times, 0.95), calls)


NAMES = "王伟 李娜 张敏 刘洋 陈静 杨帆 赵磊 黄丽 周杰 吴芳 徐强 孙艳 胡军 朱琳 高峰 林霞".split()


def _busy_month(deps, unit_code: str, count: int = 3000, days: int = 30) -> dict:
    """``count`` notes of the unit over the last ``days`` days (written straight to the table,
    as the note creation writes them: most issued, some unpaid, a few cancelled), 16 common
    payers with a phone each, and one rare payer (欧阳修远) with three notes, the newest two
    weeks back: a search for that name reads most of the month."""
    import random
    from dataclasses import asdict, replace

    from chalicelib.adapters.dynamo_models import NoteModel
    from chalicelib.adapters.dynamo_notes import note_row
    from chalicelib.domain.china_time import CHINA_TZ
    from chalicelib.domain.notes import BillRef, Item, Note, NoteStatus, Payer, PaymentRef

    rng = random.Random(12)
    now = deps.clock()
    step = timedelta(days=days) / count
    rare_at = {count // 2, count * 3 // 4, count - 10}  # from the newest: 0 is now
    phones = {name: f"139{rng.randrange(10**8):08d}" for name in [*NAMES, "欧阳修远"]}
    code_part = ""
    with NoteModel.batch_write() as batch:
        for i in range(count):
            at = (now - step * i).astimezone(CHINA_TZ).isoformat(timespec="seconds")
            name = "欧阳修远" if i in rare_at else rng.choice(NAMES)
            code = f"34010026{90000000000 + i:011d}0"
            code_part = code_part or code[8:16]
            fen = rng.choice((2000, 8000, 10000, 15000))
            note = Note(payment_code=code, unit_code=unit_code, region_code="340100",
                        payer=Payer(name, "individual", phones[name]),
                        items=(Item("103040100101", "不动产登记费（住宅）", "1", fen, fen),),
                        total_fen=fen, bill_kind="0301", created_at=at,
                        expires_at=(now + timedelta(days=30)).isoformat(timespec="seconds"))
            kind = rng.random()
            status = (NoteStatus.ISSUED if kind < 0.6 else NoteStatus.UNPAID if kind < 0.9
                      else NoteStatus.CANCELLED)
            row = note_row(replace(note, status=status))
            if status is NoteStatus.ISSUED:
                row.payment = asdict(PaymentRef("wechatpay", f"4200BUSY{i:010d}", fen, at,
                                                f"BUSY{i:016d}"))
                row.bill = asdict(BillRef("34010126", f"{i:010d}", "aB3dE9", at))
            batch.save(row)
    # The day page is measured on yesterday (Beijing): a whole day of the month's notes, ~100,
    # whatever the time of day the bench runs at (today's would hold 1 note just after midnight).
    day = (now.astimezone(CHINA_TZ) - timedelta(days=1)).date().isoformat()
    return {"count": count, "common": NAMES[0], "rare": "欧阳修远", "day": day,
            "day_notes": sum(1 for i in range(count)
                             if (now - step * i).astimezone(CHINA_TZ).date().isoformat() == day),
            "rare_phone": phones["欧阳修远"], "code_part": code_part}


def console(n: int) -> tuple[list[Row], list[float]]:
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
                rows.append(_measure(client, counter, label, path, headers, n))
            sign_ins = _timed(lambda i: _sign_in(client, operator), max(10, n // 5))
            # The unit's busy month: the other unit pages, and the payer search over it.
            month = _busy_month(deps, "340100001")
            person = operator["username"]
            rare, phone = month["rare"], month["rare_phone"]
            busy = [("unit direct bill form", "unit_operator", "/console/unit/bills/new"),
                    ("unit audit", "unit_admin", "/console/unit/audit"),
                    ("unit person", "unit_admin", f"/console/unit/people/{person}"),
                    (f"unit notes ({month['count']:,})", "unit_operator",
                     "/console/unit/notes"),
                    ("search: common name", "unit_operator",
                     f"/console/unit/notes?q={quote(month['common'])}"),
                    ("search: rare name", "unit_operator",
                     f"/console/unit/notes?q={quote(rare)}"),
                    ("search: rare, 继续查找", "unit_operator", None),
                    ("search: no match", "unit_operator", f"/console/unit/notes?q={quote('无此人')}"),
                    ("search: phone", "unit_operator", f"/console/unit/notes?q={phone}"),
                    ("search: code digits", "unit_operator",
                     f"/console/unit/notes?q={month['code_part']}"),
                    ("bills: payer search", "unit_operator",
                     f"/console/unit/bills?q={quote(rare)}"),
                    (f"finance day ({month['day_notes']} notes)", "finance_auditor",
                     f"/console/finance/day?day={month['day']}")]
            for label, role, path in busy:
                headers = {"Cookie": "; ".join(sessions[role])}
                if path is None:  # the rare name's second request, from its first's cursor
                    first = client.http.get(f"/console/unit/notes?q={quote(rare)}",
                                            headers=headers).body.decode()
                    more = re.search(r'<a href="([^"]+)">继续查找</a>', first)
                    if more is None:
                        continue
                    path = html.unescape(more.group(1))
                rows.append(_measure(client, counter, label, path, headers, n))
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
