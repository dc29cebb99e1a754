"""Every secondary index costs writes: each put, and each update of a projected attribute, is
written again into the index (twice inside a transaction). So the template declares exactly the
indexes the code reads (the pynamodb models name them), with the keys the models query by."""

from __future__ import annotations

import json

from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.adapters import dynamo_models
from tests.world import TEMPLATE


def template_indexes() -> dict[tuple[str, str], list[str]]:
    resources = json.loads(TEMPLATE.read_text(encoding="utf-8"))["Resources"]
    by_logical_id = {logical_id: name for name, logical_id in dynamo_models.LOGICAL_IDS.items()}
    return {(by_logical_id[logical_id], index["IndexName"]):
            [key["AttributeName"] for key in index["KeySchema"]]
            for logical_id, resource in resources.items()
            if resource.get("Type") == "AWS::DynamoDB::Table"
            for index in resource["Properties"].get("GlobalSecondaryIndexes", [])}


def model_indexes() -> dict[tuple[str, str], list[str]]:
    found = {}
    for name, model in dynamo_models.MODELS.items():
        for attribute in vars(model).values():
            if isinstance(attribute, GlobalSecondaryIndex):
                keys = sorted(attribute.Meta.attributes.values(),
                              key=lambda a: not a.is_hash_key)  # hash key first
                found[(name, attribute.Meta.index_name)] = [
                    key.attr_name for key in keys if key.is_hash_key or key.is_range_key]
    return found


def test_the_template_declares_exactly_the_indexes_the_code_reads_with_their_keys():
    assert template_indexes() == model_indexes()


def test_the_template_projects_into_each_index_what_its_model_says():
    resources = json.loads(TEMPLATE.read_text(encoding="utf-8"))["Resources"]
    declared = {index["IndexName"]: (index["Projection"]["ProjectionType"],
                                     sorted(index["Projection"].get("NonKeyAttributes", [])))
                for resource in resources.values()
                if resource.get("Type") == "AWS::DynamoDB::Table"
                for index in resource["Properties"].get("GlobalSecondaryIndexes", [])}
    modelled = {}
    for model in dynamo_models.MODELS.values():
        for attribute in vars(model).values():
            if isinstance(attribute, GlobalSecondaryIndex):
                projection = attribute.Meta.projection
                modelled[attribute.Meta.index_name] = (
                    projection.projection_type,
                    sorted(getattr(projection, "non_key_attributes", None) or []))
    assert declared == modelled
