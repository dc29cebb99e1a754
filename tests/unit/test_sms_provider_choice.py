"""SMS_PROVIDER chooses who texts payers; SNS is refused where it cannot text (China regions)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.adapters.aliyun_sms import AliyunSms
from chalicelib.adapters.sns_sms import SnsSms
from chalicelib.bootstrap import Deps
from tests.fakes import make_settings

ROOT = Path(__file__).resolve().parents[2]


def sender(**changes):
    return Deps(settings=replace(make_settings(), **changes)).sms


def test_aliyun_is_chosen_by_configuration():
    assert isinstance(sender(sms_provider="aliyun", stage="prod", region="cn-north-1"), AliyunSms)


def test_sns_still_texts_outside_the_china_regions_and_on_this_machine():
    assert isinstance(sender(sms_provider="sns", stage="prod", region="ap-southeast-1"), SnsSms)
    assert isinstance(sender(sms_provider="sns", stage="test", region="cn-north-1"), SnsSms)


@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1"])
def test_sns_is_refused_in_the_china_regions_where_it_cannot_send_sms(region):
    with pytest.raises(RuntimeError, match="SMS_PROVIDER=aliyun"):
        sender(sms_provider="sns", stage="prod", region=region)


def test_an_unknown_provider_is_refused():
    with pytest.raises(RuntimeError, match="unknown SMS_PROVIDER"):
        sender(sms_provider="twilio")


def test_the_production_stage_texts_through_alibaba_cloud():
    prod = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]
    assert prod["environment_variables"]["SMS_PROVIDER"] == "aliyun"
