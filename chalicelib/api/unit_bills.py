"""The unit console's bills and exception payments (pages): the bill list across days, a bill's
page with 冲红 / 作废 / 换开, the exception payments with their refunds.

Every action takes two steps without any script: the bill's page (or the exceptions page)
links to a confirmation page for the action (``…/confirm/{action}``) that shows what will
happen and asks for the reason and a confirmation box; its form posts the action. A post
without the box or the reason comes back as that page with a 400 and nothing changed. Who may:
``services/people.may`` (the unit admin; an operator for what the admin allowed, else the 403
page, and no button is shown to them). The reversal's form posts to
``/console/unit/bills/{code}/{number}/reversal``, served by the signing function
(``app.REVERSAL_ROUTES``) as the API's reversal is; every other route by the API function.
The work is ``services/unit_bills.py``'s and ``services/unit_refunds.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, page, redirect
from chalicelib.api.errors import STATUS, status_of
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import DomainError, NotFound, ValidationFailed
from chalicelib.domain.money import fen_to_yuan_grouped
from chalicelib.domain.people import Role, Session, UnitAction
from chalicelib.services import links, people, unit_bills, unit_refunds
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

UNIT = (Role.UNIT_ADMIN, Role.UNIT_OPERATOR)
BILLS = "/console/unit/bills"
BILL = BILLS + "/{bill_code}/{bill_number}"
EXCEPTIONS = "/console/unit/exceptions"
EXCEPTION = EXCEPTIONS + "/{channel}/{channel_txn_id}"
CHANNELS = {"wechatpay": "微信支付", "alipay": "支付宝", "unionpay": "云闪付", "bank": "银行柜台"}

# the bill actions: what each is called, what its confirmation says, where its form posts
BILL_ACTIONS: dict[str, dict[str, Any]] = {
    "reverse": {"action": UnitAction.REVERSE, "post": "reversal", "title": "冲红",
                "button": "确认冲红",
                "warning": "冲红将开具一张金额为负数的红字票据，原票据状态变为“已冲红”，"
                           "不能撤回。缴款人的手机号码会收到冲红短信。"},
    "void": {"action": UnitAction.VOID, "post": "void", "title": "作废", "button": "确认作废",
             "warning": "作废后票据不能再报销入账，查验结果显示“已作废”，不能撤回。"
                        "已报销入账的票据不能作废（可冲红）。"},
    "paper": {"action": UnitAction.PAPER, "post": "paper", "title": "换开纸质票据",
              "button": "确认换开",
              "warning": "换开后电子票据不能再报销入账，查验结果注明所换开的纸质票据。"},
}
REFUND_ACTIONS: dict[str, dict[str, str]] = {
    "retry": {"title": "重新发起退款", "button": "确认重新发起退款",
              "warning": "将以新的退款单号再次向缴款渠道申请原路退款，由系统在几分钟内提交。"
                         "请先确认上一次退款确实失败、款项未退回缴款人。"},
    "offline": {"title": "登记线下退款", "button": "确认登记",
                "warning": "登记后系统不再向渠道申请退款。请仅在款项已由本单位线下退还缴款人"
                           "（柜台退现、转账等）后登记，并在原因中写明方式和凭证号。"},
}


def _bill_path(bill_code: str, bill_number: str) -> str:
    return f"{BILLS}/{bill_code[:8]}/{bill_number[:10]}"


# ---- the list ------------------------------------------------------------------------------

@bp.route(BILLS, methods=["GET"])
@console_view(bp, *UNIT, early=True)
def bill_list(me: Session, actor: Actor) -> Response:
    """The unit's bills across days (the last 31 by default), newest first, 20 a page: by
    issue date, status and a word (payer, number, code); an 18-digit bill id or a 20-digit
    payment code opens that bill or note."""
    d = deps()
    request = bp.current_request
    filters = {name: (query_param(request, name) or "").strip()[:40]
               for name in ("issued_from", "issued_to", "status", "q")}
    word = filters["q"].replace(" ", "")
    if word.isdigit() and len(word) == 20:
        return redirect(f"/console/unit/notes/{word}")
    found = unit_bills.find_bill(d, actor, word)
    if found is not None:
        return redirect(_bill_path(*found))
    cursor = (query_param(request, "cursor") or "")[:1024]
    problems: dict[str, str] = {}
    try:
        listed = unit_bills.list_bills(d, actor, {**filters, "cursor": cursor})
    except ValidationFailed as exc:
        problems = dict(exc.fields) or {"q": exc.message}
        listed = {"rows": [], "next_cursor": None}
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
    return page(bp, "console/unit_bills.html", me=me, here=BILLS, heading="本单位票据",
                rows=listed["rows"], filters=filters, problems=problems,
                statuses=unit_bills.STATUS_LABELS, state_of=unit_bills.state_of,
                yuan=fen_to_yuan_grouped, next_cursor=listed["next_cursor"], query=query, paged=bool(cursor),
                issued_from=listed.get("issued_from"), issued_to=listed.get("issued_to"))


# ---- one bill and its actions --------------------------------------------------------------

def _bill_context(actor: Actor, bill_code: str, bill_number: str) -> dict[str, Any]:
    d = deps()
    view = unit_bills.bill_page(d, actor, bill_code[:8], bill_number[:10])
    bill = view.record.bill

    def public(record: Any) -> str | None:
        b = record.bill if record is not None else None
        return links.bill_url(d, b.bill_code, b.bill_number, b.check_code) if b else None

    return {"view": view, "bill": bill, "yuan": fen_to_yuan_grouped, "channels": CHANNELS,
            "statuses": unit_bills.STATUS_LABELS,
            "public_url": public(view.record), "red_url": public(view.red),
            "original_url": public(view.original),
            "actions": [(key, spec) for key, spec in BILL_ACTIONS.items()
                        if spec["action"] in view.actions]}


@bp.route(BILL, methods=["GET"])
@console_view(bp, *UNIT, early=True)
def bill_detail(me: Session, actor: Actor, bill_code: str, bill_number: str) -> Response:
    done = query_param(bp.current_request, "done") or ""
    return page(bp, "console/unit_bill.html", me=me, here=BILLS, heading="票据详情",
                done=done if done in BILL_ACTIONS else "",
                **_bill_context(actor, bill_code, bill_number))


def _confirm_page(me: Session, actor: Actor, bill_code: str, bill_number: str, key: str,
                  status: int = 200, **context: Any) -> Response:
    spec = BILL_ACTIONS.get(key)
    if spec is None:
        raise NotFound("没有这项操作", code="route_not_found")
    found = _bill_context(actor, bill_code, bill_number)
    if spec["action"] not in found["view"].may:  # read with the bill: require_may's refusal
        raise people.not_allowed(spec["action"])
    return page(bp, "console/unit_bill_confirm.html", status, me=me, here=BILLS,
                heading=f"{spec['title']}：确认", key=key, spec=spec,
                action_url=f"{_bill_path(bill_code, bill_number)}/{spec['post']}",
                may=spec["action"] in found["view"].actions, form=context.pop("form", {}),
                **found, **context)


@bp.route(BILL + "/confirm/{action}", methods=["GET"])
@console_view(bp, *UNIT, early=True)
def bill_confirm(me: Session, actor: Actor, bill_code: str, bill_number: str,
                 action: str) -> Response:
    return _confirm_page(me, actor, bill_code, bill_number, action)


def _checked_form(me: Session, actor: Actor, bill_code: str, bill_number: str, key: str,
                  *names: str) -> tuple[dict[str, str], Response | None]:
    """The posted form, or the confirmation page again (400) when the box or the reason is
    missing: nothing is done then."""
    people.require_may(deps(), actor, BILL_ACTIONS[key]["action"])
    form = form_fields(bp, "confirm", "reason", *names)
    problems = {}
    if form["confirm"] != "yes":
        problems["confirm"] = "请勾选确认"
    if not form["reason"].strip():
        problems["reason"] = "请填写原因"
    if problems:
        return form, _confirm_page(me, actor, bill_code, bill_number, key,
                                   STATUS[ValidationFailed], form=form, problems=problems,
                                   error="请填写原因并勾选确认后再提交")
    return form, None


def _refused(me: Session, actor: Actor, bill_code: str, bill_number: str, key: str,
             form: dict[str, str], exc: ValidationFailed) -> Response:
    return _confirm_page(me, actor, bill_code, bill_number, key, status_of(exc), form=form,
                         problems={k: v if k == "reason" else "格式有误"
                                   for k, v in exc.fields.items()}, error=exc.message)


def _with_reason(me: Session, actor: Actor, bill_code: str, bill_number: str, key: str,
                 act: Callable[..., object]) -> Response:
    """A confirmed action whose form carries only the reason (冲红, 作废): done, then the bill's
    page saying so; refused, the confirmation page again with the problem beside its field."""
    form, again = _checked_form(me, actor, bill_code, bill_number, key)
    if again is not None:
        return again
    try:
        act(deps(), actor, bill_code[:8], bill_number[:10], form["reason"])
    except ValidationFailed as exc:
        return _refused(me, actor, bill_code, bill_number, key, form, exc)
    return redirect(f"{_bill_path(bill_code, bill_number)}?done={key}")


@bp.route(BILL + "/reversal", methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def bill_reverse(me: Session, actor: Actor, bill_code: str, bill_number: str) -> Response:
    """冲红 (served by the signing function: ``app.REVERSAL_ROUTES``)."""
    return _with_reason(me, actor, bill_code, bill_number, "reverse", unit_bills.reverse)


@bp.route(BILL + "/void", methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def bill_void(me: Session, actor: Actor, bill_code: str, bill_number: str) -> Response:
    return _with_reason(me, actor, bill_code, bill_number, "void", unit_bills.void)


@bp.route(BILL + "/paper", methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def bill_paper(me: Session, actor: Actor, bill_code: str, bill_number: str) -> Response:
    form, again = _checked_form(me, actor, bill_code, bill_number, "paper",
                                "paper_bill_code", "paper_bill_number")
    if again is not None:
        return again
    try:
        unit_bills.exchange(deps(), actor, bill_code[:8], bill_number[:10],
                            form["paper_bill_code"].strip(), form["paper_bill_number"].strip(),
                            form["reason"])
    except ValidationFailed as exc:
        return _refused(me, actor, bill_code, bill_number, "paper", form, exc)
    return redirect(f"{_bill_path(bill_code, bill_number)}?done=paper")


# ---- exception payments and their refunds --------------------------------------------------

@bp.route(EXCEPTIONS, methods=["GET"])
@console_view(bp, *UNIT, early=True)
def exception_list(me: Session, actor: Actor) -> Response:
    """The unit's exception payments, newest first, 20 a page (下一页: a sealed cursor), by
    date of payment and refund state; each with its refund and, where a person is needed,
    the action."""
    d = deps()
    request = bp.current_request
    filters = {name: (query_param(request, name) or "").strip()[:20]
               for name in ("paid_from", "paid_to", "refund_status")}
    cursor = (query_param(request, "cursor") or "")[:1024]
    problems: dict[str, str] = {}
    may: frozenset[UnitAction] = frozenset()
    try:
        listed, may = d.gather(
            lambda: unit_refunds.exceptions(d, actor, {**filters, "cursor": cursor}),
            lambda: people.allowed(d, actor))
    except ValidationFailed as exc:
        problems = dict(exc.fields) or {"paid_from": exc.message}
        listed = {"rows": [], "next_cursor": None}
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
    done = query_param(request, "done") or ""
    return page(bp, "console/unit_exceptions.html", STATUS[ValidationFailed] if problems else 200,
                me=me, here=EXCEPTIONS, heading="异常缴款与退款",
                rows=unit_refunds.views(d, listed["rows"]), filters=filters,
                problems=problems, labels=unit_refunds.REFUND_LABELS,
                next_cursor=listed["next_cursor"], query=query, paged=bool(cursor),
                yuan=fen_to_yuan_grouped, channels=CHANNELS,
                may_refund=UnitAction.REFUND in may,
                done=REFUND_ACTIONS[done]["title"] if done in REFUND_ACTIONS else "",
                done_txn=(query_param(request, "txn") or "")[:64])


def _refund_confirm(me: Session, actor: Actor, channel: str, channel_txn_id: str, key: str,
                    status: int = 200, **context: Any) -> Response:
    spec = REFUND_ACTIONS.get(key)
    if spec is None:
        raise NotFound("没有这项操作", code="route_not_found")
    d = deps()
    may, found = d.gather(lambda: people.allowed(d, actor),
                          lambda: _attempt(unit_refunds.exception_of, d, actor, channel,
                                           channel_txn_id))
    if UnitAction.REFUND not in may:  # require_may's refusal, before whether the row exists
        raise people.not_allowed(UnitAction.REFUND)
    if isinstance(found, DomainError):
        raise found
    row = found
    shown = unit_refunds.views(d, [row])[0]
    return page(bp, "console/unit_refund_confirm.html", status, me=me, here=EXCEPTIONS,
                heading=f"{spec['title']}：确认", key=key, spec=spec, row=shown,
                may=shown["may_retry" if key == "retry" else "may_record"],
                action_url=f"{EXCEPTIONS}/{quote(row.channel)}/{quote(row.channel_txn_id)}/{key}",
                yuan=fen_to_yuan_grouped, channels=CHANNELS, form=context.pop("form", {}),
                **context)


def _attempt(read: Any, *args: Any) -> Any:
    """``read(*args)``, or the ``DomainError`` it raised (to be raised in its turn)."""
    try:
        return read(*args)
    except DomainError as exc:
        return exc


@bp.route(EXCEPTION + "/confirm/{action}", methods=["GET"])
@console_view(bp, *UNIT, early=True)
def refund_confirm(me: Session, actor: Actor, channel: str, channel_txn_id: str,
                   action: str) -> Response:
    return _refund_confirm(me, actor, channel, channel_txn_id, action)


def _refund(me: Session, actor: Actor, channel: str, channel_txn_id: str, key: str) -> Response:
    d = deps()
    people.require_may(d, actor, UnitAction.REFUND)
    form = form_fields(bp, "confirm", "reason")
    problems = {}
    if form["confirm"] != "yes":
        problems["confirm"] = "请勾选确认"
    if not form["reason"].strip():
        problems["reason"] = "请填写原因"
    if problems:
        return _refund_confirm(me, actor, channel, channel_txn_id, key,
                               STATUS[ValidationFailed], form=form, problems=problems,
                               error="请填写原因并勾选确认后再提交")
    act = unit_refunds.retry if key == "retry" else unit_refunds.record_offline
    try:
        act(d, actor, channel, channel_txn_id, form["reason"])
    except ValidationFailed as exc:
        return _refund_confirm(me, actor, channel, channel_txn_id, key, status_of(exc),
                               form=form, problems=dict(exc.fields), error=exc.message)
    return redirect(f"{EXCEPTIONS}?done={key}&txn={quote(channel_txn_id[:64])}")


@bp.route(EXCEPTION + "/retry", methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def refund_retry(me: Session, actor: Actor, channel: str, channel_txn_id: str) -> Response:
    return _refund(me, actor, channel, channel_txn_id, "retry")


@bp.route(EXCEPTION + "/offline", methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def refund_offline(me: Session, actor: Actor, channel: str, channel_txn_id: str) -> Response:
    return _refund(me, actor, channel, channel_txn_id, "offline")
