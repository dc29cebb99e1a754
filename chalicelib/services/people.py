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
checks the idle (15 min) and absolute (8 h) clocks; sign-out deletes the row. A session carries
the role and region its person had when it began, so every change to an account that matters
(locked, unlocked, password or TOTP reset, disabled or enabled, role or region changed) ends all
of that person's live sessions at once (``end_sessions``, over the store's index of sessions by
person); a person who changes their own password or TOTP keeps only the session they did it in.
The index lags a moment behind a sign-in, so it is not trusted alone: each change also moves
the account's credential generation on, and a sign-in stores its session only while the
generation is still the one it read, naming the session on the account's row (one
transaction); the change takes those names with the same write. So a session begun in the
second before a change is ended by name, and one begun after it with the old credentials is
never stored, at no cost to any page (the session row alone is read per request).

Regions: a finance person may carry a region (``Person.scope``, a prefix of region codes, as
finance keys do). They see and manage only the units, and the people of units, within it, and
finance people of their region or below; anything else is answered as if it did not exist.

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
    Conflict,
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
    PENDING_TOTP_SECONDS,
    OperatorActions,
    Person,
    Role,
    Session,
    UnitAction,
    check_password,
    check_role,
    check_username,
)
from chalicelib.domain.records import AuditEvent
from chalicelib.domain.regions import scope_of
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
    """Who acts: a signed-in person (their session's view of them) from a client address;
    ``scope`` the region of a finance person (``""``: every region), ``session`` the id of
    the session they act in (kept when they change their own password or TOTP)."""

    username: str
    role: Role
    unit_code: str | None
    client: str
    scope: str = ""
    session: str | None = None

    @classmethod
    def of(cls, session: Session, client: str) -> Actor:
        return cls(session.username, session.role, session.unit_code, client, session.scope,
                   session.token_hash)

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


def finance_scope(actor: Actor, text: str | None) -> str:
    """The region a finance person created or changed by ``actor`` gets: ``text`` (a region
    prefix, ``""``/None: the actor's own), which must lie within the actor's region."""
    scope = scope_of(text or "", "scope") if text else actor.scope
    if not scope.startswith(actor.scope):
        raise ValidationFailed("只能在本人管辖的行政区划内设置人员", {
            "scope": f"within your region {actor.scope or '(all)'}"})
    return scope


def unit_region(deps: Ports, unit_code: str | None) -> str | None:
    unit = deps.units.get(unit_code) if unit_code else None
    return unit.region_code if unit is not None else None


def create_person(deps: Ports, actor: Actor, *, username: str, role: str,
                  unit_code: str | None, password: str, display_name: str = "",
                  totp: bool | None = None, scope: str | None = None
                  ) -> tuple[Person, str | None]:
    """Create an account: (the person, the TOTP secret to hand over once, or None).

    Finance roles always get TOTP; unit roles get it when ``totp`` (default: yes). A finance
    admin creates accounts within their region only (a finance person's region within theirs,
    a unit's person of a unit within it; another region's unit is as one that does not exist);
    a unit admin only operators of their own unit."""
    check_username(username)
    found = check_role(role, unit_code or None)
    if actor.role is Role.UNIT_ADMIN:
        if found is not Role.UNIT_OPERATOR or unit_code != actor.unit_code:
            raise Forbidden("单位管理员只能为本单位创建经办人", code="role_not_allowed")
    else:
        require(actor, Role.FINANCE_ADMIN)
    region = unit_region(deps, unit_code)
    if unit_code and (region is None or not region.startswith(actor.scope)):
        raise ValidationFailed("单位不存在", {"unit_code": "no such unit"})
    if not found.is_finance and scope:
        raise ValidationFailed("单位人员不设行政区划", {"scope": "finance roles only"})
    person_scope = finance_scope(actor, scope) if found.is_finance else ""
    check_password(username, password)
    secret = new_totp_secret() if (found.is_finance or totp is not False) else None
    person = Person(username=username, role=found, unit_code=unit_code or None,
                    display_name=(display_name or username)[:40],
                    password_hash=hash_password(password),
                    created_at=deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds"),
                    totp_sealed=seal_totp(deps, secret) if secret else None,
                    scope=person_scope)
    deps.people.create(person, region or "")
    audit(deps, username, person.unit_code, "person_create", "ok", actor.client,
          {"by": actor.username, "role": found.value, "totp": bool(secret),
           **({"scope": person_scope} if person_scope else {})})
    return person, secret


