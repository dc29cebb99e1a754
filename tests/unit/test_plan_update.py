"""infra.plan_update: a deployed stack's update split into steps CloudFormation can apply (at
most one GSI created or deleted per table per update), in the order that keeps every index the
running code reads, with the back-fills after the new code; refused when staging cannot help."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import cli
from infra.plan_update import BACKFILLS, PlanRefused, Step, main, plan

RESOURCES = Path(__file__).resolve().parents[2] / "infra" / "resources.json"


def gsi(name: str, *keys: str, projection: str = "ALL") -> dict[str, Any]:
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            "Projection": {"ProjectionType": projection}}


def table(*indexes: dict[str, Any], key: str = "id") -> dict[str, Any]:
    attrs = [key] + [k["AttributeName"] for i in indexes for k in i["KeySchema"]]
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"}
                                         for a in dict.fromkeys(attrs)],
                **({"GlobalSecondaryIndexes": list(indexes)} if indexes else {})}}


def template(code: str = "old.zip", **tables: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Fn": {"Type": "AWS::Serverless::Function",
                                 "Properties": {"CodeUri": code}}, **tables}}


def gsis(step_or_template: Step | dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    t = step_or_template.template if isinstance(step_or_template, Step) else step_or_template
    return {g["IndexName"]: g
            for g in t["Resources"][name]["Properties"].get("GlobalSecondaryIndexes", [])}


def assert_each_update_is_applicable(deployed: dict[str, Any], steps: list[Step]) -> None:
    """What CloudFormation and DynamoDB require of every update: at most one index created or
    deleted per table, none changed in place, and attribute definitions exactly the keys used."""
    before = deployed
    for step in steps:
        for name, res in step.template["Resources"].items():
            if res.get("Type") != "AWS::DynamoDB::Table":
                continue
            props = res["Properties"]
            used = {k["AttributeName"] for schema in
                    [props["KeySchema"]] + [g["KeySchema"] for g in
                                            props.get("GlobalSecondaryIndexes", [])]
                    for k in schema}
            assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == used, name
            if name not in before["Resources"]:
                continue
            old, new = gsis(before, name), gsis(step, name)
            assert len(old.keys() ^ new.keys()) <= 1, (name, step.changes)
            assert all(old[i] == new[i] for i in old.keys() & new.keys()), name
        before = step.template


def test_an_update_without_index_changes_is_one_step_the_new_template_itself():
    deployed = template(T=table(gsi("a-index", "a")))
    new = template("new.zip", T=table(gsi("a-index", "a")))
    steps = plan(deployed, new)
    assert [(s.kind, s.template) for s in steps] == [("code", new)]


def test_indexes_are_added_one_per_table_per_step_on_the_old_code_before_the_new_code_runs():
    deployed = template(T=table(), U=table())
    new = template("new.zip", T=table(gsi("a-index", "a"), gsi("b-index", "b", "c")),
                   U=table(gsi("x-index", "x")))
    steps = plan(deployed, new)
    assert [s.kind for s in steps] == ["add", "add", "code"]
    assert [s.changes for s in steps[:2]] == [["T: add a-index", "U: add x-index"],
                                             ["T: add b-index"]]
    assert all(s.template["Resources"]["Fn"]["Properties"]["CodeUri"] == "old.zip"
               for s in steps[:2])
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


def test_dropped_indexes_stay_until_the_new_code_runs_then_go_one_per_table_per_step():
    deployed = template(T=table(gsi("old1-index", "o1"), gsi("old2-index", "o2"),
                                gsi("same-index", "s")))
    new = template("new.zip", T=table(gsi("same-index", "s")))
    steps = plan(deployed, new)
    assert [s.kind for s in steps] == ["code", "drop", "drop"]
    assert steps[0].template["Resources"]["Fn"]["Properties"]["CodeUri"] == "new.zip"
    assert set(gsis(steps[0], "T")) == {"same-index", "old1-index", "old2-index"}
    assert [s.changes for s in steps[1:]] == [["T: drop old1-index"], ["T: drop old2-index"]]
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


def test_the_payments_day_index_of_this_release_is_added_back_filled_then_its_old_one_dropped():
    """The real case: a stack deployed before paid_day-payment_id-index, with the old
    channel_day-paid_at-index, updated to today's infra/resources.json."""
    new = json.loads(RESOURCES.read_text())
    deployed = copy.deepcopy(new)
    payments = deployed["Resources"]["PaymentsTable"]["Properties"]
    payments["GlobalSecondaryIndexes"] = [
        g for g in payments["GlobalSecondaryIndexes"] if g["IndexName"] != "paid_day-payment_id-index"
    ] + [gsi("channel_day-paid_at-index", "channel_day", "paid_at")]
    payments["AttributeDefinitions"] = [
        a for a in payments["AttributeDefinitions"] if a["AttributeName"] != "paid_day"
    ] + [{"AttributeName": "channel_day", "AttributeType": "S"}]

    steps = plan(deployed, new)

    assert [(s.kind, s.changes[0]) for s in steps] == [
        ("add", "PaymentsTable: add paid_day-payment_id-index"),
        ("code", "the new code and every other change; dropped indexes kept"),
        ("drop", "PaymentsTable: drop channel_day-paid_at-index")]
    assert steps[1].then_run == ["python -m chalicelib.cli backfill-payment-days"]
    assert "channel_day-paid_at-index" in gsis(steps[1], "PaymentsTable")
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


