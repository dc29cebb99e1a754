"""Settings: the one place that reads the environment.

Every value comes from an environment variable set by the Chalice stage (``.chalice/config.json``),
the CloudFormation merge template (``infra/resources.json``) or the local stack. Secrets are not
here: they are fetched from Secrets Manager by name, lazily (``adapters/secrets.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TABLES = ("UNITS", "FEE_ITEMS", "NOTES", "IDEMPOTENCY", "CHANNEL_ORDERS", "PAYMENTS", "BILLS",
          "COUNTERS", "SIGNING_KEYS", "REIMBURSEMENTS", "AUDIT",
          "NUMBER_RANGES", "OTP", "SMS_LOG",
          "FINANCE_KEYS", "PEOPLE", "RECONCILIATIONS", "TEMPLATE_CHOICES", "UNIT_KEYS",
          "REMITTANCES", "BILL_TEMPLATES")

# PAYER_PEPPER: a server-side secret (32+ random bytes, e.g. ``openssl rand -base64 32``) that
# keys the HMAC of payers' phone numbers in the bills index and the OTP table, the OTP hashes and
# the payer session cookies. An 11-digit number is guessable from a plain hash; not from an HMAC
# whose key stays out of the database. Set it in production (the payer features refuse to run
# on this local default outside the local and test stages); changing it logs every payer out
# and leaves bills indexed under the old key unlisted until they are indexed again.
LOCAL_PAYER_PEPPER = "local-only-payer-pepper-not-secret"

# The stages that run on this machine (the local stack, the tests): only they may take
# PAYER_PEPPER and PAYMENT_CODE_KEY from the environment or fall back to public defaults.
# Every other stage reads both from Secrets Manager (``*_SECRET_ID``), lazily (bootstrap.py).
LOCAL_STAGES = ("local", "test")

_DEFAULT_FONTS = (
    Path(__file__).parent / "fonts" / "wqy-microhei.ttc",
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    aws_endpoint_url: str | None
    dynamodb_endpoint_url: str | None
    public_base_url: str
    tables: dict[str, str]
    archive_bucket: str
    issue_queue_url: str
    sms_queue_url: str
    signer: str  # "kms" | "local"
    local_keys_dir: str | None
    wechatpay_secret_id: str
    # The channels' API servers (locally: the simulator): WeChat Pay's API base, Alipay's
    # gateway.do, UnionPay's gateway host (its /gateway/api/… paths are fixed).
    channel_api_urls: dict[str, str]
    channel_secret_ids: dict[str, str]
    font_path: str
    region_name: str  # printed in bill titles, e.g. 安徽省
    supervisor_name: str  # the finance department, e.g. 安徽省财政厅
    enabled_channels: tuple[str, ...] = ("wechatpay", "alipay", "unionpay", "bank")
    payment_code_key: bytes = field(default=b"", repr=False)
    note_default_kind: str = "0301"
    sms_sender: str = field(default="财政电子票据")
    # Who delivers texts: "sns" (Amazon SNS; not in the China regions) or "aliyun" (Alibaba
    # Cloud SMS: its AccessKey, sign name and template codes in the secret ``sms_secret_id``).
    sms_provider: str = "sns"
    sms_secret_id: str = "fiscal/sms/aliyun"  # noqa: S105 - the secret's name, not a secret
    sms_api_url: str = "https://dysmsapi.aliyuncs.com"  # locally: the simulator
    # Keys the payer features derive from (phone index, OTP hashes, session cookies): see
    # LOCAL_PAYER_PEPPER. Never in repr, so never in a log line that prints the settings.
    payer_pepper: str = field(default=LOCAL_PAYER_PEPPER, repr=False)
    channel_timeout: float = 10.0  # seconds a channel's server may take to answer
    # Outside LOCAL_STAGES: the Secrets Manager ids of the two keys above (plain-text secrets).
    payer_pepper_secret_id: str = ""
    payment_code_key_secret_id: str = ""
    # The official account's web authorisation (JSAPI payment inside WeChat needs the payer's
    # openid): its {appid, secret} secret, WeChat's authorise host and its API host (locally:
    # the simulator's /weixin).
    wechat_oauth_secret_id: str = "fiscal/channels/wechat-oauth"  # noqa: S105 - a name
    wechat_open_base: str = "https://open.weixin.qq.com"
    wechat_api_base: str = "https://api.weixin.qq.com"
    # Refused channel notifications (services/intake.py): a bucket without Object Lock whose
    # lifecycle expires them after days; the write-once archive keeps verified ones only.
    rejected_intake_bucket: str = "fiscal-rejected-intake"
    # Remittance (划款): the accounts of the bank's instruction file, JSON {"collection" (the
    # 非税收入汇缴结算户 money is paid from), "treasury" (国库), "special" (财政专户): {name,
    # number, bank}}. Locally and in tests, demo accounts; elsewhere set REMITTANCE_ACCOUNTS,
    # or no day can be instructed.
    remittance_accounts: str = ""

    def table(self, name: str) -> str:
        return self.tables[name]


def _font_path() -> str:
    configured = os.environ.get("CJK_FONT_PATH")
    if configured:
        return configured
    for candidate in _DEFAULT_FONTS:
        if candidate.exists():
            return str(candidate)
    return str(_DEFAULT_FONTS[-1])


class SettingsError(RuntimeError):
    """Raised by ``load_settings`` when the environment cannot run safely: no STAGE, or a key
    that belongs in Secrets Manager set as a plain environment variable."""


def _stage(env: Mapping[str, str]) -> str:
    # Fail closed: without STAGE we cannot tell production from a developer's machine, and
    # guessing "local" would run production on the public default keys.
    stage = env.get("STAGE", "").strip()
    if not stage:
        raise SettingsError("STAGE is not set: set it to local, test or the deployed stage "
                            "(prod); refusing to guess")
    if stage not in LOCAL_STAGES:
        for name in ("PAYER_PEPPER", "PAYMENT_CODE_KEY"):
            if env.get(name):
                raise SettingsError(f"{name} is set in the environment of stage {stage}: "
                                    f"it belongs in Secrets Manager ({name}_SECRET_ID)")
    return stage


LOCAL_REMITTANCE_ACCOUNTS = json.dumps({
    "collection": {"name": "合肥市财政局非税收入汇缴结算户", "number": "34001000000000000001",
                   "bank": "中国工商银行合肥分行"},
    "treasury": {"name": "国家金库合肥市中心支库", "number": "27010000000000000001",
                 "bank": "中国人民银行合肥市中心支行"},
    "special": {"name": "合肥市财政局财政专户", "number": "34001000000000000002",
                "bank": "中国建设银行合肥分行"}}, ensure_ascii=False)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    stage = _stage(env)
    local = stage in LOCAL_STAGES
    prefix = env.get("TABLE_PREFIX", "fiscal-")
    tables = {name: env.get(f"TABLE_{name}", f"{prefix}{name.lower().replace('_', '-')}")
              for name in TABLES}
    return Settings(
        stage=stage,
        region=env.get("AWS_DEFAULT_REGION", env.get("AWS_REGION", "cn-north-1")),
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        dynamodb_endpoint_url=env.get("AWS_ENDPOINT_URL_DYNAMODB")
        or env.get("AWS_ENDPOINT_URL") or None,
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        tables=tables,
        archive_bucket=env.get("ARCHIVE_BUCKET", "fiscal-bill-archive"),
        rejected_intake_bucket=env.get("REJECTED_INTAKE_BUCKET", "fiscal-rejected-intake"),
        issue_queue_url=env.get("ISSUE_QUEUE_URL", "fiscal-issue-bill"),
        sms_queue_url=env.get("SMS_QUEUE_URL", "fiscal-send-sms"),
        signer=env.get("SIGNER", "kms"),
        local_keys_dir=env.get("LOCAL_KEYS_DIR") or None,
        wechatpay_secret_id=env.get("WECHATPAY_SECRET_ID", "fiscal/channels/wechatpay"),
        channel_api_urls={
            "wechatpay": env.get("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com"),
            "alipay": env.get("ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do"),
            "unionpay": env.get("UNIONPAY_GATEWAY", "https://gateway.95516.com"),
            # The agent banks' statement server (前置机): no national one, so no default.
            "bank": env.get("BANK_STATEMENT_BASE", ""),
        },
        channel_timeout=float(env.get("CHANNEL_TIMEOUT_SECONDS", "10")),
        wechat_oauth_secret_id=env.get("WECHAT_OAUTH_SECRET_ID", "fiscal/channels/wechat-oauth"),
        wechat_open_base=env.get("WECHAT_OPEN_BASE", "https://open.weixin.qq.com"),
        wechat_api_base=env.get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        channel_secret_ids={c: env.get(f"{c.upper()}_SECRET_ID", f"fiscal/channels/{c}")
                            for c in ("wechatpay", "alipay", "unionpay", "bank")},
        font_path=_font_path(),
        region_name=env.get("REGION_NAME", "安徽省"),
        supervisor_name=env.get("SUPERVISOR_NAME", "安徽省财政厅"),
        sms_provider=env.get("SMS_PROVIDER", "sns"),
        sms_secret_id=env.get("SMS_SECRET_ID", "fiscal/sms/aliyun"),
        sms_api_url=env.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com"),
        payer_pepper=(env.get("PAYER_PEPPER") or LOCAL_PAYER_PEPPER) if local else "",
        # The key of the payment-code permutation (domain/codes.py): a deployment secret. Only
        # the local and test stages take it from here (with a default); every other stage reads
        # it from Secrets Manager (bootstrap.Deps.payment_code_key).
        payment_code_key=(env.get("PAYMENT_CODE_KEY") or "local-payment-code-key").encode()
        if local else b"",
        payer_pepper_secret_id=env.get("PAYER_PEPPER_SECRET_ID", ""),
        payment_code_key_secret_id=env.get("PAYMENT_CODE_KEY_SECRET_ID", ""),
        remittance_accounts=env.get("REMITTANCE_ACCOUNTS") or (LOCAL_REMITTANCE_ACCOUNTS
                                                               if local else ""),
        enabled_channels=tuple(c.strip() for c in env.get(
            "ENABLED_CHANNELS", "wechatpay,alipay,unionpay,bank").split(",") if c.strip()),
    )
