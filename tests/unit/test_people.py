"""People: the password rule, argon2id hashing, TOTP once per step, lockout, per-client
throttling, both session clocks, role checks and the audit of every sign-in and change."""

from __future__ import annotations

import pytest

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import Forbidden, RateLimited, Unauthenticated, ValidationFailed
from chalicelib.domain.people import (
    ABSOLUTE_SECONDS,
    IDLE_SECONDS,
    LOCK_SECONDS,
    MAX_FAILURES,
    Role,
    UnitAction,
    check_password,
)
from chalicelib.services import people
from chalicelib.services.people import CLI, Actor

PASSWORD = "Kq7-orange-Lamp"
CLIENT = "198.51.100.7"


def epoch(deps) -> int:
    return int(deps.clock().timestamp())


def make(deps, username="zhang.wei", role="finance_admin", unit_code=None, totp=None):
    return people.create_person(deps, CLI, username=username, role=role, unit_code=unit_code,
                                password=PASSWORD, totp=totp)


def code(deps, secret: str, offset_steps: int = 0) -> str:
    return people.totp_now(secret, epoch(deps) + offset_steps * 30)


def events(deps, username):
    """The account's audit events in the order they were appended (the clock stands still)."""
    return [(e.action, e.outcome) for e in deps.audit.events if e.bill_id == f"person#{username}"]


@pytest.mark.parametrize(("password", "why"), [
    ("Short-1a", "10-128 characters"),
    ("alllowercaseletters", "at least three of"),
    ("lowercase123456", "at least three of"),
    ("zhang.wei-X9-long", "must not contain the username"),
])
def test_a_password_breaking_the_level_three_rule_is_refused_naming_why(password, why):
    with pytest.raises(ValidationFailed) as refused:
        check_password("zhang.wei", password)
    assert why in refused.value.fields["password"]


def test_a_password_of_ten_characters_and_three_classes_is_accepted():
    assert check_password("zhang.wei", "abcdefgh1X") == "abcdefgh1X"


def test_the_password_is_stored_only_as_an_argon2id_hash(deps):
    person, _ = make(deps)
    stored = deps.people.get("zhang.wei")
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored.password_hash and person.username == "zhang.wei"


def test_a_finance_account_always_gets_totp_and_its_secret_is_stored_sealed(deps):
    _, secret = make(deps, totp=False)
    stored = deps.people.get("zhang.wei")
    assert secret and stored.has_totp and secret not in str(stored.totp_sealed)
    assert people.open_totp(deps, str(stored.totp_sealed)) == secret
    assert people.provisioning_uri(secret, "zhang.wei").startswith("otpauth://totp/")


def test_a_unit_role_needs_an_existing_unit_and_a_finance_role_has_none(deps):
    with pytest.raises(ValidationFailed):
        make(deps, role="unit_admin", unit_code="999999999")
    with pytest.raises(ValidationFailed):
        make(deps, role="finance_admin", unit_code="340100001")
    with pytest.raises(ValidationFailed):
        make(deps, role="unit_operator")


def test_a_username_is_unique(deps):
    make(deps)
    with pytest.raises(Exception, match="已存在"):
        make(deps)


def test_sign_in_with_password_and_current_totp_opens_a_session_stored_only_by_hash(deps):
    _, secret = make(deps)
    token, session = people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret), CLIENT)
    assert session.role is Role.FINANCE_ADMIN and len(token) >= 43
    assert token not in deps.people.sessions and people.token_hash(token) in deps.people.sessions
    assert people.current_session(deps, token) == session
    assert events(deps, "zhang.wei") == [("person_create", "ok"), ("sign_in", "ok")]
    [signed_in] = [e for e in deps.audit.events if e.action == "sign_in"]
    assert signed_in.client == CLIENT and signed_in.at == deps.clock().astimezone(CHINA_TZ).isoformat(timespec="microseconds")


def test_a_code_one_step_early_or_late_is_accepted_two_steps_is_not(deps, clock):
    _, secret = make(deps)
    people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret, -1), CLIENT)
    clock.advance(seconds=30)
    people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret, +1), CLIENT)
    clock.advance(seconds=90)
    with pytest.raises(Unauthenticated):
        people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret, +2), CLIENT)


