"""The "my bills" use cases: a payer proves a mobile number by a texted code, sees its bills.

Code: 6 digits from ``secrets``, stored only as an HMAC, valid 5 minutes, 5 attempts (counted
atomically before the comparison), spent on first use. Limits: a new code for a number once per
60 s and 5 times a day; 20 requests per client per hour; 30 wrong codes per client per hour.
Every limit is checked before anything changes: a refused request leaves the pending code (and
its attempts) as they were, so a stranger cannot kill the code its owner is about to type.
Session: an HMAC-signed token of the phone key, the masked number and an expiry 15 minutes on,
kept in an HttpOnly cookie; nothing is stored server-side and the number itself is not in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import RateLimited, ValidationFailed
from chalicelib.domain.masking import mask_phone
from chalicelib.domain.money import fen_to_yuan_grouped
from chalicelib.services import limits, sms_templates
from chalicelib.services.links import bill_url
from chalicelib.services.phones import cn_mobile, derive_key, phone_key
from chalicelib.services.ports import Ports
from chalicelib.services.sms import send_now

CODE_MINUTES = 5
MAX_ATTEMPTS = 5
RESEND_AFTER_SECONDS = 60
CODES_PER_NUMBER_PER_DAY = 5
CODES_PER_CLIENT_PER_HOUR = 20
WRONG_CODES_PER_CLIENT_PER_HOUR = 30
SESSION_MINUTES = 15
MAX_BILLS = 100
_CODE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class PayerSession:
    phone_key: str
    masked_phone: str
    expires_epoch: int


def _phone(text: object) -> str:
    phone = cn_mobile(text)
    if phone is None:
        raise ValidationFailed("请输入正确的11位手机号码", {"phone": "请输入正确的11位手机号码"})
    return phone


def _code_hash(deps: Ports, key: str, code: str) -> str:
    return hmac.new(derive_key(deps.payer_pepper, "login-code"), f"{key}:{code}".encode(),
                    hashlib.sha256).hexdigest()


def send_login_code(deps: Ports, phone_text: object, client: str) -> str:
    """Text a fresh code to the number; returns the number (11 digits).

    Every cap is checked BEFORE a code is issued: a refused request never replaces the code
    the number's owner is waiting for. The number's daily allowance is spent only by a code
    actually issued (issuing is serialised by the 60 s cooldown, a conditional write).
    """
    phone = _phone(phone_text)
    now = deps.clock()
    epoch, china = int(now.timestamp()), now.astimezone(CHINA_TZ)
    limits.limit(deps, f"login-code-client#{limits.client_key(client)}#{china:%Y%m%d%H}",
                 CODES_PER_CLIENT_PER_HOUR, timedelta(hours=1), "获取验证码过于频繁，请一小时后再试")
    key = phone_key(deps.payer_pepper, phone)
    per_number = f"login-code#{key}#{china:%Y%m%d}"
    limits.refuse_when_used_up(deps, per_number, CODES_PER_NUMBER_PER_DAY,
                               limits.seconds_to_midnight(now),
                               "该手机号今日获取验证码次数过多，请明日再试")
    code = f"{secrets.randbelow(10**6):06d}"
    code_hash = _code_hash(deps, key, code)
    wait = deps.otp.issue(key, code_hash, epoch, epoch + CODE_MINUTES * 60, RESEND_AFTER_SECONDS)
    if wait:
        limited = RateLimited(f"验证码已发送，请{wait}秒后再重新获取", retry_after=wait)
        limited.code = "code_sent_recently"
        raise limited
    deps.counters.next_value(per_number, epoch + limits.seconds_to_midnight(now) + 3600)
    text = sms_templates.login_code(deps.settings.sms_sender, code, CODE_MINUTES)
    try:
        send_now(deps, "login_code", f"login_code#{key[:16]}#{epoch}", phone, text)
    except Exception:
        deps.otp.consume(key, code_hash)  # not sent: the payer may ask again at once
        raise
    return phone


def verify_login_code(deps: Ports, phone_text: object, code_text: object,
                      client: str) -> PayerSession:
    """Spend the code and open a session; ``ValidationFailed`` or ``RateLimited`` otherwise."""
    phone = _phone(phone_text)
    code = "".join(code_text.split()) if isinstance(code_text, str) else ""
    if not _CODE.match(code):
        message = "请输入短信中的6位数字验证码"
        raise ValidationFailed(message, {"code": message})
    now = deps.clock()
    key = phone_key(deps.payer_pepper, phone)
    wrong = f"login-wrong#{limits.client_key(client)}#{now.astimezone(CHINA_TZ):%Y%m%d%H}"
    # Before the attempt is counted: a client out of guesses must not use up the attempts of
    # the code the number's owner is about to type.
    limits.refuse_when_used_up(deps, wrong, WRONG_CODES_PER_CLIENT_PER_HOUR, 3600,
                               "验证码错误次数过多，请一小时后再试")
    check = deps.otp.attempt(key, int(now.timestamp()), MAX_ATTEMPTS)
    if check.state == "locked":
        raise RateLimited("验证码错误次数过多，已失效，请重新获取验证码",
                          retry_after=RESEND_AFTER_SECONDS)
    if check.state != "ok" or check.code_hash is None:
        message = "验证码已过期，请重新获取" if check.state == "expired" else "请先获取验证码"
        raise ValidationFailed(message, {"code": message}, code=f"code_{check.state}")
    if not hmac.compare_digest(check.code_hash, _code_hash(deps, key, code)):
        limits.limit(deps, wrong, WRONG_CODES_PER_CLIENT_PER_HOUR, timedelta(hours=1),
                     "验证码错误次数过多，请一小时后再试")
        message = (f"验证码不正确，还可再试{check.attempts_left}次" if check.attempts_left
                   else "验证码不正确，错误次数过多，请重新获取验证码")
        raise ValidationFailed(message, {"code": message}, code="wrong_code")
    if not deps.otp.consume(key, check.code_hash):
        raise ValidationFailed("验证码已失效，请重新获取", {"code": "验证码已失效，请重新获取"},
                               code="code_missing")
    expires = int((now + timedelta(minutes=SESSION_MINUTES)).timestamp())
    return PayerSession(phone_key=key, masked_phone=mask_phone(phone) or "",
                        expires_epoch=expires)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _session_mac(deps: Ports, payload: str) -> str:
    return _b64(hmac.new(derive_key(deps.payer_pepper, "payer-session"), payload.encode(),
                         hashlib.sha256).digest())


def session_token(deps: Ports, session: PayerSession) -> str:
    payload = _b64(json.dumps({"k": session.phone_key, "m": session.masked_phone,
                               "e": session.expires_epoch}, separators=(",", ":")).encode())
    return f"{payload}.{_session_mac(deps, payload)}"


def read_session(deps: Ports, token: str | None) -> PayerSession | None:
    """The session in ``token`` if its signature holds and it has not expired; else None."""
    if not token or token.count(".") != 1 or len(token) > 400:
        return None
    payload, mac = token.split(".")
    if not hmac.compare_digest(mac.encode(), _session_mac(deps, payload).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = PayerSession(str(data["k"]), str(data["m"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    now = int(deps.clock().timestamp())
    if not now < session.expires_epoch <= now + SESSION_MINUTES * 60:
        return None
    return session


def list_bills(deps: Ports, session: PayerSession) -> list[dict]:
    """Every bill issued to the session's number, newest first, as the page shows them."""
    out = []
    for entry in deps.payer_bills.bills_of(session.phone_key, MAX_BILLS):
        bill = entry.bill
        out.append({
            "title": bill.title, "unit_name": bill.issuing_unit_name,
            "bill_code": bill.bill_code, "bill_number": bill.bill_number,
            "issued_at": bill.issued_at, "issue_date": bill.issue_date,
            "total_yuan": fen_to_yuan_grouped(abs(bill.total_fen)), "red": bill.is_red,
            "status": entry.status.value, "payment_code": bill.payment_code,
            "reversed_by": entry.links.get("reversed_by"), "reverses": entry.links.get("reverses"),
            "url": bill_url(deps, bill.bill_code, bill.bill_number, bill.check_code)})
    return out
