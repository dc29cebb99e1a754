"""The finance console's people, audit and day pages (财政端: 人员与权限, 审计日志, 当日业务).

``/console/finance/people``: the accounts of the person's region, with role, unit or region,
TOTP, lock and disabled state; a finance admin creates accounts within their region (the TOTP
secret is shown once, as a QR code and as text), unlocks them and resets their TOTP; each
account's page (``…/people/{username}``) resets its password, disables or enables it and
changes its role (and a finance person's region). Every one of those changes ends the
account's live sessions (``services/people.py``). ``/console/finance/audit``: the audit log by
day, unit or account, of the person's region. ``/console/finance/day``: a day's business of
the region's units. A person of a region asking for a unit or an account outside it gets the
404 page, as a finance key does. A finance auditor sees every page and changes nothing: every
post answers the 403 page. Views are thin; ``console.console_view`` checks the session, the
role and the CSRF token first.
"""

from __future__ import annotations

from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, page
from chalicelib.api.errors import status_of
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.people import ROLE_LABELS, Role, Session
from chalicelib.services import people
from chalicelib.services.audit_pages import PAGE as AUDIT_LIMIT
from chalicelib.services.audit_pages import audit_page
from chalicelib.services.people import Actor
from chalicelib.services.people_pages import PAGE as PEOPLE_LIMIT
from chalicelib.services.people_pages import people_page

bp = Blueprint(__name__)