def test_a_totp_code_that_was_used_is_refused_the_second_time(deps):
    _, secret = make(deps)
    used = code(deps, secret)
    people.sign_in(deps, "zhang.wei", PASSWORD, used, CLIENT)
    with pytest.raises(Unauthenticated) as refused:
        people.sign_in(deps, "zhang.wei", PASSWORD, used, CLIENT)
    assert refused.value.code == "bad_credentials"
    assert events(deps, "zhang.wei")[-1] == ("sign_in", "otp_reused")


def test_a_finance_account_cannot_sign_in_without_its_code(deps):
    make(deps)
    with pytest.raises(Unauthenticated):
        people.sign_in(deps, "zhang.wei", PASSWORD, "", CLIENT)


def test_a_unit_operator_without_totp_signs_in_with_the_password_alone(deps):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    _, session = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    assert session.unit_code == "340100001" and session.role is Role.UNIT_OPERATOR


def test_every_wrong_part_gets_the_same_answer_an_unknown_user_included(deps):
    _, secret = make(deps)
    answers = set()
    for username, password, otp in [("nobody", PASSWORD, "123456"),
                                    ("zhang.wei", "Wrong-pass-1", code(deps, secret)),
                                    ("zhang.wei", PASSWORD, "000000")]:
        with pytest.raises(Unauthenticated) as refused:
            people.sign_in(deps, username, password, otp, CLIENT)
        answers.add((refused.value.code, refused.value.message))
    assert answers == {("bad_credentials", people.BAD_CREDENTIALS)}


def test_five_failures_in_a_row_lock_the_account_for_fifteen_minutes(deps, clock):
    _, secret = make(deps)
    for _ in range(MAX_FAILURES):
        with pytest.raises(Unauthenticated):
            people.sign_in(deps, "zhang.wei", "Wrong-pass-1", "", CLIENT)
    with pytest.raises(Unauthenticated) as refused:  # the right credentials, while locked
        people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret), "203.0.113.9")
    assert refused.value.code == "account_locked" and "15 分钟" in refused.value.message
    assert ("account_locked", "ok") in events(deps, "zhang.wei")
    clock.advance(seconds=LOCK_SECONDS)
    people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret), CLIENT)


def test_a_success_starts_the_failure_count_again(deps, clock):
    _, secret = make(deps)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            people.sign_in(deps, "zhang.wei", "Wrong-pass-1", "", CLIENT)
    people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, secret), CLIENT)
    assert deps.people.get("zhang.wei").failures == 0


def test_a_finance_admin_unlocks_an_account_early_and_it_is_audited(deps):
    make(deps)
    for _ in range(MAX_FAILURES):
        with pytest.raises(Unauthenticated):
            people.sign_in(deps, "zhang.wei", "Wrong-pass-1", "", CLIENT)
    admin = Actor("wang.fang", Role.FINANCE_ADMIN, None, "192.0.2.1")
    assert not people.unlock(deps, admin, "zhang.wei").locked(epoch(deps))
    [unlocked] = [e for e in deps.audit.events if e.action == "person_unlock"]
    assert unlocked.detail == {"by": "wang.fang"} and unlocked.client == "192.0.2.1"


def test_one_client_failing_twenty_times_an_hour_is_throttled_before_any_check(deps):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    for n in range(people.FAILURES_PER_CLIENT_PER_HOUR):
        with pytest.raises(Unauthenticated):
            people.sign_in(deps, f"sprayed{n}", "Wrong-pass-1", "", CLIENT)
    with pytest.raises(RateLimited):  # now even the right password: nothing is checked
        people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    assert deps.people.get("li.na").failures == 0
    people.sign_in(deps, "li.na", PASSWORD, "", "203.0.113.9")  # another client is not


