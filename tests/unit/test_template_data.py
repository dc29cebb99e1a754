"""Bill templates as data (``domain/template_data``): every built-in template survives the JSON
the API and the store use; a body is refused naming each wrong field; rules as the console's
lines of text read back as they were written."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain import bill_templates as bt
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.template_data import (
    MAX_TEMPLATE_BYTES,
    parse_rule,
    rule_text,
    rule_to_data,
    stored_size,
    template_from_data,
    template_to_data,
)


def refused(body: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        template_from_data(body, version=1)
    return caught.value.fields


@pytest.mark.parametrize("tpl", bt.BUILT_IN, ids=lambda t: t.ref)
def test_every_built_in_template_reads_back_equal_from_its_json(tpl):
    data = json.loads(json.dumps(template_to_data(tpl), ensure_ascii=False))
    assert template_from_data(data, version=tpl.version) == tpl
    assert stored_size(tpl) < MAX_TEMPLATE_BYTES


@pytest.mark.parametrize("tpl", bt.BUILT_IN, ids=lambda t: t.ref)
def test_every_rule_of_a_built_in_template_reads_back_from_its_line(tpl):
    for rule in tpl.rules:
        assert parse_rule(rule_text(rule)) == rule_to_data(rule)


def test_a_body_that_is_not_an_object_is_refused_as_the_body():
    assert refused(["x"]) == {"body": "must be an object"}


def test_every_wrong_field_is_named_at_once():
    data = template_to_data(bt.MEDICAL_INPATIENT)
    data["fields"][0]["type"] = "number"
    data["fields"][2]["label"] = ""
    data["columns"][0]["align"] = "x"
    data["payer_label"] = "交款人交款人交款人"
    assert set(refused(data)) == {"fields[0].type", "fields[2].label", "columns[0].align",
                                  "payer_label"}


def test_structural_faults_are_named_once_the_shape_is_right():
    data = template_to_data(bt.MEDICAL_OUTPATIENT)
    data["fields"][1]["xml_tag"] = "OutpatientNumber"  # the first field's
    data["rules"][1]["equals"] = "visit_date"
    assert refused(data) == {"fields[1].xml_tag": "XML tag OutpatientNumber repeats",
                             "rules[1]": "visit_date must be a field of type fen"}


def test_an_edit_keeps_the_id_of_its_path():
    data = template_to_data(bt.DONATION_RECEIPT)
    with pytest.raises(ValidationFailed) as caught:
        template_from_data(data, template_id="another-id", version=2)
    assert "template_id" in caught.value.fields
    assert template_from_data({**data, "template_id": None} | {"template_id": "donation-receipt"},
                              template_id="donation-receipt", version=2).version == 2


def test_a_template_over_8_kb_as_stored_is_refused():
    data = template_to_data(bt.DONATION_RECEIPT)
    letters = "ABCDEFGHIJKLMNOPQRST"
    data["rules"] = []
    data["fields"] = [{"key": f"choice_{n}", "label": "选项", "type": "choice",
                       "xml_tag": f"Choice{letters[n]}",
                       "choices": [f"选项{m:02d}" + "长" * 16 for m in range(12)]}
                      for n in range(20)]
    fields = refused(data)
    assert fields == {"body": f"a template is at most {MAX_TEMPLATE_BYTES} bytes as stored"}


@pytest.mark.parametrize("line", ["a_fen + ", "x = ", "= total_fen", "a <= ", "a required",
                                  "a_fen + b_fen c_fen = total_fen"])
def test_a_line_that_says_no_rule_is_none(line):
    assert parse_rule(line) is None


def test_a_line_with_a_minus_is_a_negative_term():
    assert parse_rule("prepaid_fen + supplement_fen - refund_fen = self_paid_fen") == {
        "type": "amounts_add_up", "equals": "self_paid_fen",
        "terms": [[1, "prepaid_fen"], [1, "supplement_fen"], [-1, "refund_fen"]]}
