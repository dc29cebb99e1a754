"""The staged update of a deployed stack (``infra/plan_update.py``) on the packaged template:
a stack deployed before this release's payments day index, people list index and notes day
index of the note as made reaches this template in steps that each change at most one index
per table, and the tables of every step pass cfn-lint for both China regions, as the packaged
template itself does."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.plan_update import plan

TEMPLATE = Path(os.environ.get("PACKAGED_TEMPLATE", "build/package/sam.json"))


def without(template: dict[str, Any], table: str, index: str,
            instead: dict[str, Any] | None = None) -> None:
    """Take ``index`` off ``table`` and put ``instead`` (string keys), with the attribute
    definitions that the table's keys then use."""
    props = template["Resources"][table]["Properties"]
    props["GlobalSecondaryIndexes"] = [g for g in props["GlobalSecondaryIndexes"]
                                       if g["IndexName"] != index] + ([instead] if instead else [])
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    used = dict.fromkeys(k["AttributeName"] for schema in [props["KeySchema"]] + [
        g["KeySchema"] for g in props["GlobalSecondaryIndexes"]] for k in schema)
    props["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": types.get(a, "S")}
                                     for a in used]


def test_an_older_stack_reaches_this_template_in_steps_cfn_lint_accepts(tmp_path):
    new = json.loads(TEMPLATE.read_text())
    deployed = copy.deepcopy(new)
    without(deployed, "PaymentsTable", "paid_day-payment_id-index", {
        "IndexName": "channel_day-paid_at-index",
        "KeySchema": [{"AttributeName": "channel_day", "KeyType": "HASH"},
                      {"AttributeName": "paid_at", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}})
    without(deployed, "PeopleTable", "listing-place-index")
    without(deployed, "NotesTable", "created_day-created_at-made-index", {
        "IndexName": "created_day-created_at-index",
        "KeySchema": [{"AttributeName": "created_day", "KeyType": "HASH"},
                      {"AttributeName": "created_at", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}})

    steps = plan(deployed, new)

    assert [(s.kind, s.changes[0] if s.kind != "code" else "") for s in steps] == [
        ("add", "NotesTable: add created_day-created_at-made-index"), ("code", ""),
        ("drop", "NotesTable: drop created_day-created_at-index")]
    assert steps[0].changes == ["NotesTable: add created_day-created_at-made-index",
                                "PaymentsTable: add paid_day-payment_id-index",
                                "PeopleTable: add listing-place-index"]
    assert steps[2].changes == ["NotesTable: drop created_day-created_at-index",
                                "PaymentsTable: drop channel_day-paid_at-index"]
    assert steps[1].then_run == ["python -m chalicelib.cli backfill-payment-days",
                                 "python -m chalicelib.cli backfill-people-places"]
    assert steps[-1].template == new
    files = []  # the tables of each step but the last (make package lints the whole of it)
    for number, step in enumerate(steps[:-1], 1):
        files.append(tmp_path / f"step-{number}.json")
        files[-1].write_text(json.dumps({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {name: res for name, res in step.template["Resources"].items()
                          if res["Type"] == "AWS::DynamoDB::Table"}}))
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--regions", "cn-north-1",
         "cn-northwest-1", "--", *map(str, files)], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