def test_a_session_unused_for_fifteen_minutes_is_over(deps, clock):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    token, _ = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    clock.advance(seconds=IDLE_SECONDS - 1)
    assert people.current_session(deps, token) is not None
    clock.advance(seconds=IDLE_SECONDS)
    assert people.current_session(deps, token) is None
    assert people.token_hash(token) not in deps.people.sessions
    assert events(deps, "li.na")[-1] == ("session_expired", "ok")


def test_a_session_in_use_ends_eight_hours_after_sign_in(deps, clock):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    token, _ = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    for _ in range(ABSOLUTE_SECONDS // 600 - 1):
        clock.advance(seconds=600)
        assert people.current_session(deps, token) is not None
    clock.advance(seconds=600)
    assert people.current_session(deps, token) is None


def test_sign_out_ends_the_session(deps):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    token, _ = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    people.sign_out(deps, token, CLIENT)
    assert people.current_session(deps, token) is None
    assert events(deps, "li.na")[-1] == ("sign_out", "ok")


def test_a_reset_totp_makes_the_old_authenticator_useless(deps):
    _, old = make(deps)
    admin = Actor("wang.fang", Role.FINANCE_ADMIN, None, "192.0.2.1")
    new = people.reset_totp(deps, admin, "zhang.wei")
    with pytest.raises(Unauthenticated):
        people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, old), CLIENT)
    people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, new), CLIENT)


def test_an_auditor_changes_nothing_and_a_unit_admin_reaches_only_their_unit(deps):
    make(deps, "li.na", "unit_operator", "340100002", totp=False)
    auditor = Actor("shen.jie", Role.FINANCE_AUDITOR, None, CLIENT)
    with pytest.raises(Forbidden):
        people.unlock(deps, auditor, "li.na")
    with pytest.raises(Forbidden):
        people.create_person(deps, auditor, username="new.one", role="unit_operator",
                             unit_code="340100001", password=PASSWORD)
    unit_admin = Actor("zhou.min", Role.UNIT_ADMIN, "340100001", CLIENT)
    with pytest.raises(Exception, match="没有这个用户"):
        people.unlock(deps, unit_admin, "li.na")
    with pytest.raises(Forbidden):
        people.create_person(deps, unit_admin, username="new.one", role="unit_admin",
                             unit_code="340100001", password=PASSWORD)
    person, _ = people.create_person(deps, unit_admin, username="new.one",
                                     role="unit_operator", unit_code="340100001",
                                     password=PASSWORD)
    assert person.unit_code == "340100001"


def test_operators_may_do_only_what_their_unit_admin_allows_and_the_change_is_audited(deps):
    make(deps, "zhou.min", "unit_admin", "340100001", totp=False)
    admin = Actor("zhou.min", Role.UNIT_ADMIN, "340100001", CLIENT)
    operator = Actor("li.na", Role.UNIT_OPERATOR, "340100001", CLIENT)
    other = Actor("wang.wu", Role.UNIT_OPERATOR, "340100002", CLIENT)
    assert not any(people.may(deps, operator, a) for a in UnitAction)
    assert all(people.may(deps, admin, a) for a in UnitAction)
    people.set_operator_actions(deps, admin, frozenset({UnitAction.CANCEL, UnitAction.REVERSE}))
    assert people.may(deps, operator, UnitAction.REVERSE)
    assert not people.may(deps, operator, UnitAction.VOID)
    assert not people.may(deps, other, UnitAction.REVERSE)
    with pytest.raises(Forbidden, match="单位管理员未允许经办人作废"):
        people.require_may(deps, operator, UnitAction.VOID)
    [event] = [e for e in deps.audit.query(bill_id="person#zhou.min")
               if e.action == "unit_operator_actions"]
    assert event.detail["allowed"] == ["cancel", "reverse"] and event.detail["before"] == []
    with pytest.raises(Forbidden):
        people.set_operator_actions(deps, operator, frozenset(UnitAction))


def test_a_person_changes_their_password_only_with_the_current_one(deps):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    me = Actor("li.na", Role.UNIT_OPERATOR, "340100001", CLIENT)
    with pytest.raises(ValidationFailed):
        people.change_password(deps, me, "Wrong-pass-1", "New-pass-2026")
    people.change_password(deps, me, PASSWORD, "New-pass-2026")
    people.sign_in(deps, "li.na", "New-pass-2026", "", CLIENT)


