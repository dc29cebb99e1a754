"""Reconciliation (清算对账): each channel's statement of a day against what we recorded.

One run of a day and channel (``reconcile_channel``):

1. Fetch the statement as the channel serves it (``deps.statements``) and keep each of its
   files write-once in the archive under its SHA-256 (``_archive``; listed on the day with
   the run that fetched it, so an auditor can parse the same bytes again). Not ready, the
   channel down, a file refused (hash, totals, format, size) or not archived: the day stays
   ``pending`` (or keeps its last figures) with why, and the next run asks again.
2. Read our payments of that statement day and channel (one index query; UnionPay's day runs
   23:00 to 23:00, two), any other payment a line names (the day before, the payment a refund
   gives back), by id, and our refunds that succeeded that day (one query, ``refunds.of_day``).
3. Judge every line (``domain.reconciliation.match``). A line settled before (matched or
   resolved) is left as it is: re-running a day changes nothing already matched. A refund of
   ours the statement lacks is looked for on the day before's and after's kept lines first
   (the channel may book it across midnight); only then is it a refund_mismatch.
4. A payment only the channel has (channel_only: a lost notification) is confirmed by active
   query (the agent bank's signed statement is its own confirmation: banks offer no query),
   then recorded through the same path a notification takes (``payments.record_payment``: one
   conditional write, issuance enqueued), so its note is billed exactly once even when a late
   notification or another run races this one (either way the line says who recorded it).
5. Keep every judged line (one conditional write each; a settled one is never rewritten) and
   the day's figures: statement count, gross, refunds, fees, net; ours; the status.

Cost: a statement is bounded (``domain.statements``: 64 MB, 200,000 lines); a run writes each
new file once to the archive, makes one query for the day's payments (UnionPay two) and one for
its refunds, a get for each line not among them (up to four for a refund the statement lacks), an active query for each
channel-only line (at most ``MAX_QUERIES`` a run: the rest waits, open, for the next one) and
one write per line that changed. ``reconcile_due`` is the schedule's: yesterday's channels
not yet reconciled (or pending), and the day before's still pending.

People resolve what is left (``resolve``): the resolution, who, when; once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import replace
from typing import Any, cast

from chalicelib.domain.china_time import CHINA_TZ, china_iso
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
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
    refund_day,
    refund_line_id,
)
from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.statements import (
    CLEARING_CUTOFF_HOUR,
    PAYMENT,
    REFUND,
    Statement,
    clearing_day,
    combined,
)
from chalicelib.services.merchants import authorised, statement_merchants
from chalicelib.services.payments import record_payment
from chalicelib.services.ports import MerchantStatementSource, Ports

log = logging.getLogger(__name__)
MAX_QUERIES = 200  # active queries a run may make (10 s each at worst, in a 15-minute Lambda)
MAX_RESOLUTION_CHARS = 500
MAX_FILES = 50  # statement files listed on a day (the first and the latest)
ON_OTHER_DAY = "on_other_day"  # a refund of ours the channel booked on the day before or after
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
        statement = _statement(deps, channel, date)
        files = _archive(deps, statement, previous, runs, run_at)
    except DomainError as exc:  # ServiceUnavailable, StatementInvalid: try again later
        log.warning("%s statement of %s not had: %s", channel, date, exc.message)
        if previous is not None and previous.status != "pending":  # keep what was reconciled
            day = replace(previous, runs=runs, run_at=run_at,
                          detail=f"最近一次获取失败：{exc.message}"[:300])
        else:
            day = ChannelDay(date=date, channel=channel, status="pending", runs=runs,
                             run_at=run_at, detail=exc.message[:300],
                             files=previous.files if previous else ())
        deps.reconciliations.put_day(day)
        return day
    recorded = recorded_of_day(deps, channel, date)
    judged, known = _judge(deps, statement, recorded)
    stored = {line.line_id: line for line in deps.reconciliations.lines(date, channel)}
    queries = 0
    for line in judged:
        old = stored.get(line.line_id)
        if old is not None and old.is_settled:
            continue  # matched or resolved before: never changed again
        line = replace(line, run=runs)
        if line.status == CHANNEL_ONLY and line.kind == PAYMENT:
            if queries >= max_queries:
                line = replace(line, detail="主动查询已达本次上限，下次对账继续")
            else:
                queries += channel != "bank"
                line = _confirm(deps, line)
        elif line.kind == REFUND and not line.on_statement:
            kept = _refund_elsewhere(deps, line, known[line.channel_txn_id], old)
            if kept is None:
                continue  # booked on a neighbouring day's statement: nothing to keep here
            line = kept
        elif line.kind == REFUND and line.status == MATCHED:
            _settle_refund_raised_elsewhere(deps, line, known.get(line.channel_txn_id))
        if old is None or line != replace(old, run=runs):
            deps.reconciliations.put_line(line)  # refused if another run settled it meanwhile
    return _keep_day(deps, statement, recorded_of_day(deps, channel, date),  # found ones too
                     list(deps.reconciliations.lines(date, channel)), runs, run_at, files)


def _statement(deps: Ports, channel: str, date: str) -> Statement:
    """The channel's statement of ``date``: the deployment's merchant's and, where each unit's
    own merchant has its own (Alipay, third-party authorisation), each of theirs, fetched with
    its token, put together (``statements.combined``: each line names its merchant). One that
    cannot be had leaves the day pending, naming the unit, like the deployment's would."""
    source = deps.statements(channel)
    statement = source.statement(date)
    theirs = []
    for unit_code, merchant, token in statement_merchants(deps, channel, date):
        try:
            theirs.append(cast(MerchantStatementSource, source).merchant_statement(
                date, merchant.merchant_id, token))
        except DomainError as exc:
            raise ServiceUnavailable(f"单位 {unit_code} 的自有商户 {merchant.merchant_id} 对账单未取得："
                            f"{exc.message}") from exc
    return combined(statement, *theirs) if theirs else statement


