"""TemplateChoices: FakeTemplateChoices against DynamoTemplateChoices (one record a bill kind,
replaced by each new choice, all of them listed by kind)."""

from __future__ import annotations

from chalicelib.domain.bill_templates import TemplateChoice

AT = "2026-06-15T10:00:00+08:00"


class TestTemplateChoices:
    def test_a_kind_without_a_choice_has_none(self, stores):
        assert stores.template_choices.get("0601") is None
        assert stores.template_choices.all() == []

    def test_a_choice_is_read_back_and_a_new_one_replaces_it(self, stores):
        first = TemplateChoice("0601", "medical-outpatient", 1, AT, "finance")
        stores.template_choices.put(first)
        assert stores.template_choices.get("0601") == first
        second = TemplateChoice("0601", "nontax-general", 1, "2026-06-16T10:00:00+08:00",
                                "finance")
        stores.template_choices.put(second)
        assert stores.template_choices.get("0601") == second
        assert stores.template_choices.all() == [second]

    def test_all_lists_every_kind_in_code_order(self, stores):
        for kind, tid in (("0602", "medical-inpatient"), ("0401", "settlement-receipt"),
                          ("0501", "donation-receipt")):
            stores.template_choices.put(TemplateChoice(kind, tid, 1, AT, "finance"))
        assert [c.kind_code for c in stores.template_choices.all()] == ["0401", "0501", "0602"]
