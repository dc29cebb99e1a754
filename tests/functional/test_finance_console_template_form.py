"""The finance console's template form (制样): a finance admin defines a template and edits it
(each edit a new version, the same use case and audit row as the API); a wrong field is shown
next to its input (400) and nothing is stored; an auditor sees it read-only and is refused a
post; a post without the CSRF token changes nothing."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.functional.test_console_sign_in import FORM, IP, sign_in
from tests.functional.test_finance_console_people import get

PAGE = "/console/finance/bill-templates"
COLUMNS = [("item_code", "项目编码", "40", "l"), ("name", "项目名称", "90", "c"),
           ("amount", "金额（元）", "60", "r")]
FIELDS = [("contract_number", "合同编号", "code", "ContractNo", "yes", ""),
          ("deposit_kind", "保证金类别", "choice", "DepositKind", "yes", "投标保证金、履约保证金"),
          ("refund_due_date", "约定退还日期", "date_future", "RefundDueDate", "no", ""),
          ("deposit_fen", "保证金金额", "fen", "DepositAmount", "yes", "")]


def form(**changes) -> list[tuple[str, str]]:
    scalars = {"template_id": "deposit-receipt", "name": "保证金收据",
               "title": "{region}保证金收据（电子）", "payer_label": "交款单位",
               "block_title": "保证金信息", "remarks": "保证金于合同履行完毕后无息退还。",
               "rules": "deposit_fen = total_fen", "version": "", **changes}
    pairs = list(scalars.items()) + [("kinds", "0401")]
    for row in changes.pop("fields", None) or FIELDS:
        pairs += list(zip(("f_key", "f_label", "f_type", "f_xml_tag", "f_required",
                           "f_options"), row, strict=True))
    pairs += [("f_key", ""), ("f_label", ""), ("f_type", "text"), ("f_xml_tag", ""),
              ("f_required", "yes"), ("f_options", "")]  # a blank row, as the form sends it
    for row in COLUMNS:
        pairs += list(zip(("c_key", "c_label", "c_width", "c_align"), row, strict=True))
    return [(k, v) for k, v in pairs if k != "fields"]


def post(client, path: str, pairs: list[tuple[str, str]], cookies, token):
    if token:
        pairs = [*pairs, ("csrf_token", token)]
    return client.http.post(path, body=urlencode(pairs), headers={
        "Content-Type": FORM, "X-Forwarded-For": IP, "Cookie": "; ".join(cookies)})


def test_a_finance_admin_defines_a_template_in_the_form_and_edits_it_as_a_new_version(
        client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    html = get(client, f"{PAGE}/new", cookies).body.decode()
    assert 'name="f_key"' in html and 'name="c_width"' in html and 'value="0401"' in html
    r = post(client, PAGE, form(), cookies, token)
    assert r.status_code == 303, r.body.decode()
    assert r.headers["Location"].endswith(f"{PAGE}/deposit-receipt?saved=1")
    stored = world.deps.bill_templates.get("deposit-receipt", 1)
    assert stored.field("deposit_kind").choices == ("投标保证金", "履约保证金")
    assert stored.field("refund_due_date").future_ok and not stored.field(
        "refund_due_date").required
    assert stored.title == "{region}保证金收据（电子）" and stored.kinds == ("0401",)
    page = get(client, f"{PAGE}/deposit-receipt?saved=1", cookies).body.decode()
    assert "已保存为第 1 版" in page and 'value="DepositKind"' in page
    assert "deposit_fen = total_fen" in page
    r = post(client, f"{PAGE}/deposit-receipt", form(version="1", name="保证金收据（2026版）"),
             cookies, token)
    assert r.status_code == 303, r.body.decode()
    assert world.deps.bill_templates.get("deposit-receipt", 2).name == "保证金收据（2026版）"
    events = world.deps.audit.query(bill_id="admin#bill_template#deposit-receipt")
    assert sorted(e.action for e in events) == ["define_template", "edit_template"]
    assert all(e.client.startswith("finance:person:") for e in events)
    kinds = get(client, "/console/finance/bill-kinds", cookies).body.decode()
    assert "保证金收据（2026版）" in kinds  # it may be chosen for 0401


def test_a_wrong_field_is_shown_next_to_its_input_and_nothing_is_stored(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    fields = [FIELDS[0], ("deposit_kind", "保证金类别", "choice", "PayCode", "yes", "甲、乙"),
              FIELDS[3]]
    r = post(client, PAGE, form(fields=fields, rules="deposit_fen = total_fen\nnonsense"),
             cookies, token)
    html = r.body.decode()
    assert r.status_code == 400 and "第 2 行无法识别：nonsense" in html
    assert 'id="e-rules"' in html
    r = post(client, PAGE, form(fields=fields), cookies, token)
    html = r.body.decode()
    assert r.status_code == 400 and 'id="e-f_xml_tag-1"' in html
    assert 'aria-describedby="e-f_xml_tag-1"' in html and 'value="甲、乙"' in html
    r = post(client, PAGE, form(template_id="medical-outpatient"), cookies, token)
    assert r.status_code == 409 and 'id="e-template_id"' in r.body.decode()
    assert world.deps.bill_templates.newest() == []


def test_an_auditor_sees_a_template_read_only_and_may_not_post(client, world):
    admin_cookies, admin_token = sign_in(client, world, "finance_admin")
    assert post(client, PAGE, form(), admin_cookies, admin_token).status_code == 303
    cookies, token = sign_in(client, world, "finance_auditor")
    html = get(client, f"{PAGE}/deposit-receipt", cookies).body.decode()
    assert "<fieldset disabled" in html and "保存为新版本" not in html
    assert get(client, f"{PAGE}/new", cookies).status_code == 403
    r = post(client, f"{PAGE}/deposit-receipt", form(version="1", name="改"), cookies, token)
    assert r.status_code == 403
    assert [s.template.version for s in world.deps.bill_templates.versions(
        "deposit-receipt")] == [1]


def test_a_post_without_the_csrf_token_changes_nothing(client, world):
    cookies, _ = sign_in(client, world, "finance_admin")
    assert post(client, PAGE, form(), cookies, None).status_code == 403
    assert world.deps.bill_templates.newest() == []


def test_a_built_in_template_is_read_only_and_a_new_one_may_start_from_it(client, world):
    cookies, _ = sign_in(client, world, "finance_admin")
    html = get(client, f"{PAGE}/medical-inpatient", cookies).body.decode()
    assert "内置模板不可修改" in html and "<fieldset disabled" in html
    assert "prepaid_fen + supplement_fen - refund_fen = self_paid_fen" in html
    new = get(client, f"{PAGE}/new?from=medical-inpatient", cookies).body.decode()
    assert 'value="AdmissionDate"' in new and 'id="template_id" name="template_id"' in new
    listing = get(client, PAGE, cookies).body.decode()
    assert "医疗住院收费票据" in listing and "定义新模板" in listing
