"""Reconciliation (清算对账): each channel's statement of a day against what we recorded.

One run of a day and channel (``reconcile_channel``):

1. Fetch the statement as the channel serves it (``deps.statements``). Not ready, the channel
   down, or a file refused (hash, totals, format, size): the day stays ``pending`` (or keeps
   its last figures) with why, and the next run asks again.
2. Read our payments of that day and channel (one index query), and any other payment a line
   names (the day before, the payment a refund gives back), by id.
3. Judge every line (``domain.reconciliation.match``). A line settled before (matched or
   resolved) is left as it is: re-running a day changes nothing already matched.
4. A payment only the channel has (channel_only: a lost notification) is confirmed by active
   query (the agent bank's signed statement is its own confirmation: banks offer no query),
   then recorded through the same path a notification takes (``payments.record_payment``: one
   conditional write, issuance enqueued), so its note is billed exactly once even when a late
   notification or another run races this one (either way the line says who recorded it).
5. Keep every judged line (one conditional write each; a settled one is never rewritten) and
   the day's figures: statement count, gross, refunds, fees, net; ours; the status.

Cost: a statement is bounded (``domain.statements``: 64 MB, 200,000 lines); a run makes one
query for the day's payments, a get for each line not among them, an active query for each
channel-only line (at most ``MAX_QUERIES`` a run: the rest waits, open, for the next one) and
one write per line that changed. ``reconcile_due`` is the schedule's: yesterday's channels
not yet reconciled (or pending), and the day before's still pending.

People resolve what is left (``resolve``): the resolution, who, when; once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from chalicelib.domain.china_time import CHINA_TZ, china_iso
from chalicelib.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from chalicelib.domain.payments import CHANNELS, Payment, PaymentOutcome
from chalicelib.domain.reconciliation import (
    AMOUNT_MISMATCH,
    CHANNEL_ONLY,
    MATCHED,
    RECONCILER,
    STATUS_MISMATCH,
    ChannelDay,
    ReconLine,
    day_status,
    match,
)
from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.statements import PAYMENT, Statement
from chalicelib.services.payments import record_payment
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)
MAX_QUERIES = 200  # active queries a run may make (10 s each at worst, in a 15-minute Lambda)
MAX_RESOLUTION_CHARS = 500
_RECORDED = (PaymentOutcome.RECORDED, PaymentOutcome.DUPLICATE, PaymentOutcome.AMOUNT_MISMATCH,
             PaymentOutcome.NOTE_NOT_PAYABLE)


def check_date(text: str) -> str:
    """A reconciliation day: ``YYYY-MM-DD``, a real date (else 400, naming the field)."""
    try:
        if len(text) != 10:
            raise ValueError
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", {"date": "must be YYYY-MM-DD"}) from None
    return text


def channels_of(deps: Ports) -> tuple[str, ...]:
    return tuple(c for c in CHANNELS if c in deps.settings.enabled_channels)


def reconcile_day(deps: Ports, date: str, channels: tuple[str, ...] | None = None, *,
                  max_queries: int = MAX_QUERIES) -> dict[str, ChannelDay]:
    """Reconcile (again) every channel's statement of ``date``; each channel on its own (one
    that fails leaves the others reconciled)."""
    check_date(date)
    return {channel: reconcile_channel(deps, date, channel, max_queries=max_queries)
            for channel in (channels or channels_of(deps))}


def reconcile_due(deps: Ports) -> dict[str, dict[str, str]]:
    """The schedule's run: yesterday (Beijing) for every channel not reconciled yet or still
    pending, and the day before for those still pending. The statuses, for the log."""
    today = deps.clock().astimezone(CHINA_TZ).date()
    out: dict[str, dict[str, str]] = {}
    for back, only_pending in ((1, False), (2, True)):
        date = (today - dt.timedelta(days=back)).isoformat()
        for channel in channels_of(deps):
            known = deps.reconciliations.day(date, channel)
            if (known is not None and known.status != "pending") \
                    or (only_pending and known is None):
                continue  # reconciled (a re-run is POST /v1/admin/reconciliations/{date})
            out.setdefault(date, {})[channel] = reconcile_channel(deps, date, channel).status
    if out:
        log.info("reconciliation: %s", out)
    return out


def reconcile_channel(deps: Ports, date: str, channel: str, *,
                      max_queries: int = MAX_QUERIES) -> ChannelDay:
    """One run of one day and channel (see the module docstring); the day's figures."""
    run_at = china_iso(deps.clock())
    previous = deps.reconciliations.day(date, channel)
    runs = (previous.runs if previous else 0) + 1
    try:
        statement = deps.statements(channel).statement(date)
    except DomainError as exc:  # ServiceUnavailable, StatementInvalid: try again later
        log.warning("%s statement of %s not had: %s", channel, date, exc.message)
        if previous is not None and previous.status != "pending":  # keep what was reconciled
            day = replace(previous, runs=runs, run_at=run_at,
                          detail=f"最近一次获取失败：{exc.message}"[:300])
        else:
            day = ChannelDay(date=date, channel=channel, status="pending", runs=runs,
                             run_at=run_at, detail=exc.message[:300])
        deps.reconciliations.put_day(day)
        return day
    judged = _judge(deps, statement)
    stored = {line.line_id: line for line in deps.reconciliations.lines(date, channel)}
    queries = 0
    for line in judged:
        old = stored.get(line.line_id)
        if old is not None and old.is_settled:
            continue  # matched or resolved before: never changed again
        if line.status == CHANNEL_ONLY and line.kind == PAYMENT:
            if queries >= max_queries:
                line = replace(line, detail="主动查询已达本次上限，下次对账继续")
            else:
                queries += channel != "bank"
                line = _confirm(deps, line)
        if line != old:
            deps.reconciliations.put_line(line)  # refused if another run settled it meanwhile
    return _keep_day(deps, statement, list(deps.reconciliations.lines(date, channel)), runs,
                     run_at)


