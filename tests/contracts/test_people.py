"""PeopleStore: FakePeople against DynamoPeople (accounts created once, updated by field,
failures counted to a lock, a TOTP step accepted once, what the unit's operators may do, sessions
kept by the hash of their token and found by their person)."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.people import Person, Role, Session, UnitAction

AT = "2026-06-15T10:00:00+08:00"
NOW = 1_781_488_800  # 2026-06-15 10:00 China


def person(username: str = "op.one", unit_code: str | None = "340100001",
           role: Role = Role.UNIT_OPERATOR) -> Person:
    return Person(username=username, role=role, unit_code=unit_code, display_name="操作员",
                  password_hash="$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                  created_at=AT, totp_sealed=None)


def add_finance_people(stores) -> None:
    """Finance admins of the province, Hefei, Luyang (a county of Hefei) and Wuhu."""
    for name, scope in (("prov", ""), ("hefei", "3401"), ("luyang", "340102"), ("wuhu", "3402")):
        stores.people.create(Person(username=name, role=Role.FINANCE_ADMIN, unit_code=None,
                                    display_name=name, password_hash="h", created_at=AT,
                                    scope=scope), "")


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

    def test_an_update_may_not_change_the_unit_or_the_username(self, stores):
        stores.people.create(person())
        for field in ("unit_code", "username"):
            with pytest.raises(ValueError):
                stores.people.update("op.one", {field: "x"})
        assert stores.people.get("op.one") == person()

    def test_role_scope_disabled_and_a_pending_secret_are_set_and_cleared(self, stores):
        stores.people.create(person("fin", None, Role.FINANCE_ADMIN))
        got = stores.people.update("fin", {"role": Role.FINANCE_AUDITOR, "scope": "3401",
                                           "disabled": True, "totp_pending": "sealed",
                                           "totp_pending_epoch": NOW})
        assert got == stores.people.get("fin")
        assert (got.role, got.scope, got.disabled) == (Role.FINANCE_AUDITOR, "3401", True)
        assert (got.totp_pending, got.totp_pending_epoch) == ("sealed", NOW)
        got = stores.people.update("fin", {"disabled": False, "totp_pending": None,
                                           "totp_pending_epoch": None})
        assert (got.disabled, got.totp_pending, got.totp_pending_epoch) == (False, None, 0)
        assert stores.people.get("fin").scope == "3401"

    def test_a_scoped_person_is_created_with_their_region(self, stores):
        stores.people.create(Person(username="county", role=Role.FINANCE_ADMIN, unit_code=None,
                                    display_name="县局", password_hash="h", created_at=AT,
                                    scope="340102"))
        got = stores.people.get("county")
        assert (got.scope, got.disabled) == ("340102", False)

    def test_the_list_is_by_username_and_by_unit_and_holds_no_sessions(self, stores):
        for name, unit in (("zed", "340100001"), ("amy", "340100002"), ("bob", "340100001")):
            stores.people.create(person(name, unit))
        stores.people.create(person("fin", None, Role.FINANCE_ADMIN))
        stores.people.set_operator_actions("340100001", frozenset({UnitAction.CANCEL}))
        stores.people.put_session(Session("h" * 64, "bob", Role.UNIT_OPERATOR, "340100001",
                                          NOW, NOW, "203.0.113.9"))
        assert [p.username for p in stores.people.list()] == ["amy", "bob", "fin", "zed"]
        assert [p.username for p in stores.people.list("340100001")] == ["bob", "zed"]

    def test_a_regions_list_holds_its_units_people_and_its_finance_people_only(self, stores):
        for name, unit, region in (("hf.op", "340100001", "340100"), ("hf.two", "340100002",
                                                                       "340102"),
                                   ("wh.op", "340200001", "340202")):
            stores.people.create(person(name, unit), region)
        add_finance_people(stores)
        assert [p.username for p in stores.people.list(region="3401")] == [
            "hefei", "hf.op", "hf.two", "luyang"]
        assert [p.username for p in stores.people.list(region="340102")] == ["hf.two", "luyang"]
        assert [p.username for p in stores.people.list(region="34")] == [
            "hefei", "hf.op", "hf.two", "luyang", "wh.op", "wuhu"]
        assert [p.username for p in stores.people.list("340100002", "340102")] == ["hf.two"]
        assert len(stores.people.list()) == 7
        listed = stores.people.list("340100001", "340100")[0]  # as the lists show it
        assert (listed.username, listed.role, listed.created_at, listed.password_hash) == (
            "hf.op", Role.UNIT_OPERATOR, AT, "")

    def test_a_page_at_a_time_lists_the_same_accounts_in_the_lists_order(self, stores):
        for name, unit, region in (("hf.op", "340100001", "340100"), ("hf.two", "340100002",
                                                                       "340102"),
                                   ("hf.amy", "340100002", "340102"),
                                   ("wh.op", "340200001", "340202")):
            stores.people.create(person(name, unit), region)
        add_finance_people(stores)

        def every(unit_code=None, region=""):
            names, after = [], None
            for _ in range(20):
                found, after = stores.people.page(unit_code, region, limit=2, after=after)
                assert len(found) <= 2 and all(p.password_hash == "" for p in found)
                names += [p.username for p in found]
                if after is None:
                    return names
            raise AssertionError("no end")

        # a region's unit people by region, unit and name, then its finance people by name
        assert every(region="3401") == ["hf.op", "hf.amy", "hf.two", "hefei", "luyang"]
        assert every(region="3402") == ["wh.op", "wuhu"]
        assert every("340100002", "340102") == ["hf.amy", "hf.two"]
        assert every() == ["hf.op", "hf.amy", "hf.two", "wh.op", "hefei", "luyang", "prov",
                           "wuhu"]
        first, after = stores.people.page(region="3401", limit=3)
        assert [p.username for p in first] == ["hf.op", "hf.amy", "hf.two"] and after
        rest, _ = stores.people.page(region="3401", limit=3, after=after)
        assert [p.username for p in rest] == ["hefei", "luyang"]

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

    def test_operators_may_do_only_what_their_unit_allows(self, stores):
        assert stores.people.operator_actions("340100001") == frozenset()
        allowed = frozenset({UnitAction.CANCEL, UnitAction.REVERSE, UnitAction.REFUND})
        stores.people.set_operator_actions("340100001", allowed)
        assert stores.people.operator_actions("340100001") == allowed
        assert stores.people.operator_actions("340100002") == frozenset()
        stores.people.set_operator_actions("340100001", frozenset())
        assert stores.people.operator_actions("340100001") == frozenset()

    def test_an_operators_own_set_replaces_the_default_and_changes_only_from_what_was_read(
            self, stores):
        stores.people.set_operator_actions("340100001", frozenset({UnitAction.CANCEL}))
        mine = frozenset({UnitAction.REVERSE, UnitAction.VOID})
        assert stores.people.set_person_actions("340100001", "op.one", mine, None)
        assert not stores.people.set_person_actions("340100001", "op.one", frozenset(), None)
        settings = stores.people.operator_settings("340100001")
        assert settings.of("op.one") == mine and settings.of("op.two") == {UnitAction.CANCEL}
        stores.people.set_operator_actions("340100001", frozenset())  # the default only
        assert stores.people.operator_settings("340100001").of("op.one") == mine
        assert stores.people.set_person_actions("340100001", "op.one", frozenset(), mine)
        assert stores.people.operator_settings("340100001").own == {"op.one": frozenset()}
        assert not stores.people.set_person_actions("340100001", "op.one", None, mine)
        assert stores.people.set_person_actions("340100001", "op.one", None, frozenset())
        assert stores.people.operator_settings("340100001").own == {}
        assert stores.people.set_person_actions("340100002", "op.x", mine, None)  # a new row
        assert stores.people.operator_settings("340100002").of("op.x") == mine
        assert stores.people.operator_actions("340100002") == frozenset()

    def test_a_change_ends_a_session_the_index_does_not_show_yet(self, stores, monkeypatch):
        stores.people.create(person())
        session = Session("a" * 64, "op.one", Role.UNIT_OPERATOR, "340100001", NOW, NOW,
                          "203.0.113.9")
        assert stores.people.put_session(session, stores.people.get("op.one"))
        monkeypatch.setattr(stores.people, "sessions_of", lambda username: [])  # the lag
        assert stores.people.end_sessions("op.one") == 1
        assert stores.people.session("a" * 64) is None
        assert stores.people.end_sessions("op.one") == 0  # named once, ended once

    def test_a_session_read_before_a_change_is_not_stored_after_it(self, stores):
        stores.people.create(person())
        read = stores.people.get("op.one")
        stores.people.end_sessions("op.one")  # a reset between the sign-in's read and write
        late = Session("b" * 64, "op.one", Role.UNIT_OPERATOR, "340100001", NOW, NOW, "x")
        assert not stores.people.put_session(late, read)
        assert stores.people.session("b" * 64) is None
        fresh = stores.people.get("op.one")
        assert fresh.generation == read.generation + 1
        assert stores.people.put_session(late, fresh) and stores.people.session("b" * 64)
        kept = Session("c" * 64, "op.one", Role.UNIT_OPERATOR, "340100001", NOW + 1000,
                       NOW + 1000, "x")
        assert stores.people.put_session(kept, stores.people.get("op.one"))
        assert set(stores.people.get("op.one").recent_sessions) == {"c" * 64}  # old trimmed

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

    def test_a_persons_sessions_are_found_and_ended_but_the_one_kept(self, stores):
        for n, who in enumerate(("op.one", "op.one", "op.one", "op.two")):
            stores.people.put_session(Session(str(n) * 64, who, Role.UNIT_OPERATOR,
                                               "340100001", NOW, NOW, "203.0.113.9"))
        assert stores.people.sessions_of("op.one") == ["0" * 64, "1" * 64, "2" * 64]
        assert stores.people.sessions_of("nobody") == []
        assert stores.people.end_sessions("op.one", keep="1" * 64) == 2
        assert stores.people.session("0" * 64) is None
        assert stores.people.session("1" * 64) is not None
        assert stores.people.sessions_of("op.one") == ["1" * 64]
        assert stores.people.end_sessions("op.one") == 1
        assert stores.people.sessions_of("op.one") == []
        assert stores.people.session("3" * 64).username == "op.two"

    def test_a_session_keeps_its_scope(self, stores):
        s = Session("b" * 64, "county", Role.FINANCE_ADMIN, None, NOW, NOW, "203.0.113.9",
                    scope="340102")
        stores.people.put_session(s)
        assert stores.people.session("b" * 64) == s
