"""People: accounts, sign-in with a password and a TOTP code, console sessions, and the audit
of everything a person does.

Passwords are hashed with argon2id (argon2-cffi, RFC 9106) at ``PASSWORD_HASHER``'s parameters:
19 MiB, 2 passes, 1 lane (OWASP's first choice for argon2id), measured at 31-33 ms a hash on
this machine's core; a 1024 MB Lambda has ~0.6 of a vCPU, so ~55 ms. The parameters are in each
encoded hash: raising them later rehashes each password at its owner's next sign-in.

The second factor is TOTP (RFC 6238 over HMAC-SHA1, 6 digits, 30-second steps, one step of
drift either side), the authenticator apps' standard. Its secret is kept encrypted
(AES-256-GCM under a key derived from the pepper secret), so the table alone does not give it
away. A code is accepted once: the step it matched is stored, and a code of that step or an
earlier one is refused after (a conditional write, so two racing sign-ins cannot both use it).
Finance roles must have TOTP: their accounts are created with it and cannot sign in without.

Failures: ``MAX_FAILURES`` in a row lock the account for ``LOCK_SECONDS`` (a finance admin may
unlock it earlier). Each client address may fail ``FAILURES_PER_CLIENT_PER_HOUR`` times an hour,
then gets 429 before anything is checked: locking accounts costs an attacker addresses, and a
password-spraying client is stopped after a few accounts. An unknown username is checked against
a dummy hash, so the answer takes as long and says the same as a wrong password.

Sessions: a random 256-bit token in the cookie, only its SHA-256 in the store; each request
checks the idle (15 min) and absolute (8 h) clocks; sign-out deletes the row.

Every sign-in, failure, lockout, sign-out and change a person makes is appended to the audit
log (``AuditLog``: the API's role may only append to it and query it) with who, when, what and
the client address. Its key (``bill_id`` in the log's rows) is ``person#<username>`` of the
account concerned; ``detail.by`` names who acted when it is someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.domain.people import (
    LOCK_SECONDS,
    MAX_FAILURES,
    MAX_PASSWORD_LENGTH,
    Person,
    Role,
    Session,
    check_password,
    check_role,
    check_username,
)
from chalicelib.domain.records import AuditEvent
from chalicelib.services import limits
from chalicelib.services.phones import derive_key
from chalicelib.services.ports import Ports

FAILURES_PER_CLIENT_PER_HOUR = 20
TOTP_STEP = 30
TOTP_DIGITS = 6
TOUCH_AFTER = 60  # seconds: a session's last-seen time is written at most once a minute
ISSUER = "财政电子票据"
BAD_CREDENTIALS = "用户名、密码或动态口令错误"
_AAD = b"fiscal-bills/console-totp/v1"


@cache
def hasher() -> Any:
    """argon2id, sized for the API's Lambda (see the module's docstring)."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@cache
def _dummy_hash() -> str:
    return str(hasher().hash(secrets.token_urlsafe(16)))


def hash_password(password: str) -> str:
    return str(hasher().hash(password))