PEOPLE = "/console/finance/people"
AUDIT = "/console/finance/audit"
DAY = "/console/finance/day"
FINANCE = (Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
ACTIONS = {"sign_in": "登录", "sign_out": "退出", "session_expired": "会话超时",
           "account_locked": "账户锁定", "person_create": "创建账号", "person_unlock": "解锁账号",
           "person_reset_totp": "重置动态口令", "password_change": "修改密码",
           "person_reset_password": "重置密码", "person_disable": "停用账号",
           "person_enable": "启用账号", "person_role": "变更角色", "totp_enrol": "设置动态口令",
           "sessions_ended": "结束会话",
           "unit_operators_may_cancel": "经办人撤销权限", "verify": "查验", "reimburse": "报销入账",
           "release": "释放报销", "unit_operator_actions": "经办人权限",
           "person_actions": "经办人单独权限",
           "bill_reverse": "冲红", "bill_void": "作废", "bill_paper": "换开纸质票据",
           "refund_retry": "重新发起退款", "refund_offline": "登记线下退款",
           "set_bill_kinds": "设定允许的票据种类", "set_seal": "启用印章",
           "check_merchant": "核验支付宝应用授权", "merchant_warning": "商户证书或授权到期提醒",
           "drop_retired_merchants": "删除保留期满的已停用商户号"}
OUTCOMES = {"ok": "成功", "unknown_user": "用户不存在", "bad_password": "密码错误",
            "bad_otp": "动态口令错误", "otp_reused": "动态口令重复使用", "locked": "账户已锁定",
            "totp_required": "未启用动态口令", "disabled": "账户已停用", "offered": "已生成密钥",
            "account_changed": "登录时账户已变更", "warning": "提醒"}


def _people_page(me: Session, status: int = 200, cursor: str | None = None,
                 **context) -> Response:
    """The accounts of the viewer's region, a page at a time (the first unless ``cursor``)."""
    d = deps()
    now = int(d.clock().timestamp())
    listed, next_cursor = people_page(d, me, cursor)
    return page(bp, "console/finance_people.html", status, me=me, here=PEOPLE, heading="人员与权限",
                people=listed, next_cursor=next_cursor, paged=bool(cursor), limit=PEOPLE_LIMIT,
                now=now, roles=ROLE_LABELS, can_change=me.role is Role.FINANCE_ADMIN, **context)


@bp.route(PEOPLE, methods=["GET"])
@console_view(bp, *FINANCE, early=True)
def people_list(me: Session, actor: Actor) -> Response:
    return _people_page(me, cursor=(query_param(bp.current_request, "cursor") or "")[:1024]
                        or None, form={})


@bp.route(PEOPLE, methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_create(me: Session, actor: Actor) -> Response:
    form = form_fields(bp, "username", "display_name", "role", "unit_code", "scope", "password",
                       "totp")
    try:
        person, secret = people.create_person(
            deps(), actor, username=form["username"].strip(), role=form["role"],
            unit_code=form["unit_code"].strip() or None, password=form["password"],
            display_name=form["display_name"].strip(), totp=form["totp"] == "yes",
            scope=form["scope"].strip() or None)
    except ValidationFailed as exc:
        form.pop("password")
        return _people_page(me, status_of(exc), form=form, error=exc.message,
                            problems=exc.fields)
    return _secret_page(me, person.username, secret, f"已创建账号 {person.username}。")


def _secret_page(me: Session, username: str, secret: str | None, done: str) -> Response:
    return console.totp_secret_page(bp, me, PEOPLE, username, secret, done)


@bp.route(PEOPLE + "/{username}/unlock", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_unlock(me: Session, actor: Actor, username: str) -> Response:
    people.unlock(deps(), actor, username)
    return _people_page(me, done=f"已解锁账号 {username}。", form={})


@bp.route(PEOPLE + "/{username}/totp", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_reset_totp(me: Session, actor: Actor, username: str) -> Response:
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再重置", {"confirm": "required"})
    secret = people.reset_totp(deps(), actor, username)
    return _secret_page(me, username, secret,
                        f"已为 {username} 重置动态口令，原验证器中的口令即刻失效。")


def _person_page(me: Session, username: str, status: int = 200, **context) -> Response:
    d = deps()
    person = d.people.get(username[:32])
    if person is None or not people.in_reach(d, me, person):
        raise NotFound("没有这个用户", code="person_not_found")
    return page(bp, "console/finance_person.html", status, me=me, here=PEOPLE,
                heading=f"账号 {person.username}", person=person, roles=ROLE_LABELS,
                now=int(d.clock().timestamp()), can_change=me.role is Role.FINANCE_ADMIN,
                problems=context.pop("problems", {}), **context)


@bp.route(PEOPLE + "/{username}", methods=["GET"])
@console_view(bp, *FINANCE, early=True)
def person_detail(me: Session, actor: Actor, username: str) -> Response:
    return _person_page(me, username)


def _confirmed() -> None:
    if form_fields(bp, "confirm")["confirm"] != "yes":
        raise ValidationFailed("请勾选确认后再提交", {"confirm": "required"})


@bp.route(PEOPLE + "/{username}/password", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_reset_password(me: Session, actor: Actor, username: str) -> Response:
    try:
        _confirmed()
        people.reset_password(deps(), actor, username[:32], form_fields(bp, "password")["password"])
    except ValidationFailed as exc:
        return _person_page(me, username, status_of(exc), password_error=exc.message,
                            problems=exc.fields)
    return _person_page(me, username, done=f"已重置 {username} 的密码，其登录会话已全部结束。"
                                           "请将新密码当面或经安全渠道告知本人。")


@bp.route(PEOPLE + "/{username}/disable", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_disable(me: Session, actor: Actor, username: str) -> Response:
    disable = form_fields(bp, "disabled")["disabled"] == "yes"
    try:
        _confirmed()
        people.set_disabled(deps(), actor, username[:32], disable)
    except ValidationFailed as exc:
        return _person_page(me, username, status_of(exc), state_error=exc.message,
                            problems=exc.fields)
    return _person_page(me, username, done=f"已停用账号 {username}，其登录会话已全部结束。"
                        if disable else f"已启用账号 {username}。")


@bp.route(PEOPLE + "/{username}/role", methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_role(me: Session, actor: Actor, username: str) -> Response:
    form = form_fields(bp, "role", "scope")
    try:
        changed = people.change_role(deps(), actor, username[:32], form["role"],
                                     form["scope"].strip() or None)
    except ValidationFailed as exc:
        return _person_page(me, username, status_of(exc), role_error=exc.message,
                            problems=exc.fields, role_form=form)
    return _person_page(me, username, done=f"{username} 的角色已改为{changed.role.label}"
                        f"{'（辖区 ' + (changed.scope or '全部') + '）' if changed.role.is_finance else ''}"
                        "，其登录会话已全部结束。")


@bp.route(AUDIT, methods=["GET"])
@console_view(bp, *FINANCE, early=True)
def audit_log(me: Session, actor: Actor) -> Response:
    d = deps()
    request = bp.current_request
    today = d.clock().astimezone(CHINA_TZ).strftime("%Y-%m-%d")
    day = (query_param(request, "day") or "")[:10]
    unit = (query_param(request, "unit_code") or "")[:20]
    account = (query_param(request, "username") or "")[:32]
    problems = {}
    if day and not _is_day(day):
        problems["day"] = "日期格式应为 YYYY-MM-DD"
        day = ""
    reach = people.AuditReach(d, me)
    if unit:
        reach.unit(unit)  # another region's unit: the 404 page
    if account:
        reach.account(account)  # ... and another region's account
    cursor = (query_param(request, "cursor") or "")[:1024] or None
    day = day or ("" if (account or unit) else today)
    events, next_cursor = audit_page(d, me, reach.sees, account=account, unit=unit, day=day,
                                     cursor=cursor)
    query = urlencode([(k, v) for k, v in (("day", day), ("unit_code", unit),
                                           ("username", account)) if v])
    return page(bp, "console/audit.html", me=me, here=AUDIT, heading="审计日志", audit_path=AUDIT,
                events=events, actions=ACTIONS, outcomes=OUTCOMES, limit=AUDIT_LIMIT,
                next_cursor=next_cursor, paged=bool(cursor), query=query,
                filters={"day": day, "unit_code": unit,
                         "username": account}, problems=problems)


@bp.route(DAY, methods=["GET"])
@console_view(bp, *FINANCE, early=True)
def day_page(me: Session, actor: Actor) -> Response:
    """A day's notes, payments and bills (today unless ``day=``), of one unit or fee item."""
    from chalicelib.services.day_book import LIST_LIMIT, day_book
    from chalicelib.services.note_pages import NOTE_STATUS

    d = deps()
    request = bp.current_request
    today = d.clock().astimezone(CHINA_TZ).strftime("%Y-%m-%d")
    day = (query_param(request, "day") or today)[:10]
    unit = (query_param(request, "unit_code") or "").strip()[:20]
    item = (query_param(request, "item_code") or "").strip()[:20]
    problems = {} if _is_day(day) else {"day": "日期格式应为 YYYY-MM-DD"}
    if unit and me.scope:
        from chalicelib.api.finance_units import credential
        from chalicelib.services.admin import unit_in_scope

        unit_in_scope(d, credential(me), unit)  # another region's unit: the 404 page
    book = day_book(d, day if not problems else today, unit, item, scope=me.scope)
    return page(bp, "console/finance_day.html", me=me, here=DAY, heading="当日业务",
                book=book, limit=LIST_LIMIT, problems=problems,
                filters={"day": day, "unit_code": unit, "item_code": item},
                note_status=NOTE_STATUS, channels=CHANNELS)


CHANNELS = {"wechatpay": "微信支付", "alipay": "支付宝", "unionpay": "云闪付", "bank": "银行柜台"}


def _is_day(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
