"""Remittance (划款) of a day: computed from its reconciliation, instructed, confirmed.

The money is what reconciliation settled (``domain/reconciliation.ReconLine``): every payment
line ``in_remittance`` adds its amount to its note, every refund given back for an applied
payment takes it away; each note's money is split over its unit's fee items and their accounts
(``domain/remittance``). Until a day is instructed its remittances are computed on each read
(``pending``); instructing checks the day (every channel reconciled, no open difference, the
remittances adding up to the reconciled net to the fen), keeps the bank's instruction file in
the write-once archive and freezes the amounts (``instructed``); the bank's confirmation of
each remittance, with its reference, closes it (``confirmed``). Both moves are audit-logged
with the finance key that made them. A unit's own receipts behind direct bills (cash, transfer,
POS) are not in any channel's statement: the unit remits them itself, outside this.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from typing import Any

from chalicelib.domain.china_time import china_iso
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.payments import CHANNELS
from chalicelib.domain.reconciliation import ReconLine
from chalicelib.domain.records import AuditEvent
from chalicelib.domain.remittance import (
    ACCOUNTS,
    BankAccount,
    Contribution,
    DayNet,
    Remittance,
    RemittanceDay,
    account_for,
    check_account,
    check_day,
    instruction_csv,
    parse_day,
    remittances_of,
)
from chalicelib.domain.statements import REFUND
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)
CSV_TYPE = "text/csv; charset=gb18030"


def _date(text: str) -> str:
    return parse_day(text)


def day_money(deps: Ports, date: str) -> tuple[DayNet, list[Contribution]]:
    """The day's reconciled figures and what each note contributes (reads each channel's
    reconciliation of the day once, and the notes it names in batches)."""
    net = DayNet()
    signed: list[tuple[str, int]] = []  # (payment code, fen): payments +, refunds −
    for channel in CHANNELS:
        day = deps.reconciliations.day(date, channel)
        if day is None or day.status == "pending":
            net.pending_channels.append(channel)
            continue
        for line in deps.reconciliations.lines(date, channel):
            if not line.is_settled:
                net.open_lines += 1
            if line.in_remittance:
                net.payments_fen += line.amount_fen
                net.fees_fen += line.fee_fen
                net.payment_count += 1
                signed.append((line.payment_code, line.amount_fen))
            elif _refund_of_applied(line):
                net.refunds_fen += abs(line.amount_fen)
                signed.append((line.payment_code, -abs(line.amount_fen)))
    notes = {n.payment_code: n for n in deps.activity.notes([code for code, _ in signed])}
    contributions = []
    for code, fen in signed:
        note = notes.get(code)
        if note is None:  # reconciliation recorded it; its note must exist
            raise Conflict(f"缴款书 {code} 不存在，无法划款", code="remittance_unknown_note")
        contributions.append(Contribution(
            payment_code=code, unit_code=note.unit_code, amount_fen=fen,
            items=tuple((i.item_code, i.amount_fen) for i in note.items)))
    return net, contributions


def _refund_of_applied(line: ReconLine) -> bool:
    # A refund of ours the statement lacks (on_statement False) took no money back: never netted.
    return line.kind == REFUND and line.recorded_status == "applied" and line.is_settled \
        and line.on_statement


def computed(deps: Ports, date: str) -> tuple[list[Remittance], DayNet]:
    net, contributions = day_money(deps, date)
    settings = {c.unit_code: deps.remittances.account_settings(c.unit_code)
                for c in contributions}
    return remittances_of(contributions, account_for(settings)), net


def _in_scope(deps: Ports, finance: FinanceKey, unit_code: str) -> bool:
    unit = deps.units.get(unit_code)
    return unit is not None and finance.covers(unit.region_code)


def remittances_view(deps: Ports, finance: FinanceKey, date_text: str) -> dict[str, Any]:
    """``GET /v1/admin/remittances/{date}``: the contract's object, plus the day's state and
    reconciled figures. A finance key sees the remittances of its region's units; the day's
    figures are the whole day's (what the instruction must match)."""
    date = _date(date_text)
    kept = deps.remittances.get_day(date)
    if kept is not None:
        found, state = list(kept.remittances), kept.status
        figures: dict[str, Any] = {"reconciled_net_fen": kept.net_fen,
                                   "instruction_sha256": kept.instruction_sha256,
                                   "instructed_at": kept.instructed_at}
    else:
        found, net = computed(deps, date)
        state = "pending"
        figures = {"reconciled_net_fen": net.net_fen, "payments_fen": net.payments_fen,
                   "refunds_fen": net.refunds_fen, "fees_fen": net.fees_fen,
                   "channels_not_reconciled": net.pending_channels,
                   "open_discrepancies": net.open_lines}
    return {"date": date,
            "remittances": [r.view() for r in found if _in_scope(deps, finance, r.unit_code)],
            "state": state, **figures}


def bank_accounts(deps: Ports) -> dict[str, BankAccount]:
    try:
        raw = json.loads(deps.settings.remittance_accounts or "{}")
        accounts = {k: BankAccount(**raw[k]) for k in ("collection", *ACCOUNTS)}
    except (ValueError, KeyError, TypeError):
        raise Conflict("划款账户未配置（REMITTANCE_ACCOUNTS）", code="remittance_accounts_missing") \
            from None
    return accounts


def _audit(deps: Ports, finance: FinanceKey, date: str, action: str, detail: dict) -> None:
    deps.audit.append(AuditEvent(bill_id=f"admin#remittance#{date}", unit_code="finance",
                                 action=action, outcome="ok", client=finance.actor,
                                 at=china_iso(deps.clock()), detail=detail))