def in_reach(deps: Ports, actor: Actor | Session, person: Person) -> bool:
    """True when ``actor`` may see ``person``'s account: a finance person those of their
    region (``Person.in_scope``); a unit's person those of their own unit."""
    if actor.role.is_finance:
        return not actor.scope or person.in_scope(actor.scope, None if person.role.is_finance
                                                  else unit_region(deps, person.unit_code))
    return person.unit_code == actor.unit_code


def people_in_reach(deps: Ports, actor: Actor | Session) -> list[Person]:
    """The accounts ``actor`` may see, by username (a finance person: of their region)."""
    if not actor.role.is_finance:
        return deps.people.list(actor.unit_code, unit_region(deps, actor.unit_code) or "")
    return deps.people.list(region=actor.scope)  # "": every region


def _person_in_reach(deps: Ports, actor: Actor, username: str) -> Person:
    """The person ``actor`` may manage: for a finance admin any of their region; for a unit
    admin only the operators of their own unit (as they create only those), never a fellow
    unit admin. Anyone else is ``NotFound``, as a name that does not exist."""
    person = deps.people.get(username)
    if person is None or not in_reach(deps, actor, person) or (
            actor.role is Role.UNIT_ADMIN and person.role is not Role.UNIT_OPERATOR):
        raise NotFound("没有这个用户", code="person_not_found")
    return person


def end_sessions(deps: Ports, person: Person | Session, why: str, client: str,
                 keep: str | None = None) -> int:
    """End every live session of ``person`` (but ``keep``), audited with ``why``: the
    account changed, so a session begun before must not go on as if it had not."""
    ended = deps.people.end_sessions(person.username, keep)
    if ended:
        audit(deps, person.username, person.unit_code, "sessions_ended", "ok", client,
              {"why": why, "count": ended})
    return ended


def unlock(deps: Ports, actor: Actor, username: str) -> Person:
    """Clear an account's lock and failure count (finance admin; a unit admin for their
    unit's operators). Its live sessions end."""
    require(actor, Role.FINANCE_ADMIN, Role.UNIT_ADMIN)
    person = _person_in_reach(deps, actor, username)
    updated = deps.people.update(username, {"failures": 0, "locked_until": 0})
    audit(deps, username, person.unit_code, "person_unlock", "ok", actor.client,
          {"by": actor.username})
    end_sessions(deps, person, "person_unlock", actor.client)
    return updated


def reset_totp(deps: Ports, actor: Actor, username: str) -> str:
    """Give an account a new TOTP secret (the old authenticator stops working): the secret.
    The account's live sessions end."""
    require(actor, Role.FINANCE_ADMIN, Role.UNIT_ADMIN)
    person = _person_in_reach(deps, actor, username)
    secret = new_totp_secret()
    deps.people.update(username, {"totp_sealed": seal_totp(deps, secret), "totp_step": 0,
                                  "totp_pending": None, "totp_pending_epoch": None})
    audit(deps, username, person.unit_code, "person_reset_totp", "ok", actor.client,
          {"by": actor.username})
    end_sessions(deps, person, "person_reset_totp", actor.client)
    return secret


def reset_password(deps: Ports, actor: Actor, username: str, password: str) -> None:
    """An admin sets a new password on an account (its owner forgot theirs): the rule holds,
    the lock is cleared, and the account's live sessions end."""
    require(actor, Role.FINANCE_ADMIN, Role.UNIT_ADMIN)
    person = _person_in_reach(deps, actor, username)
    check_password(username, password)
    deps.people.update(username, {"password_hash": hash_password(password), "failures": 0,
                                  "locked_until": 0})
    audit(deps, username, person.unit_code, "person_reset_password", "ok", actor.client,
          {"by": actor.username})
    end_sessions(deps, person, "person_reset_password", actor.client)


def set_disabled(deps: Ports, actor: Actor, username: str, disabled: bool) -> Person:
    """Disable an account (it may not sign in; its live sessions end) or enable it again.
    Nobody disables their own account (there must stay someone to enable it)."""
    require(actor, Role.FINANCE_ADMIN, Role.UNIT_ADMIN)
    person = _person_in_reach(deps, actor, username)
    if username == actor.username:
        raise ValidationFailed("不能停用本人账号", {"username": "not your own account"})
    updated = deps.people.update(username, {"disabled": disabled})
    action = "person_disable" if disabled else "person_enable"
    audit(deps, username, person.unit_code, action, "ok", actor.client, {"by": actor.username})
    end_sessions(deps, person, action, actor.client)
    return updated


