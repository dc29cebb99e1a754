"""WeChat Pay APIv3, the calls we make: prepay (H5, JSAPI, Native), order query, refund, and
the day's trade bill (``statement``; its format in ``bill.py``).

An order opened for a unit's own sub-merchant (``ChannelOrder.merchant``: service-provider
mode, 服务商模式) goes to the partner endpoints (``/v3/pay/partner/transactions/…``) with
``sp_appid``/``sp_mchid`` (ours: the deployment's secret is the provider's) and ``sub_mchid``
(``sub_appid`` when the unit has one); its query names the sub-merchant, its refund carries
``sub_mchid``, and an answer about another merchant is refused. A JSAPI order is for the payer's
``sp_openid`` (our official account's), so the page signs with ``sp_appid``. Every other order,
a unit without a merchant of its own, is sent exactly as before.

Every request carries ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
signature="…",timestamp="…",serial_no="…"``, the signature being RSA PKCS#1 v1.5 SHA-256 with
the MERCHANT's API key over ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n`` (URL = path and query,
no host). Every answer is signed by the PLATFORM key like a notification and is verified
(``verify.verify_signature``, ±300 s) before its body is read.

Errors become ours here: the transport raises ``ServiceUnavailable`` for the network; a 5xx,
a 429 or an answer that fails verification is ``ServiceUnavailable`` too (try again later); a
4xx is the channel's refusal and each call says what it means.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.channel_http import HttpReply, Transport
from chalicelib.adapters.wechatpay.bill import open_bill, parse_trade_bill
from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.jsapi import jsapi_params, new_nonce
from chalicelib.adapters.wechatpay.verify import SIGNATURE_TYPE, parse_transaction, verify_signature
from chalicelib.domain.errors import DomainError, ServiceUnavailable, ValidationFailed
from chalicelib.domain.payments import (
    ChannelOrder,
    Checkout,
    Payment,
    RefundRequest,
    RefundResult,
)
from chalicelib.domain.statements import Statement, StatementFile, StatementInvalid

RETRY_LATER = ("NOT_ENOUGH", "SYSTEM_ERROR", "FREQUENCY_LIMITED")  # 余额不足 etc.: ask again
REFUND_STATUSES = {"SUCCESS": "succeeded", "PROCESSING": "requested", "CLOSED": "failed",
                   "ABNORMAL": "failed"}


def authorization(method: str, url: str, body: bytes, *, mchid: str, serial: str,
                  private_key: RSAPrivateKey, timestamp: int, nonce: str) -> str:
    """The ``Authorization`` header of one request (``url``: path and query only)."""
    message = b"%s\n%s\n%d\n%s\n%s\n" % (method.encode(), url.encode(), timestamp,
                                        nonce.encode(), body)
    signature = base64.b64encode(private_key.sign(message, PKCS1v15(), SHA256())).decode()
    return (f'{SIGNATURE_TYPE} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial}"')


class WechatPayApi:
    """The channel client: ``checkout``, ``query``, ``refund`` (ChannelApi in ports)."""

    channel = "wechatpay"

    def __init__(self, config: WechatPayConfig, base_url: str, transport: Transport,
                 clock: Callable[[], datetime]) -> None:
        if config.merchant_private_key is None or not config.merchant_serial:
            raise ServiceUnavailable("WeChat Pay merchant key is not configured")
        self.config, self.base_url = config, base_url.rstrip("/")
        self.transport, self.clock = transport, clock

    def call(self, method: str, url: str, payload: dict[str, Any] | None = None
             ) -> tuple[int, dict[str, Any]]:
        """One signed request; the verified answer as (status, JSON object)."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() \
            if payload is not None else b""
        assert self.config.merchant_private_key is not None and self.config.merchant_serial
        header = authorization(method, url, body, mchid=self.config.mchid,
                               serial=self.config.merchant_serial,
                               private_key=self.config.merchant_private_key,
                               timestamp=int(self.clock().timestamp()),
                               nonce=secrets.token_hex(16).upper())
        headers = {"Authorization": header, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        reply = self.transport(method, self.base_url + url, headers, body or None)
        return reply.status, self._verified(reply, url)

    def _verified(self, reply: HttpReply, url: str) -> dict[str, Any]:
        if reply.status >= 500 or reply.status == 429:
            raise ServiceUnavailable(f"WeChat Pay {url}: HTTP {reply.status}")
        try:
            verify_signature(reply.body, reply.headers, self.config.platform_keys,
                             int(self.clock().timestamp()))
            data = json.loads(reply.body.decode("utf-8")) if reply.body else {}
        except (DomainError, ValueError) as exc:
            why = exc.message if isinstance(exc, DomainError) else "not JSON"
            raise ServiceUnavailable(f"WeChat Pay {url}: answer not authentic: {why}") from None
        if not isinstance(data, dict):
            raise ServiceUnavailable(f"WeChat Pay {url}: answer is not a JSON object")
        return data

    def checkout(self, order: ChannelOrder, *, description: str, notify_url: str,
                 return_url: str, client_ip: str, payer: str | None = None) -> Checkout:
        """Open the order as its mode says: H5 (a phone's browser), JSAPI (inside WeChat, for
        the ``payer``'s openid) or Native (a QR code for a desktop). Asking again with the same
        order is safe: WeChat answers the same order ("可使用原参数重新请求下单接口")."""
        if order.merchant:  # a unit's own sub-merchant: the partner endpoints
            ids: dict[str, Any] = {"sp_appid": self.config.appid, "sp_mchid": self.config.mchid,
                                   **({"sub_appid": order.merchant_app}
                                      if order.merchant_app else {}),
                                   "sub_mchid": order.merchant}
            prefix = "/v3/pay/partner/transactions"
        else:
            ids, prefix = {"appid": self.config.appid, "mchid": self.config.mchid}, \
                "/v3/pay/transactions"
        common = {**ids, "description": description[:127], "out_trade_no": order.out_trade_no,
                  "time_expire": order.expires_at, "notify_url": notify_url,
                  "amount": {"total": order.amount_fen, "currency": "CNY"}}
        if order.mode == "jsapi":
            return self._jsapi(common, payer, return_url, prefix, bool(order.merchant))
        if order.mode == "native":
            status, data = self.call("POST", f"{prefix}/native", common)
            code_url = data.get("code_url")
            if status != 200 or not isinstance(code_url, str) or not code_url:
                raise ServiceUnavailable(f"WeChat Pay refused the order: {_why(status, data)}")
            return Checkout(pay_url=return_url, code_url=code_url)
        status, data = self.call("POST", f"{prefix}/h5", {
            **common, "scene_info": {"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}})
        h5_url = data.get("h5_url")
        if status != 200 or not isinstance(h5_url, str):
            raise ServiceUnavailable(f"WeChat Pay refused the order: {_why(status, data)}")
        # After paying, WeChat sends the browser to redirect_url (our pay page).
        return Checkout(pay_url=f"{h5_url}&redirect_url={quote(return_url, safe='')}")

    def _jsapi(self, common: dict[str, Any], payer: str | None, return_url: str,
               prefix: str, partner: bool) -> Checkout:
        """``POST /v3/pay/transactions/jsapi`` with ``payer.openid`` (partner: ``sp_openid``,
        the payer's openid at our official account); then the page's signed
        ``getBrandWCPayRequest`` parameters (``jsapi.jsapi_params``), for our appid."""
        if not payer:
            raise ValidationFailed("请在微信中打开缴款页面后再使用微信支付",
                                   {"mode": "jsapi needs the payer's WeChat session"},
                                   code="wechat_session_required")
        status, data = self.call("POST", f"{prefix}/jsapi", {
            **common, "payer": {"sp_openid" if partner else "openid": payer}})
        prepay_id = data.get("prepay_id")
        if status != 200 or not isinstance(prepay_id, str) or not prepay_id:
            raise ServiceUnavailable(f"WeChat Pay refused the order: {_why(status, data)}")
        assert self.config.merchant_private_key is not None
        params = jsapi_params(self.config.appid, prepay_id, self.config.merchant_private_key,
                              timestamp=int(self.clock().timestamp()), nonce=new_nonce())
        return Checkout(pay_url=return_url, jsapi=params)

    def query(self, order: ChannelOrder) -> Payment | None:
        """``GET /v3/pay/transactions/out-trade-no/{no}``: the payment, if the order is paid
        (partner: ``/v3/pay/partner/…`` for the order's sub-merchant)."""
        if order.merchant:
            url = (f"/v3/pay/partner/transactions/out-trade-no/{order.out_trade_no}?"
                   + urlencode({"sp_mchid": self.config.mchid, "sub_mchid": order.merchant}))
        else:
            url = (f"/v3/pay/transactions/out-trade-no/{order.out_trade_no}?"
                   + urlencode({"mchid": self.config.mchid}))
        status, data = self.call("GET", url)
        if status == 404 or (status == 200 and data.get("trade_state") != "SUCCESS"):
            return None  # ORDER_NOT_EXIST: never opened at the cashier; or NOTPAY, CLOSED…
        if status != 200:
            raise ServiceUnavailable(f"WeChat Pay order query failed: {_why(status, data)}")
        try:
            txn = parse_transaction(data, self.config, "", "TRANSACTION.SUCCESS")
        except DomainError as exc:
            raise ServiceUnavailable(f"WeChat Pay order query refused: {exc.message}") from None
        if txn.out_trade_no != order.out_trade_no:
            raise ServiceUnavailable("WeChat Pay answered about another order")
        if txn.sub_mchid != order.merchant:
            raise ServiceUnavailable("WeChat Pay answered about another merchant's order")
        return Payment(channel=self.channel, channel_txn_id=txn.transaction_id,
                       out_trade_no=txn.out_trade_no, amount_fen=txn.amount_fen,
                       paid_at=txn.success_time, notification_id="query",
                       merchant=txn.sub_mchid)

    def refund(self, request: RefundRequest) -> RefundResult:
        """``POST /v3/refund/domestic/refunds``; the same out_refund_no is the same refund.
        A payment to a unit's sub-merchant is refunded by it (``sub_mchid``, "服务商模式下必须
        传递此参数")."""
        status, data = self.call("POST", "/v3/refund/domestic/refunds", {
            **({"sub_mchid": request.merchant} if request.merchant else {}),
            "transaction_id": request.channel_txn_id, "out_refund_no": request.out_refund_no,
            "reason": "非税收入异常缴款退款", "notify_url": request.notify_url,
            "amount": {"refund": request.amount_fen, "total": request.amount_fen,
                       "currency": "CNY"}})
        if status == 200 and data.get("out_refund_no") == request.out_refund_no:
            state = REFUND_STATUSES.get(str(data.get("status")), "requested")
            return RefundResult(state, data.get("refund_id"), str(data.get("status")))
        if status == 200:
            raise ServiceUnavailable("WeChat Pay answered about another refund")
        if data.get("code") in RETRY_LATER:
            raise ServiceUnavailable(f"WeChat Pay refund: {_why(status, data)}")
        return RefundResult("failed", None, _why(status, data))


    def statement(self, bill_date: str) -> Statement:
        """The trade bill of ``bill_date`` (ALL, GZIP): applied for, downloaded, its SHA1
        checked, parsed. A day WeChat has no bill for (``NO_STATEMENT_EXIST``) is an empty
        statement; a bill not generated yet (``STATEMENT_CREATING``) is ``ServiceUnavailable``."""
        status, data = self.call("GET", "/v3/bill/tradebill?" + urlencode(
            {"bill_date": bill_date, "bill_type": "ALL", "tar_type": "GZIP"}))
        if status == 400 and data.get("code") == "NO_STATEMENT_EXIST":
            return Statement(self.channel, bill_date, (), "", ("NO_STATEMENT_EXIST",))
        if status != 200:
            raise ServiceUnavailable(f"WeChat Pay trade bill {bill_date}: {_why(status, data)}")
        url, hash_value = data.get("download_url"), data.get("hash_value")
        if not isinstance(url, str) or not url.startswith(self.base_url + "/") \
                or not isinstance(hash_value, str):
            raise StatementInvalid("WeChat Pay trade bill: download_url is not WeChat Pay's")
        # Signed like any call (URL = path and query); the answer is the file, not signed.
        path = url[len(self.base_url):]
        assert self.config.merchant_private_key is not None and self.config.merchant_serial
        header = authorization("GET", path, b"", mchid=self.config.mchid,
                               serial=self.config.merchant_serial,
                               private_key=self.config.merchant_private_key,
                               timestamp=int(self.clock().timestamp()),
                               nonce=secrets.token_hex(16).upper())
        reply = self.transport("GET", url, {"Authorization": header}, None)
        if reply.status != 200:
            raise ServiceUnavailable(f"WeChat Pay bill download: HTTP {reply.status}")
        bill = open_bill(reply.body, gzipped=True, hash_type=str(data.get("hash_type", "")),
                         hash_value=hash_value)
        statement = parse_trade_bill(bill, bill_date, f"tradebill {bill_date} ALL")
        return replace(statement, files=(StatementFile(
            f"wechatpay-{bill_date}-tradebill-ALL.csv.gz", reply.body, "application/gzip",
            f"{data.get('hash_type', '')} {hash_value[:64]} of the gunzipped bill (WeChat Pay's, "
            f"checked)"),))


def _why(status: int, data: dict[str, Any]) -> str:
    return f"HTTP {status} {data.get('code', '')} {data.get('message', '')}".strip()
