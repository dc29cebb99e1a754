"""The people who run the system (财政端 and 执收端 staff): roles, accounts, the password rule and
the session's clocks. Machines keep their API keys (``domain/units.py``); people sign in.

Roles and what they may do:

    finance_admin     the finance department: every unit, fee item, range, key, person
    finance_auditor   the finance department, read only: sees what finance_admin sees, changes
                      nothing (every change is refused with 403)
    unit_admin        one collecting unit: its notes and bills, its operators, its settings
    unit_operator     one collecting unit: creates and follows notes; cancels notes, reverses,
                      voids or exchanges bills and handles refunds only as far as the unit's
                      admin allows (``UnitAction``, ``PeopleStore.operator_actions``)

The password rule is MLPS 2.0 level 3 (GB/T 22239-2019 8.1.4.1 a: 口令具有复杂度要求): at least
``MIN_PASSWORD_LENGTH`` characters, of at least three of four classes (upper case, lower case,
digits, symbols), and not containing the username. The session clocks (8.1.4.1 b, 登录失败处理
and 连接超时自动退出) and the lockout are constants here so the README and the tests quote one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.domain.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # bounds what one sign-in may make the KDF chew on
MAX_FAILURES = 5  # failed sign-ins in a row, then the account is locked
LOCK_SECONDS = 15 * 60
IDLE_SECONDS = 15 * 60  # a session unused this long is over
ABSOLUTE_SECONDS = 8 * 60 * 60  # and every session ends this long after sign-in
PENDING_TOTP_SECONDS = 10 * 60  # a secret offered for enrolment must be confirmed this soon
RECENT_SESSION_SECONDS = 120  # a session begun this lately is named on its account's row
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,31}")


class Role(StrEnum):
    FINANCE_ADMIN = "finance_admin"
    FINANCE_AUDITOR = "finance_auditor"
    UNIT_ADMIN = "unit_admin"
    UNIT_OPERATOR = "unit_operator"

    @property
    def is_finance(self) -> bool:
        return self in (Role.FINANCE_ADMIN, Role.FINANCE_AUDITOR)

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


class UnitAction(StrEnum):
    """What a unit admin may allow their operators (each one separately; none by default)."""

    CANCEL = "cancel"  # 撤销 an unpaid note
    REVERSE = "reverse"  # 冲红 a bill
    VOID = "void"  # 作废 a bill
    PAPER = "paper"  # 换开 a bill for a paper one
    REFUND = "refund"  # 退款 an exception payment: ask the channel again, or record it by hand

    @property
    def label(self) -> str:
        return UNIT_ACTION_LABELS[self]


UNIT_ACTION_LABELS = {UnitAction.CANCEL: "撤销缴款书", UnitAction.REVERSE: "冲红",
                      UnitAction.VOID: "作废", UnitAction.PAPER: "换开纸质票据",
                      UnitAction.REFUND: "处理退款"}


def unit_actions(names: object) -> frozenset[UnitAction]:
    """The actions named (unknown names are left out: a form cannot grant what does not exist)."""
    if not isinstance(names, (list, tuple, set, frozenset)):
        return frozenset()
    return frozenset(UnitAction(n) for n in names if n in UnitAction.__members__.values())


@dataclass(frozen=True)
class OperatorActions:
    """What a unit's admin allows its operators: ``default`` for every operator, and ``own``,
    the set the admin chose for one operator (by username), which replaces the default for
    them. Kept together (one read answers whether an operator may)."""

    default: frozenset[UnitAction] = frozenset()
    own: Mapping[str, frozenset[UnitAction]] = field(default_factory=dict)

    def of(self, username: str) -> frozenset[UnitAction]:
        """What ``username`` (an operator of the unit) may do."""
        return self.own.get(username, self.default)


def actions_text(actions: frozenset[UnitAction]) -> str:
    """A set of actions as one stored text (``cancel,reverse``; ``""``: nothing)."""
    return ",".join(sorted(a.value for a in actions))


def actions_of_text(text: str) -> frozenset[UnitAction]:
    return unit_actions([n for n in text.split(",") if n])


ROLE_LABELS = {Role.FINANCE_ADMIN: "财政管理员", Role.FINANCE_AUDITOR: "财政审计员（只读）",
               Role.UNIT_ADMIN: "单位管理员", Role.UNIT_OPERATOR: "单位经办人"}


@dataclass(frozen=True)
class Person:
    """An account. ``password_hash`` is argon2id's encoded string; ``totp_sealed`` the TOTP
    secret encrypted under a key of ours (never the plain secret); ``totp_step`` the last
    30-second step whose code was accepted (a code is never accepted twice)."""

    username: str
    role: Role
    unit_code: str | None
    display_name: str
    password_hash: str
    created_at: str
    totp_sealed: str | None = None
    totp_step: int = 0
    failures: int = 0
    locked_until: int = 0  # epoch seconds; 0: not locked
    scope: str = ""  # a finance person's region prefix (domain/regions.py); "": every region
    disabled: bool = False  # may not sign in (an admin's decision, reversible)
    totp_pending: str | None = None  # a secret being enrolled by its owner (sealed)
    totp_pending_epoch: int = 0  # when it was offered (it lapses after PENDING_TOTP_SECONDS)
    # The account's credential generation: moved on by every change that ends its sessions; a
    # session is stored only while it is the one its sign-in read (PeopleStore.put_session).
    generation: int = 0
    # Sessions begun lately (token hash → epoch), ended by name with the next change, whatever
    # the lag of the sessions' index (RECENT_SESSION_SECONDS; the store keeps them).
    recent_sessions: Mapping[str, int] = field(default_factory=dict)

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_sealed)

    def in_scope(self, scope: str, unit_region: str | None) -> bool:
        """True when a finance person of region ``scope`` may see and manage this account:
        a finance person whose own region lies within ``scope``; a unit's person whose unit
        (of region ``unit_region``) does."""
        if self.role.is_finance:
            return self.scope.startswith(scope)
        return unit_region is not None and unit_region.startswith(scope)

    def locked(self, now_epoch: int) -> bool:
        return self.locked_until > now_epoch


@dataclass(frozen=True)
class Session:
    """A signed-in person, as the session store keeps it (keyed by the token's SHA-256)."""

    token_hash: str
    username: str
    role: Role
    unit_code: str | None
    created_epoch: int
    seen_epoch: int
    client: str
    scope: str = ""  # the person's region when the session began (a change ends the session)

    def alive(self, now_epoch: int) -> bool:
        return (now_epoch - self.seen_epoch < IDLE_SECONDS
                and now_epoch - self.created_epoch < ABSOLUTE_SECONDS)

    @property
    def expires_epoch(self) -> int:
        """When the store may forget the row (its TTL): the absolute end."""
        return self.created_epoch + ABSOLUTE_SECONDS


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username or ""):
        raise ValidationFailed("用户名须为 3-32 位小写字母、数字或 . _ -，以字母开头",
                               {"username": "3-32 of [a-z0-9_.-], starting with a letter"})
    return username


def check_role(role: str, unit_code: str | None) -> Role:
    try:
        found = Role(role)
    except ValueError:
        raise ValidationFailed("角色无效", {"role": f"one of {', '.join(Role)}"}) from None
    if found.is_finance and unit_code:
        raise ValidationFailed("财政角色不属于单位", {"unit_code": "finance roles have no unit"})
    if not found.is_finance and not unit_code:
        raise ValidationFailed("单位角色须指定单位", {"unit_code": "required for unit roles"})
    return found


def character_classes(password: str) -> int:
    return sum((any(c.isupper() for c in password), any(c.islower() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() and not c.isspace() for c in password)))


def check_password(username: str, password: str) -> str:
    """The password, if it meets the rule; ``ValidationFailed`` on ``password`` saying why."""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        why = f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
        raise ValidationFailed(f"密码长度须为 {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} 位",
                               {"password": why})
    if character_classes(password) < 3:
        raise ValidationFailed("密码须包含大写字母、小写字母、数字、符号中的至少三类",
                               {"password": "at least three of: upper, lower, digit, symbol"})
    if username and username.lower() in password.lower():
        raise ValidationFailed("密码不得包含用户名", {"password": "must not contain the username"})
    return password
