"""Wiring: builds the real adapters once, lazily, on first use (cold starts stay cheap).

Tests build a ``Deps`` with fakes instead (``tests/fakes.py``) or with these adapters on moto.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, TypeVar, cast

from chalicelib.adapters.wall_clock import utc_now
from chalicelib.config import Settings, load_settings
from chalicelib.services.ports import (
    Archive,
    AuditLog,
    BillFileChecker,
    BillRenderer,
    BillRepository,
    BillTemplateStore,
    ChannelApi,
    Clock,
    CounterRepository,
    DailyActivity,
    FinanceKeyRepository,
    IdempotencyStore,
    JobQueue,
    JobState,
    KeyRegistry,
    MessageVerifier,
    Metrics,
    NoteIndex,
    NoteRepository,
    NoticeRenderer,
    NotificationVerifier,
    OfdBillRenderer,
    OtpStore,
    PayerBillIndex,
    PayerIdentity,
    PaymentRecorder,
    PeopleStore,
    RangeRepository,
    ReconciliationStore,
    RefundStore,
    ReimbursementRepository,
    RemittanceStore,
    ReportRenderer,
    Signer,
    SmsLog,
    SmsSender,
    StatementSource,
    TemplateChoices,
    UnitRepository,
)

T = TypeVar("T")
MIN_SECRET_CHARS = 32  # PAYER_PEPPER and PAYMENT_CODE_KEY: 32+ random characters




@dataclass
class Deps:
    """Everything a service may need (``services.ports.Ports``). Each adapter is built on first
    access; ``overrides`` holds what is built, and what a test or the local stack put there
    instead (by property name: ``"notes"``, ``"wechatpay_api"``, ...)."""

    settings: Settings
    clock: Clock = utc_now
    overrides: dict[str, Any] = field(default_factory=dict)

    def at(self, clock: Clock) -> Deps:
        """The same adapters (shared, not copied), with time read from ``clock``."""
        return replace(self, clock=clock, overrides=self.overrides)

    def _get(self, name: str, build: Callable[[], T]) -> T:
        if name not in self.overrides:
            self.overrides[name] = build()
        return self.overrides[name]

    def _table(self, name: str, build: Callable[[], T]) -> T:
        """A DynamoDB adapter, built once the tables are configured."""
        return self._get(name, lambda: (self._dynamo, build())[1])

    @cached_property
    def _dynamo(self) -> bool:
        from chalicelib.adapters import dynamo_models

        dynamo_models.configure(self.settings)
        return True

    def _client(self, service: str) -> Any:
        from chalicelib.adapters.aws import client

        return client(service, self.settings)

    @property
    def units(self) -> UnitRepository:
        from chalicelib.adapters.cached_units import CachedUnits
        from chalicelib.adapters.dynamo_units import DynamoUnits

        return self._table("units", lambda: CachedUnits(DynamoUnits()))

    @property
    def finance_keys(self) -> FinanceKeyRepository:
        from chalicelib.adapters.dynamo_finance_keys import DynamoFinanceKeys

        return self._table("finance_keys", DynamoFinanceKeys)

    @property
    def note_index(self) -> NoteIndex:
        from chalicelib.adapters.dynamo_note_index import DynamoNoteIndex

        return self._table("note_index", DynamoNoteIndex)

    @property
    def notes(self) -> NoteRepository:
        from chalicelib.adapters.dynamo_notes import DynamoNotes

        return self._table("notes", DynamoNotes)

    @property
    def counters(self) -> CounterRepository:
        from chalicelib.adapters.dynamo_notes import DynamoCounters

        return self._table("counters", DynamoCounters)

    @property
    def template_choices(self) -> TemplateChoices:
        from chalicelib.adapters.dynamo_template_choices import DynamoTemplateChoices

        return self._table("template_choices", DynamoTemplateChoices)

    @property
    def bill_templates(self) -> BillTemplateStore:
        from chalicelib.adapters.dynamo_bill_templates import DynamoBillTemplates

        return self._table("bill_templates", DynamoBillTemplates)

    @property
    def idempotency(self) -> IdempotencyStore:
        from chalicelib.adapters.dynamo_notes import DynamoIdempotency

        return self._table("idempotency", DynamoIdempotency)

    @property
    def payments(self) -> PaymentRecorder:
        from chalicelib.adapters.dynamo_payments import DynamoPaymentRecorder

        return self._table("payments", DynamoPaymentRecorder)

    @property
    def bills(self) -> BillRepository:
        from chalicelib.adapters.dynamo_bills import DynamoBills

        return self._table("bills", DynamoBills)

    @property
    def ranges(self) -> RangeRepository:
        from chalicelib.adapters.dynamo_ranges import DynamoRanges

        return self._table("ranges", DynamoRanges)

    @property
    def keys(self) -> KeyRegistry:
        from chalicelib.adapters.dynamo_bills import DynamoKeys

        return self._table("keys", DynamoKeys)

    @property
    def reimbursements(self) -> ReimbursementRepository:
        from chalicelib.adapters.dynamo_reimbursements import DynamoReimbursements

        return self._table("reimbursements", DynamoReimbursements)

    @property
    def audit(self) -> AuditLog:
        from chalicelib.adapters.dynamo_reimbursements import DynamoAudit

        return self._table("audit", DynamoAudit)

    @property
    def people(self) -> PeopleStore:
        from chalicelib.adapters.dynamo_people import DynamoPeople

        return self._table("people", DynamoPeople)

    @property
    def archive(self) -> Archive:
        from chalicelib.adapters.s3_archive import S3Archive

        return self._get("archive", lambda: S3Archive(self._client("s3"),
                                                       self.settings.archive_bucket))

    @property
    def rejected_intake(self) -> Archive:
        """Refused channel notifications: a bucket whose lifecycle expires them (intake.py)."""
        from chalicelib.adapters.s3_archive import S3Archive

        return self._get("rejected_intake", lambda: S3Archive(
            self._client("s3"), self.settings.rejected_intake_bucket))

    @property
    def jobs(self) -> JobQueue:
        from chalicelib.adapters.sqs_jobs import SqsJobs

        return self._get("jobs", lambda: SqsJobs(self._client("sqs"),
                                                 self.settings.issue_queue_url,
                                                 self.settings.sms_queue_url))

    @property
    def sms(self) -> SmsSender:
        """The text message provider named by ``SMS_PROVIDER``: ``sns`` (Amazon SNS) or
        ``aliyun`` (Alibaba Cloud SMS, for the China regions, where SNS cannot text)."""

        def build():
            if self.settings.sms_provider == "aliyun":
                from chalicelib.adapters.aliyun_sms import AliyunSms, AliyunSmsConfig

                def config() -> AliyunSmsConfig:  # read on each send: a rotated key is used
                    return AliyunSmsConfig.from_secret(
                        self.secrets.json(self.settings.sms_secret_id))

                return AliyunSms(config, self.settings.sms_api_url, self.channel_http,
                                 self.clock)
            if self.settings.sms_provider != "sns":
                raise RuntimeError(f"unknown SMS_PROVIDER {self.settings.sms_provider!r}")
            if self.settings.region.startswith("cn-") and self.settings.stage not in (
                    "local", "test"):  # fail loudly rather than lose every payer's text
                raise RuntimeError("Amazon SNS cannot send SMS in the China regions: set "
                                   "SMS_PROVIDER=aliyun")
            from chalicelib.adapters.sns_sms import SnsSms

            return SnsSms(self._client("sns"), self.settings.sms_sender)

        return self._get("sms", build)

    @property
    def job_state(self) -> JobState:
        """Where scheduled jobs keep their progress between invocations (the counters table)."""
        from chalicelib.adapters.dynamo_job_state import DynamoJobState

        return self._get("job_state", lambda: DynamoJobState(self.settings))

    @property
    def activity(self) -> DailyActivity:
        from chalicelib.adapters.dynamo_activity import DynamoActivity

        return self._table("activity", DynamoActivity)

    @property
    def sms_log(self) -> SmsLog:
        from chalicelib.adapters.dynamo_sms_log import DynamoSmsLog

        return self._table("sms_log", DynamoSmsLog)

    @property
    def otp(self) -> OtpStore:
        from chalicelib.adapters.dynamo_otp import DynamoOtp

        return self._table("otp", DynamoOtp)

    @property
    def payer_bills(self) -> PayerBillIndex:
        from chalicelib.adapters.dynamo_payer_bills import DynamoPayerBills

        return self._table("payer_bills", DynamoPayerBills)

    @property
    def payer_pepper(self) -> str:
        """The secret behind phone keys, OTP hashes and payer sessions: outside the local and
        test stages, the secret ``PAYER_PEPPER_SECRET_ID`` in Secrets Manager, never a default."""
        return self._stage_secret("PAYER_PEPPER", self.settings.payer_pepper,
                                  self.settings.payer_pepper_secret_id)

    @property
    def payment_code_key(self) -> bytes:
        """The key of the payment-code permutation; outside the local and test stages, the
        secret ``PAYMENT_CODE_KEY_SECRET_ID`` in Secrets Manager."""
        return self._stage_secret("PAYMENT_CODE_KEY", self.settings.payment_code_key.decode(),
                                  self.settings.payment_code_key_secret_id).encode()

    def _stage_secret(self, name: str, local_value: str, secret_id: str) -> str:
        from chalicelib.config import LOCAL_STAGES
        from chalicelib.domain.errors import ServiceUnavailable

        if self.settings.stage in LOCAL_STAGES:
            return local_value
        if not secret_id:
            raise ServiceUnavailable(f"{name}_SECRET_ID is not configured for this stage")
        value = self.secrets.text(secret_id)
        if len(value) < MIN_SECRET_CHARS:  # an empty or placeholder secret: refuse, not guess
            raise ServiceUnavailable(f"{name} secret is shorter than {MIN_SECRET_CHARS} chars")
        return value

    @property
    def remittances(self) -> RemittanceStore:
        from chalicelib.adapters.dynamo_remittances import DynamoRemittances

        return self._table("remittances", DynamoRemittances)

    @property
    def report_renderer(self) -> ReportRenderer:
        """The weekly report's PDF, drawn with the deployment's CJK font."""
        from chalicelib.adapters.pdf_report import PdfReportRenderer

        return self._get("report_renderer", lambda: PdfReportRenderer(
            self.settings.font_path, self.settings.region_name))

    @property
    def notice_renderer(self) -> NoticeRenderer:
        """The payment notice's PDF, drawn with the deployment's CJK font."""
        from chalicelib.adapters.pdf_notice import PdfNoticeRenderer

        return self._get("notice_renderer", lambda: PdfNoticeRenderer(self.settings.font_path))

    @property
    def signer(self) -> Signer:
        from chalicelib.adapters.signers import KmsSigner, LocalSigner

        def build():
            if self.settings.signer == "local":
                if not self.settings.local_keys_dir:
                    raise RuntimeError("SIGNER=local needs LOCAL_KEYS_DIR")
                return LocalSigner(self.settings.local_keys_dir)
            return KmsSigner(self._client("kms"))

        return self._get("signer", build)

    @property
    def secrets(self):
        from chalicelib.adapters.secrets import Secrets

        return self._get("secrets", lambda: Secrets(self._client("secretsmanager")))

    def channel(self, name: str) -> Any:
        """A channel's verified configuration, from its secret (cached with the secret)."""
        from chalicelib.adapters import alipay, bank, unionpay, wechatpay

        if name in self.overrides:
            return self.overrides[name]
        builders: dict[str, Any] = {"wechatpay": wechatpay.WechatPayConfig, "alipay": alipay.AlipayConfig,
                    "unionpay": unionpay.UnionPayConfig, "bank": bank.BankConfig}
        data = self.secrets.json(self.settings.channel_secret_ids[name])
        cached = self.overrides.get(f"_{name}_cfg")
        if cached is None or cached[0] is not data:
            cached = (data, builders[name].from_secret(data))
            self.overrides[f"_{name}_cfg"] = cached
        return cached[1]

    def wechatpay(self) -> Any:
        return self.channel("wechatpay")

    def gather(self, *calls: Callable[[], Any], at_most: int | None = None) -> list[Any]:
        """Independent reads at the same time, ``at_most`` at once when given
        (``adapters/fan_out``)."""
        from chalicelib.adapters.fan_out import gather

        return gather(*calls, at_most=at_most)

    def notices(self, channel: str) -> NotificationVerifier:
        """The verifier of a channel's notifications; its configuration is read on use."""
        from chalicelib.adapters.notices import NOTICES

        return self._get(f"{channel}_notices",
                         lambda: NOTICES[channel](lambda: self.channel(channel)))

    def messages(self, channel: str) -> MessageVerifier:
        """The verifier of a channel's open-platform messages: Alipay's notices verifier,
        which reads them too (``adapters/notices.AlipayNotices.message``)."""
        if channel != "alipay":
            raise KeyError(f"{channel} sends no open-platform messages")
        return cast(MessageVerifier, self.notices(channel))

    @property
    def bill_files(self) -> BillFileChecker:
        from chalicelib.adapters.bill_files import BillFiles

        return self._get("bill_files", BillFiles)

    @property
    def metrics(self) -> Metrics:
        """CloudWatch's custom metrics; on the local stack (no CloudWatch), a log line."""
        from chalicelib.adapters.cloudwatch_metrics import CloudWatchMetrics, LoggedMetrics

        return self._get("metrics", lambda: LoggedMetrics() if self.settings.stage == "local"
                         else CloudWatchMetrics(self._client("cloudwatch"),
                                                self.settings.stage, self.clock))

    @property
    def renderer(self) -> BillRenderer:
        from chalicelib.adapters.pdf_bill import PdfBillRenderer

        return self._get("renderer", lambda: PdfBillRenderer(self.settings.font_path,
                                                             self.settings.supervisor_name))

    @property
    def ofd_renderer(self) -> OfdBillRenderer:
        from chalicelib.adapters.ofd_bill import OfdBillRenderer as Renderer

        return self._get("ofd_renderer", lambda: Renderer(self.settings.font_path,
                                                          self.settings.supervisor_name,
                                                          self.signer))

    @property
    def refunds(self) -> RefundStore:
        from chalicelib.adapters.dynamo_refunds import DynamoRefunds

        return self._table("refunds", DynamoRefunds)

    @property
    def reconciliations(self) -> ReconciliationStore:
        from chalicelib.adapters.dynamo_reconciliations import DynamoReconciliations

        return self._table("reconciliations", DynamoReconciliations)

    def statements(self, channel: str) -> StatementSource:
        """A channel's statement source: its API client; the agent banks' statement server."""
        if f"{channel}_statements" in self.overrides:
            return self.overrides[f"{channel}_statements"]
        if channel != "bank":
            return self.channel_api(channel)  # type: ignore[return-value]
        from chalicelib.adapters.bank import BankStatements

        return BankStatements(self.channel("bank"), self.settings.channel_api_urls.get("bank", ""),
                              self.channel_http, self.clock)

    @property
    def channel_http(self):
        """How we reach the channels' servers (tests put the simulator here, in-process)."""
        from chalicelib.adapters.channel_http import UrllibTransport

        return self._get("channel_http",
                         lambda: UrllibTransport(self.settings.channel_timeout))

    @property
    def wechat_oauth(self) -> PayerIdentity:
        """The official account's web authorisation, from its secret (cached with the secret)."""
        if "wechat_oauth" in self.overrides:
            return self.overrides["wechat_oauth"]
        from chalicelib.adapters.wechat_oauth import WechatOAuth, WechatOAuthConfig
        from chalicelib.domain.errors import ServiceUnavailable

        data = self.secrets.json(self.settings.wechat_oauth_secret_id)
        cached = self.overrides.get("_wechat_oauth_cfg")
        if cached is None or cached[0] is not data:
            try:
                config = WechatOAuthConfig.from_secret(data)
            except (KeyError, ValueError, TypeError) as exc:
                raise ServiceUnavailable("the official account's secret is incomplete") from exc
            cached = (data, WechatOAuth(config, self.settings.wechat_open_base,
                                        self.settings.wechat_api_base, self.channel_http))
            self.overrides["_wechat_oauth_cfg"] = cached
        return cached[1]

    def channel_api(self, name: str) -> ChannelApi:
        """The client of a channel's server (ChannelApi), from its current secret."""
        if f"{name}_api" in self.overrides:
            return self.overrides[f"{name}_api"]
        from chalicelib.adapters import alipay, unionpay, wechatpay

        clients: dict[str, Any] = {"wechatpay": wechatpay.WechatPayApi,
                                   "alipay": alipay.AlipayApi,
                                   "unionpay": unionpay.UnionPayApi}
        return clients[name](self.channel(name), self.settings.channel_api_urls[name],
                             self.channel_http, self.clock)


_deps: Deps | None = None


def deps() -> Deps:
    """The process-wide dependencies, built on first call."""
    global _deps
    if _deps is None:
        _deps = Deps(settings=load_settings())
    return _deps


def use(replacement: Deps | None) -> None:
    """Install ``replacement`` as the process-wide dependencies (tests, local stack)."""
    global _deps
    _deps = replacement