def test_the_demo_people_of_the_local_stack_sign_in_with_what_stack_json_lists(deps):
    from devstack.seed import people_document

    listed = people_document(_state(deps))
    assert {p["role"] for p in listed} == set(Role)
    for person in listed:
        otp = people.totp_now(person["totp_secret"], epoch(deps)) if "totp_secret" in person \
            else ""
        _, session = people.sign_in(deps, person["username"], person["password"], otp, CLIENT)
        assert session.unit_code == person.get("unit_code")


def _state(deps):
    import json
    from pathlib import Path

    keys_dir = Path(str(deps.settings.local_keys_dir))
    return json.loads((keys_dir.parent / "state" / "world.json").read_text())


# --- sessions end when the account changes ------------------------------------------------

ADMIN = Actor("wang.fang", Role.FINANCE_ADMIN, None, "192.0.2.1")


def _two_sessions(deps, clock):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    first, _ = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    second, _ = people.sign_in(deps, "li.na", PASSWORD, "", "203.0.113.9")
    return first, second


@pytest.mark.parametrize("change", [
    lambda deps: people.unlock(deps, ADMIN, "li.na"),
    lambda deps: people.reset_totp(deps, ADMIN, "li.na"),
    lambda deps: people.reset_password(deps, ADMIN, "li.na", "Fresh-pass-2026"),
    lambda deps: people.set_disabled(deps, ADMIN, "li.na", True),
    lambda deps: people.change_role(deps, ADMIN, "li.na", "unit_admin"),
], ids=["unlock", "reset_totp", "reset_password", "disable", "role"])
def test_a_change_to_an_account_ends_every_session_opened_before_it(deps, clock, change):
    first, second = _two_sessions(deps, clock)
    change(deps)
    assert people.current_session(deps, first) is None
    assert people.current_session(deps, second) is None
    [ended] = [e for e in deps.audit.events if e.action == "sessions_ended"]
    assert ended.detail["count"] == 2 and ended.bill_id == "person#li.na"


def test_a_lockout_ends_the_accounts_live_sessions(deps, clock):
    first, _ = _two_sessions(deps, clock)
    for _ in range(MAX_FAILURES):
        with pytest.raises(Unauthenticated):
            people.sign_in(deps, "li.na", "Wrong-pass-1", "", "203.0.113.50")
    assert people.current_session(deps, first) is None
    assert deps.people.sessions_of("li.na") == []


def test_another_persons_sessions_go_on_when_one_account_changes(deps, clock):
    _two_sessions(deps, clock)
    make(deps, "zhou.min", "unit_admin", "340100001", totp=False)
    theirs, _ = people.sign_in(deps, "zhou.min", PASSWORD, "", CLIENT)
    people.reset_password(deps, ADMIN, "li.na", "Fresh-pass-2026")
    assert people.current_session(deps, theirs) is not None


def test_a_disabled_account_may_not_sign_in_until_enabled_and_says_so_only_after_the_password(
        deps):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    people.set_disabled(deps, ADMIN, "li.na", True)
    with pytest.raises(Unauthenticated) as wrong:
        people.sign_in(deps, "li.na", "Wrong-pass-1", "", CLIENT)
    assert wrong.value.code == "bad_credentials"
    with pytest.raises(Unauthenticated) as refused:
        people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    assert refused.value.code == "account_disabled"
    people.set_disabled(deps, ADMIN, "li.na", False)
    people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    assert ("person_disable", "ok") in events(deps, "li.na")
    assert ("person_enable", "ok") in events(deps, "li.na")


def test_nobody_disables_or_changes_the_role_of_their_own_account(deps):
    make(deps, "wang.fang")
    for change in (lambda: people.set_disabled(deps, ADMIN, "wang.fang", True),
                   lambda: people.change_role(deps, ADMIN, "wang.fang", "finance_auditor")):
        with pytest.raises(ValidationFailed):
            change()
    assert not deps.people.get("wang.fang").disabled