def change_role(deps: Ports, actor: Actor, username: str, role: str,
                scope: str | None = None) -> Person:
    """A finance admin changes an account's role within its side (财政 or 单位: a unit's
    person stays with their unit) and a finance person's region (within the admin's own).
    The account's live sessions end: they carry the role and region they began with."""
    require(actor, Role.FINANCE_ADMIN)
    person = _person_in_reach(deps, actor, username)
    found = check_role(role, person.unit_code)
    if username == actor.username:
        raise ValidationFailed("不能修改本人角色", {"role": "not your own account"})
    if not found.is_finance and scope:
        raise ValidationFailed("单位人员不设行政区划", {"scope": "finance roles only"})
    new_scope = finance_scope(actor, scope) if found.is_finance else ""
    updated = deps.people.update(username, {"role": found, "scope": new_scope})
    audit(deps, username, person.unit_code, "person_role", "ok", actor.client,
          {"by": actor.username, "from": person.role.value, "to": found.value,
           **({"scope": new_scope} if found.is_finance else {})})
    end_sessions(deps, person, "person_role", actor.client)
    return updated


def set_operator_actions(deps: Ports, actor: Actor, actions: frozenset[UnitAction]) -> None:
    """A unit admin's choice of what their unit's operators may do (the whole set at once)."""
    require(actor, Role.UNIT_ADMIN)
    before = deps.people.operator_actions(str(actor.unit_code))
    deps.people.set_operator_actions(str(actor.unit_code), actions)
    audit(deps, actor.username, actor.unit_code, "unit_operator_actions", "ok", actor.client,
          {"by": actor.username, "allowed": sorted(a.value for a in actions),
           "before": sorted(a.value for a in before)})


def operator_actions(deps: Ports, unit_code: str) -> frozenset[UnitAction]:
    """What the unit's admin allows its operators by default (one read)."""
    return deps.people.operator_actions(unit_code)


def operator_page(deps: Ports, actor: Actor, username: str) -> tuple[Person, OperatorActions]:
    """An operator of the unit admin's unit and the unit's settings (what they may do):
    anyone else (another unit's person, a unit admin, a finance person) is ``NotFound``."""
    require(actor, Role.UNIT_ADMIN)
    person, settings = deps.gather(lambda: _person_in_reach(deps, actor, username),
                                   lambda: deps.people.operator_settings(str(actor.unit_code)))
    return person, settings


def _actions_said(actions: frozenset[UnitAction] | None, default: frozenset[UnitAction]
                  ) -> dict[str, Any]:
    return {"allowed": sorted(a.value for a in (default if actions is None else actions)),
            "source": "unit_default" if actions is None else "own"}


def set_person_actions(deps: Ports, actor: Actor, username: str,
                       actions: frozenset[UnitAction] | None) -> OperatorActions:
    """A unit admin decides what one operator of their unit may do: their own set
    (``actions``) or, with None, the unit's default again. Audited under the operator with
    what they could do before and after. Another unit's person, a unit admin or a finance
    person is ``NotFound``; a change made meanwhile by someone else is ``Conflict`` (nothing
    written: the admin sees the new value and decides again)."""
    person, settings = operator_page(deps, actor, username)
    unit = str(actor.unit_code)
    before = settings.own.get(person.username)
    if not deps.people.set_person_actions(unit, person.username, actions, before):
        raise Conflict("该经办人的权限刚被修改，请刷新页面查看后重试", code="actions_changed")
    audit(deps, person.username, unit, "person_actions", "ok", actor.client,
          {"by": actor.username, "before": _actions_said(before, settings.default),
           "after": _actions_said(actions, settings.default)})
    return deps.people.operator_settings(unit)


def may(deps: Ports, actor: Actor, action: UnitAction) -> bool:
    """A unit admin may do every ``UnitAction`` of their unit; an operator what the admin allows
    them (their own set, else the unit's default: one read); nobody else any."""
    if actor.role is Role.UNIT_ADMIN:
        return True
    return (actor.role is Role.UNIT_OPERATOR
            and action in deps.people.operator_settings(str(actor.unit_code)).of(actor.username))