def release_without(index: str | tuple[str, ...], table_name: str,
                    instead: dict[str, Any] | None = None
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Today's infra/resources.json, and a stack deployed before its ``index`` (or each of
    several; with ``instead`` in its place), attribute definitions as DynamoDB wants them."""
    names = (index,) if isinstance(index, str) else index
    new = json.loads(RESOURCES.read_text())
    deployed = copy.deepcopy(new)
    props = deployed["Resources"][table_name]["Properties"]
    props["GlobalSecondaryIndexes"] = [g for g in props["GlobalSecondaryIndexes"]
                                       if g["IndexName"] not in names] + (
                                           [instead] if instead else [])
    used = {k["AttributeName"] for schema in [props["KeySchema"]] + [
        g["KeySchema"] for g in props["GlobalSecondaryIndexes"]] for k in schema}
    props["AttributeDefinitions"] = [a for a in props["AttributeDefinitions"]
                                     if a["AttributeName"] in used]
    return deployed, new


def test_the_notes_list_index_of_this_release_is_added_then_the_status_only_one_dropped():
    """A new projection under a new name: DynamoDB fills the new index from the stored notes
    (the attributes it projects were always on the rows), so no back-fill runs."""
    old = gsi("unit_code-created_at-index", "unit_code", "created_at", projection="INCLUDE")
    old["Projection"]["NonKeyAttributes"] = ["status"]
    deployed, new = release_without("unit_code-created_at-listed-index", "NotesTable", old)
    steps = plan(deployed, new)
    assert [(s.kind, s.changes[0], s.then_run) for s in steps] == [
        ("add", "NotesTable: add unit_code-created_at-listed-index", []),
        ("code", "the new code and every other change; dropped indexes kept", []),
        ("drop", "NotesTable: drop unit_code-created_at-index", [])]
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


def test_the_notes_day_index_of_this_release_is_added_then_the_one_of_every_attribute_dropped():
    """The real case: a stack with ``created_day-created_at-index`` (every attribute, rewritten
    at each status change) gets the one projecting the keys and ``doc`` under a new name, in a
    step of its own while the old code runs; DynamoDB fills it from the stored notes (every
    note dated since the index existed has ``created_day``, ``created_at`` and ``doc``), so no
    back-fill runs; the old one is dropped once the new code reads the new one."""
    old = gsi("created_day-created_at-index", "created_day", "created_at")
    deployed, new = release_without("created_day-created_at-made-index", "NotesTable", old)
    steps = plan(deployed, new)
    assert [(s.kind, s.changes[0], s.then_run) for s in steps] == [
        ("add", "NotesTable: add created_day-created_at-made-index", []),
        ("code", "the new code and every other change; dropped indexes kept", []),
        ("drop", "NotesTable: drop created_day-created_at-index", [])]
    assert {"created_day-created_at-index", "created_day-created_at-made-index"} <= set(
        gsis(steps[1], "NotesTable"))
    assert gsis(steps[0], "NotesTable")["created_day-created_at-made-index"]["Projection"] == {
        "ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc"]}
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


def test_a_stack_without_the_bills_unit_index_back_fills_it_after_the_new_code():
    deployed, new = release_without("issuing_unit-issued_at-index", "BillsTable")
    steps = plan(deployed, new)
    assert [(s.kind, s.changes[0]) for s in steps] == [
        ("add", "BillsTable: add issuing_unit-issued_at-index"),
        ("code", "the new code and every other change; dropped indexes kept")]
    assert steps[1].then_run == ["python -m chalicelib.cli backfill-bill-listing"]
    assert_each_update_is_applicable(deployed, steps)


def test_a_stack_without_the_notes_payer_indexes_adds_them_one_a_step_then_keys_the_notes_once():
    payer = ("unit_code-created_at-payer-listed-index", "payer_phone-created_at-index",
             "payer_credit-created_at-index")
    deployed, new = release_without(payer, "NotesTable")
    steps = plan(deployed, new)
    assert [(s.kind, s.changes[0]) for s in steps] == [
        *(("add", f"NotesTable: add {index}") for index in sorted(payer)),
        ("code", "the new code and every other change; dropped indexes kept")]
    assert steps[3].then_run == ["python -m chalicelib.cli backfill-payer-search"]
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


def test_the_payer_search_index_of_this_release_is_added_keyed_then_the_slim_one_dropped():
    """The real case: a stack with ``unit_code-created_at-payer-index`` (``payer_find`` only)
    gets the index that also projects what a list shows, under a new name; the back-fill gives
    the notes made before it their ``note_brief``; then the slim one is dropped."""
    old = gsi("unit_code-created_at-payer-index", "unit_code", "created_at",
              projection="INCLUDE")
    old["Projection"]["NonKeyAttributes"] = ["payer_find"]
    deployed, new = release_without("unit_code-created_at-payer-listed-index", "NotesTable", old)
    steps = plan(deployed, new)
    assert [(s.kind, s.changes[0], s.then_run) for s in steps] == [
        ("add", "NotesTable: add unit_code-created_at-payer-listed-index", []),
        ("code", "the new code and every other change; dropped indexes kept",
         ["python -m chalicelib.cli backfill-payer-search"]),
        ("drop", "NotesTable: drop unit_code-created_at-payer-index", [])]
    assert "unit_code-created_at-payer-index" in gsis(steps[1], "NotesTable")
    assert steps[-1].template == new
    assert_each_update_is_applicable(deployed, steps)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda t: t.update(GlobalSecondaryIndexes=[gsi("a-index", "a", projection="KEYS_ONLY")]),
     "T: index a-index changed its definition"),
    (lambda t: t.update(KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}]),
     "T: KeySchema changed, which replaces the table"),
    (lambda t: t.update(TableName="renamed"), "T: TableName changed, which replaces the table"),
])
def test_a_change_staging_cannot_make_safe_is_refused_with_its_reason(change, reason):
    deployed = template(T=table(gsi("a-index", "a")))
    new = copy.deepcopy(deployed)
    change(new["Resources"]["T"]["Properties"])
    with pytest.raises(PlanRefused, match=reason):
        plan(deployed, new)


def test_the_command_writes_each_steps_template_and_prints_the_plan(tmp_path, capsys):
    deployed, new = template(T=table()), template("new.zip", T=table(gsi("a-index", "a")))
    (tmp_path / "deployed.json").write_text(json.dumps(deployed))
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert main([str(tmp_path / "deployed.json"), str(tmp_path / "new.json"),
                 str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["step-1.json", "step-2.json"]
    assert json.loads((tmp_path / "out" / "step-2.json").read_text()) == new
    assert "step 1 (add): deploy step-1.json\n  - T: add a-index" in capsys.readouterr().out


def test_a_refused_plan_writes_nothing_and_exits_2(tmp_path, capsys):
    deployed = template(T=table(gsi("a-index", "a")))
    new = template(T=table(gsi("a-index", "b")))
    (tmp_path / "deployed.json").write_text(json.dumps(deployed))
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert main([str(tmp_path / "deployed.json"), str(tmp_path / "new.json"),
                 str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    assert "a-index changed its definition" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(set(BACKFILLS.values())))
def test_every_back_fill_the_plan_names_is_an_operator_command(command):
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0


@pytest.mark.parametrize(("table_name", "index"), sorted(BACKFILLS))
def test_every_back_filled_index_is_in_the_template(table_name, index):
    assert index in gsis(json.loads(RESOURCES.read_text()), table_name)
