"""Alipay open API (gateway ``…/gateway.do``), the calls we make: wap and page pay, trade
query, refund, and the day's trade bill (``statement``; its format in ``bill.py``).

A request is the common parameters (``app_id``, ``method``, ``format`` JSON, ``charset`` utf-8,
``sign_type`` RSA2, ``timestamp``, ``version`` 1.0, optional ``notify_url``/``return_url``) and
``biz_content`` (JSON), signed with OUR application key: RSA PKCS#1 v1.5 SHA-256 over every
non-empty parameter but ``sign`` (``sign_type`` included), sorted by key, ``k=v&…``.

``alipay.trade.wap.pay`` and ``alipay.trade.page.pay`` are pages: the signed GET URL is where the
payer's browser goes. The
others are server-to-server: the synchronous answer ``{"<method>_response": {…}, "sign": "…"}``
is verified with ALIPAY's public key over the exact text of the ``…_response`` value before it
is read. Errors: the transport raises ``ServiceUnavailable`` for the network; a 5xx, an answer
that fails verification, or Alipay's code 20000 (service unavailable) is ``ServiceUnavailable``
too; a business refusal (40004) is answered per call.

Third-party application authorisation (第三方应用授权): a call for a unit's own merchant (an
order's ``merchant``, its seller_id) carries that merchant's ``app_auth_token`` as a common
request parameter (String(40), "详见应用授权概述"), signed with the others by OUR key: the
call is made by our application on the merchant's behalf, and Alipay answers about the
merchant's trades, signed as always. A call for the deployment's merchant carries none and is
byte for byte what it was. Code 20001 (授权权限不足: ``aop.invalid-app-auth-token``,
``aop.app-auth-token-time-out``, ``aop.invalid-app-auth-token-no-api``) is
``ServiceUnavailable``: the merchant must authorise us again, then the call is retried. Each
authorised merchant has its own trade bill (``merchant_statement``): asked for with its token,
the file is named after its PID ("使用第三方应用授权调用 userId 和 downloadFileName 中的 pid
… 是授权商户 app_auth_token 对应的 pid"), which is checked. Before a merchant is kept, its token
is shown to Alipay (``authorisation``: ``alipay.open.auth.token.app.query``), which says who
granted it and whether it holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.alipay.bill import parse_bill_zip
from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.adapters.alipay.verify import PAID_STATUSES
from chalicelib.adapters.channel_http import Transport
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.domain.merchants import Authorisation
from chalicelib.domain.money import fen_to_yuan, yuan_to_fen
from chalicelib.domain.payments import (
    ChannelOrder,
    Checkout,
    Payment,
    RefundRequest,
    RefundResult,
)
from chalicelib.domain.statements import Statement, StatementFile, StatementInvalid

_TIME = "%Y-%m-%d %H:%M:%S"
FORM = "application/x-www-form-urlencoded;charset=utf-8"
NOT_FOUND = "ACQ.TRADE_NOT_EXIST"
BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
AUTH_QUERY = "alipay.open.auth.token.app.query"
NO_BILL = ("isp.bill_not_exist", "bill_not_exist")
RETRY_LATER = ("ACQ.SYSTEM_ERROR", "ACQ.SELLER_BALANCE_NOT_ENOUGH", "aop.ACQ.SYSTEM_ERROR")
NO_AUTHORISATION = "20001"  # 授权权限不足: an app_auth_token invalid, expired or not for the API


def request_signing_string(params: Mapping[str, str]) -> str:
    """Every non-empty parameter but ``sign``, sorted by key, ``k=v&…`` (not encoded)."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def sign_request(params: Mapping[str, str], private_key: RSAPrivateKey) -> dict[str, str]:
    """``params`` with their ``sign`` (RSA2, our application key)."""
    sign = private_key.sign(request_signing_string(params).encode("utf-8"), PKCS1v15(), SHA256())
    return {**params, "sign": base64.b64encode(sign).decode("ascii")}


def response_text(raw: str, response_key: str) -> str:
    """The exact text of the ``response_key`` value in a synchronous answer: what Alipay signed."""
    at = raw.find(f'"{response_key}"')
    if at < 0:
        raise ValueError(f"no {response_key} in the answer")
    start = raw.index(":", at + len(response_key) + 2) + 1
    while raw[start] in " \t\r\n":
        start += 1
    _, end = json.JSONDecoder().raw_decode(raw, start)
    return raw[start:end]