def _require_every_unit(deps: Ports, finance: FinanceKey, remittances) -> None:
    """One instruction a day moves the whole collection account: only a key whose region
    covers every unit in it may instruct or confirm (the province's, or all)."""
    if any(not _in_scope(deps, finance, r.unit_code) for r in remittances):
        raise Forbidden("该财政密钥的辖区不含当日全部划款单位", code="remittance_scope")


def instruct(deps: Ports, finance: FinanceKey, date_text: str) -> tuple[RemittanceDay, bool]:
    """Instruct the day's remittances: the day and whether it was instructed now (a repeat
    returns the day as instructed before)."""
    date = _date(date_text)
    kept = deps.remittances.get_day(date)
    if kept is not None:
        _require_every_unit(deps, finance, kept.remittances)
        return kept, False
    found, net = computed(deps, date)
    _require_every_unit(deps, finance, found)
    check_day(found, net)
    if not any(r.total_fen > 0 for r in found):
        raise Conflict("当日没有需要划款的资金", code="nothing_to_remit")
    names = {}
    for r in found:
        unit = deps.units.get(r.unit_code)
        names[r.unit_code] = unit.name if unit is not None else r.unit_code
    body = instruction_csv(date, found, bank_accounts(deps), names)
    kept_file = deps.archive.put_once(f"remittances/{date}/instruction.csv", body, CSV_TYPE)
    day = RemittanceDay(
        date=date, status="instructed", net_fen=net.net_fen,
        remittances=tuple(replace(r, status="instructed") for r in found),
        instruction_key=kept_file.key, instruction_sha256=hashlib.sha256(body).hexdigest(),
        instructed_at=china_iso(deps.clock()), instructed_by=finance.actor)
    if not deps.remittances.put_day(day):  # another request instructed it meanwhile
        again = deps.remittances.get_day(date)
        assert again is not None
        return again, False
    _audit(deps, finance, date, "instruct_remittance",
           {"total_fen": net.net_fen, "remittances": len(found),
            "sha256": day.instruction_sha256})
    log.info("remittances of %s instructed: %d fen in %d", date, net.net_fen, len(found))
    return day, True


def instruction_file(deps: Ports, finance: FinanceKey, date_text: str) -> bytes:
    """The day's bank file as kept: it names every unit's remittance of the day, so only a
    key covering them all (as for instructing) may read it."""
    date = _date(date_text)
    kept = deps.remittances.get_day(date)
    if kept is None:
        raise NotFound("当日划款尚未下达", code="remittance_not_instructed")
    _require_every_unit(deps, finance, kept.remittances)
    return deps.archive.get(kept.instruction_key)


def confirm(deps: Ports, finance: FinanceKey, date_text: str, body: object) -> RemittanceDay:
    """The bank executed a remittance: ``{unit_code, account, bank_reference}``. Confirming it
    again with the same reference changes nothing; another reference is 409."""
    date = _date(date_text)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    unit_code, account = body.get("unit_code"), body.get("account")
    reference = body.get("bank_reference")
    problems = {}
    if not isinstance(unit_code, str) or not unit_code:
        problems["unit_code"] = "required"
    if account not in ACCOUNTS:
        problems["account"] = "treasury | special"
    if not isinstance(reference, str) or not 1 <= len(reference) <= 64 \
            or not reference.isprintable():
        problems["bank_reference"] = "1-64 printable characters"
    if problems:
        raise ValidationFailed("请求参数有误", problems)
    for _ in range(5):  # another confirmation of the same day may come first: read again
        kept = deps.remittances.get_day(date)
        if kept is None:
            raise NotFound("当日划款尚未下达", code="remittance_not_instructed")
        _require_every_unit(deps, finance, kept.remittances)
        target = next((r for r in kept.remittances
                       if r.unit_code == unit_code and r.account == account), None)
        if target is None:
            raise NotFound("当日没有该单位该账户的划款", code="remittance_not_found")
        if target.status == "confirmed":
            if target.bank_reference != reference:
                raise Conflict("该笔划款已以其他银行流水号确认", code="already_confirmed")
            return kept
        now = china_iso(deps.clock())
        remittances = tuple(replace(r, status="confirmed", bank_reference=reference,
                                    confirmed_at=now) if r is target else r
                            for r in kept.remittances)
        done = all(r.status == "confirmed" or r.total_fen <= 0 for r in remittances)
        moved = replace(kept, remittances=remittances, version=kept.version + 1,
                        status="confirmed" if done else kept.status)
        if deps.remittances.put_day(moved):
            _audit(deps, finance, date, "confirm_remittance",
                   {"unit_code": unit_code, "account": account, "bank_reference": reference,
                    "total_fen": target.total_fen})
            return moved
    raise Conflict("划款状态正被同时修改，请重试", code="remittance_busy")


def set_account(deps: Ports, finance: FinanceKey, unit_code: str, body: object) -> dict:
    """``PUT /v1/admin/units/{unit_code}/remittance-account`` ``{account, item_code?}``: where
    the unit's money (or one fee item's) is remitted."""
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    account = check_account(body.get("account"))
    item_code = body.get("item_code") or "*"
    if not _in_scope(deps, finance, unit_code):
        raise NotFound("单位不存在", code="unit_not_found")
    if item_code != "*" and item_code not in deps.units.fee_items(unit_code):
        raise ValidationFailed("该单位没有此收费项目", {"item_code": "not a fee item of the unit"})
    deps.remittances.set_account(unit_code, item_code, account)
    deps.audit.append(AuditEvent(
        bill_id=f"admin#remittance_account#{unit_code}", unit_code=unit_code,
        action="set_remittance_account", outcome="ok", client=finance.actor,
        at=china_iso(deps.clock()), detail={"item_code": item_code, "account": account}))
    return {"unit_code": unit_code, "accounts": deps.remittances.account_settings(unit_code)}
