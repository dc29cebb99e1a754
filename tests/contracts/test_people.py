"""PeopleStore: FakePeople against DynamoPeople (accounts created once, updated by field,
failures counted to a lock, a TOTP step accepted once, the unit's may-cancel toggle, sessions
kept by the hash of their token)."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.people import Person, Role, Session

AT = "2026-06-15T10:00:00+08:00"
NOW = 1_781_488_800  # 2026-06-15 10:00 China


def person(username: str = "op.one", unit_code: str | None = "340100001",
           role: Role = Role.UNIT_OPERATOR) -> Person:
    return Person(username=username, role=role, unit_code=unit_code, display_name="操作员",
                  password_hash="$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                  created_at=AT, totp_sealed=None)


class TestPeopleStore:
    def test_a_person_is_read_back_with_counters_at_zero(self, stores):
        stores.people.create(person())
        got = stores.people.get("op.one")
        assert got == person()
        assert (got.totp_step, got.failures, got.locked_until) == (0, 0, 0)
        assert stores.people.get("nobody") is None

    def test_a_taken_username_is_a_conflict_and_the_first_account_stays(self, stores):
        stores.people.create(person())
        with pytest.raises(Conflict):
            stores.people.create(person(unit_code="340100002"))
        assert stores.people.get("op.one").unit_code == "340100001"

    def test_an_update_sets_the_named_fields_and_none_clears_one(self, stores):
        stores.people.create(person())
        got = stores.people.update("op.one", {"display_name": "张三", "totp_sealed": "sealed"})
        assert (got.display_name, got.totp_sealed) == ("张三", "sealed")
        got = stores.people.update("op.one", {"totp_sealed": None})
        assert got.totp_sealed is None
        assert stores.people.get("op.one").display_name == "张三"

    def test_an_update_of_an_unknown_person_is_not_found_and_creates_nothing(self, stores):
        with pytest.raises(NotFound):
            stores.people.update("ghost", {"display_name": "x"})
        assert stores.people.get("ghost") is None

    def test_an_update_may_not_change_the_role_or_the_unit(self, stores):
        stores.people.create(person())
        for field in ("role", "unit_code", "username"):
            with pytest.raises(ValueError):
                stores.people.update("op.one", {field: "x"})
        assert stores.people.get("op.one") == person()

    def test_the_list_is_by_username_and_by_unit_and_holds_no_sessions(self, stores):
        for name, unit in (("zed", "340100001"), ("amy", "340100002"), ("bob", "340100001")):
            stores.people.create(person(name, unit))
        stores.people.create(person("fin", None, Role.FINANCE_ADMIN))
        stores.people.set_operators_may_cancel("340100001", True)
        stores.people.put_session(Session("h" * 64, "bob", Role.UNIT_OPERATOR, "340100001",
                                          NOW, NOW, "203.0.113.9"))
        assert [p.username for p in stores.people.list()] == ["amy", "bob", "fin", "zed"]
        assert [p.username for p in stores.people.list("340100001")] == ["bob", "zed"]

    def test_the_most_th_failure_locks_and_starts_the_count_again(self, stores):
        stores.people.create(person())
        for n in range(1, 5):
            got = stores.people.record_failure("op.one", NOW, 5, 900)
            assert (got.failures, got.locked_until) == (n, 0)
        got = stores.people.record_failure("op.one", NOW, 5, 900)
        assert (got.failures, got.locked_until) == (0, NOW + 900)
        assert stores.people.get("op.one").locked(NOW + 899)

    def test_a_failure_of_an_unknown_person_is_not_found(self, stores):
        with pytest.raises(NotFound):
            stores.people.record_failure("ghost", NOW, 5, 900)
        assert stores.people.get("ghost") is None

    def test_a_totp_step_is_accepted_once_and_never_an_earlier_one(self, stores):
        stores.people.create(person())
        assert stores.people.use_totp_step("op.one", 100)
        assert not stores.people.use_totp_step("op.one", 100)
        assert not stores.people.use_totp_step("op.one", 99)
        assert stores.people.use_totp_step("op.one", 101)
        assert not stores.people.use_totp_step("ghost", 200)
        assert stores.people.get("ghost") is None

    def test_operators_may_cancel_only_once_their_unit_allows_it(self, stores):
        assert not stores.people.operators_may_cancel("340100001")
        stores.people.set_operators_may_cancel("340100001", True)
        assert stores.people.operators_may_cancel("340100001")
        assert not stores.people.operators_may_cancel("340100002")
        stores.people.set_operators_may_cancel("340100001", False)
        assert not stores.people.operators_may_cancel("340100001")

    def test_a_session_is_read_back_touched_and_ended(self, stores):
        s = Session("a" * 64, "op.one", Role.UNIT_OPERATOR, "340100001", NOW, NOW,
                    "203.0.113.9")
        stores.people.put_session(s)
        assert stores.people.session("a" * 64) == s
        stores.people.touch_session("a" * 64, NOW + 60)
        assert stores.people.session("a" * 64).seen_epoch == NOW + 60
        stores.people.end_session("a" * 64)
        assert stores.people.session("a" * 64) is None
        stores.people.touch_session("a" * 64, NOW + 120)  # signed out meanwhile: nothing
        assert stores.people.session("a" * 64) is None
        stores.people.end_session("a" * 64)
