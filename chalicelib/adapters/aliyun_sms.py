"""Text messages through Alibaba Cloud SMS (阿里云短信服务) ``SendSms``, for the mainland regions.

Amazon SNS cannot text in the China regions, so there a domestic provider does. A request is
what the official SDK (``alibabacloud-dysmsapi20170525``) sends: ``POST https://dysmsapi.aliyuncs.com/``
with ``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` (a JSON object of
strings) and ``OutId`` (our event id, echoed in receipts) in the query, an empty body, API
version ``2017-05-25``, signed with Alibaba Cloud's V3 signature ``ACS3-HMAC-SHA256``, which the
documentation recommends over V2 ("V3版本请求体&签名机制",
help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature)::

    CanonicalRequest = METHOD \\n path \\n sorted RFC 3986 query \\n
                       lower-case "name:value\\n" of host, content-type and x-acs-* headers, sorted \\n
                       their names joined by ";" \\n hex SHA-256 of the body
    StringToSign     = "ACS3-HMAC-SHA256" \\n hex SHA-256 of CanonicalRequest
    Authorization    = ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=…,
                       Signature=<hex HMAC-SHA256 keyed with the AccessKey secret>

The answer is JSON ``{"Code", "Message", "BizId", "RequestId"}``; errors map here, once:

    Code "OK"                              → the BizId is the message id
    a code in ``REJECTED`` (bad number,    → SmsRejected: this message can never be sent
      template parameters, blacklist)
    any other code (flow control such as   → ServiceUnavailable: the job retries later
      isv.BUSINESS_LIMIT_CONTROL, balance,   (account problems reach the dead-letter queue)
      signature, isp.SYSTEM_ERROR)
    no JSON answer, a 5xx, a timeout       → ServiceUnavailable

SendSms is not idempotent ("不支持幂等"): a timeout may still have sent the text. No retry here;
the caller's exactly-once claim decides, and before it sends a retry it asks ``find_sent``
(``QuerySendDetails``, as Alibaba advises after a timeout) whether the earlier attempt went out.
Neither the number nor the secret is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.adapters.channel_http import Transport
from chalicelib.adapters.wall_clock import utc_now
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.masking import mask_phone, scrub_phones
from chalicelib.domain.sms import SmsMessage, SmsRejected

log = logging.getLogger(__name__)

ALGORITHM = "ACS3-HMAC-SHA256"
ACTION, VERSION = "SendSms", "2017-05-25"
QUERY_ACTION = "QuerySendDetails"
ENDPOINT = "https://dysmsapi.aliyuncs.com"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Refusals of this message itself (community list of dysmsapi codes): sending it again fails too.
REJECTED = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.INVALID_PARAMETERS",
})
_TEMPLATE_CODE = re.compile(r"^SMS_[0-9]{1,20}$")


def percent_encode(value: str) -> str:
    """RFC 3986: every byte of the UTF-8 text but ``A-Za-z0-9-_.~`` as %XX (space is %20)."""
    return quote(value, safe="-_.~")


def canonical_query(query: Mapping[str, str]) -> str:
    """The query as signed (and as sent): encoded names and values, sorted by encoded name."""
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """The headers that take part in the signature: host, content-type and every x-acs-*."""
    names = {name.lower() for name in headers}
    return sorted(n for n in names if n in ("host", "content-type") or n.startswith("x-acs-"))


def canonical_request(method: str, path: str, query: Mapping[str, str],
                      headers: Mapping[str, str], payload_hash: str) -> tuple[str, str]:
    """(CanonicalRequest, SignedHeaders) for a request."""
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    names = signed_header_names(lowered)
    lines = "".join(f"{name}:{lowered[name]}\n" for name in names)
    signed = ";".join(names)
    text = "\n".join([method.upper(), path or "/", canonical_query(query), lines, signed,
                      payload_hash])
    return text, signed


def signature(secret: str, canonical: str) -> str:
    """hex HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex SHA-256(canonical))."""
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    return hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key_id: str, secret: str, method: str, path: str,
                  query: Mapping[str, str], headers: Mapping[str, str],
                  payload_hash: str = EMPTY_SHA256) -> str:
    """The ``Authorization`` header of a request."""
    canonical, signed = canonical_request(method, path, query, headers, payload_hash)
    return (f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},"
            f"Signature={signature(secret, canonical)}")


@dataclass(frozen=True)
class AliyunSmsConfig:
    """The RAM user's AccessKey pair (dysms:SendSms only), the approved sign name, and the
    approved template code of each of our templates (``services/sms_templates.py``)."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str
    template_codes: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.access_key_secret:
            raise ValueError("the Alibaba Cloud SMS secret needs access_key_id and "
                             "access_key_secret")
        if not 2 <= len(self.sign_name) <= 12:  # 签名 2–12 characters
            raise ValueError("sign_name must be the approved sign name (2-12 characters)")
        bad = sorted(k for k, v in self.template_codes.items() if not _TEMPLATE_CODE.match(v))
        if bad:
            raise ValueError(f"template codes must look like SMS_123456789: {bad}")

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> AliyunSmsConfig:
        """From the secret's JSON: access_key_id, access_key_secret, sign_name and
        template_codes ({our template: "SMS_…"})."""
        return cls(access_key_id=str(data.get("access_key_id") or ""),
                   access_key_secret=str(data.get("access_key_secret") or ""),
                   sign_name=str(data.get("sign_name") or ""),
                   template_codes=dict(data.get("template_codes") or {}))




