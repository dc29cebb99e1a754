"""Use cases of collecting units and payers around payment notes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta

from chalicelib.domain import bill_templates
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.codes import make_payment_code, new_out_trade_no
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.domain.fee_items import FeeItem, line_problems
from chalicelib.domain.masking import mask_name, mask_phone
from chalicelib.domain.merchants import WIRED as MERCHANT_WIRED
from chalicelib.domain.notes import (
    CHINA_TZ,
    Note,
    NoteDraft,
    NoteStatus,
    bill_kind_for,
    new_note,
    validate_new_note,
)
from chalicelib.domain.payments import ORDER_CHANNELS, ORDER_MODES, ChannelOrder
from chalicelib.domain.units import Unit
from chalicelib.services import limits
from chalicelib.services.bill_templates import bill_extra_for
from chalicelib.services.links import bill_url, notice_url, pay_url
from chalicelib.services.merchants import open_token
from chalicelib.services.ports import Ports
from chalicelib.services.units import refuse_kind_not_allowed

ORDER_LIFETIME = timedelta(hours=2)


def _request_hash(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_standards(draft: NoteDraft, fee_items: Mapping[str, FeeItem], kind: str,
                    today: date) -> None:
    """事前审核: every line within its fee item's standard, validity and bill kind, on
    ``today`` (China time); else one ``ValidationFailed`` naming each wrong field."""
    problems: dict[str, str] = {}
    for i, line in enumerate(draft.items):
        item = fee_items.get(line.item_code)
        if item is not None:
            problems.update(line_problems(item, line, f"items[{i}]", today, kind))
    if problems:
        raise ValidationFailed("收费项目不符合财政部门核定的收费标准", problems,
                               code="outside_fee_standard")


def create_note(deps: Ports, unit: Unit, body: object,
                idempotency_key: str | None = None) -> tuple[Note, bool]:
    """Create a note for ``unit``; with an idempotency key a retry returns the same note.

    Returns the note and whether it was created now (False: an earlier identical request).
    """
    now = deps.clock()
    fee_items = deps.units.fee_items(unit.unit_code)
    draft = validate_new_note(body, today=now.astimezone(CHINA_TZ).date(),
                              known_items=fee_items, bill_kinds=frozenset(BILL_KINDS))
    notify = _notify_payer(body, draft.payer.phone)
    code_key = deps.payment_code_key  # ServiceUnavailable when this stage has none
    if not code_key:
        raise ServiceUnavailable("PAYMENT_CODE_KEY is not configured for this stage")
    kind = bill_kind_for(draft, {code: item.bill_kind for code, item in fee_items.items()},
                         unit.bill_kind)
    refuse_kind_not_allowed(unit, kind, "bill_kind" if draft.bill_kind else next(
        (f"items[{i}].item_code" for i, line in enumerate(draft.items)
         if (item := fee_items.get(line.item_code)) is not None and item.bill_kind == kind),
        "bill_kind"))
    if not deps.ranges.for_unit(unit.unit_code, kind):
        raise ValidationFailed("本单位没有该票据种类的号段", {
            "bill_kind": f"no number range for kind {kind}: ask the finance department"})
    check_standards(draft, fee_items, kind, now.astimezone(CHINA_TZ).date())
    tpl, bill_extra = bill_extra_for(deps, kind, body, draft.total_fen,
                                     now.astimezone(CHINA_TZ).date())
    template = tpl
    claim_id, attached = None, None
    if idempotency_key is not None:
        if not (1 <= len(idempotency_key) <= 128) or not idempotency_key.isprintable():
            raise ValidationFailed("Idempotency-Key 格式不正确",
                                   {"Idempotency-Key": "1-128 printable characters"})
        claim_id = f"{unit.unit_code}#{idempotency_key}"
        earlier = deps.idempotency.claim(claim_id, _request_hash(body), now)
        if earlier is not None:
            if earlier.request_hash != _request_hash(body):
                raise Conflict("同一 Idempotency-Key 已用于另一内容的请求",
                               code="idempotency_key_reused")
            if earlier.state == "taken_over":  # an earlier attempt died or failed midway
                attached = earlier.result
            elif earlier.state != "completed" or not earlier.result:
                raise Conflict("相同请求正在处理中，请稍后重试", code="request_in_progress")
            else:
                note = deps.notes.get(earlier.result)
                if note is None:
                    raise Conflict("idempotency record points nowhere",
                                   code="request_in_progress")
                if notify:  # again: the first enqueue may have failed; the SMS dedups itself
                    _text_payer(deps, note)
                return note, False
    try:
        note, created = _add_note(deps, unit, draft, kind, code_key, now, claim_id, attached,
                                  template, bill_extra)
    except Exception:
        if claim_id is not None:
            deps.idempotency.release(claim_id, now)
        raise
    if claim_id is not None:
        deps.idempotency.complete(claim_id, note.payment_code)
    if notify:
        _text_payer(deps, note)
    return note, created


def _add_note(deps: Ports, unit: Unit, draft: NoteDraft, kind: str, code_key: bytes,
              now: datetime, claim_id: str | None, attached: str | None,
              template: bill_templates.BillTemplate,
              bill_extra: tuple[tuple[str, str], ...]) -> tuple[Note, bool]:
    """Write the note under a new payment code; returns it and whether it was written now.

    Under an idempotency claim the code is attached to the claim before the note is written, so
    an attempt that takes over the claim of one that died (``attached``) looks for that note and
    writes it under the same code if it is missing: one key never gives two notes.
    """
    year = now.astimezone(CHINA_TZ).year
    for attempt in range(5):
        if attempt == 0 and attached is not None:
            code = attached
            earlier = _same_request(deps.notes.get(code), unit, draft)
            if earlier is not None:
                return earlier, False
        else:
            counter = deps.counters.next_value(f"payment-code#{unit.region_code}#{year}")
            code = make_payment_code(unit.region_code, year, counter, code_key)
            if claim_id is not None and not deps.idempotency.attach(claim_id, code, now):
                raise Conflict("相同请求正在处理中，请稍后重试", code="request_in_progress")
        note = new_note(draft, payment_code=code, unit_code=unit.unit_code,
                        region_code=unit.region_code, bill_kind=kind, now=now,
                        template=(template.template_id, template.version),
                        bill_extra=bill_extra, template_def=template)
        try:
            deps.notes.add(note)
            return note, True
        except Conflict:
            # The attempt we took over wrote it just now; or, only after a change of
            # PAYMENT_CODE_KEY, the code is another note's: take the next one.
            earlier = _same_request(deps.notes.get(code), unit, draft) \
                if attempt == 0 and attached is not None else None
            if earlier is not None:
                return earlier, False
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _same_request(note: Note | None, unit: Unit, draft: NoteDraft) -> Note | None:
    """``note`` if it is what this request creates (a code attached to a claim, then taken by
    another note after a change of PAYMENT_CODE_KEY, is not ours)."""
    if note is None or note.unit_code != unit.unit_code:
        return None
    mine = (draft.payer, tuple(draft.items), draft.total_fen, draft.due_date, draft.remark)
    theirs = (note.payer, tuple(note.items), note.total_fen, note.due_date, note.remark)
    return note if mine == theirs else None


def _notify_payer(body: object, phone: str | None) -> bool:
    """The optional ``notify_payer`` flag: text the payer the pay link once the note exists."""
    value = body.get("notify_payer", False) if isinstance(body, dict) else False
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationFailed("请求参数有误", {"notify_payer": "must be true or false"})
    if value and not phone:
        raise ValidationFailed("请求参数有误",
                               {"payer.phone": "is required when notify_payer is true"})
    return value


def _text_payer(deps: Ports, note: Note) -> None:
    from chalicelib.services.sms import request_note_created_sms

    request_note_created_sms(deps, note)


def get_unit_note(deps: Ports, unit: Unit, payment_code: str) -> Note:
    note = deps.notes.get(payment_code)
    if note is None or note.unit_code != unit.unit_code:
        # Another unit's note is reported as absent: a unit learns nothing of others' notes.
        raise NotFound("缴款书不存在", code="note_not_found")
    return note


def cancel_note(deps: Ports, unit: Unit, payment_code: str) -> Note:
    note = get_unit_note(deps, unit, payment_code)
    note.cancelled(deps.clock())  # raises when the rules forbid it
    return deps.notes.cancel(payment_code)


OPEN_ORDERS_PER_NOTE = 5


def get_public_note(deps: Ports, payment_code: str, client: str) -> Note:
    """A note by its payment code, for a client that does not prove who it is.

    Codes are guessable in principle, so every unknown code spends the client's guessing budget
    (``limits``); once it is used up the client gets 429 for known codes too, so a right guess
    cannot be told from a wrong one until the hour is over.
    """
    guesser = limits.Guesser.client(client)
    checked = limits.budgets(deps, guesser)
    # the budget and the note in one read (a payer's page polls this); a guesser past the
    # budget learns nothing of the note
    found = deps.notes.lookup(payment_code, [b.counter_id for b in checked])
    limits.refuse_used_up(checked, found.counters)
    note = found.note
    if note is None:
        limits.count_miss(deps, guesser)
        raise NotFound("未找到该缴款码对应的缴款书，请核对缴款码", code="note_not_found")
    return note


def open_order(deps: Ports, payment_code: str, body: object,
               client: str = "unknown") -> ChannelOrder:
    """Open a channel order for a payer; the channel's notification will name it. ``client``
    is the payer's address (the API always gives it; jobs and benchmarks count as one).

    A note has at most ``OPEN_ORDERS_PER_NOTE`` unexpired orders: each takes a slot (a lease
    that ends when the order expires) by a conditional write, so the open-order index, and the
    active query's work, stay bounded whoever knows the code. Five covers a payer trying each of
    the three channels and coming back twice; an order lives ``ORDER_LIFETIME`` at most.

    The order is opened for the note's unit's own merchant at the channel when it has one
    (``domain/merchants``: WeChat Pay's sub_mchid, Alipay's seller_id), and records it: its
    query, its refund and its payment's check use the order's, whatever the unit is given later.
    The order returned carries the merchant's token (Alipay's app_auth_token) for the checkout
    that follows; the order stored never does.
    """
    channel = body.get("channel") if isinstance(body, dict) else None
    if channel not in ORDER_CHANNELS:
        raise ValidationFailed("请选择支付方式", {"channel": f"must be one of {ORDER_CHANNELS}"})
    modes = ORDER_MODES[str(channel)]
    mode = body.get("mode") if isinstance(body, dict) else None
    mode = modes[0] if mode is None else mode
    if mode not in modes:
        raise ValidationFailed("该支付方式不支持所选的付款方式",
                               {"mode": f"must be one of {modes} for {channel}"})
    if channel not in deps.settings.enabled_channels:
        raise ValidationFailed("该支付方式暂未开通，请选择其他方式",
                               {"channel": f"{channel} is not enabled here"},
                               code="channel_unavailable")
    note = get_public_note(deps, payment_code, client)
    now = deps.clock()
    note.ensure_payable(now)
    expires = now + ORDER_LIFETIME
    if note.expires_at:
        expires = min(expires, datetime.fromisoformat(note.expires_at))
    merchant = None
    if channel in MERCHANT_WIRED:
        unit = deps.units.get(note.unit_code)
        merchant = unit.merchant(str(channel)) if unit is not None else None
    _take_order_slot(deps, payment_code, now, expires)
    order = ChannelOrder(out_trade_no=new_out_trade_no(payment_code), payment_code=payment_code,
                         channel=str(channel), amount_fen=note.total_fen,
                         created_at=now.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                         expires_at=expires.astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                         mode=str(mode), merchant=merchant.merchant_id if merchant else "",
                         merchant_app=merchant.app_id if merchant else "")
    deps.notes.add_order(order)
    if merchant is not None and merchant.sealed_token:  # for the checkout that follows: no read
        return replace(order, merchant_token=open_token(deps, note.unit_code, str(channel),
                                                        merchant.sealed_token))
    return order


def _take_order_slot(deps: Ports, payment_code: str, now: datetime, expires: datetime) -> None:
    now_epoch, until = int(now.timestamp()), math.ceil(expires.timestamp())
    free_at = []
    for slot in range(OPEN_ORDERS_PER_NOTE):
        held_until = deps.counters.hold(f"order-slot#{payment_code}#{slot}", now_epoch, until)
        if not held_until:
            return
        free_at.append(held_until)
    wait = max(1, min(free_at) - now_epoch)
    refused = RateLimited(f"该缴款书已有{OPEN_ORDERS_PER_NOTE}笔未完成的支付订单，请在已打开的"
                          f"支付页面完成支付，或约{math.ceil(wait / 60)}分钟后再试",
                          retry_after=wait)
    refused.code = "too_many_open_orders"
    raise refused


def unit_note_view(deps: Ports, unit: Unit, payment_code: str) -> dict:
    """``GET /v1/notes/{code}``: the unit's note as the API shows it (``unit_note``)."""
    return unit_note(deps, unit, payment_code)[1]


