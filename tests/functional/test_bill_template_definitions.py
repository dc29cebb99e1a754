"""The finance department defines and edits bill templates by API (``/v1/admin/bill-templates``):
a template is data, checked before it is stored (400 naming the field), versioned (an edit is a
new version; the old ones never change), audited, bounded; chosen for a kind, it draws the
kind's new bills, and a bill keeps the version it was issued with whatever is defined later."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from chalicelib.services.finance_keys import create_finance_key
from tests.functional.support import assert_error, body_of
from tests.ofd_raster import OfdPages

CHARITY = 3  # the seed's charity: kinds 0401 and 0501 (devstack.seed)
DEPOSIT: dict = {
    "template_id": "deposit-receipt", "name": "保证金收据", "kinds": ["0401"],
    "title": "{region}保证金收据（电子）", "payer_label": "交款单位", "block_title": "保证金信息",
    "remarks": ["保证金于合同履行完毕后无息退还。"],
    "fields": [
        {"key": "contract_number", "label": "合同编号", "type": "code", "xml_tag": "ContractNo"},
        {"key": "deposit_kind", "label": "保证金类别", "type": "choice",
         "xml_tag": "DepositKind", "choices": ["投标保证金", "履约保证金"]},
        {"key": "refund_due_date", "label": "约定退还日期", "type": "date",
         "xml_tag": "RefundDueDate", "future_ok": True, "required": False},
        {"key": "deposit_fen", "label": "保证金金额", "type": "fen", "xml_tag": "DepositAmount"},
    ],
    "rules": [{"type": "amounts_add_up", "terms": [[1, "deposit_fen"]], "equals": "total_fen"}],
    "columns": [{"key": "item_code", "label": "项目编码", "width_mm": 40, "align": "l"},
                {"key": "name", "label": "项目名称", "width_mm": 90, "align": "c"},
                {"key": "amount", "label": "金额（元）", "width_mm": 60, "align": "r"}],
}
EXTRA = {"contract_number": "HT-2026-0615", "deposit_kind": "履约保证金",
         "refund_due_date": "2026-12-31", "deposit_fen": 500000}
BILL = {"payer": {"name": "合肥建工集团有限公司", "type": "organization",
                  "credit_code": "91350100M000100Y43"},
        "bill_kind": "0401", "paid_by": "transfer", "total_fen": 500000,
        "items": [{"item_code": "WL0001", "name": "会议场地押金", "unit": "笔", "quantity": "1",
                   "standard_fen": 500000, "amount_fen": 500000}]}
TEMPLATES = "/v1/admin/bill-templates"
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "templates"


def define(world, client, template: dict | None = None):
    return client.http.post(TEMPLATES, headers=world.finance_auth(),
                            body=json.dumps(template or DEPOSIT))


def choose(world, client, template_id: str = "deposit-receipt") -> None:
    r = client.http.put("/v1/admin/bill-kinds/0401/template", headers=world.finance_auth(),
                        body=json.dumps({"template_id": template_id}))
    assert r.status_code == 200, r.body


def issue(world, client, key: str, extra: dict | None = None) -> dict:
    headers = dict(world.auth(CHARITY), **{"Idempotency-Key": key})
    payload = json.dumps({**BILL, "extra": extra or EXTRA})
    first = client.http.post("/v1/bills", headers=headers, body=payload)
    assert first.status_code == 202, first.body
    world.drain()
    again = client.http.post("/v1/bills", headers=headers, body=payload)
    assert again.status_code == 201, again.body
    return body_of(again)


def public(client, bill: dict, suffix: str = ""):
    return client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}{suffix}"
                           f"?check_code={bill['check_code']}")


def ofd_text(client, bill: dict) -> str:
    data = public(client, bill, "/ofd").body
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()
                       if n.endswith("Content.xml"))


def test_a_defined_template_chosen_for_a_kind_draws_its_bills_signed_and_verifiable(world,
                                                                                    client):
    r = define(world, client)
    assert r.status_code == 201, r.body
    made = body_of(r)
    assert made["template"]["version"] == 1 and made["built_in"] is False
    assert made["versions"][0]["made_by"].startswith("finance:key_")
    choose(world, client)
    bill = issue(world, client, "dep-1")
    view = body_of(public(client, bill))
    assert view["template"]["template_id"] == "deposit-receipt"
    assert view["template"]["version"] == 1 and view["extra"] == EXTRA
    assert view["title"] == "安徽省保证金收据（电子）"
    xml = public(client, bill, "/xml").body.decode()
    assert "<ContractNo>HT-2026-0615</ContractNo>" in xml
    assert "<DepositAmount>5000.00</DepositAmount>" in xml
    page = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}"
                           f"?check_code={bill['check_code']}").body.decode()
    assert "<dt>保证金类别</dt><dd>履约保证金</dd>" in page and "<dt>交款单位</dt>" in page
    assert "保证金于合同履行完毕后无息退还。" in page
    assert "保证金类别" in ofd_text(client, bill)
    # for a person to look at (the README's screenshots): the PDF and the OFD of the bill
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "deposit-receipt.pdf").write_bytes(public(client, bill, "/pdf").body)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile",
                    str(OUTPUT / "deposit-receipt.pdf"), str(OUTPUT / "deposit-receipt")],
                   check=True)
    OfdPages(public(client, bill, "/ofd").body).render(0, dpi=60).save(
        OUTPUT / "deposit-receipt-ofd.png")
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/xml"})
    out = body_of(client.http.post("/v1/verifications/file", headers=headers,
                                   body=xml.encode()))
    assert out["result"] == "authentic", out


def test_an_edit_is_a_new_version_and_an_old_bill_still_renders_from_its_own(world, client):
    define(world, client)
    choose(world, client)
    old = issue(world, client, "dep-old")
    edited = copy.deepcopy(DEPOSIT)
    edited["fields"][1]["label"] = "保证金种类"
    edited["remarks"] = ["保证金退还时请持本收据办理。"]
    r = client.http.put(f"{TEMPLATES}/deposit-receipt", headers=world.finance_auth(),
                        body=json.dumps({**edited, "version": 1}))
    assert r.status_code == 200, r.body
    assert body_of(r)["template"]["version"] == 2
    assert [v["version"] for v in body_of(r)["versions"]] == [1, 2]
    # the kind stays on version 1 until the finance department chooses the template again
    assert issue(world, client, "dep-still-1")["bill_code"]
    kinds = {k["kind_code"]: k for k in body_of(client.http.get(
        "/v1/admin/bill-kinds", headers=world.finance_auth()))["bill_kinds"]}
    assert kinds["0401"]["template"]["version"] == 1 and kinds["0401"]["newest_version"] == 2
    choose(world, client)
    new = issue(world, client, "dep-new")
    assert body_of(public(client, new))["template"]["version"] == 2
    assert "保证金种类" in ofd_text(client, new)
    # the old bill, drawn again today, is drawn from version 1: label and remark as issued
    old_ofd = ofd_text(client, old)
    assert "保证金类别" in old_ofd and "保证金种类" not in old_ofd
    page = client.http.get(f"/bills/{old['bill_code']}/{old['bill_number']}"
                           f"?check_code={old['check_code']}").body.decode()
    assert "保证金于合同履行完毕后无息退还。" in page and "持本收据" not in page
    assert body_of(public(client, old))["template"]["version"] == 1
    v1 = body_of(client.http.get(f"{TEMPLATES}/deposit-receipt?version=1",
                                 headers=world.finance_auth()))
    assert v1["template"]["fields"][1]["label"] == "保证金类别"
    events = world.deps.audit.query(bill_id="admin#bill_template#deposit-receipt")
    assert sorted((e.action, e.detail["template"], e.detail["previous"]) for e in events) == [
        ("define_template", "deposit-receipt@1", None),
        ("edit_template", "deposit-receipt@2", "deposit-receipt@1")]


def test_an_edit_that_changes_nothing_makes_no_version_and_a_stale_one_is_409(world, client):
    define(world, client)
    url = f"{TEMPLATES}/deposit-receipt"
    same = client.http.put(url, headers=world.finance_auth(), body=json.dumps(DEPOSIT))
    assert same.status_code == 200 and body_of(same)["template"]["version"] == 1
    edited = {**DEPOSIT, "name": "保证金收据（新）"}
    assert client.http.put(url, headers=world.finance_auth(),
                           body=json.dumps({**edited, "version": 1})).status_code == 200
    stale = client.http.put(url, headers=world.finance_auth(),
                            body=json.dumps({**edited, "name": "又改", "version": 1}))
    assert assert_error(stale, 409)["code"] == "template_changed"
    assert len(world.deps.bill_templates.versions("deposit-receipt")) == 2


def _broken(path: str, value: object) -> dict:
    body = copy.deepcopy(DEPOSIT)
    target: object = body
    *parts, last = path.replace("]", "").replace("[", ".").split(".")
    for part in parts:
        target = target[int(part)] if part.isdigit() else target[part]  # type: ignore[index]
    target[int(last) if last.isdigit() else last] = value  # type: ignore[index]
    return body


@pytest.mark.parametrize(("body", "field"), [
    (_broken("fields[0].type", "number"), "fields[0].type"),
    (_broken("fields[3].key", "deposit"), "fields[3].key"),
    (_broken("fields[1].xml_tag", "PayCode"), "fields[1].xml_tag"),
    (_broken("fields[1].xml_tag", "ContractNo"), "fields[1].xml_tag"),
    (_broken("fields[1].choices", []), "fields[1].choices"),
    (_broken("fields[0].label", "合同编号合同编号合同编号"), "fields[0].label"),
    (_broken("rules[0].terms", [[1, "no_such_fen"]]), "rules[0]"),
    (_broken("rules[0].terms", [[1, "contract_number"]]), "rules[0]"),
    (_broken("columns[1].width_mm", 80), "columns"),
    (_broken("columns[2].key", "price"), "columns[2].key"),
    (_broken("kinds", ["9999"]), "kinds"),
    (_broken("title", "{0.__class__}"), "title"),
    (_broken("template_id", "Deposit Receipt"), "template_id"),
    (_broken("remarks", ["一", "二", "三", "四"]), "remarks"),
    (_broken("fields", [DEPOSIT["fields"][0]] * 21), "fields"),
])
def test_a_wrong_template_is_400_naming_the_field_and_nothing_is_stored(world, client, body,
                                                                       field):
    error = assert_error(define(world, client, body), 400)
    assert field in error["fields"], error
    assert world.deps.bill_templates.newest() == []
    assert world.deps.audit.query(bill_id="admin#bill_template#deposit-receipt") == []


def test_taken_and_built_in_ids_are_409_and_a_body_over_16_kb_is_413(world, client):
    assert define(world, client).status_code == 201
    assert assert_error(define(world, client), 409)["code"] == "template_exists"
    built_in = {**DEPOSIT, "template_id": "donation-receipt"}
    assert assert_error(define(world, client, built_in), 409)["code"] == "template_built_in"
    r = client.http.put(f"{TEMPLATES}/medical-outpatient", headers=world.finance_auth(),
                        body=json.dumps(DEPOSIT))
    assert assert_error(r, 409)["code"] == "template_built_in"
    big = {**DEPOSIT, "template_id": "big-one", "padding": "字" * 6000}
    assert assert_error(define(world, client, big), 413)
    r = client.http.put(f"{TEMPLATES}/no-such-one", headers=world.finance_auth(),
                        body=json.dumps(DEPOSIT))
    assert_error(r, 404)


def test_only_a_provincial_finance_key_defines_and_units_may_not_look(world, client):
    _, city = create_finance_key(world.deps, scope="3401", label="合肥市财政局")
    headers = {"Authorization": f"Bearer {city}", "Content-Type": "application/json"}
    r = client.http.post(TEMPLATES, headers=headers, body=json.dumps(DEPOSIT))
    assert assert_error(r, 403)["code"] == "not_a_provincial_key"
    assert client.http.get(TEMPLATES, headers=headers).status_code == 200
    r = client.http.post(TEMPLATES, headers=world.auth(CHARITY), body=json.dumps(DEPOSIT))
    assert assert_error(r, 403)["code"] == "not_a_finance_key"
    assert_error(client.http.get(TEMPLATES), 401)
    assert world.deps.bill_templates.newest() == []


def test_the_list_shows_the_built_in_templates_then_the_defined_ones(world, client):
    define(world, client)
    rows = body_of(client.http.get(TEMPLATES, headers=world.finance_auth()))["templates"]
    assert [r["template_id"] for r in rows][-1] == "deposit-receipt"
    assert sum(r["built_in"] for r in rows) == 5
    kinds = {k["kind_code"]: k for k in body_of(client.http.get(
        "/v1/admin/bill-kinds", headers=world.finance_auth()))["bill_kinds"]}
    assert "deposit-receipt" in [a["template_id"] for a in kinds["0401"]["available"]]
    assert "deposit-receipt" not in [a["template_id"] for a in kinds["0601"]["available"]]
