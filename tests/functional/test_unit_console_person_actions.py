"""A unit admin decides what one operator of their unit may do (``/console/unit/people/{username}``,
``services/people.set_person_actions``): the operator's own set replaces the unit's default at
once, only after the confirmation box, audited under the operator with the value before and
after; another unit's person, a fellow unit admin or a finance person is the 404 page and
nothing changes; an operator cannot change anyone's."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.people import OperatorActions, Role, UnitAction
from chalicelib.services import people
from chalicelib.services.people import Actor
from tests.functional.support import issued_bill
from tests.functional.test_console_sign_in import IP, sign_in
from tests.functional.test_unit_console import get, post_pairs
from tests.functional.test_unit_console_bills import REASON, audited, bill_path, status_of

PAGE = "/console/unit/people/unit1.operator"


def own(world) -> dict:
    return dict(world.deps.people.operator_settings("340100001").own)


def test_an_operator_given_their_own_set_may_reverse_at_once_and_the_change_is_audited(
        client, world):
    _, bill = issued_bill(world, client)
    admin, token = sign_in(client, world, "unit_admin")
    r = post_pairs(client, "/console/unit/people/permissions", [("action", "cancel")], admin,
                   token)  # the unit's default: cancelling notes only
    assert r.status_code == 200
    operator, operator_token = sign_in(client, world, "unit_operator")
    assert get(client, f"{bill_path(bill)}/confirm/reverse", operator).status_code == 403
    page = get(client, PAGE, admin).body.decode()
    assert "按单位默认" in page and "撤销缴款书" in page and 'name="confirm"' in page
    r = post_pairs(client, f"{PAGE}/actions", [("mode", "own"), ("action", "reverse"),
                                               ("action", "void"), ("confirm", "yes")],
                   admin, token)
    assert r.status_code == 303 and r.headers["Location"] == f"{PAGE}?done=1"
    assert own(world) == {"unit1.operator": {UnitAction.REVERSE, UnitAction.VOID}}
    shown = get(client, r.headers["Location"], admin).body.decode()
    assert "已保存该经办人的权限" in shown and "单独设置" in shown
    assert get(client, f"{bill_path(bill)}/confirm/reverse", operator).status_code == 200
    r = post_pairs(client, f"{bill_path(bill)}/reversal", [("confirm", "yes"),
                                                           ("reason", REASON)],
                   operator, operator_token)
    assert r.status_code == 303 and status_of(world, bill) == "reversed"
    [event] = audited("person_actions", "unit1.operator")
    assert event.unit_code == "340100001" and event.client == IP
    assert event.detail["by"] == "unit1.admin"
    assert event.detail["before"] == {"allowed": ["cancel"], "source": "unit_default"}
    assert event.detail["after"] == {"allowed": ["reverse", "void"], "source": "own"}
    r = post_pairs(client, f"{PAGE}/actions", [("mode", "default"), ("confirm", "yes")],
                   admin, token)
    assert r.status_code == 303 and own(world) == {}
    [back] = [e for e in audited("person_actions", "unit1.operator") if e is not event
              and e.detail != event.detail]  # the clock stands still: order by content
    assert back.detail["before"] == {"allowed": ["reverse", "void"], "source": "own"}
    assert back.detail["after"] == {"allowed": ["cancel"], "source": "unit_default"}


def test_without_the_confirmation_box_the_page_comes_back_and_nothing_changes(client, world):
    admin, token = sign_in(client, world, "unit_admin")
    r = post_pairs(client, f"{PAGE}/actions", [("mode", "own"), ("action", "refund")],
                   admin, token)
    assert r.status_code == 400 and "请勾选确认" in r.body.decode()
    assert own(world) == {} and not audited("person_actions", "unit1.operator")


def test_another_units_person_a_unit_admin_and_finance_people_are_not_found(client, world):
    root = Actor("finance.admin", Role.FINANCE_ADMIN, None, IP)
    people.create_person(world.deps, root, username="other.op", role="unit_operator",
                         unit_code="340100002", password="Copper-Kettle-2026", totp=False)
    admin, token = sign_in(client, world, "unit_admin")
    for name in ("other.op", "unit1.admin", "finance.admin", "finance.auditor", "nobody"):
        assert get(client, f"/console/unit/people/{name}", admin).status_code == 404, name
        r = post_pairs(client, f"/console/unit/people/{name}/actions",
                       [("mode", "own"), ("action", "reverse"), ("confirm", "yes")],
                       admin, token)
        assert r.status_code == 404, name
        assert not audited("person_actions", name)
    assert world.deps.people.operator_settings("340100001").own == {}
    assert world.deps.people.operator_settings("340100002").own == {}


def test_an_operator_may_neither_see_nor_change_anyones_permissions(client, world):
    operator, token = sign_in(client, world, "unit_operator")
    assert get(client, PAGE, operator).status_code == 403
    r = post_pairs(client, f"{PAGE}/actions", [("mode", "own"), ("action", "reverse"),
                                               ("confirm", "yes")], operator, token)
    assert r.status_code == 403 and own(world) == {}


def test_a_change_made_meanwhile_is_a_conflict_and_is_not_overwritten(world, monkeypatch):
    admin = Actor("unit1.admin", Role.UNIT_ADMIN, "340100001", IP)
    store = world.deps.people
    # the admin's read happens before someone else gives the operator a set of their own
    monkeypatch.setattr(store, "operator_settings", lambda unit: OperatorActions())
    assert store.set_person_actions("340100001", "unit1.operator",
                                    frozenset({UnitAction.VOID}), None)
    with pytest.raises(Conflict):
        people.set_person_actions(world.deps, admin, "unit1.operator", frozenset(UnitAction))
    monkeypatch.undo()
    assert own(world) == {"unit1.operator": {UnitAction.VOID}}
    assert not audited("person_actions", "unit1.operator")