def _judge(deps: Ports, statement: Statement) -> list[ReconLine]:
    recorded = deps.payments.of_day(statement.channel, statement.date)
    known: dict[str, PaymentRecord] = {r.channel_txn_id: r for r in recorded}
    for line in statement.lines:
        if line.channel_txn_id not in known:
            found = deps.payments.find(f"{statement.channel}#{line.channel_txn_id}")
            if found is not None:
                known[line.channel_txn_id] = found
    return match(statement, recorded, known)


def _confirm(deps: Ports, line: ReconLine) -> ReconLine:
    """A payment only the channel has: confirmed by active query, then recorded exactly once
    (as a notification would be); else the line says why it is left open."""
    if line.channel == "bank":
        payment = Payment(channel="bank", channel_txn_id=line.channel_txn_id,
                          out_trade_no=line.out_trade_no[:20], amount_fen=line.amount_fen,
                          paid_at=line.at, notification_id="statement")
    else:
        order = deps.notes.get_order(line.out_trade_no)
        if order is None or order.channel != line.channel:
            return replace(line, detail="不是本系统的订单：款项待查，须人工处理")
        try:
            found = deps.channel_api(line.channel).query(order)
        except DomainError as exc:
            return replace(line, detail=f"主动查询未成功，下次对账再查：{exc.message}"[:300])
        if found is None:
            return replace(line, status=STATUS_MISMATCH,
                           detail="对账单显示已支付，渠道主动查询显示未支付")
        if found.channel_txn_id != line.channel_txn_id:
            return replace(line, detail=f"主动查询返回另一笔交易 {found.channel_txn_id}")
        if found.amount_fen != line.amount_fen:
            return replace(line, status=AMOUNT_MISMATCH, recorded_fen=None,
                           detail=f"对账单金额 {line.amount_fen} 分，主动查询 {found.amount_fen} 分")
        payment = found
    outcome = record_payment(deps, payment)
    if outcome not in _RECORDED:
        return replace(line, detail=f"未能入账：{outcome.value}")
    if payment.channel != "bank":
        deps.notes.close_order(payment.out_trade_no)
    record = deps.payments.find(payment.payment_id)
    resolution = "already_recorded" if outcome is PaymentOutcome.DUPLICATE else "recorded"
    log.info("%s %s found by reconciliation: %s", line.channel, line.channel_txn_id,
             outcome.value)
    return replace(line, payment_code=payment.payment_code, recorded_fen=payment.amount_fen,
                   recorded_status=record.status if record else None,
                   resolution=resolution, resolved_by=RECONCILER,
                   resolved_at=china_iso(deps.clock()),
                   detail=f"主动查询确认后入账（{outcome.value}）" if line.channel != "bank"
                   else f"按银行签名对账单入账（{outcome.value}）")


