"""The finance console's people and audit pages (财政端: 人员与权限, 审计日志).

``/console/finance/people``: every account, with its role, unit, TOTP and lock state; a
finance admin creates accounts (the TOTP secret is shown once, as a QR code and as text),
unlocks them and resets their TOTP. ``/console/finance/audit``: the audit log by day, unit or
account. A finance auditor sees both and changes nothing: every post answers the 403 page.
Views are thin: the work is ``services/people.py``'s; ``console.console_view`` checks the
session, the role and the CSRF token first.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, page
from chalicelib.api.errors import status_of
from chalicelib.api.http import query_param
from chalicelib.bootstrap import deps
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.people import ROLE_LABELS, Role, Session
from chalicelib.services import people
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

PEOPLE = "/console/finance/people"
AUDIT = "/console/finance/audit"
DAY = "/console/finance/day"
FINANCE = (Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)
AUDIT_LIMIT = 100
ACTIONS = {"sign_in": "登录", "sign_out": "退出", "session_expired": "会话超时",
           "account_locked": "账户锁定", "person_create": "创建账号", "person_unlock": "解锁账号",
           "person_reset_totp": "重置动态口令", "password_change": "修改密码",
           "unit_operators_may_cancel": "经办人撤销权限", "verify": "查验", "reimburse": "报销入账",
           "release": "释放报销"}
OUTCOMES = {"ok": "成功", "unknown_user": "用户不存在", "bad_password": "密码错误",
            "bad_otp": "动态口令错误", "otp_reused": "动态口令重复使用", "locked": "账户已锁定",
            "totp_required": "未启用动态口令"}


def _people_page(me: Session, status: int = 200, **context) -> Response:
    d = deps()
    now = int(d.clock().timestamp())
    return page(bp, "console/finance_people.html", status, me=me, here=PEOPLE, heading="人员与权限",
                people=d.people.list(), now=now, roles=ROLE_LABELS,
                can_change=me.role is Role.FINANCE_ADMIN, **context)


@bp.route(PEOPLE, methods=["GET"])
@console_view(bp, *FINANCE)
def people_list(me: Session, actor: Actor) -> Response:
    return _people_page(me, form={})


@bp.route(PEOPLE, methods=["POST"], content_types=console.FORM)
@console_view(bp, Role.FINANCE_ADMIN, post=True)
def person_create(me: Session, actor: Actor) -> Response:
    form = form_fields(bp, "username", "display_name", "role", "unit_code", "password", "totp")
    try:
        person, secret = people.create_person(
            deps(), actor, username=form["username"].strip(), role=form["role"],
            unit_code=form["unit_code"].strip() or None, password=form["password"],
            display_name=form["display_name"].strip(), totp=form["totp"] == "yes")
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


@bp.route(AUDIT, methods=["GET"])
@console_view(bp, *FINANCE)
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
    if account:
        events = d.audit.query(bill_id=f"person#{account}", limit=AUDIT_LIMIT)
        events = [e for e in events if (not day or e.at.startswith(day))
                  and (not unit or e.unit_code == unit)]
    elif unit:
        events = d.audit.query(unit_code=unit, day=day or None, limit=AUDIT_LIMIT)
    else:
        events = d.audit.query(day=day or today, limit=AUDIT_LIMIT)
    return page(bp, "console/finance_audit.html", me=me, here=AUDIT, heading="审计日志",
                events=events, actions=ACTIONS, outcomes=OUTCOMES, limit=AUDIT_LIMIT,
                filters={"day": day or ("" if (account or unit) else today), "unit_code": unit,
                         "username": account}, problems=problems)


@bp.route(DAY, methods=["GET"])
@console_view(bp, *FINANCE)
def day_page(me: Session, actor: Actor) -> Response:
    """A day's notes, payments and bills (today unless ``day=``), of one unit or fee item."""
    from chalicelib.domain.money import fen_to_yuan_grouped
    from chalicelib.services.day_book import LIST_LIMIT, day_book
    from chalicelib.services.note_pages import NOTE_STATUS

    d = deps()
    request = bp.current_request
    today = d.clock().astimezone(CHINA_TZ).strftime("%Y-%m-%d")
    day = (query_param(request, "day") or today)[:10]
    unit = (query_param(request, "unit_code") or "").strip()[:20]
    item = (query_param(request, "item_code") or "").strip()[:20]
    problems = {} if _is_day(day) else {"day": "日期格式应为 YYYY-MM-DD"}
    book = day_book(d, day if not problems else today, unit, item)
    return page(bp, "console/finance_day.html", me=me, here=DAY, heading="当日业务",
                book=book, yuan=fen_to_yuan_grouped, limit=LIST_LIMIT, problems=problems,
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