class AliyunSms:
    """SmsSender over Alibaba Cloud SMS ``SendSms`` (see the module docstring)."""

    name = "aliyun"

    def __init__(self, config: Callable[[], AliyunSmsConfig], endpoint: str,
                 transport: Transport, clock: Callable[[], datetime] = utc_now,
                 nonce: Callable[[], str] = lambda: secrets.token_hex(16)) -> None:
        self._config, self._transport = config, transport
        self._endpoint = endpoint.rstrip("/") + "/"
        self._clock, self._nonce = clock, nonce

    def request(self, phone: str, message: SmsMessage) -> tuple[str, dict[str, str]]:
        """The signed SendSms request for one message: (url, headers); the body is empty."""
        config = self._config()
        code = config.template_codes.get(message.template)
        if code is None:  # configuration, not this message: the job retries after a fix
            raise ServiceUnavailable(f"no approved Alibaba Cloud SMS template for "
                                     f"{message.template!r}", code="sms_unavailable")
        query = {"PhoneNumbers": phone, "SignName": config.sign_name, "TemplateCode": code,
                 "TemplateParam": json.dumps(dict(message.params), ensure_ascii=False,
                                             separators=(",", ":"))}
        if message.reference:  # OutId (< 256 characters) comes back in delivery receipts
            query["OutId"] = message.reference[:255]
        return self._signed(config, ACTION, query)

    def _signed(self, config: AliyunSmsConfig, action: str, query: dict[str, str]
                ) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self._endpoint)
        headers = {"host": parts.netloc, "x-acs-action": action, "x-acs-version": VERSION,
                   "x-acs-date": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "x-acs-signature-nonce": self._nonce(),
                   "x-acs-content-sha256": EMPTY_SHA256, "accept": "application/json"}
        headers["Authorization"] = authorization(config.access_key_id, config.access_key_secret,
                                                 "POST", parts.path or "/", query, headers)
        return f"{self._endpoint}?{canonical_query(query)}", headers

    def _call(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any], str]:
        reply = self._transport("POST", url, headers, b"")
        try:
            answer = json.loads(reply.body)
            code = str(answer.get("Code") or "")
        except (ValueError, AttributeError):
            raise ServiceUnavailable(f"Alibaba Cloud SMS answered HTTP {reply.status} without "
                                     "a JSON result", code="sms_unavailable") from None
        return reply.status, answer, code

    def send(self, phone: str, message: SmsMessage) -> str:
        status, answer, code = self._call(*self.request(phone, message))
        if status == 200 and code == "OK" and answer.get("BizId"):
            log.info("sms %s sent to %s biz_id=%s", message.template, mask_phone(phone),
                     answer["BizId"])
            return str(answer["BizId"])
        reason = _reason(status, answer, code)
        if code in REJECTED:
            raise SmsRejected(f"Alibaba Cloud SMS refused the message: {reason}")
        raise ServiceUnavailable(f"Alibaba Cloud SMS failed: {reason}", code="sms_unavailable")

    def find_sent(self, phone: str, reference: str, days: Iterable[date]) -> str | None:
        """Whether an earlier attempt of ``reference`` (our OutId) reached the provider after all:
        ``QuerySendDetails`` of the number on each China date in ``days`` (first page of 50).
        SendSms is not idempotent, and after a timeout Alibaba asks to query before retrying.
        Returns ``outid:<reference>`` when a record waits for its receipt or was delivered
        (SendStatus 1 or 3), None when there is none or it failed (2); raises
        ``ServiceUnavailable`` when it cannot tell, so nothing is sent blind."""
        config = self._config()
        for day in days:
            query = {"PhoneNumber": phone, "SendDate": day.strftime("%Y%m%d"),
                     "PageSize": "50", "CurrentPage": "1"}
            status, answer, code = self._call(*self._signed(config, QUERY_ACTION, query))
            if status != 200 or code != "OK":
                raise ServiceUnavailable("Alibaba Cloud SMS could not say whether the text "
                                         f"went out: {_reason(status, answer, code)}",
                                         code="sms_unavailable")
            details = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            for detail in details if isinstance(details, list) else []:
                if isinstance(detail, dict) and detail.get("OutId") == reference[:255] \
                        and int(detail.get("SendStatus") or 0) in (1, 3):
                    log.info("sms %s to %s found sent (status %s)", reference,
                             mask_phone(phone), detail.get("SendStatus"))
                    return f"outid:{reference}"
        return None


def _reason(status: int, answer: Mapping[str, Any], code: str) -> str:
    """The provider's refusal for a log line: code, message (numbers masked), status, request."""
    return scrub_phones(f"{code or 'no code'}: {str(answer.get('Message') or '')[:200]} "
                        f"(HTTP {status}, request {answer.get('RequestId', '')})")
