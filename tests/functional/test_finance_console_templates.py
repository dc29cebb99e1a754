"""The finance console's bill-template page: each kind's template with its fields; a finance
admin chooses another made for the kind (the same use case and audit row as the admin API),
an auditor sees the page without forms and is refused a choice."""

from __future__ import annotations

from tests.functional.test_console_sign_in import post, sign_in
from tests.functional.test_finance_console_people import get

PAGE = "/console/finance/bill-kinds"


def test_a_finance_admin_sees_each_kinds_template_and_chooses_another(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    html = get(client, PAGE, cookies).body.decode()
    assert "0601 医疗收费票据" in html and "就诊信息" in html and "医保统筹支付" in html
    assert 'action="/console/finance/bill-kinds/0601"' in html
    r = post(client, f"{PAGE}/0601", {"template_id": "nontax-general"}, cookies, token)
    assert r.status_code == 200 and "非税收入通用版式" in r.body.decode()
    assert world.deps.template_choices.get("0601").template_id == "nontax-general"
    [event] = world.deps.audit.query(bill_id="admin#bill_kind#0601")
    assert event.client.startswith("finance:person:") and event.action == "choose_template"
    r = post(client, f"{PAGE}/0601", {"template_id": "donation-receipt"}, cookies, token)
    assert r.status_code == 400 and "该模板不适用于此票据种类" in r.body.decode()


def test_an_auditor_sees_the_templates_without_forms_and_may_not_choose(client, world):
    cookies, token = sign_in(client, world, "finance_auditor")
    html = get(client, PAGE, cookies).body.decode()
    assert "医疗住院收费票据" in html and "<form method=\"post\" action=\"/console/finance/bill" \
        not in html
    r = post(client, f"{PAGE}/0601", {"template_id": "nontax-general"}, cookies, token)
    assert r.status_code == 403
    assert world.deps.template_choices.get("0601").template_id == "medical-outpatient"