def test_a_role_changes_within_its_side_only(deps):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    with pytest.raises(ValidationFailed):
        people.change_role(deps, ADMIN, "li.na", "finance_admin")
    make(deps)
    assert people.change_role(deps, ADMIN, "zhang.wei", "finance_auditor").role is (
        Role.FINANCE_AUDITOR)
    with pytest.raises(ValidationFailed):
        people.change_role(deps, ADMIN, "zhang.wei", "unit_admin")


# --- self-service: password and TOTP ---------------------------------------------------------

def _signed_in(deps, username="li.na", role="unit_operator", unit="340100001", totp=False):
    _, secret = make(deps, username, role, unit, totp=totp)
    token, session = people.sign_in(deps, username, PASSWORD,
                                    code(deps, secret) if secret else "", CLIENT)
    return token, Actor.of(session, CLIENT), secret


def test_changing_ones_own_password_ends_every_other_session_of_theirs(deps, clock):
    mine, me, _ = _signed_in(deps)
    other, _ = people.sign_in(deps, "li.na", PASSWORD, "", "203.0.113.9")
    assert people.change_password(deps, me, PASSWORD, "New-pass-2026") == 1
    assert people.current_session(deps, mine) is not None
    assert people.current_session(deps, other) is None
    with pytest.raises(Unauthenticated):
        people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)


def test_the_new_password_must_meet_the_rule_and_differ_from_the_current_one(deps):
    _, me, _ = _signed_in(deps)
    for new in ("short", PASSWORD):
        with pytest.raises(ValidationFailed) as refused:
            people.change_password(deps, me, PASSWORD, new)
        assert "password" in refused.value.fields


def test_a_wrong_current_password_counts_toward_the_lock(deps, clock):
    token, me, _ = _signed_in(deps)
    for _ in range(MAX_FAILURES):
        with pytest.raises(ValidationFailed):
            people.change_password(deps, me, "Wrong-pass-1", "New-pass-2026")
    assert deps.people.get("li.na").locked(epoch(deps))
    assert people.current_session(deps, token) is None  # the lock ended it


def test_enrolling_totp_takes_effect_only_once_a_code_of_it_is_confirmed(deps, clock):
    token, me, _ = _signed_in(deps)
    other, _ = people.sign_in(deps, "li.na", PASSWORD, "", "203.0.113.9")
    secret = people.begin_totp_enrolment(deps, me, PASSWORD)
    assert not deps.people.get("li.na").has_totp  # not yet
    with pytest.raises(ValidationFailed):
        people.confirm_totp_enrolment(deps, me, "000000" if code(deps, secret) != "000000"
                                      else "111111")
    assert people.confirm_totp_enrolment(deps, me, code(deps, secret)) == 1
    person = deps.people.get("li.na")
    assert person.has_totp and person.totp_pending is None
    assert people.current_session(deps, token) is not None
    assert people.current_session(deps, other) is None
    with pytest.raises(Unauthenticated):  # the confirming code is used up
        people.sign_in(deps, "li.na", PASSWORD, code(deps, secret), CLIENT)
    clock.advance(seconds=30)
    with pytest.raises(Unauthenticated):  # now it takes a code
        people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    people.sign_in(deps, "li.na", PASSWORD, code(deps, secret), CLIENT)
    assert [o for a, o in events(deps, "li.na") if a == "totp_enrol"] == [
        "offered", "bad_otp", "ok"]


def test_a_finance_person_re_enrolling_keeps_the_old_authenticator_until_the_new_is_confirmed(
        deps, clock):
    _, me, old = _signed_in(deps, "zhang.wei", "finance_admin", None)
    clock.advance(seconds=30)
    people.begin_totp_enrolment(deps, me, PASSWORD)
    people.sign_in(deps, "zhang.wei", PASSWORD, code(deps, old), CLIENT)


