"""Plan the update of a deployed stack as steps CloudFormation and DynamoDB can apply.

CloudFormation creates or deletes at most one global secondary index (GSI) per table in one
stack update, and DynamoDB cannot change an index's key schema or projection in place. A
template that adds two indexes to one table, or adds one and drops another, fails on a deployed
stack (and rolls back), although it deploys fine on a new one. This module turns the template
the stack runs now and the one to deploy into templates to deploy one after another:

1. **add** — the deployed template (old code, old everything) plus the new indexes, at most one
   per table per step. DynamoDB builds each from what is stored; the old code does not read it.
2. **code** — the new template with every index it drops still in place: the new code runs, and
   nothing it or a Lambda of the old code still running reads has gone. Then the **back-fills**
   of the indexes step 1 added (``BACKFILLS``): rows written before the index, and by old Lambdas
   while the update rolled out, lack the attributes the new code writes.
3. **drop** — the new template with the kept indexes dropped, at most one per table per step; the
   last step is the new template itself.

Refused, with the reason (nothing is planned): a table whose key schema, name or local indexes
changed (CloudFormation would *replace* it: an empty table under the new code, the old one
retained beside it) and an index whose definition changed under the same name (it cannot exist
twice: give the new one a new name, and the plan adds it in 1 and drops the old one in 3).

Pure: templates in, templates out. ``python -m infra.plan_update DEPLOYED NEW OUT`` writes
``OUT/step-1.json``… and prints the plan (README, "Updating a deployed stack").
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE = "AWS::DynamoDB::Table"
# Changing any of these replaces the table (AWS::DynamoDB::Table, "Update requires: Replacement").
REPLACING = ("KeySchema", "TableName", "LocalSecondaryIndexes")
# The commands that fill an index for the rows written before it (python -m chalicelib.cli …),
# by (table's logical id, index name). Indexes on attributes every writer always set need none.
BACKFILLS: dict[tuple[str, str], str] = {
    ("PaymentsTable", "paid_day-payment_id-index"): "backfill-payment-days",
    ("PeopleTable", "listing-place-index"): "backfill-people-places",
    ("BillsTable", "issuing_unit-issued_at-index"): "backfill-bill-listing",
    ("NotesTable", "unit_code-created_at-payer-listed-index"): "backfill-payer-search",
    ("NotesTable", "payer_phone-created_at-index"): "backfill-payer-search",
    ("NotesTable", "payer_credit-created_at-index"): "backfill-payer-search",
}


class PlanRefused(ValueError):
    """The update cannot be made safe by staging: every reason, one per line."""


@dataclass
class Step:
    """One stack update: its template, what it changes, and the commands to run after it."""

    kind: str  # "add", "code" or "drop"
    template: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    then_run: list[str] = field(default_factory=list)


def _tables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template.get("Resources", {}).items()
            if isinstance(res, dict) and res.get("Type") == TABLE}


def _indexes(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {gsi["IndexName"]: gsi
            for gsi in table.get("Properties", {}).get("GlobalSecondaryIndexes", [])}


@dataclass
class _TableDiff:
    added: list[str]
    dropped: list[str]


def _diff(deployed: dict[str, Any], new: dict[str, Any]) -> dict[str, _TableDiff]:
    """Per table in both templates, the indexes added and dropped; ``PlanRefused`` for what
    staging cannot make safe."""
    reasons: list[str] = []
    diffs: dict[str, _TableDiff] = {}
    old_tables, new_tables = _tables(deployed), _tables(new)
    for name in sorted(old_tables.keys() & new_tables.keys()):
        old_props = old_tables[name].get("Properties", {})
        new_props = new_tables[name].get("Properties", {})
        for prop in REPLACING:
            if old_props.get(prop) != new_props.get(prop):
                reasons.append(f"{name}: {prop} changed, which replaces the table")
        old_idx, new_idx = _indexes(old_tables[name]), _indexes(new_tables[name])
        for index in sorted(old_idx.keys() & new_idx.keys()):
            if old_idx[index] != new_idx[index]:
                reasons.append(f"{name}: index {index} changed its definition; give the new "
                               "one another name so that both exist while it fills")
        added = sorted(new_idx.keys() - old_idx.keys())
        dropped = sorted(old_idx.keys() - new_idx.keys())
        if added or dropped:
            diffs[name] = _TableDiff(added, dropped)
    if reasons:
        raise PlanRefused("\n".join(reasons))
    return diffs


def _with_indexes(table: dict[str, Any], indexes: list[dict[str, Any]],
                  attribute_types: dict[str, str]) -> dict[str, Any]:
    """``table`` with exactly ``indexes`` as its GSIs, and the attribute definitions its keys
    then use (DynamoDB refuses a definition that no key uses)."""
    out = copy.deepcopy(table)
    props = out["Properties"]
    if indexes:
        props["GlobalSecondaryIndexes"] = copy.deepcopy(indexes)
    else:
        props.pop("GlobalSecondaryIndexes", None)
    used: list[str] = []
    for schema in ([props["KeySchema"]] + [i["KeySchema"] for i in indexes]
                   + [i["KeySchema"] for i in props.get("LocalSecondaryIndexes", [])]):
        used += [key["AttributeName"] for key in schema if key["AttributeName"] not in used]
    props["AttributeDefinitions"] = [
        {"AttributeName": attr, "AttributeType": attribute_types[attr]} for attr in used]
    return out


def _attribute_types(*tables: dict[str, Any]) -> dict[str, str]:
    types: dict[str, str] = {}
    for table in tables:
        for attr in table.get("Properties", {}).get("AttributeDefinitions", []):
            types[attr["AttributeName"]] = attr["AttributeType"]
    return types


def plan(deployed: dict[str, Any], new: dict[str, Any]) -> list[Step]:
    """The updates that take a stack from ``deployed`` to ``new``; the last one's template is
    ``new`` itself. ``PlanRefused`` when no staging makes the update safe."""
    diffs = _diff(deployed, new)
    old_tables, new_tables = _tables(deployed), _tables(new)
    steps: list[Step] = []

    # 1. add, one index per table per step, on the deployed template.
    current = copy.deepcopy(deployed)
    for round_ in range(max((len(d.added) for d in diffs.values()), default=0)):
        changes = []
        for name, d in diffs.items():
            if round_ < len(d.added):
                index = d.added[round_]
                table = current["Resources"][name]
                kept = list(_indexes(table).values()) + [_indexes(new_tables[name])[index]]
                current["Resources"][name] = _with_indexes(
                    table, kept, _attribute_types(old_tables[name], new_tables[name]))
                changes.append(f"{name}: add {index}")
        steps.append(Step("add", copy.deepcopy(current), changes))

    # 2. the new code, every dropped index still there; then the back-fills.
    def new_keeping(still: dict[str, list[str]]) -> dict[str, Any]:
        template = copy.deepcopy(new)
        for name, names in still.items():
            old_idx = _indexes(old_tables[name])
            kept = list(_indexes(new_tables[name]).values()) + [old_idx[i] for i in names]
            template["Resources"][name] = _with_indexes(
                new_tables[name], kept, _attribute_types(old_tables[name], new_tables[name]))
        return template

    still = {name: list(d.dropped) for name, d in diffs.items() if d.dropped}
    backfills = list(dict.fromkeys(BACKFILLS[(name, index)] for name, d in diffs.items()
                                   for index in d.added if (name, index) in BACKFILLS))
    steps.append(Step("code", new_keeping(still),
                      ["the new code and every other change; dropped indexes kept"]
                      + [f"{name}: keep {i} until a later step" for name, ii in still.items()
                         for i in ii],
                      [f"python -m chalicelib.cli {cmd}" for cmd in backfills]))

    # 3. drop, one index per table per step.
    while still:
        changes = [f"{name}: drop {names[0]}" for name, names in still.items()]
        still = {name: names[1:] for name, names in still.items() if names[1:]}
        steps.append(Step("drop", new_keeping(still), changes))
    return steps


def describe(steps: list[Step]) -> str:
    """The plan as an operator reads it: one paragraph a step."""
    lines = []
    for number, step in enumerate(steps, 1):
        lines.append(f"step {number} ({step.kind}): deploy step-{number}.json")
        lines += [f"  - {change}" for change in step.changes]
        lines += [f"  then run: {command}" for command in step.then_run]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.plan_update",
        description="Split a stack update into steps that change at most one GSI per table.")
    parser.add_argument("deployed", type=Path, help="the template the stack runs now "
                        "(aws cloudformation get-template --template-stage Original)")
    parser.add_argument("new", type=Path, help="the template to deploy (build/package/sam.json)")
    parser.add_argument("out", type=Path, help="folder for step-1.json, step-2.json, …")
    args = parser.parse_args(argv)
    try:
        steps = plan(json.loads(args.deployed.read_text()), json.loads(args.new.read_text()))
    except PlanRefused as refused:
        print(f"refused, nothing written:\n{refused}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for number, step in enumerate(steps, 1):
        (args.out / f"step-{number}.json").write_text(json.dumps(step.template, indent=2))
    print(describe(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