def allowed(deps: Ports, actor: Actor) -> frozenset[UnitAction]:
    """Every ``UnitAction`` ``actor`` may do (``may`` for all at once): a unit admin all, an
    operator what the admin allows them (one read), anyone else none."""
    if actor.role is Role.UNIT_ADMIN:
        return frozenset(UnitAction)
    if actor.role is Role.UNIT_OPERATOR:
        return deps.people.operator_settings(str(actor.unit_code)).of(actor.username)
    return frozenset()


def require_may(deps: Ports, actor: Actor, action: UnitAction) -> None:
    """``Forbidden`` (``operator_not_allowed``) unless ``may``."""
    if not may(deps, actor, action):
        raise not_allowed(action)


def not_allowed(action: UnitAction) -> Forbidden:
    """The refusal of an ``action`` the unit admin did not allow (``require_may``'s)."""
    return Forbidden(f"单位管理员未允许经办人{action.label}", code="operator_not_allowed")


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
            end_sessions(deps, person, "account_locked", client)
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
    if person.disabled:  # said only to whoever knows the password
        audit(deps, username, person.unit_code, "sign_in", "disabled", client)
        raise Unauthenticated("账户已停用，请联系管理员", code="account_disabled")
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
                      client=client[:64], scope=person.scope if person.role.is_finance else "")
    if not deps.people.put_session(session, person):  # the account changed meanwhile
        audit(deps, username, person.unit_code, "sign_in", "account_changed", client)
        raise Unauthenticated("账户信息刚刚变更，请重新登录", code="account_changed")
    audit(deps, username, person.unit_code, "sign_in", "ok", client)
    return token, session


def _still_holds(person: Person | None, session: Session, now: int) -> bool:
    """True while the account is as the session began with it: there, enabled, not locked,
    of the same role and region."""
    return (person is not None and not person.disabled and not person.locked(now)
            and person.role is session.role
            and (person.scope if person.role.is_finance else "") == session.scope)


def current_session(deps: Ports, token: str | None) -> Session | None:
    """The live session of ``token``; None (and the row ended) once a clock ran out.

    Each change to an account ends its sessions at once through the store's index, which may
    lag a moment behind a sign-in; so whenever the last-seen time is written (once a minute)
    the account is read again too, and a session whose account was disabled, locked or given
    another role or region meanwhile ends then, at the latest."""
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
        if not _still_holds(deps.people.get(session.username), session, now):
            deps.people.end_session(key)
            audit(deps, session.username, session.unit_code, "sessions_ended", "ok",
                  session.client, {"why": "account_changed", "count": 1})
            return None
        deps.people.touch_session(key, now)
    return session


def sign_out(deps: Ports, token: str | None, client: str) -> None:
    session = current_session(deps, token)
    if session is None:
        return
    deps.people.end_session(session.token_hash)
    audit(deps, session.username, session.unit_code, "sign_out", "ok", client)


def _me(deps: Ports, actor: Actor) -> Person:
    person = deps.people.get(actor.username)
    if person is None:
        raise NotFound("没有这个用户", code="person_not_found")
    return person


def _current_holds(deps: Ports, actor: Actor, person: Person, current: str,
                   action: str) -> None:
    """``ValidationFailed`` on ``current_password`` unless it is the person's password; a
    wrong one counts as a failed sign-in (it may lock the account, as guessing at the door
    would), so a session left open cannot be used to guess the password."""
    if len(current) <= MAX_PASSWORD_LENGTH and _password_holds(person.password_hash, current):
        return
    audit(deps, actor.username, person.unit_code, action, "bad_password", actor.client)
    after = deps.people.record_failure(person.username, _now_epoch(deps), MAX_FAILURES,
                                       LOCK_SECONDS)
    if after.locked(_now_epoch(deps)):
        audit(deps, person.username, person.unit_code, "account_locked", "ok", actor.client,
              {"until_epoch": after.locked_until})
        end_sessions(deps, person, "account_locked", actor.client)
    raise ValidationFailed("当前密码不正确", {"current_password": "wrong"})


def change_password(deps: Ports, actor: Actor, current: str, new: str) -> int:
    """A person changes their own password (the current one is asked again, the rule holds);
    every other session of theirs ends (how many). The session they did it in goes on."""
    person = _me(deps, actor)
    _current_holds(deps, actor, person, current, "password_change")
    check_password(actor.username, new)
    if _password_holds(person.password_hash, new):
        raise ValidationFailed("新密码不能与当前密码相同", {"password": "same as the current one"})
    deps.people.update(actor.username, {"password_hash": hash_password(new), "failures": 0})
    audit(deps, actor.username, person.unit_code, "password_change", "ok", actor.client)
    return end_sessions(deps, person, "password_change", actor.client, keep=actor.session)


