"""BillTemplateStore: FakeBillTemplates against DynamoBillTemplates (a version is written once,
read back equal; versions of a template oldest first; the newest of each by id)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain import bill_templates as bt
from chalicelib.domain.errors import Conflict
from chalicelib.domain.template_data import StoredTemplate

AT = "2026-06-15T10:00:00+08:00"
V1 = replace(bt.SETTLEMENT_RECEIPT, template_id="deposit-receipt", name="保证金收据")
V2 = replace(V1, version=2, remarks=("保证金退还时请持本收据办理。",))


class TestBillTemplateStore:
    def test_a_template_nobody_defined_is_none(self, stores):
        assert stores.bill_templates.get("deposit-receipt", 1) is None
        assert stores.bill_templates.versions("deposit-receipt") == []
        assert stores.bill_templates.newest() == []

    def test_versions_are_read_back_equal_and_the_newest_is_listed(self, stores):
        stores.bill_templates.add(StoredTemplate(V1, AT, "finance:key_1"))
        stores.bill_templates.add(StoredTemplate(V2, AT, "finance:person:admin"))
        other = replace(V1, template_id="another-one")
        stores.bill_templates.add(StoredTemplate(other, AT, "finance:key_1"))
        assert stores.bill_templates.get("deposit-receipt", 1) == V1
        assert stores.bill_templates.get("deposit-receipt", 2) == V2
        assert [s.template for s in stores.bill_templates.versions("deposit-receipt")] == [V1, V2]
        assert [s.template for s in stores.bill_templates.newest()] == [other, V2]
        assert stores.bill_templates.versions("deposit-receipt")[1].made_by == \
            "finance:person:admin"

    def test_a_version_is_written_once(self, stores):
        stores.bill_templates.add(StoredTemplate(V1, AT, "finance:key_1"))
        with pytest.raises(Conflict):
            stores.bill_templates.add(StoredTemplate(replace(V1, name="改"), AT, "x"))
        assert stores.bill_templates.get("deposit-receipt", 1) == V1
