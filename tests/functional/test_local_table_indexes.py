"""The local stack's tables follow the template: a state folder made before an index existed
gets it on the next start (``devstack.services.create_tables``), so a new query finds its
index locally as it would after a deployment."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from devstack.services import create_tables
from tests.world import TEMPLATE


def test_an_existing_table_gets_the_indexes_the_template_added_since(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                       "AWS_DEFAULT_REGION": "cn-north-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    props = json.loads(TEMPLATE.read_text())["Resources"]["NotesTable"]["Properties"]
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="cn-north-1")
        old = [i for i in props["GlobalSecondaryIndexes"]
               if i["IndexName"] != "created_day-created_at-made-index"]
        used = {k["AttributeName"] for k in props["KeySchema"]} | {
            k["AttributeName"] for i in old for k in i["KeySchema"]}
        ddb.create_table(TableName="old-notes", KeySchema=props["KeySchema"],
                         AttributeDefinitions=[a for a in props["AttributeDefinitions"]
                                               if a["AttributeName"] in used],
                         GlobalSecondaryIndexes=old, BillingMode="PAY_PER_REQUEST")
        assert create_tables(TEMPLATE, {"NotesTable": "old-notes"}, ddb) == []
        indexes = ddb.describe_table(TableName="old-notes")["Table"]["GlobalSecondaryIndexes"]
        assert {i["IndexName"] for i in indexes} == {
            i["IndexName"] for i in props["GlobalSecondaryIndexes"]}
        assert create_tables(TEMPLATE, {"NotesTable": "old-notes"}, ddb) == []  # nothing to add
