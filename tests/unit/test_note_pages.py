"""The payer's note pages as plain values (``services/note_pages.py``), against the fakes."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.services import note_pages
from tests.unit.scenario import UNIT, create_note, paid_note


def test_the_pay_page_shows_the_amount_in_yuan_and_capitals_and_the_code_grouped(deps):
    note = create_note(deps, total_fen=123456, items=[{
        "item_code": "103040100101", "name": "不动产登记费（住宅）", "quantity": "1",
        "standard_fen": 123456, "amount_fen": 123456, "unit": "件"}])
    page = note_pages.pay_page(deps, note)
    assert page["unit_name"] == UNIT.name and page["status_label"] == "待缴款"
    assert page["total_yuan"] == "1,234.56" and page["total_capitals"] == "壹仟贰佰叁拾肆元伍角陆分"
    assert page["items"][0]["amount_yuan"] == "1,234.56"
    code = note.payment_code
    assert page["grouped_code"] == f"{code[:6]} {code[6:8]} {code[8:14]} {code[14:]}"
    assert page["note"]["payer"]["name"] != "张三"  # masked, as on every public view
    assert page["refresh"] is None


def test_the_pay_page_offers_every_channel_and_disables_those_not_enabled(deps):
    deps.settings = replace(deps.settings, enabled_channels=("wechatpay", "bank"))
    page = note_pages.pay_page(deps, create_note(deps))
    assert [(c["code"], c["enabled"]) for c in page["channels"]] == [
        ("wechatpay", True), ("alipay", False), ("unionpay", False)]
    assert all(c["colour"].startswith("#") and len(c["letter"]) == 1 for c in page["channels"])


def test_a_paid_note_refreshes_until_its_bill_is_issued(deps):
    page = note_pages.pay_page(deps, paid_note(deps))
    assert page["status_label"] == "已缴款 · 票据开具中" and page["refresh"] == 3


def test_the_lookup_page_names_the_payer_as_typed_and_masks_the_phone(deps):
    page = note_pages.lookup_page(deps, create_note(deps))
    assert page["note"]["payer"]["name"] == "张三"
    assert page["note"]["payer"]["phone"] == "138****5678"
    assert page["unit_name"] == UNIT.name and "channels" not in page
