"""The unit console (执收端, the online unit 在线单位): make a payment note in a form, print its
notice or show its QR code, follow it until paid and billed, cancel it while unpaid; issue a
bill directly for money the unit received itself (直接开票, ``POST /v1/bills``'s use case) and
follow it to its PDF, OFD and 告知单; the unit admin's people page (operators, and what they
may do: ``UnitAction``). Both forms ask for the extra fields of the chosen bill kind's
template. The unit's bills and exception payments are ``api/unit_bills.py``'s.

Every view is a ``console.console_view`` (session, role, CSRF first); the work is
``services/unit_console.py``'s and ``services/people.py``'s. A person reaches only their own
unit's notes: another unit's code is 404, as for an API key.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, form_lists, page, redirect
from chalicelib.api.errors import STATUS, status_of
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain import bill_templates
from chalicelib.domain.bills import BILL_KINDS
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.money import fen_to_yuan, fen_to_yuan_grouped
from chalicelib.domain.people import ROLE_LABELS, Role, Session, UnitAction, unit_actions
from chalicelib.services import notes as notes_service
from chalicelib.services import notices, people, unit_console
from chalicelib.services.bill_templates import template_for_kind
from chalicelib.services.links import pay_url
from chalicelib.services.note_pages import NOTE_STATUS
from chalicelib.services.people import Actor
from chalicelib.services.people_pages import UNIT_PAGE as PEOPLE_LIMIT
from chalicelib.services.people_pages import unit_people_page

bp = Blueprint(__name__)

UNIT = (Role.UNIT_ADMIN, Role.UNIT_OPERATOR)
NEW = "/console/unit/notes/new"
NOTES = "/console/unit/notes"
NEW_BILL = "/console/unit/bills/new"
BILLS = "/console/unit/bills"
PEOPLE = "/console/unit/people"
CHANNELS = {"wechatpay": "微信支付", "alipay": "支付宝", "unionpay": "云闪付", "bank": "银行柜台",
            **unit_console.PAID_BY_LABELS}
NOTE_FIELDS = ("payer_name", "payer_type", "payer_phone", "payer_credit_code", "due_date",
               "remark", "form_id")


def _new_page(me: Session, status: int = 200, *, kind: str | None = None,
              direct: bool = False, **context: Any) -> Response:
    d = deps()
    unit = unit_console.actor_unit(d, Actor.of(me, ""))
    kind = unit_console.form_kind(d, unit, kind)
    today = d.clock().astimezone(CHINA_TZ).date().isoformat()
    context.setdefault("form", {"payer_type": "individual"})
    context.setdefault("rows", [{"item_code": "", "quantity": "", "standard": ""}] *
                       unit_console.ROWS)
    kinds = unit_console.unit_kinds(d, unit)
    return page(bp, "console/unit_note_new.html", status, me=me, here=NEW_BILL if direct else NEW,
                heading="直接开具票据" if direct else "开具缴款书", direct=direct,
                unit=unit, items=unit_console.fee_item_choices(d, unit, kind), yuan=fen_to_yuan,
                kind=kind, kinds=[(k, BILL_KINDS[k].name) for k in kinds if k in BILL_KINDS],
                extra_inputs=unit_console.extra_inputs(d, kind, today),
                extra_title=template_for_kind(d, kind).block_title or "附加信息",
                paid_by=unit_console.PAID_BY_LABELS,
                form_id=secrets.token_urlsafe(12), **context)


def _posted_form(actor: Actor) -> dict[str, Any]:
    """The note form as posted: its fields, item rows, kind and extra fields."""
    d = deps()
    form: dict[str, Any] = form_fields(bp, *NOTE_FIELDS, "bill_kind", "paid_by")
    lists = form_lists(bp, "item_code", "quantity", "standard")
    count = max(len(v) for v in lists.values()) if any(lists.values()) else 0
    form["rows"] = [{name: (lists[name][n] if n < len(lists[name]) else "")
                     for name in lists} for n in range(min(count, unit_console.ROWS))]
    unit = unit_console.actor_unit(d, actor)
    form["bill_kind"] = unit_console.form_kind(d, unit, form["bill_kind"])
    today = d.clock().astimezone(CHINA_TZ).date().isoformat()
    names = [spec["name"] for spec in unit_console.extra_inputs(d, form["bill_kind"], today)]
    form["extra"] = form_fields(bp, *names) if names else {}
    return form


def _refused_form(me: Session, exc: ValidationFailed, form: dict[str, Any],
                  direct: bool) -> Response:
    problems = {unit_console.form_field(k): v for k, v in exc.fields.items()}
    rows = form["rows"] + [{"item_code": "", "quantity": "", "standard": ""}] * (
        unit_console.ROWS - len(form["rows"]))
    return _new_page(me, status_of(exc), kind=form["bill_kind"], direct=direct, form=form,
                     rows=rows, problems=problems, error=exc.message)


@bp.route(NEW, methods=["GET"])
@console_view(bp, *UNIT)
def note_form(me: Session, actor: Actor) -> Response:
    return _new_page(me, kind=query_param(bp.current_request, "kind"))


@bp.route(NOTES, methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def note_create(me: Session, actor: Actor) -> Response:
    form = _posted_form(actor)
    try:
        note = unit_console.create(deps(), actor, form, form["form_id"] or
                                   secrets.token_urlsafe(12))
    except ValidationFailed as exc:
        return _refused_form(me, exc, form, direct=False)
    return redirect(f"{NOTES}/{note.payment_code}?created=1")


@bp.route(NEW_BILL, methods=["GET"])
@console_view(bp, *UNIT)
def direct_bill_form(me: Session, actor: Actor) -> Response:
    return _new_page(me, kind=query_param(bp.current_request, "kind"), direct=True)


@bp.route(BILLS, methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def direct_bill_create(me: Session, actor: Actor) -> Response:
    form = _posted_form(actor)
    try:
        note = unit_console.create_direct(deps(), actor, form, form["form_id"] or
                                          secrets.token_urlsafe(12))
    except ValidationFailed as exc:
        return _refused_form(me, exc, form, direct=True)
    return redirect(f"{NOTES}/{note.payment_code}?direct=1")


@bp.route(NOTES + "/{payment_code}", methods=["GET"])
@console_view(bp, *UNIT, early=True)
def note_detail(me: Session, actor: Actor, payment_code: str) -> Response:
    from chalicelib.adapters.qr_svg import qr_svg

    d = deps()
    unit, note, view, allowed = unit_console.note_detail(d, actor, payment_code[:32])
    link = pay_url(d, note.payment_code)
    created = query_param(bp.current_request, "created") == "1"
    direct = query_param(bp.current_request, "direct") == "1"
    files = None
    if view.get("bill"):
        bill = view["bill"]
        api = (f"{d.settings.public_base_url}/v1/public/bills/{bill['bill_code']}/"
               f"{bill['bill_number']}")
        files = {kind: f"{api}/{kind}?check_code={bill['check_code']}" for kind in ("pdf", "ofd")}
    is_direct = bool(note.payment and note.payment.channel in unit_console.PAID_BY_LABELS)
    return page(bp, "console/unit_note.html", me=me, here=NOTES,
                heading="直接开具的票据" if is_direct else "缴款书详情", direct=direct,
                is_direct=is_direct, files=files,
                template_name=note.template.name,
                extra=bill_templates.labelled(note.template, note.bill_extra),
                note=view, status_label=NOTE_STATUS.get(view["status"], view["status"]),
                channels=CHANNELS, yuan=fen_to_yuan_grouped, pay_link=link,
                qr=qr_svg(link, 180) if view["status"] == "unpaid" else None,
                may_cancel=allowed and view["status"] == "unpaid",
                created=created, unit=unit)


@bp.route(NOTES + "/{payment_code}/notice.pdf", methods=["GET"])
@console_view(bp, *UNIT)
def note_notice(me: Session, actor: Actor, payment_code: str) -> Response:
    d = deps()
    pdf = notices.notice_pdf(d, unit_console.actor_unit(d, actor), payment_code[:32])
    return Response(body=pdf, status_code=200, headers={
        "Content-Type": "application/pdf", "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="notice-{payment_code[:32]}.pdf"'})


@bp.route(NOTES + "/{payment_code}/bill-notice.pdf", methods=["GET"])
@console_view(bp, *UNIT)
def note_bill_notice(me: Session, actor: Actor, payment_code: str) -> Response:
    """The 告知单 of the note's bill (404 until the note is issued), for a payer with no phone."""
    d = deps()
    unit = unit_console.actor_unit(d, actor)
    note = notes_service.get_unit_note(d, unit, payment_code[:32])
    if note.bill is None:
        raise NotFound("该缴款书尚未开具票据")
    code, number = note.bill.bill_code, note.bill.bill_number
    pdf = notices.bill_notice_pdf(d, unit, code, number)
    return Response(body=pdf, status_code=200, headers={
        "Content-Type": "application/pdf", "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="bill-notice-{code}-{number}.pdf"'})


@bp.route(NOTES + "/{payment_code}/cancel", methods=["POST"], content_types=console.FORM)
@console_view(bp, *UNIT, post=True)
def note_cancel(me: Session, actor: Actor, payment_code: str) -> Response:
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再撤销", {"confirm": "required"})
    unit_console.cancel(deps(), actor, payment_code[:32])
    return redirect(f"{NOTES}/{payment_code[:32]}")


# ---- the unit admin's people page ------------------------------------------------------------

def _people_page(me: Session, status: int = 200, cursor: str | None = None,
                 **context: Any) -> Response:
    """The unit's accounts, a page at a time (the first unless ``cursor``)."""
    d = deps()
    unit_people, next_cursor, allowed = unit_people_page(d, me, cursor)
    return page(bp, "console/unit_people.html", status, me=me, here=PEOPLE,
                heading="本单位人员", people=unit_people, roles=ROLE_LABELS,
                next_cursor=next_cursor, paged=bool(cursor), limit=PEOPLE_LIMIT,
                now=int(d.clock().timestamp()), actions=list(UnitAction),
                allowed=allowed,
                form=context.pop("form", {}), **context)


@bp.route(PEOPLE, methods=["GET"])
@console_view(bp, Role.UNIT_ADMIN, early=True)
def unit_people(me: Session, actor: Actor) -> Response:
    return _people_page(me, cursor=(query_param(bp.current_request, "cursor") or "")[:1024]
                        or None)


@bp.route(PEOPLE, methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def unit_person_create(me: Session, actor: Actor) -> Response:
    form = form_fields(bp, "username", "display_name", "password", "totp")
    try:
        person, secret = people.create_person(
            deps(), actor, username=form["username"].strip(), role=Role.UNIT_OPERATOR.value,
            unit_code=me.unit_code, password=form["password"],
            display_name=form["display_name"].strip(), totp=form["totp"] == "yes")
    except ValidationFailed as exc:
        form.pop("password")
        return _people_page(me, status_of(exc), form=form, error=exc.message,
                            problems=exc.fields)
    return _secret_page(me, person.username, secret, f"已创建经办人账号 {person.username}。")


def _secret_page(me: Session, username: str, secret: str | None, done: str) -> Response:
    return console.totp_secret_page(bp, me, PEOPLE, username, secret, done)


@bp.route(PEOPLE + "/{username}/unlock", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def unit_person_unlock(me: Session, actor: Actor, username: str) -> Response:
    people.unlock(deps(), actor, username)
    return _people_page(me, done=f"已解锁账号 {username}。")


@bp.route(PEOPLE + "/{username}/totp", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def unit_person_reset_totp(me: Session, actor: Actor, username: str) -> Response:
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再重置", {"confirm": "required"})
    secret = people.reset_totp(deps(), actor, username)
    return _secret_page(me, username, secret, f"已为 {username} 重置动态口令。")


@bp.route(PEOPLE + "/{username}/disable", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def unit_person_disable(me: Session, actor: Actor, username: str) -> Response:
    """Disable an operator (their sessions end) or enable them again."""
    disable = form_fields(bp, "disabled")["disabled"] == "yes"
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再提交", {"confirm": "required"})
    people.set_disabled(deps(), actor, username[:32], disable)
    return _people_page(me, done=f"已停用账号 {username[:32]}，其登录会话已全部结束。" if disable
                        else f"已启用账号 {username[:32]}。")


@bp.route(PEOPLE + "/password", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def unit_person_reset_password(me: Session, actor: Actor) -> Response:
    """Set a new password on an operator's account (their sessions end, the lock clears)."""
    form = form_fields(bp, "username", "password", "confirm")
    try:
        if form["confirm"] != "yes":
            raise ValidationFailed("请勾选确认后再重置", {"confirm": "required"})
        people.reset_password(deps(), actor, form["username"][:32], form["password"])
    except ValidationFailed as exc:
        return _people_page(me, status_of(exc), password_error=exc.message,
                            problems=exc.fields)
    return _people_page(me, done=f"已重置 {form['username'][:32]} 的密码，其登录会话已全部结束。")


@bp.route(PEOPLE + "/permissions", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.UNIT_ADMIN, post=True)
def unit_operator_actions(me: Session, actor: Actor) -> Response:
    """The unit admin's choice of what operators may do: one box per ``UnitAction``."""
    chosen = unit_actions(form_lists(bp, "action")["action"])
    people.set_operator_actions(deps(), actor, chosen)
    said = "、".join(a.label for a in UnitAction if a in chosen) or "（无）"
    return _people_page(me, done=f"已保存经办人权限：{said}。")


# ---- the unit's notes ------------------------------------------------------------------------

PAGE_SIZE = 20


@bp.route(NOTES, methods=["GET"])
@console_view(bp, *UNIT, early=True)
def note_list(me: Session, actor: Actor) -> Response:
    """The unit's notes, newest first, 20 a page, through ``GET /v1/notes``'s own use case
    (``services/note_lists.list_notes``: status, created from/to, its sealed cursor). A
    20-digit code opens that note; a word (payer's name, part of a code) is searched over the
    whole date range, a bounded number of notes a request, saying when it must go on."""
    from chalicelib.services.note_lists import list_notes

    d = deps()
    request = bp.current_request
    filters = {name: (query_param(request, name) or "").strip()[:40]
               for name in ("status", "created_from", "created_to", "q", "cursor")}
    if filters["q"].isdigit() and len(filters["q"]) == 20:
        return redirect(f"{NOTES}/{filters['q']}")
    params = {k: filters[k] for k in ("status", "created_from", "created_to") if filters[k]}
    params["limit"] = str(PAGE_SIZE)
    if query_param(request, "cursor"):
        params["cursor"] = str(query_param(request, "cursor"))[:1024]
    problems: dict[str, str] = {}
    try:
        listed = list_notes(d, unit_console.actor_unit(d, actor), params, filters["q"])
    except ValidationFailed as exc:
        problems = {k: "格式有误" for k in exc.fields} or {"q": exc.message}
        listed = {"notes": [], "next_cursor": None}
    rows = listed["notes"]
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v and k != "cursor")
    return page(bp, "console/unit_notes.html", STATUS[ValidationFailed] if problems else 200, me=me, here=NOTES,
                heading="本单位缴款书",
                rows=rows, filters=filters, problems=problems, statuses=NOTE_STATUS,
                yuan=fen_to_yuan_grouped, next_cursor=listed["next_cursor"], query=query,
                searched=listed.get("searched"), budget_spent=listed.get("budget_spent"))
