"""Settings fail closed: no STAGE, no start; deployed stages take their keys from Secrets Manager."""

from __future__ import annotations

import pytest

from chalicelib.adapters.secrets import Secrets
from chalicelib.bootstrap import Deps
from chalicelib.config import LOCAL_PAYER_PEPPER, SettingsError, load_settings
from chalicelib.domain.errors import ServiceUnavailable

PEPPER = "p" * 40
CODE_KEY = "k" * 44


class FakeSecretsManager:
    """Answers ``get_secret_value`` from a dict and counts the calls."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict:  # noqa: N803 - boto3's name
        self.calls.append(SecretId)
        if SecretId not in self.values:
            raise KeyError(SecretId)
        return {"SecretString": self.values[SecretId]}


def prod_deps(env: dict[str, str], secrets: dict[str, str]) -> tuple[Deps, FakeSecretsManager]:
    client = FakeSecretsManager(secrets)
    deps = Deps(settings=load_settings({"STAGE": "prod", **env}),
                overrides={"secrets": Secrets(client)})
    return deps, client


def test_refuses_to_start_without_a_stage():
    with pytest.raises(SettingsError, match="STAGE is not set"):
        load_settings({"TABLE_PREFIX": "fiscal-"})


def test_refuses_a_blank_stage():
    with pytest.raises(SettingsError, match="STAGE is not set"):
        load_settings({"STAGE": "  "})


@pytest.mark.parametrize("name", ["PAYER_PEPPER", "PAYMENT_CODE_KEY"])
def test_refuses_a_key_set_in_the_environment_of_a_deployed_stage(name):
    with pytest.raises(SettingsError, match=f"{name} is set in the environment"):
        load_settings({"STAGE": "prod", name: "x" * 40})


@pytest.mark.parametrize("stage", ["local", "test"])
def test_local_and_test_stages_keep_their_defaults_without_secrets_manager(stage):
    deps = Deps(settings=load_settings({"STAGE": stage}), overrides={"secrets": None})
    assert deps.payer_pepper == LOCAL_PAYER_PEPPER
    assert deps.payment_code_key == b"local-payment-code-key"


def test_a_deployed_stage_reads_both_keys_from_secrets_manager_once():
    deps, client = prod_deps(
        {"PAYER_PEPPER_SECRET_ID": "fiscal/payer-pepper",
         "PAYMENT_CODE_KEY_SECRET_ID": "fiscal/payment-code-key"},
        {"fiscal/payer-pepper": PEPPER, "fiscal/payment-code-key": CODE_KEY})
    assert deps.payer_pepper == PEPPER and deps.payer_pepper == PEPPER
    assert deps.payment_code_key == CODE_KEY.encode()
    assert client.calls == ["fiscal/payer-pepper", "fiscal/payment-code-key"]  # cached


def test_a_deployed_stage_never_falls_back_to_the_public_defaults():
    deps, _ = prod_deps({}, {})
    assert deps.settings.payer_pepper == "" and deps.settings.payment_code_key == b""
    with pytest.raises(ServiceUnavailable, match="PAYER_PEPPER_SECRET_ID is not configured"):
        _ = deps.payer_pepper
    with pytest.raises(ServiceUnavailable, match="PAYMENT_CODE_KEY_SECRET_ID is not configured"):
        _ = deps.payment_code_key


def test_a_missing_secret_is_a_503_not_a_default():
    deps, _ = prod_deps({"PAYER_PEPPER_SECRET_ID": "fiscal/payer-pepper"}, {})
    with pytest.raises(ServiceUnavailable, match="fiscal/payer-pepper unavailable"):
        _ = deps.payer_pepper


def test_a_secret_shorter_than_32_characters_is_refused():
    deps, _ = prod_deps({"PAYMENT_CODE_KEY_SECRET_ID": "fiscal/payment-code-key"},
                        {"fiscal/payment-code-key": "short"})
    with pytest.raises(ServiceUnavailable, match="shorter than 32"):
        _ = deps.payment_code_key


def test_the_keys_never_appear_in_the_settings_repr():
    settings = load_settings({"STAGE": "test", "PAYER_PEPPER": PEPPER,
                              "PAYMENT_CODE_KEY": CODE_KEY})
    assert PEPPER not in repr(settings) and CODE_KEY not in repr(settings)