def _keep_day(deps: Ports, statement: Statement, lines: list[ReconLine], runs: int,
              run_at: str) -> ChannelDay:
    recorded = deps.payments.of_day(statement.channel, statement.date)
    day = ChannelDay(
        date=statement.date, channel=statement.channel, status=day_status(lines),
        statement_count=len(statement.payments), statement_total_fen=statement.total_fen,
        statement_refund_fen=statement.refund_fen, statement_fee_fen=statement.fee_fen,
        statement_net_fen=statement.net_fen, recorded_count=len(recorded),
        recorded_total_fen=sum(r.amount_fen for r in recorded), runs=runs, run_at=run_at,
        detail=statement.source or "; ".join(statement.notes))
    deps.reconciliations.put_day(day)
    log.info("%s %s reconciled: %s, %d lines, %d not matched", statement.channel,
             statement.date, day.status, len(lines),
             sum(1 for li in lines if li.status != MATCHED))
    return day


def view(deps: Ports, date: str) -> dict:
    """CONTRACT v2's ``GET /v1/admin/reconciliations/{date}``: every channel's figures and
    discrepancies; a channel never run is ``pending`` with zeros."""
    check_date(date)
    channels = {}
    for channel in channels_of(deps):
        day = deps.reconciliations.day(date, channel) or ChannelDay(
            date=date, channel=channel, status="pending", detail="尚未对账")
        channels[channel] = day.view(deps.reconciliations.lines(date, channel))
    return {"date": date, "channels": channels}


def resolve(deps: Ports, date: str, channel: str, line_id: str, resolution: object,
            by: str) -> ReconLine:
    """A person's resolution of one open discrepancy (kept once: a second is 409)."""
    check_date(date)
    if channel not in channels_of(deps):
        raise NotFound("没有这个渠道", code="channel_not_found")
    if not isinstance(resolution, str) or not resolution.strip() \
            or len(resolution) > MAX_RESOLUTION_CHARS:
        raise ValidationFailed("请填写处理说明（不超过 500 字）",
                               {"resolution": f"1-{MAX_RESOLUTION_CHARS} characters"})
    line = deps.reconciliations.get_line(date, channel, line_id)
    if line is None or line.status == MATCHED:
        raise NotFound("没有这条差异记录", code="discrepancy_not_found")
    if line.is_settled:
        raise Conflict("这条差异已处理", code="discrepancy_resolved",
                       details={"resolution": line.resolution, "resolved_by": line.resolved_by})
    done = replace(line, resolution=resolution.strip(), resolved_by=by,
                   resolved_at=china_iso(deps.clock()))
    if not deps.reconciliations.resolve(done):
        raise Conflict("这条差异已处理", code="discrepancy_resolved")
    lines = list(deps.reconciliations.lines(date, channel))
    day = deps.reconciliations.day(date, channel)
    if day is not None:
        deps.reconciliations.put_day(replace(day, status=day_status(lines)))
    return done