def recorded_of_day(deps: Ports, channel: str, date: str) -> list[PaymentRecord]:
    """Our payments of ``channel`` whose statement day is ``date``: one index query (the
    calendar day), two for a channel whose day ends before midnight (UnionPay: 23:00; a
    payment stamped 23:30 the day before belongs to ``date``, one stamped 23:30 on ``date``
    to the next), each judged by ``clearing_day`` (UnionPay's own settleDate when kept)."""
    if channel not in CLEARING_CUTOFF_HOUR:
        return deps.payments.of_day(channel, date)
    before = (dt.date.fromisoformat(date) - dt.timedelta(days=1)).isoformat()
    candidates = deps.payments.of_day(channel, before) + deps.payments.of_day(channel, date)
    return [r for r in candidates
            if clearing_day(channel, r.paid_at, r.settle_date or "") == date]


def _archive(deps: Ports, statement: Statement, previous: ChannelDay | None, run: int,
             run_at: str) -> tuple[dict[str, Any], ...]:
    """Keep every file of ``statement`` write-once in the archive, under its SHA-256: the same
    file fetched again is the first copy (nothing written); another file of the same day (the
    channel served it anew) is a second object. The day's list of files, this run's added."""
    files = list(previous.files if previous else ())
    for one in statement.files:
        digest = hashlib.sha256(one.body).hexdigest()
        key = f"statements/{statement.channel}/{statement.date}/{digest}/{one.name}"
        if any(f["key"] == key for f in files):
            continue
        kept = deps.archive.put_once(key, one.body, one.media_type)
        if kept.sha256 != digest:
            raise ServiceUnavailable(f"归档的对账单文件 {key} 与下载的不一致")
        files.append({"name": one.name, "key": key, "sha256": digest, "size": kept.size,
                      "version_id": kept.version_id, "run": run, "fetched_at": run_at,
                      "note": one.note[:300]})
    if len(files) > MAX_FILES:  # the first file and the latest ones
        files = files[:1] + files[-(MAX_FILES - 1):]
    return tuple(files)