def test_an_offered_secret_lapses_after_ten_minutes_and_needs_the_current_password(deps, clock):
    _, me, _ = _signed_in(deps)
    with pytest.raises(ValidationFailed):
        people.begin_totp_enrolment(deps, me, "Wrong-pass-1")
    secret = people.begin_totp_enrolment(deps, me, PASSWORD)
    clock.advance(seconds=601)
    with pytest.raises(ValidationFailed):
        people.confirm_totp_enrolment(deps, me, code(deps, secret))
    assert not deps.people.get("li.na").has_totp


# --- regions ---------------------------------------------------------------------------------

def _wuhu_unit(deps):
    from chalicelib.services import units

    units.create_unit(deps, unit_code="340200001", name="芜湖市不动产登记中心",
                      kind="collecting", region_code="340202")


def test_a_finance_admin_of_a_city_creates_and_reaches_only_people_of_their_city(deps):
    _wuhu_unit(deps)
    hefei = Actor("hefei.admin", Role.FINANCE_ADMIN, None, CLIENT, scope="3401")
    make(deps, "wuhu.op", "unit_operator", "340200001", totp=False)
    make(deps, "hefei.op", "unit_operator", "340100001", totp=False)
    make(deps, "province.admin")  # every region: beyond a city's reach
    with pytest.raises(ValidationFailed) as outside:
        people.create_person(deps, hefei, username="new.op", role="unit_operator",
                             unit_code="340200001", password=PASSWORD)
    assert outside.value.message == "单位不存在"
    with pytest.raises(ValidationFailed):
        people.create_person(deps, hefei, username="new.fin", role="finance_auditor",
                             unit_code=None, password=PASSWORD, scope="34")
    person, _ = people.create_person(deps, hefei, username="new.fin", role="finance_auditor",
                                     unit_code=None, password=PASSWORD)
    assert person.scope == "3401"
    county, _ = people.create_person(deps, hefei, username="county.fin", role="finance_admin",
                                     unit_code=None, password=PASSWORD, scope="340102")
    assert county.scope == "340102"
    seen = {p.username for p in people.people_in_reach(deps, hefei)}
    assert {"county.fin", "hefei.op", "new.fin"} <= seen
    assert not seen & {"wuhu.op", "province.admin", "finance.admin", "finance.auditor"}
    for name in ("wuhu.op", "province.admin", "nobody"):
        with pytest.raises(Exception, match="没有这个用户"):
            people.unlock(deps, hefei, name)


def test_a_scoped_finance_persons_session_carries_their_region(deps):
    admin = Actor("root", Role.FINANCE_ADMIN, None, CLIENT)
    _, secret = people.create_person(deps, admin, username="county.fin", role="finance_admin",
                                     unit_code=None, password=PASSWORD, scope="340102")
    _, session = people.sign_in(deps, "county.fin", PASSWORD, code(deps, secret), CLIENT)
    assert session.scope == "340102" and Actor.of(session, CLIENT).scope == "340102"
    with pytest.raises(ValidationFailed):  # unit people have no region of their own
        people.create_person(deps, admin, username="op.x", role="unit_operator",
                             unit_code="340100001", password=PASSWORD, scope="3401")


@pytest.mark.parametrize("change", [{"disabled": True}, {"role": Role.UNIT_ADMIN},
                                    {"locked_until": 2_000_000_000}],
                         ids=["disabled", "role", "locked"])
def test_a_session_the_index_missed_ends_within_a_minute_of_its_account_changing(
        deps, clock, change):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    token, _ = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    deps.people.update("li.na", change)  # as if the index had not shown this session yet
    assert people.current_session(deps, token) is not None
    clock.advance(seconds=people.TOUCH_AFTER)
    assert people.current_session(deps, token) is None
    assert deps.people.sessions_of("li.na") == []


def test_a_session_of_an_unchanged_account_goes_on_past_the_minutes_check(deps, clock):
    make(deps, "li.na", "unit_operator", "340100001", totp=False)
    token, _ = people.sign_in(deps, "li.na", PASSWORD, "", CLIENT)
    for _ in range(5):
        clock.advance(seconds=people.TOUCH_AFTER)
        assert people.current_session(deps, token) is not None