def begin_totp_enrolment(deps: Ports, actor: Actor, current: str) -> str:
    """Offer a new TOTP secret to its owner (the current password asked again): the secret,
    to show once. It takes effect only when a code of it is confirmed
    (``confirm_totp_enrolment``) within ``PENDING_TOTP_SECONDS``; until then the authenticator
    in use (if any) goes on working, so a finance person is never left without TOTP."""
    person = _me(deps, actor)
    _current_holds(deps, actor, person, current, "totp_enrol")
    secret = new_totp_secret()
    deps.people.update(actor.username, {"totp_pending": seal_totp(deps, secret),
                                        "totp_pending_epoch": _now_epoch(deps)})
    audit(deps, actor.username, person.unit_code, "totp_enrol", "offered", actor.client)
    return secret


def confirm_totp_enrolment(deps: Ports, actor: Actor, code: str) -> int:
    """Make the offered secret the account's once ``code`` is one of its codes now: the old
    authenticator stops working, every other session ends (how many). ``ValidationFailed``
    on ``otp`` for a wrong code, or when no secret is on offer (none, or lapsed)."""
    person = _me(deps, actor)
    now = _now_epoch(deps)
    if not person.totp_pending or now - person.totp_pending_epoch > PENDING_TOTP_SECONDS:
        raise ValidationFailed("没有待确认的动态口令，或已超过 10 分钟，请重新开始",
                               {"otp": "no secret on offer"})
    secret = open_totp(deps, person.totp_pending)
    step = matching_step(secret, (code or "").strip(), now)
    if step is None:
        audit(deps, actor.username, person.unit_code, "totp_enrol", "bad_otp", actor.client)
        raise ValidationFailed("动态口令不正确，请输入验证器当前显示的 6 位数字",
                               {"otp": "not a current code of the new secret"})
    deps.people.update(actor.username, {"totp_sealed": person.totp_pending, "totp_step": step,
                                        "totp_pending": None, "totp_pending_epoch": None})
    audit(deps, actor.username, person.unit_code, "totp_enrol", "ok", actor.client)
    return end_sessions(deps, person, "totp_enrol", actor.client, keep=actor.session)


def limited_message(exc: RateLimited) -> str:
    return f"{exc.message}（约 {max(1, exc.retry_after // 60)} 分钟后可再试）"


class AuditReach:
    """Which audit rows a finance person may read. Of every region: all. Of one region: the
    rows of its units (``unit_code``) and those filed under the accounts they may see
    (``person#…`` rows of finance people of their region); nothing of the whole deployment
    (templates, remittance days) or of an unknown name. ``unit`` and ``account`` refuse a filter
    outside the region with ``NotFound``, as a unit or account that does not exist."""

    def __init__(self, deps: Ports, viewer: Actor | Session) -> None:
        self.deps, self.viewer, self.scope = deps, viewer, viewer.scope
        self._regions: dict[str, str | None] = {}
        self._people: dict[str, bool] = {}

    def _unit_ok(self, unit_code: str) -> bool:
        if unit_code not in self._regions:
            self._regions[unit_code] = unit_region(self.deps, unit_code)
        region = self._regions[unit_code]
        return region is not None and region.startswith(self.scope)

    def _person_ok(self, username: str) -> bool:
        if username not in self._people:
            person = self.deps.people.get(username) if len(username) <= 32 else None
            self._people[username] = person is not None and in_reach(self.deps, self.viewer,
                                                                     person)
        return self._people[username]

    def unit(self, unit_code: str) -> None:
        if self.scope and not self._unit_ok(unit_code):
            raise NotFound("单位不存在", code="unit_not_found")

    def account(self, username: str) -> None:
        if self.scope and not self._person_ok(username):
            raise NotFound("没有这个用户", code="person_not_found")

    def sees(self, event: AuditEvent) -> bool:
        if not self.scope:
            return True
        if event.unit_code != "finance":
            return self._unit_ok(event.unit_code)
        return event.bill_id.startswith("person#") and self._person_ok(event.bill_id[7:])
