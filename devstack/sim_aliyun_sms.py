"""Alibaba Cloud SMS (``dysmsapi``, ``SendSms`` 2017-05-25), played locally under ``/dysmsapi/``.

Like the real service it answers JSON ``{"Code", "Message", "RequestId", "BizId"}`` and checks,
in this order: the AccessKey id (``InvalidAccessKeyId.NotFound``), the V3 signature
``ACS3-HMAC-SHA256`` recomputed with the same AccessKey secret over the request as received
(``SignatureDoesNotMatch``), ``x-acs-date`` within 15 minutes (``InvalidTimeStamp.Expired``),
a fresh nonce (``SignatureNonceUsed``), the body's hash; then the message: one mainland mobile
(``isv.MOBILE_NUMBER_ILLEGAL``), the approved sign (``isv.SMS_SIGNATURE_ILLEGAL``) and template
(``isv.SMS_TEMPLATE_ILLEGAL``), ``TemplateParam`` a JSON object with exactly the template's
variables (``isv.TEMPLATE_MISSING_PARAMETERS``), each 1–35 characters, a code 4–6 digits
(``isv.TEMPLATE_PARAMS_ILLEGAL``), and the documented flow control of verification codes per
number: 1 a minute, 5 an hour, 10 a day (``isv.BUSINESS_LIMIT_CONTROL``). ``QuerySendDetails``
lists a number's messages of one date (with their ``OutId``), as Alibaba's does.

The "approved" templates are ours (``services/sms_templates.TEMPLATES``) under the codes of the
stack's state; a sent message is rendered from its template as the payer would read it and kept
in ``messages`` (tests read it; people read ``GET /_sim/sms``). ``fail_next(code)`` makes the
next send answer with that error code; ``lose_next_answer()`` sends the next message but answers
504, as a timeout after the provider accepted it would look.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.adapters.aliyun_sms import (
    ACTION,
    QUERY_ACTION,
    VERSION,
    canonical_request,
    signature,
)
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.services.phones import cn_mobile
from chalicelib.services.sms_templates import TEMPLATES, VARIABLE_MAX
from devstack.sim_common import ChannelState, Reply

_AUTH = re.compile(r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),"
                   r"Signature=([0-9a-f]{64})$")
_MANDATORY = ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date",
              "x-acs-signature-nonce", "x-acs-version")
CODE_LIMITS = ((timedelta(minutes=1), 1), (timedelta(hours=1), 5), (timedelta(days=1), 10))


class AliyunSmsServer:
    """The SMS provider's API and its record of the messages it sent."""

    def __init__(self, servers: ChannelState, stack: dict) -> None:
        self.s = servers
        state = stack["channels"]["aliyun_sms"]
        self.access_key_id, self.secret = state["access_key_id"], state["access_key_secret"]
        self.sign_name = state["sign_name"]
        self.templates = {code: TEMPLATES[key] for key, code in state["template_codes"].items()
                          if key in TEMPLATES}
        self.site = stack["base_url"].rstrip("/")
        self.messages: list[dict[str, Any]] = []
        self.nonces: set[str] = set()
        self.failures: list[str] = []
        self.lost_answers = 0

    def fail_next(self, code: str, n: int = 1) -> None:
        self.failures.extend([code] * n)

    def lose_next_answer(self) -> None:
        """The next message is sent but its answer is lost (the caller sees a 504)."""
        self.lost_answers += 1

    def answer(self, status: int, code: str, message: str, **extra: Any) -> Reply:
        body = {"Code": code, "Message": message,
                "RequestId": secrets.token_hex(16).upper(), **extra}
        return Reply(status, {"Content-Type": "application/json;charset=utf-8"},
                     json.dumps(body, ensure_ascii=False).encode())

    def handle(self, method: str, path: str, raw_query: str, headers: dict[str, str],
               body: bytes) -> Reply:
        if method == "GET" and path.rstrip("/") == "/_sim/sms":
            return Reply(200, {"Content-Type": "application/json;charset=utf-8"},
                         json.dumps(self.messages, ensure_ascii=False, indent=1).encode())
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        refused = self.authenticate(method, path, query, headers, body)
        if refused is not None:
            return refused
        action = headers.get("x-acs-action")
        if action not in (ACTION, QUERY_ACTION) or headers.get("x-acs-version") != VERSION:
            return self.answer(400, "InvalidAction.NotFound", "Specified api is not found")
        with self.s.lock:
            if action == QUERY_ACTION:
                return self.details(query)
            reply = self.send(query)
            if self.lost_answers and json.loads(reply.body)["Code"] == "OK":
                self.lost_answers -= 1  # sent, but the answer never arrives: a gateway timeout
                return Reply(504, {"Content-Type": "text/html"}, b"<html>504 Gateway Time-out")
            return reply

    def details(self, query: dict[str, str]) -> Reply:
        """``QuerySendDetails``: the number's messages of one China date (SendStatus 3, as the
        simulator delivers at once), 50 a page."""
        phone, day = query.get("PhoneNumber", ""), query.get("SendDate", "")
        if cn_mobile(phone) != phone or not re.fullmatch(r"[0-9]{8}", day):
            return self.answer(200, "isv.INVALID_PARAMETERS", "参数异常")
        size = min(50, max(1, int(query.get("PageSize") or 10)))
        page = max(1, int(query.get("CurrentPage") or 1))
        found = [m for m in self.messages if m["phone"] == phone
                 and datetime.fromisoformat(m["at"]).astimezone(CHINA_TZ).strftime("%Y%m%d") == day]
        dtos = [{"PhoneNum": m["phone"], "SendStatus": 3, "ErrCode": "DELIVERED",
                 "TemplateCode": m["template_code"], "Content": m["text"], "OutId": m["out_id"],
                 "SendDate": m["at"], "ReceiveDate": m["at"]}
                for m in found[(page - 1) * size:page * size]]
        return self.answer(200, "OK", "OK", TotalCount=str(len(found)),
                           SmsSendDetailDTOs={"SmsSendDetailDTO": dtos})

    def authenticate(self, method: str, path: str, query: dict[str, str],
                     headers: dict[str, str], body: bytes) -> Reply | None:
        match = _AUTH.match(headers.get("authorization", ""))
        if match is None:
            return self.answer(400, "IncompleteSignature", "The request signature does not "
                               "conform to Aliyun standards.")
        key_id, signed, given = match.groups()
        if key_id != self.access_key_id:
            return self.answer(404, "InvalidAccessKeyId.NotFound",
                               "Specified access key is not found.")
        names = signed.split(";")
        if any(n not in names for n in _MANDATORY) or any(n not in headers for n in names):
            return self.answer(400, "IncompleteSignature", "Signed headers are incomplete.")
        canonical, _ = canonical_request(method, path, query, {n: headers[n] for n in names},
                                         headers["x-acs-content-sha256"])
        if not hmac.compare_digest(signature(self.secret, canonical), given):
            return self.answer(400, "SignatureDoesNotMatch", "Specified signature is not "
                               "matched with our calculation.")
        if hashlib.sha256(body).hexdigest() != headers["x-acs-content-sha256"]:
            return self.answer(400, "InvalidParameter.ContentSHA256",
                               "x-acs-content-sha256 does not match the body.")
        try:
            sent_at = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return self.answer(400, "InvalidTimeStamp.Format", "Specified time stamp or date "
                               "value is not well formatted.")
        if abs(self.s.clock() - sent_at) > timedelta(minutes=15):
            return self.answer(400, "InvalidTimeStamp.Expired",
                               "Specified time stamp or date value is expired.")
        nonce = headers["x-acs-signature-nonce"]
        with self.s.lock:
            if nonce in self.nonces:
                return self.answer(400, "SignatureNonceUsed",
                                   "Specified signature nonce was used already.")
            self.nonces.add(nonce)
        return None

    def send(self, query: dict[str, str]) -> Reply:
        if self.failures:
            code = self.failures.pop(0)
            return self.answer(200, code, f"simulated failure {code}")
        phone = cn_mobile(query.get("PhoneNumbers", ""))
        if phone is None or "," in query.get("PhoneNumbers", ""):
            return self.answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if query.get("SignName") != self.sign_name:
            return self.answer(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(query.get("TemplateCode", ""))
        if template is None:
            return self.answer(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            return self.answer(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return self.answer(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if set(params) != set(template.variables):
            return self.answer(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        if any(not 1 <= len(v) <= VARIABLE_MAX for v in params.values()) or (
                template.kind == "code"
                and not all(re.fullmatch(r"[0-9]{4,6}", v) for v in params.values())):
            return self.answer(200, "isv.TEMPLATE_PARAMS_ILLEGAL", "模板变量里包含非法关键字")
        now = self.s.clock()
        if template.kind == "code" and self._over_code_limit(phone, now):
            return self.answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控")
        biz_id = f"{secrets.randbelow(10**15):015d}^{secrets.randbelow(10**10):010d}"
        self.messages.append({
            "biz_id": biz_id, "phone": phone, "sign_name": self.sign_name,
            "template_code": query["TemplateCode"], "template": template.key,
            "params": params, "out_id": query.get("OutId", ""), "at": now.isoformat(),
            "kind": template.kind,
            "text": f"【{self.sign_name}】{template.render(self.site, params)}"})
        return self.answer(200, "OK", "OK", BizId=biz_id)

    def _over_code_limit(self, phone: str, now: datetime) -> bool:
        sent = [datetime.fromisoformat(m["at"]) for m in self.messages
                if m["phone"] == phone and m["kind"] == "code"]
        return any(sum(1 for at in sent if now - at < window) >= most
                   for window, most in CODE_LIMITS)
