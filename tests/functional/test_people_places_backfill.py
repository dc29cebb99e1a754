"""The accounts' list index (``listing-place-index``) and the back-fill of person rows written
before it (``cli backfill-people-places``): the people pages list accounts only through the
index, so an account without a place is on no list until the command places it."""

from __future__ import annotations

from chalicelib.adapters.dynamo_models import PeopleModel
from chalicelib.cli import main


def old_person(username: str, role: str, unit_code: str | None, scope: str | None = None
               ) -> None:
    """An account as the code before the index wrote it: no ``listing``, no ``place``."""
    PeopleModel(f"person#{username}", username=username, role=role, unit_code=unit_code,
                display_name=username, password_hash="h", created_at="2026-06-01T09:00:00+08:00",
                scope=scope).save()


def names(world, unit_code: str | None = None, region: str = "") -> list[str]:
    return [p.username for p in world.deps.people.list(unit_code, region)]


def test_accounts_written_before_the_index_are_listed_in_their_region_once_placed(
        world, capsys):
    old_person("old.op", "unit_operator", "340100001")
    old_person("old.fin", "finance_auditor", None, scope="3401")
    before = names(world)
    assert "old.op" not in before and "old.fin" not in before
    assert main(["backfill-people-places", "--page-size", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(", 2 accounts placed")
    assert sorted(set(names(world)) - set(before)) == ["old.fin", "old.op"]
    assert "old.op" in names(world, "340100001", "340100")
    assert {"old.op", "old.fin"} <= set(names(world, region="3401"))
    assert "old.op" not in names(world, region="3402")
    assert main(["backfill-people-places"]) == 0  # again: nothing left to place
    assert capsys.readouterr().out.splitlines()[-1].endswith(", 0 accounts placed")


def test_a_session_row_is_never_placed_nor_listed(world, client):
    from tests.functional.test_console_sign_in import sign_in

    sign_in(client, world, "unit_operator")  # a session row in the same table
    assert main(["backfill-people-places"]) == 0
    placed = [row.person_key for row in PeopleModel.scan() if row.place is not None]
    assert placed and all(key.startswith("person#") for key in placed)
