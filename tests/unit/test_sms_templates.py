"""The SMS templates table: every event has an SNS text and a provider template whose parameters
stay within Alibaba Cloud's limits, and both read the same to the payer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.bills import Bill
from chalicelib.domain.notes import Note, Payer
from chalicelib.services import sms_templates as t

SITE = "https://pj.czt.example.gov.cn"
NOTE = Note(payment_code="34012600000000000015", unit_code="340100001", region_code="340100",
            payer=Payer(name="张三", type="individual", phone="13812345678"), items=(),
            total_fen=1234567, bill_kind="0101", created_at="2026-06-15T10:00:00+08:00",
            due_date="2026-06-30")
BILL = Bill(bill_code="34010126", bill_number="0000000001", check_code="aB3dE9", kind_code="0101",
            title="安徽省非税收入一般缴款书", region_code="340100",
            issued_at="2026-06-15T10:00:00+08:00", issuing_unit_code="340100001",
            issuing_unit_name="合肥市不动产登记中心", payer_name="张三", payer_type="individual",
            payer_credit_code=None, items=(), total_fen=8000, payment_code=NOTE.payment_code,
            payment_channel="wechatpay", channel_txn_id="4200", handling_person="王敏",
            checker="李强")
RED = replace(BILL, bill_number="0000000002", check_code="Zz0000", total_fen=-8000,
              related_bill="340101260000000001")
LINK = f"{SITE}/bills/34010126/0000000001?check_code=aB3dE9"


def every_message():
    return {
        "note_created": t.note_created("财政电子票据", SITE, NOTE, "合肥市不动产登记中心"),
        "note_created_no_due": t.note_created("财政电子票据", SITE, replace(NOTE, due_date=None),
                                              "合肥市不动产登记中心"),
        "bill_issued": t.bill_issued("财政电子票据", BILL, LINK),
        "bill_reversed": t.bill_reversed("财政电子票据", RED, LINK),
        "refund": t.refund("财政电子票据", NOTE, "合肥市不动产登记中心", 2000),
        "login_code": t.login_code("财政电子票据", "042917", 5),
    }


def test_every_event_has_a_provider_template_and_every_template_is_used():
    messages = every_message()
    assert sorted(messages) == sorted(t.TEMPLATES)
    assert {t.TEMPLATES[m.template].event for m in messages.values()} == set(t.EVENTS)


@pytest.mark.parametrize("key", sorted(t.TEMPLATES))
def test_each_template_obeys_the_providers_rules(key):
    template = t.TEMPLATES[key]
    assert len(template.content) <= t.CONTENT_MAX
    assert "【" not in template.content and "】" not in template.content
    assert len(set(template.variables)) == len(template.variables)  # each variable once
    assert "}${" not in template.content  # no adjacent variables
    if template.kind == "code":
        assert template.variables == ("code",)


@pytest.mark.parametrize("key", sorted(t.TEMPLATES))
def test_each_message_fills_its_template_within_the_variable_limits(key):
    message = every_message()[key]
    assert message.template == key
    t.check_params(t.TEMPLATES[key], message.params)
    assert all(1 <= len(v) <= 35 for v in message.params.values())


@pytest.mark.parametrize("key", ["note_created", "note_created_no_due", "refund", "login_code"])
def test_the_provider_text_reads_exactly_as_the_sns_text(key):
    message = every_message()[key]
    rendered = "【财政电子票据】" + t.TEMPLATES[key].render(SITE, message.params)
    assert rendered == message.text


def test_a_bills_provider_text_differs_from_the_sns_text_only_by_its_short_link():
    for key in ("bill_issued", "bill_reversed"):
        message = every_message()[key]
        rendered = "【财政电子票据】" + t.TEMPLATES[key].render(SITE, message.params)
        short = f"{SITE}/b/{message.params['bill_code']}{message.params['bill_number']}" \
                f"{message.params['check_code']}"
        assert rendered == message.text.replace(LINK, short)
    assert every_message()["bill_reversed"].params["original_number"] == "0000000001"


def test_a_long_unit_name_is_shortened_but_an_identifier_never_is():
    name = "合肥市" + "某" * 40 + "中心"
    message = t.refund("财政电子票据", NOTE, name, 2000)
    assert len(message.params["unit"]) == 35 and message.params["unit"].endswith("…")
    assert name in message.text  # SNS has no such limit
    with pytest.raises(ValueError, match="1-35"):
        t.check_params(t.TEMPLATES["refund"], {**message.params, "payment_code": "1" * 36})


def test_a_unit_name_with_sign_brackets_cannot_pose_as_a_sign():
    message = t.refund("财政电子票据", NOTE, "【中国银行】", 2000)
    assert message.params["unit"] == "[中国银行]"


def test_the_login_code_template_is_approved_for_five_minutes_only():
    with pytest.raises(ValueError, match="5 minutes"):
        t.login_code("财政电子票据", "042917", 10)
    with pytest.raises(ValueError, match="4-6 digits"):
        t.check_params(t.TEMPLATES["login_code"], {"code": "12a4"})


def test_parameters_must_match_the_templates_variables_exactly():
    with pytest.raises(ValueError, match="needs"):
        t.check_params(t.TEMPLATES["refund"], {"unit": "x", "amount": "1.00"})
