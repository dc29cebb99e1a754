"""Alipay's gateway (``/alipay/gateway.do``), played locally: wap and page pay, trade query, refund.

Every request's ``sign`` (RSA2 over the sorted parameters, ``sign_type`` included) is checked
with the public half of our application key from the stack's state. ``alipay.trade.wap.pay``
and ``alipay.trade.page.pay`` are the browser arriving at the cashier (each with its product
code); the others answer ``{"<method>_response": …, "sign"}`` signed with Alipay's key over the
exact text of the response, as Alipay signs them.

Third-party application authorisation (第三方应用授权): ``POST /alipay/_sim/app-auth``
``{"seller_id"}`` is a merchant authorising our application, answered as
``alipay.open.auth.token.app`` answers (``app_auth_token``, ``user_id``, ``auth_app_id``; the
same merchant gets the same token, derived from our app_id, so any process of the stack knows
it). A request carrying ``app_auth_token`` is made for that merchant: an unknown token is
refused (20001 ``aop.invalid-app-auth-token``); ``POST /alipay/_sim/app-auth-cancel``
``{"seller_id"}`` is the merchant cancelling the authorisation (解除授权): Alipay's message
``alipay.open.auth.appauth.cancelled`` is posted, signed, to the app's gateway
(``/callbacks/alipay/gateway``, ``cancelled_message``), and its token is then refused as unknown, and the query says ``status`` invalid (authorising again undoes it: the
simulator's token is the same again, where Alipay's would be new); its orders are the merchant's (found, queried
and refunded only with its token), notified with its ``seller_id`` and ``auth_app_id``, and its
trade bill (asked for with its token) lists only its trades, under its PID; the deployment's
lists none of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.alipay.api import request_signing_string
from chalicelib.adapters.alipay.verify import CHARSETS
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.forms import read_form
from chalicelib.domain.money import fen_to_yuan, yuan_to_fen
from devstack.notifications import alipay_message, alipay_notification, own_private_key
from devstack.sim_common import (
    ChannelState,
    Reply,
    SimOrder,
    SimRefund,
    new_id,
    page,
)

_TIME = "%Y-%m-%d %H:%M:%S"
# The page methods and the product each must be sold as (销售产品码).
BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
AUTH_QUERY = "alipay.open.auth.token.app.query"
CANCELLED = "alipay.open.auth.appauth.cancelled"  # the message of a cancelled authorisation
BILL_FILE = "/downloadBillFile.resource"  # dwbillcenter.alipay.com's, played here
PAGES = {"alipay.trade.wap.pay": "QUICK_WAP_WAY", "alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY"}


class AlipayServer:
    channel = "alipay"

    def __init__(self, servers: ChannelState) -> None:
        self.s = servers
        self.ali = servers.stack["channels"]["alipay"]
        self.alipay_key: Any = own_private_key(self.ali["alipay_private_key_pem"])
        app: Any = own_private_key(self.ali["app_private_key_pem"])
        self.app_public = app.public_key()

    def signed(self, params: dict[str, str]) -> bool:
        try:
            self.app_public.verify(base64.b64decode(params.get("sign", ""), validate=True),
                                   request_signing_string(params).encode("utf-8"),
                                   PKCS1v15(), SHA256())
        except (InvalidSignature, ValueError):
            return False
        return params.get("sign_type") == "RSA2" and params.get("app_id") == self.ali["app_id"]

    def respond(self, method: str, data: dict[str, Any]) -> Reply:
        key = method.replace(".", "_") + "_response"
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        sign = base64.b64encode(self.alipay_key.sign(text.encode(), PKCS1v15(), SHA256()))
        body = f'{{"{key}":{text},"sign":"{sign.decode()}"}}'
        return Reply(200, {"Content-Type": "application/json;charset=utf-8"}, body.encode())

    def grant(self, seller_id: str) -> dict[str, str]:
        """A merchant authorises our application: what ``alipay.open.auth.token.app`` answers
        (the token is ``yyyyMM`` ``BB``, the PID and a MAC: 40 characters, as Alipay's)."""
        mac = hmac.new(self.ali["app_id"].encode(), seller_id.encode(), hashlib.sha256)
        return {"app_auth_token": f"202606BB{seller_id}{mac.hexdigest()[:16]}",
                "user_id": seller_id, "auth_app_id": "2021" + seller_id[4:],
                "app_refresh_token": f"202606BB{mac.hexdigest()[16:48]}",
                "expires_in": "31536000", "re_expires_in": "32140800"}

    def granter(self, token: str) -> tuple[str, str] | None:
        """The merchant (seller_id, auth_app_id) that was granted a token of ours, or None."""
        seller = token[8:24]
        if len(token) != 40 or not seller.isdigit() or not seller.startswith("2088") \
                or not hmac.compare_digest(self.grant(seller)["app_auth_token"], token):
            return None
        return seller, "2021" + seller[4:]

    def authorisation(self, token: str) -> tuple[str, str] | None:
        """The merchant a token of ours stands for, or None: one that cancelled the
        authorisation stands behind none."""
        found = self.granter(token)
        return None if found is None or found[0] in self.s.cancelled else found

    def app_auth(self, body: bytes, cancel: bool = False) -> Reply:
        """A merchant authorises our application (again: its cancellation is undone), or,
        with ``cancel``, cancels its authorisation (解除授权): its token then stands for
        nobody, as Alipay's no longer does (the query calls it invalid; a call with it is
        refused, 20001)."""
        try:
            seller = str(json.loads(body or b"{}").get("seller_id", ""))
        except (ValueError, AttributeError):
            seller = ""
        if len(seller) != 16 or not seller.isdigit() or not seller.startswith("2088") \
                or seller == self.ali.get("seller_id"):
            return Reply(400, {"Content-Type": "application/json"},
                         b'{"error": "seller_id: a PID (2088 and 12 digits), not ours"}')
        with self.s.lock:
            if cancel:
                self.s.cancelled.add(seller)
            else:
                self.s.cancelled.discard(seller)
        if cancel:
            return self.cancelled_message(seller, body)
        return Reply(200, {"Content-Type": "application/json"},
                     json.dumps(self.grant(seller)).encode())

    def cancelled_message(self, seller: str, body: bytes) -> Reply:
        """Alipay's message that ``seller`` cancelled its authorisation
        (``alipay.open.auth.appauth.cancelled``), signed with Alipay's key and posted to the
        stack's application gateway (``/callbacks/alipay/gateway``); what was posted and how
        the app answered. The message's ``biz_content`` is ``{}`` and it names no merchant,
        unless the request gives ``biz_content`` or ``message`` (common parameters): what
        Alipay puts there is not documented where we can read it."""
        asked = json.loads(body or b"{}")
        content = asked.get("biz_content") if isinstance(asked.get("biz_content"), dict) else {}
        extra = asked.get("message") if isinstance(asked.get("message"), dict) else {}
        notify_id = new_id("", 32)
        data, headers = alipay_message(self.s.stack, CANCELLED, now=self.s.clock(),
                                       biz_content=content, notify_id=notify_id,
                                       **{str(k): str(v) for k, v in extra.items()})
        status = self.s.deliver(f"{self.s.stack['base_url']}/callbacks/alipay/gateway", data,
                                headers)
        return Reply(200, {"Content-Type": "application/json"}, json.dumps({
            "user_id": seller, "status": "invalid", "notify_id": notify_id,
            "message_status": status}).encode())

    def handle(self, method: str, url: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        if method == "GET" and url.split("?", 1)[0] == BILL_FILE:
            return self.bill_file(query)
        if method == "POST" and url.split("?", 1)[0] == "/_sim/app-auth":
            return self.app_auth(body)
        if method == "POST" and url.split("?", 1)[0] == "/_sim/app-auth-cancel":
            return self.app_auth(body, cancel=True)
        if url.split("?", 1)[0] != "/gateway.do":
            return page(self.channel, 404, "<p>未知的模拟支付请求</p>")
        params = dict(query)
        if method == "POST":
            try:
                form, _ = read_form(body, headers.get("content-type", ""), charset_field="charset",
                                    codecs=CHARSETS)
            except SignatureInvalid as exc:
                return page(self.channel, 400, f"<p>请求格式错误：{html.escape(exc.message)}</p>")
            params.update(form)
        name = params.get("method", "")
        ok = self.signed(params)
        biz = json.loads(params.get("biz_content") or "{}")
        token = params.get("app_auth_token")
        merchant = self.authorisation(token) if token else ("", "")
        if name in PAGES:  # the payer's browser: wap pay (a phone), page pay (a desktop)
            if not ok:
                return page(self.channel, 400, "<p>验签失败（isv.invalid-signature）</p>")
            if merchant is None:
                return page(self.channel, 400, "<p>无效的应用授权令牌"
                                               "（aop.invalid-app-auth-token）</p>")
            if biz.get("product_code") != PAGES[name]:
                return page(self.channel, 400, f"<p>product_code 应为 {PAGES[name]}"
                                               f"（{html.escape(name)}）</p>")
            order = self.s.remember(SimOrder(
                self.channel, biz["out_trade_no"], yuan_to_fen(biz["total_amount"]),
                params.get("notify_url", ""), params.get("return_url", ""),
                extra={"timeout_express": biz.get("timeout_express", ""),
                       **({"seller_id": merchant[0], "auth_app_id": merchant[1]}
                          if merchant[0] else {})}))
            return self.s.cashier(order)
        failing = self.s.record(self.channel, name, {
            **biz, **({"app_auth_token": token} if token else {})})
        if failing:
            return Reply(failing, {"Content-Type": "text/plain"}, b"service unavailable")
        if not ok:
            return self.respond(name, {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": "isv.invalid-signature",
                                       "sub_msg": "验签出错"})
        if merchant is None:
            return self.respond(name, {"code": "20001", "msg": "Insufficient Token Permissions",
                                       "sub_code": "aop.invalid-app-auth-token",
                                       "sub_msg": "无效的应用授权令牌"})
        seller = merchant[0]
        if name == "alipay.trade.query":
            return self.query(name, biz, seller)
        if name == "alipay.trade.refund":
            return self.refund(name, biz, seller)
        if name == BILL_METHOD:
            return self.bill_url(name, biz, seller)
        if name == AUTH_QUERY:
            return self.auth_query(name, str(biz.get("app_auth_token", "")))
        return self.respond(name, {"code": "40004", "msg": "Business Failed",
                                   "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"})

    def _paid(self, biz: dict[str, Any], seller: str) -> SimOrder | None:
        """The paid order ``biz`` names, if it is ``seller``'s ("" the deployment's): a
        merchant's trades are seen only with its token."""
        order = self.s.order(self.channel, str(biz.get("out_trade_no")))
        if order is None and biz.get("trade_no"):
            order = self.s.by_txn(self.channel, str(biz["trade_no"]))
        if order is None or order.extra.get("seller_id", "") != seller:
            return None
        return order if order.txn_id else None

    def query(self, name: str, biz: dict[str, Any], seller: str = "") -> Reply:
        order = self._paid(biz, seller)
        if order is None:  # not paid yet: Alipay has no trade until the payer logs in
            return self.respond(name, {"code": "40004", "msg": "Business Failed",
                                       "sub_code": "ACQ.TRADE_NOT_EXIST",
                                       "sub_msg": "交易不存在"})
        assert order.paid_at is not None
        yuan = fen_to_yuan(order.amount_fen)
        return self.respond(name, {
            "code": "10000", "msg": "Success", "trade_no": order.txn_id,
            "out_trade_no": order.out_trade_no, "buyer_logon_id": "csq***@sandbox.com",
            "trade_status": "TRADE_SUCCESS", "total_amount": yuan, "buyer_pay_amount": yuan,
            "receipt_amount": yuan, "send_pay_date": order.paid_at.astimezone(CHINA_TZ).strftime(
                _TIME), "buyer_user_id": "2088102177846875"})

    def refund(self, name: str, biz: dict[str, Any], seller: str = "") -> Reply:
        order = self._paid(biz, seller)
        if order is None:
            return self.respond(name, {"code": "40004", "msg": "Business Failed",
                                       "sub_code": "ACQ.TRADE_NOT_EXIST",
                                       "sub_msg": "交易不存在"})
        number = str(biz.get("out_request_no") or order.out_trade_no)
        try:
            amount = yuan_to_fen(str(biz.get("refund_amount")))
        except ValidationFailed:
            amount = 0
        with self.s.lock:
            known = self.s.refunds.get((self.channel, number))
            if known is None:
                if not 0 < amount <= order.amount_fen:
                    return self.respond(name, {"code": "40004", "msg": "Business Failed",
                                               "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                                               "sub_msg": "退款金额超限"})
                self.s.refunds[(self.channel, number)] = SimRefund(
                    self.channel, number, order, amount, number, "SUCCESS",
                    done_at=self.s.clock())
        return self.respond(name, {
            "code": "10000", "msg": "Success", "trade_no": order.txn_id,
            "out_trade_no": order.out_trade_no, "buyer_logon_id": "csq***@sandbox.com",
            "fund_change": "N" if known else "Y", "refund_fee": fen_to_yuan(
                known.amount_fen if known else amount),
            "gmt_refund_pay": self.s.clock().astimezone(CHINA_TZ).strftime(_TIME)})

    def bill_url(self, name: str, biz: dict[str, Any], seller: str = "") -> Reply:
        """``alipay.data.dataservice.bill.downloadurl.query`` (bill_type trade, a day): the
        zip is made now, from what was processed, and kept under a token for its one download.
        Alipay refuses today's bill; the simulator serves it (what is done so far). Asked with
        a merchant's token, it is that merchant's bill: its trades only, under its PID."""
        from devstack.builders.statements import alipay_bill_zip
        from devstack.sim_statements import day_lines

        date = str(biz.get("bill_date", ""))
        if biz.get("bill_type") != "trade" or len(date) != 10:
            return self.respond(name, {"code": "40004", "msg": "Business Failed",
                                       "sub_code": "isv.invalid_arguments", "sub_msg": "入参不合法"})
        pid = seller or self.ali.get("seller_id", "2088000000000001")
        data = alipay_bill_zip([line for line in day_lines(self.s, self.channel, date)
                                if line.merchant == seller], pid=pid, date=date)
        token = new_id("", 20)
        with self.s.lock:
            self.s.files[token] = data
        day = date.replace("-", "")
        return self.respond(name, {
            "code": "10000", "msg": "Success",
            "bill_download_url": f"{self.s.base_url}/{self.channel}{BILL_FILE}?bizType=trade"
                                 f"&userId={pid}0156&fileType=csv.zip&bizDates={day}"
                                 f"&downloadFileName={pid}0156_{day}.csv.zip&token={token}"})

    def auth_query(self, name: str, token: str) -> Reply:
        """``alipay.open.auth.token.app.query``: who granted a token of ours, and whether it
        holds (``status`` valid, or invalid once its merchant cancelled the authorisation);
        a token we never issued is unknown."""
        found = self.granter(token)
        if found is None:
            return self.respond(name, {"code": "40004", "msg": "Business Failed",
                                       "sub_code": "isv.invalid-app-auth-token",
                                       "sub_msg": "无效的应用授权令牌"})
        return self.respond(name, {
            "code": "10000", "msg": "Success", "user_id": found[0], "auth_app_id": found[1],
            "expires_in": 31536000, "auth_methods": ["alipay.trade.wap.pay",
                                                     "alipay.trade.page.pay",
                                                     "alipay.trade.query", "alipay.trade.refund",
                                                     BILL_METHOD],
            "auth_start": "2026-06-01 00:00:00", "auth_end": "2027-06-01 00:00:00",
            "status": "invalid" if found[0] in self.s.cancelled else "valid"})

    def bill_file(self, query: dict[str, str]) -> Reply:
        with self.s.lock:
            data = self.s.files.pop(query.get("token", ""), None)
        if data is None:
            return Reply(200, {"Content-Type": "text/plain;charset=GBK"},
                         "下载超时，请重新下载".encode("gbk"))
        return Reply(200, {"Content-Type": "application/oct-stream"}, data)

    def new_txn_id(self, now: datetime) -> str:
        return now.astimezone(CHINA_TZ).strftime("%Y%m%d") + "22001" + new_id("", 15)

    def notification(self, order: SimOrder) -> tuple[bytes, dict[str, str]]:
        merchant = ({"seller_id": order.extra["seller_id"],
                     "auth_app_id": order.extra["auth_app_id"]}
                    if order.extra.get("seller_id") else {})
        return alipay_notification(self.s.stack, order.out_trade_no, order.amount_fen,
                                   now=order.paid_at or self.s.clock(),
                                   trade_no=order.txn_id or "", **merchant)
