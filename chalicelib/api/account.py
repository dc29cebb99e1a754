"""A signed-in person's own account (我的账号), for every role: ``/console/me``.

- ``POST /console/me/password``: the current password, the new one twice; the rule of
  ``domain/people.check_password`` holds, and every other session of the person ends (the one
  they changed it in goes on).
- ``POST /console/me/totp`` (the current password) offers a new TOTP secret, shown once as a QR
  code and as text; ``POST /console/me/totp/confirm`` with a current code of it makes it the
  account's (the old authenticator stops working, every other session ends). Until then the
  authenticator in use goes on working, so a finance person, who must have TOTP, is never left
  without it; an offer lapses after 10 minutes.

The work is ``services/people.py``'s (audited there); ``console.console_view`` checks the
session and the CSRF token first. A wrong current password counts toward the lockout, as at
the door, so an unattended session cannot be used to guess it.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api import console
from chalicelib.api.console import console_view, form_fields, page
from chalicelib.api.errors import status_of
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.people import PENDING_TOTP_SECONDS, Role, Session
from chalicelib.services import people
from chalicelib.services.people import Actor

bp = Blueprint(__name__)

ME = "/console/me"
EVERYONE = tuple(Role)


def _page(me: Session, status: int = 200, **context) -> Response:
    person = deps().people.get(me.username)
    return page(bp, "console/me.html", status, me=me, here=ME, heading="我的账号",
                person=person, problems=context.pop("problems", {}), **context)


def _ended(count: int) -> str:
    return f"您在其他位置的 {count} 个登录会话已结束。" if count else ""


@bp.route(ME, methods=["GET"])
@console_view(bp, *EVERYONE)
def account(me: Session, actor: Actor) -> Response:
    return _page(me)


@bp.route(ME + "/password", methods=["POST"], content_types=console.FORM)
@console_view(bp, *EVERYONE, post=True)
def password_change(me: Session, actor: Actor) -> Response:
    form = form_fields(bp, "current_password", "password", "password2")
    try:
        if form["password"] != form["password2"]:
            raise ValidationFailed("两次输入的新密码不一致", {"password2": "differs"})
        ended = people.change_password(deps(), actor, form["current_password"],
                                       form["password"])
    except ValidationFailed as exc:
        return _page(me, status_of(exc), password_error=exc.message, problems=exc.fields)
    return _page(me, done="已修改密码。" + _ended(ended))


@bp.route(ME + "/totp", methods=["POST"], content_types=console.FORM)
@console_view(bp, *EVERYONE, post=True)
def totp_offer(me: Session, actor: Actor) -> Response:
    from chalicelib.adapters.qr_svg import qr_svg

    try:
        secret = people.begin_totp_enrolment(deps(), actor, form_fields(
            bp, "current_password")["current_password"])
    except ValidationFailed as exc:
        return _page(me, status_of(exc), totp_error=exc.message, problems=exc.fields)
    uri = people.provisioning_uri(secret, me.username)
    return page(bp, "console/me_totp.html", me=me, here=ME, heading="设置动态口令",
                secret=secret, uri=uri, qr=qr_svg(uri, 200),
                minutes=PENDING_TOTP_SECONDS // 60, problems={})


@bp.route(ME + "/totp/confirm", methods=["POST"], content_types=console.FORM)
@console_view(bp, *EVERYONE, post=True)
def totp_confirm(me: Session, actor: Actor) -> Response:
    try:
        ended = people.confirm_totp_enrolment(deps(), actor, form_fields(bp, "otp")["otp"])
    except ValidationFailed as exc:  # the secret is not shown again: its owner has it
        return page(bp, "console/me_totp.html", status_of(exc), me=me, here=ME,
                    heading="设置动态口令", secret=None, error=exc.message,
                    problems=exc.fields, minutes=PENDING_TOTP_SECONDS // 60)
    return _page(me, done="已启用新的动态口令，原验证器中的口令即刻失效。" + _ended(ended))