def _judge(deps: Ports, statement: Statement, recorded: list[PaymentRecord]
           ) -> tuple[list[ReconLine], dict[str, PaymentRecord]]:
    known: dict[str, PaymentRecord] = {r.channel_txn_id: r for r in recorded}
    for line in statement.lines:
        if line.channel_txn_id not in known:
            found = deps.payments.find(f"{statement.channel}#{line.channel_txn_id}")
            if found is not None:
                known[line.channel_txn_id] = found
    refunded = deps.refunds.of_day(statement.channel, statement.date)
    lines = match(statement, recorded, known, refunded)
    for record in refunded:
        known.setdefault(record.channel_txn_id, record)
    return lines, known


def _neighbours(date: str) -> tuple[str, str]:
    day = dt.date.fromisoformat(date)
    return ((day - dt.timedelta(days=1)).isoformat(), (day + dt.timedelta(days=1)).isoformat())


def _refund_elsewhere(deps: Ports, line: ReconLine, record: PaymentRecord,
                     kept: ReconLine | None) -> ReconLine | None:
    """A refund of ours the statement lacks may sit on the day before's or after's (we learned
    of it after midnight; WeChat books a refund on the day it accepted it): looked up there
    (a get or two per day). Found: None (a line already kept open is resolved instead);
    else the line, an open refund_mismatch."""
    ids = {line.line_id} | {f"refund-{i}" for i in (record.refund_id, record.out_refund_no) if i}
    for other in _neighbours(line.date):
        for line_id in ids:
            there = deps.reconciliations.get_line(other, line.channel, line_id)
            if there is not None and there.on_statement \
                    and there.channel_txn_id == line.channel_txn_id:
                if kept is None:
                    return None
                return replace(line, resolution=ON_OTHER_DAY, resolved_by=RECONCILER,
                               resolved_at=china_iso(deps.clock()),
                               detail=f"渠道 {other} 的对账单列有此退款")
    return line


def _settle_refund_raised_elsewhere(deps: Ports, line: ReconLine,
                                    record: PaymentRecord | None) -> None:
    """A refund matched here that we recorded on another day, where a run found it missing
    from that day's statement: that open line is resolved (the channel booked it here)."""
    if record is None or not record.refunded_at:
        return
    ours = refund_day(record)
    if not ours or ours == line.date:
        return
    kept = deps.reconciliations.get_line(ours, line.channel, refund_line_id(record))
    if kept is None or kept.is_settled or kept.on_statement:
        return
    if deps.reconciliations.resolve(replace(
            kept, resolution=ON_OTHER_DAY, resolved_by=RECONCILER,
            resolved_at=china_iso(deps.clock()),
            detail=f"渠道 {line.date} 的对账单列有此退款")):
        day = deps.reconciliations.day(ours, line.channel)
        if day is not None:
            deps.reconciliations.put_day(replace(day, status=day_status(
                deps.reconciliations.lines(ours, line.channel))))


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
            found = deps.channel_api(line.channel).query(authorised(deps, order))
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


def _keep_day(deps: Ports, statement: Statement, recorded: list[PaymentRecord],
              lines: list[ReconLine], runs: int, run_at: str,
              files: tuple[dict[str, Any], ...]) -> ChannelDay:
    day = ChannelDay(
        date=statement.date, channel=statement.channel, status=day_status(lines),
        statement_count=len(statement.payments), statement_total_fen=statement.total_fen,
        statement_refund_fen=statement.refund_fen, statement_fee_fen=statement.fee_fen,
        statement_net_fen=statement.net_fen, recorded_count=len(recorded),
        recorded_total_fen=sum(r.amount_fen for r in recorded), runs=runs, run_at=run_at,
        detail=statement.source or "; ".join(statement.notes), files=files)
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