def unit_note(deps: Ports, unit: Unit, payment_code: str) -> tuple[Note, dict]:
    """The unit's note and its view as the API shows it, the note and its exception payments
    read at once. Another unit's code is ``NotFound``, and nothing read for it is shown."""
    from chalicelib.services.payments import note_exceptions

    note, exceptions = deps.gather(lambda: get_unit_note(deps, unit, payment_code),
                                   lambda: note_exceptions(deps, payment_code))
    return note, note_view(deps, note, public=False, exceptions=exceptions)


def note_view(deps: Ports, note: Note, *, public: bool,
              exceptions: list[dict] | None = None) -> dict:
    """The note as the API shows it; ``public`` masks the payer. Unless public, it names the
    note's exception payments (``exceptions`` when they were read already)."""
    status = note.status_at(deps.clock())
    payer = asdict(note.payer)
    if public:
        payer = {"name": mask_name(note.payer.name), "type": note.payer.type,
                 "phone": mask_phone(note.payer.phone)}
    view: dict = {
        "payment_code": note.payment_code, "status": status.value, "unit_code": note.unit_code,
        "payer": payer, "items": [asdict(i) for i in note.items], "total_fen": note.total_fen,
        "bill_kind": note.bill_kind, "due_date": note.due_date, "remark": note.remark,
        "template": _template_ref(note), "created_at": note.created_at, "expires_at": note.expires_at,
        "pay_url": pay_url(deps, note.payment_code),
        "payment": None, "bill": None,
    }
    if not public:
        from chalicelib.services.payments import note_exceptions

        view["notice_pdf_url"] = notice_url(deps, note.payment_code)
        view["extra"] = _extra_view(note)  # not on the public view: medical details among them
        view["exceptions"] = (note_exceptions(deps, note.payment_code) if exceptions is None
                              else exceptions)
    if note.payment is not None:
        view["payment"] = {"channel": note.payment.channel, "amount_fen": note.payment.amount_fen,
                           "paid_at": note.payment.paid_at}
        if not public:
            view["payment"]["channel_txn_id"] = note.payment.channel_txn_id
    if note.bill is not None and status is NoteStatus.ISSUED:
        bill = asdict(note.bill)
        bill["url"] = bill_url(deps, note.bill.bill_code, note.bill.bill_number,
                               note.bill.check_code)
        view["bill"] = bill
    return view


def _template_ref(note: Note) -> dict:
    tpl = note.template
    return {"template_id": tpl.template_id, "version": tpl.version}


def _extra_view(note: Note) -> dict:
    return bill_templates.extra_view(note.template, note.bill_extra)


def require_collecting(unit: Unit) -> Unit:
    if unit.kind.value != "collecting":
        raise Forbidden("该密钥不是执收单位密钥", code="not_a_collecting_unit")
    return unit