def _password_holds(encoded: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(hasher().verify(encoded, password))
    except (VerificationError, InvalidHashError):
        return False


# --- TOTP ---------------------------------------------------------------------------------

def _totp_key(deps: Ports) -> bytes:
    return derive_key(deps.payer_pepper, "console-totp")


def seal_totp(deps: Ports, secret: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = nonce + AESGCM(_totp_key(deps)).encrypt(nonce, secret.encode(), _AAD)
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def open_totp(deps: Ports, sealed: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.urlsafe_b64decode(sealed)
    return AESGCM(_totp_key(deps)).decrypt(raw[:12], raw[12:], _AAD).decode()


def new_totp_secret() -> str:
    import pyotp

    return str(pyotp.random_base32())  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` link an authenticator app reads (as a QR code or typed in)."""
    import pyotp

    return str(pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP)
               .provisioning_uri(name=username, issuer_name=ISSUER))


def totp_now(secret: str, epoch: int) -> str:
    """The code an authenticator shows at ``epoch`` (the local stack's demo and the tests)."""
    import pyotp

    return str(pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP).at(epoch))


def matching_step(secret: str, code: str, now_epoch: int) -> int | None:
    """The 30-second step (now, or one either side) whose code is ``code``; None if none."""
    import pyotp

    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP)
    now_step = now_epoch // TOTP_STEP
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(str(totp.at(step * TOTP_STEP)).encode(), code.encode()):
            return step
    return None


# --- audit ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in person (their session's view of them) from a client address."""

    username: str
    role: Role
    unit_code: str | None
    client: str

    @classmethod
    def of(cls, session: Session, client: str) -> Actor:
        return cls(session.username, session.role, session.unit_code, client)

    @property
    def audit_unit(self) -> str:
        return self.unit_code or "finance"


CLI = Actor("cli", Role.FINANCE_ADMIN, None, "cli")  # an operator at the command line


def audit(deps: Ports, subject: str, unit_code: str | None, action: str, outcome: str,
          client: str, detail: dict | None = None) -> None:
    """Append one event about the account ``subject`` (who acted is ``detail['by']``)."""
    at = deps.clock().astimezone(CHINA_TZ).isoformat(timespec="microseconds")
    deps.audit.append(AuditEvent(bill_id=f"person#{subject}", unit_code=unit_code or "finance",
                                 action=action, outcome=outcome, client=client, at=at,
                                 detail=detail))


def audit_change(deps: Ports, actor: Actor, action: str, target: str,
                 detail: dict | None = None, unit_code: str | None = None) -> None:
    """A change made by ``actor`` (a unit, a fee item, a note…), filed under the actor."""
    audit(deps, actor.username, unit_code or actor.audit_unit, action, "ok", actor.client,
          {"by": actor.username, "role": actor.role.value, "target": target, **(detail or {})})


# --- accounts -------------------------------------------------------------------------------

def _now_epoch(deps: Ports) -> int:
    return int(deps.clock().timestamp())


def require(actor: Actor | Session, *roles: Role) -> None:
    """``Forbidden`` unless the actor has one of ``roles``."""
    if actor.role not in roles:
        raise Forbidden("您的角色无权执行此操作", code="role_not_allowed")


def create_person(deps: Ports, actor: Actor, *, username: str, role: str,
                  unit_code: str | None, password: str, display_name: str = "",
                  totp: bool | None = None) -> tuple[Person, str | None]:
    """Create an account: (the person, the TOTP secret to hand over once, or None).

    Finance roles always get TOTP; unit roles get it when ``totp`` (default: yes). A finance
    admin creates any account; a unit admin only operators of their own unit."""
    check_username(username)
    found = check_role(role, unit_code or None)
    if actor.role is Role.UNIT_ADMIN:
        if found is not Role.UNIT_OPERATOR or unit_code != actor.unit_code:
            raise Forbidden("单位管理员只能为本单位创建经办人", code="role_not_allowed")
    else:
        require(actor, Role.FINANCE_ADMIN)
    if unit_code and deps.units.get(unit_code) is None:
        raise ValidationFailed("单位不存在", {"unit_code": "no such unit"})
    check_password(username, password)
    secret = new_totp_secret() if (found.is_finance or totp is not False) else None
    person = Person(username=username, role=found, unit_code=unit_code or None,
                    display_name=(display_name or username)[:40],
                    password_hash=hash_password(password),
                    created_at=deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                    totp_sealed=seal_totp(deps, secret) if secret else None)
    deps.people.create(person)
    audit(deps, username, person.unit_code, "person_create", "ok", actor.client,
          {"by": actor.username, "role": found.value, "totp": bool(secret)})
    return person, secret


def _person_in_reach(deps: Ports, actor: Actor, username: str) -> Person:
    """The person ``actor`` may manage: any, for a finance admin; for a unit admin only the
    operators of their own unit (as they create only those), never a fellow unit admin."""
    person = deps.people.get(username)
    if person is None or (actor.role is Role.UNIT_ADMIN and (
            person.unit_code != actor.unit_code or person.role is not Role.UNIT_OPERATOR)):
        raise NotFound("没有这个用户", code="person_not_found")
    return person


def unlock(deps: Ports, actor: Actor, username: str) -> Person:
    """Clear an account's lock and failure count (finance admin; a unit admin for their
    unit's operators)."""
    require(actor, Role.FINANCE_ADMIN, Role.UNIT_ADMIN)
    person = _person_in_reach(deps, actor, username)
    updated = deps.people.update(username, {"failures": 0, "locked_until": 0})
    audit(deps, username, person.unit_code, "person_unlock", "ok", actor.client,
          {"by": actor.username})
    return updated


def reset_totp(deps: Ports, actor: Actor, username: str) -> str:
    """Give an account a new TOTP secret (the old authenticator stops working): the secret."""
    require(actor, Role.FINANCE_ADMIN, Role.UNIT_ADMIN)
    person = _person_in_reach(deps, actor, username)
    secret = new_totp_secret()
    deps.people.update(username, {"totp_sealed": seal_totp(deps, secret), "totp_step": 0})
    audit(deps, username, person.unit_code, "person_reset_totp", "ok", actor.client,
          {"by": actor.username})
    return secret


def set_operators_may_cancel(deps: Ports, actor: Actor, allowed: bool) -> None:
    """A unit admin's toggle: whether their unit's operators may cancel unpaid notes."""
    require(actor, Role.UNIT_ADMIN)
    deps.people.set_operators_may_cancel(str(actor.unit_code), allowed)
    audit(deps, actor.username, actor.unit_code, "unit_operators_may_cancel", "ok", actor.client,
          {"by": actor.username, "allowed": allowed})


def operators_may_cancel(deps: Ports, unit_code: str) -> bool:
    """True when the unit's admin allows its operators to cancel notes (one read)."""
    return deps.people.operators_may_cancel(unit_code)


# --- sign-in and sessions -------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _client_counter(deps: Ports, client: str) -> str:
    return f"signin#{limits.client_key(client)}#{deps.clock().astimezone(CHINA_TZ):%Y%m%d%H}"


def _fail(deps: Ports, person: Person | None, username: str, client: str, why: str) -> None:
    audit(deps, username[:32] or "-", person.unit_code if person else None, "sign_in", why,
          client)
    if person is not None:
        after = deps.people.record_failure(person.username, _now_epoch(deps), MAX_FAILURES,
                                           LOCK_SECONDS)
        if after.locked(_now_epoch(deps)):
            audit(deps, person.username, person.unit_code, "account_locked", "ok", client,
                  {"until_epoch": after.locked_until})
    limits.limit(deps, _client_counter(deps, client), FAILURES_PER_CLIENT_PER_HOUR,
                 timedelta(hours=1), "登录失败次数过多，请一小时后再试")
    raise Unauthenticated(BAD_CREDENTIALS, code="bad_credentials")


def sign_in(deps: Ports, username: str, password: str, otp: str,
            client: str) -> tuple[str, Session]:
    """Check the credentials: (the new session's token, the session).

    ``Unauthenticated`` (``bad_credentials``: the same for every wrong part; ``account_locked``
    with when to try again); ``RateLimited`` once the client used up its failures."""
    limits.refuse_when_used_up(deps, _client_counter(deps, client),
                               FAILURES_PER_CLIENT_PER_HOUR, 3600,
                               "登录失败次数过多，请一小时后再试")
    username = (username or "").strip().lower()
    person = deps.people.get(username) if len(username) <= 32 else None
    if person is None:
        _password_holds(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])  # same time as a miss
        _fail(deps, None, username, client, "unknown_user")
    assert person is not None
    now = _now_epoch(deps)
    if person.locked(now):
        audit(deps, username, person.unit_code, "sign_in", "locked", client)
        minutes = max(1, (person.locked_until - now + 59) // 60)
        raise Unauthenticated(f"登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试或联系管理员解锁",
                              code="account_locked")
    if len(password) > MAX_PASSWORD_LENGTH or not _password_holds(person.password_hash,
                                                                   password):
        _fail(deps, person, username, client, "bad_password")
    if person.role.is_finance and not person.has_totp:
        _fail(deps, person, username, client, "totp_required")
    if person.has_totp:
        step = matching_step(open_totp(deps, str(person.totp_sealed)), (otp or "").strip(), now)
        if step is None:
            _fail(deps, person, username, client, "bad_otp")
        elif not deps.people.use_totp_step(username, step):
            _fail(deps, person, username, client, "otp_reused")
    changes: dict[str, Any] = {"failures": 0} if person.failures else {}
    if hasher().check_needs_rehash(person.password_hash):
        changes["password_hash"] = hash_password(password)
    if changes:
        deps.people.update(username, changes)
    token = secrets.token_urlsafe(32)
    session = Session(token_hash=token_hash(token), username=username, role=person.role,
                      unit_code=person.unit_code, created_epoch=now, seen_epoch=now,
                      client=client[:64])
    deps.people.put_session(session)
    audit(deps, username, person.unit_code, "sign_in", "ok", client)
    return token, session


def current_session(deps: Ports, token: str | None) -> Session | None:
    """The live session of ``token``; None (and the row ended) once a clock ran out."""
    if not token or len(token) > 100:
        return None
    key = token_hash(token)
    session = deps.people.session(key)
    if session is None:
        return None
    now = _now_epoch(deps)
    if not session.alive(now):
        deps.people.end_session(key)
        audit(deps, session.username, session.unit_code, "session_expired", "ok", session.client)
        return None
    if now - session.seen_epoch >= TOUCH_AFTER:
        deps.people.touch_session(key, now)
    return session


def sign_out(deps: Ports, token: str | None, client: str) -> None:
    session = current_session(deps, token)
    if session is None:
        return
    deps.people.end_session(session.token_hash)
    audit(deps, session.username, session.unit_code, "sign_out", "ok", client)


def change_password(deps: Ports, actor: Actor, current: str, new: str) -> None:
    """A person changes their own password (the current one is asked again)."""
    person = deps.people.get(actor.username)
    if person is None:
        raise NotFound("没有这个用户", code="person_not_found")
    if len(current) > MAX_PASSWORD_LENGTH or not _password_holds(person.password_hash, current):
        audit(deps, actor.username, person.unit_code, "password_change", "bad_password",
              actor.client)
        raise ValidationFailed("当前密码不正确", {"current_password": "wrong"})
    check_password(actor.username, new)
    deps.people.update(actor.username, {"password_hash": hash_password(new)})
    audit(deps, actor.username, person.unit_code, "password_change", "ok", actor.client)


def limited_message(exc: RateLimited) -> str:
    return f"{exc.message}（约 {max(1, exc.retry_after // 60)} 分钟后可再试）"