class AlipayApi:
    """The channel client: ``checkout``, ``query``, ``refund`` (ChannelApi in ports)."""

    channel = "alipay"

    def __init__(self, config: AlipayConfig, gateway: str, transport: Transport,
                 clock: Callable[[], datetime]) -> None:
        if config.app_private_key is None:
            raise ServiceUnavailable("Alipay application key is not configured")
        self.config, self.gateway, self.transport, self.clock = config, gateway, transport, clock

    def params(self, method: str, biz_content: dict[str, Any], token: str = "",
               **extra: str) -> dict[str, str]:
        """The signed parameters of one request; ``token``, a unit's merchant's
        app_auth_token, is one of them when the request is made for that merchant."""
        assert self.config.app_private_key is not None
        params = {"app_id": self.config.app_id, "method": method, "format": "JSON",
                  "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
                  "timestamp": self.clock().astimezone(CHINA_TZ).strftime(_TIME),
                  **({"app_auth_token": token} if token else {}),
                  "biz_content": json.dumps(biz_content, ensure_ascii=False,
                                            separators=(",", ":")), **extra}
        return sign_request(params, self.config.app_private_key)

    def call(self, method: str, biz_content: dict[str, Any], token: str = "") -> dict[str, Any]:
        """A server-to-server call (for a unit's merchant with its ``token``); the verified
        ``…_response`` object."""
        body = urlencode(self.params(method, biz_content, token)).encode("ascii")
        reply = self.transport("POST", self.gateway, {"Content-Type": FORM,
                                                      "Accept": "application/json"}, body)
        if reply.status != 200:
            raise ServiceUnavailable(f"Alipay {method}: HTTP {reply.status}")
        key = method.replace(".", "_") + "_response"
        try:
            raw = reply.body.decode("utf-8")
            sign = json.loads(raw).get("sign")
            text = response_text(raw, key)
            self.config.alipay_public_key.verify(base64.b64decode(sign or "", validate=True),
                                                 text.encode("utf-8"), PKCS1v15(), SHA256())
            data = json.loads(text)
        except (ValueError, AttributeError, binascii.Error, InvalidSignature) as exc:
            raise ServiceUnavailable(f"Alipay {method}: answer not authentic "
                                     f"({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise ServiceUnavailable(f"Alipay {method}: answer is not an object")
        if data.get("code") == "20000" or data.get("sub_code") in RETRY_LATER:
            raise ServiceUnavailable(f"Alipay {method}: {_why(data)}")
        if data.get("code") == NO_AUTHORISATION:
            raise ServiceUnavailable(f"Alipay {method}: the merchant's authorisation of our "
                                     f"application is not valid, it must authorise again "
                                     f"({_why(data)})")
        return data

    def authorisation(self, token: str) -> Authorisation | None:
        """``alipay.open.auth.token.app.query`` (biz ``{"app_auth_token"}``): who granted the
        token (``user_id``, ``auth_app_id``) and its ``status`` (valid | invalid); None when
        Alipay knows no such authorisation of our application."""
        data = self.call(AUTH_QUERY, {"app_auth_token": token})
        if data.get("code") != "10000":
            return None
        return Authorisation(merchant_id=str(data.get("user_id", "")),
                             app_id=str(data.get("auth_app_id", "")),
                             valid=data.get("status") == "valid",
                             ends=str(data.get("auth_end", "")))

    def checkout(self, order: ChannelOrder, *, description: str, notify_url: str,
                 return_url: str, client_ip: str, payer: str | None = None) -> Checkout:
        """The signed gateway URL the payer's browser opens: ``alipay.trade.wap.pay`` on a
        phone (inside the Alipay app it opens the app's own cashier), ``alipay.trade.page.pay``
        (电脑网站支付, product FAST_INSTANT_TRADE_PAY) on a desktop, whose cashier shows a QR
        code to scan with Alipay or a login to pay on the computer."""
        del client_ip, payer  # Alipay sees the browser itself
        token = _token_of(order.merchant, order.merchant_token)
        left = datetime.fromisoformat(order.expires_at) - self.clock()
        minutes = max(1, min(15 * 24 * 60, math.floor(left.total_seconds() / 60)))
        biz: dict[str, Any] = {
            "out_trade_no": order.out_trade_no, "total_amount": fen_to_yuan(order.amount_fen),
            "subject": description[:256], "timeout_express": f"{minutes}m"}
        if order.mode == "page":
            method, biz["product_code"] = "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"
        else:
            method = "alipay.trade.wap.pay"
            biz.update(product_code="QUICK_WAP_WAY", quit_url=return_url)
        params = self.params(method, biz, token, notify_url=notify_url, return_url=return_url)
        return Checkout(pay_url=f"{self.gateway}?{urlencode(params)}")

    def query(self, order: ChannelOrder) -> Payment | None:
        """``alipay.trade.query``: the payment, if the trade is paid (TRADE_SUCCESS/FINISHED).
        An order of a unit's merchant is asked about with its token: the answer is about that
        merchant's trade, and the payment names it."""
        data = self.call("alipay.trade.query", {"out_trade_no": order.out_trade_no},
                         _token_of(order.merchant, order.merchant_token))
        if data.get("code") != "10000":
            if data.get("sub_code") == NOT_FOUND:
                return None  # the payer never reached the cashier
            raise ServiceUnavailable(f"Alipay trade query failed: {_why(data)}")
        if data.get("trade_status") not in PAID_STATUSES:
            return None
        if data.get("out_trade_no") != order.out_trade_no or not data.get("trade_no"):
            raise ServiceUnavailable("Alipay answered about another trade")
        try:
            amount = yuan_to_fen(str(data.get("total_amount")))
            paid = datetime.strptime(str(data.get("send_pay_date")), _TIME)
        except (ValidationFailed, ValueError):
            raise ServiceUnavailable("Alipay trade query: malformed amount or time") from None
        return Payment(channel=self.channel, channel_txn_id=str(data["trade_no"]),
                       out_trade_no=order.out_trade_no, amount_fen=amount,
                       paid_at=paid.replace(tzinfo=CHINA_TZ).isoformat(timespec="seconds"),
                       notification_id="query", merchant=order.merchant)

    def refund(self, request: RefundRequest) -> RefundResult:
        """``alipay.trade.refund``, synchronous; the same out_request_no is the same refund. A
        payment to a unit's merchant is refunded by it (its token)."""
        data = self.call("alipay.trade.refund", {
            "trade_no": request.channel_txn_id, "out_trade_no": request.out_trade_no,
            "refund_amount": fen_to_yuan(request.amount_fen),
            "out_request_no": request.out_refund_no, "refund_reason": "非税收入异常缴款退款"},
            _token_of(request.merchant, request.merchant_token))
        if data.get("code") == "10000":
            if data.get("trade_no") not in (None, request.channel_txn_id):
                raise ServiceUnavailable("Alipay answered about another trade")
            return RefundResult("succeeded", request.out_refund_no,
                                f"fund_change={data.get('fund_change', '')}")
        return RefundResult("failed", None, _why(data))


    def statement(self, bill_date: str) -> Statement:
        """The trade bill of ``bill_date``: its download URL asked for, the zip fetched at
        once (the URL lives 30 s and is never logged), parsed. No bill that day is an empty
        statement."""
        return self._bill(bill_date, "", "")

    def merchant_statement(self, bill_date: str, merchant: str, token: str) -> Statement:
        """The trade bill of ``bill_date`` of a unit's own merchant (its seller_id), asked for
        with its app_auth_token: its file must be that merchant's (named after its PID), and
        each of its lines names the merchant."""
        if not token:
            raise ServiceUnavailable(f"Alipay bill of merchant {merchant}: no authorisation")
        bill = self._bill(bill_date, merchant, token)
        if bill.files and not bill.source.startswith(f"{merchant}0156_"):
            raise StatementInvalid(f"Alipay bill: {bill.source!r} is not merchant {merchant}'s")
        return replace(bill, lines=tuple(replace(line, merchant=merchant)
                                         for line in bill.lines))

    def _bill(self, bill_date: str, merchant: str, token: str) -> Statement:
        data = self.call(BILL_METHOD, {"bill_type": "trade", "bill_date": bill_date}, token)
        if data.get("code") != "10000":
            if str(data.get("sub_code", "")).lower() in NO_BILL:
                return Statement(self.channel, bill_date, (), "", (str(data["sub_code"]),))
            raise ServiceUnavailable(f"Alipay bill of {bill_date}: {_why(data)}")
        url = data.get("bill_download_url")
        if not isinstance(url, str) or not self._bill_host(url):
            raise StatementInvalid("Alipay bill: bill_download_url is not Alipay's")
        reply = self.transport("GET", url, {}, None)
        if reply.status != 200:
            raise ServiceUnavailable(f"Alipay bill download: HTTP {reply.status}")
        name = f"alipay-{bill_date}-{merchant}-trade.csv.zip" if merchant \
            else f"alipay-{bill_date}-trade.csv.zip"
        return replace(parse_bill_zip(reply.body, bill_date), files=(StatementFile(
            name, reply.body, "application/zip",
            "bill_download_url's zip as downloaded (Alipay signs none: its CRCs and 合计 "
            "checked)"),))

    def _bill_host(self, url: str) -> bool:
        """Alipay's bill centre (``https://….alipay.com``), or the gateway's own host (the
        local simulator)."""
        parts, gateway = urlsplit(url), urlsplit(self.gateway)
        if (parts.scheme, parts.netloc) == (gateway.scheme, gateway.netloc):
            return True
        return parts.scheme == "https" and (parts.hostname or "").endswith(".alipay.com")


def _token_of(merchant: str, token: str) -> str:
    """The app_auth_token a call for ``merchant`` carries: none for the deployment's; a unit's
    merchant without one is never asked for as if it were the deployment's."""
    if merchant and not token:
        raise ServiceUnavailable(f"Alipay merchant {merchant}: its app_auth_token was not given")
    return token


def _why(data: Mapping[str, Any]) -> str:
    return " ".join(str(data.get(k, "")) for k in ("code", "msg", "sub_code", "sub_msg")).strip()
