"""WeChat Pay APIv3, played locally: H5, JSAPI and Native prepay, order query, refund, and their
notifications.

Every API request must carry our ``Authorization`` (WECHATPAY2-SHA256-RSA2048), checked with the
public half of our merchant key from the stack's state; every answer is signed with the
platform key, as WeChat signs them. ``GET /wechatpay?prepay_id=…`` is the H5 cashier page.

What the WeChat client does, played too (``/wechatpay/_sim/…``, not WeChat Pay's API):

- ``POST /_sim/jsapi-pay`` ``{"user", "params"}``: the stand-in WeixinJSBridge's
  ``getBrandWCPayRequest`` (``sim_weixin.BRIDGE_JS``). WeChat's checks: every parameter a
  string, ``signType`` RSA, ``paySign`` our merchant key's RSA-SHA256 over ``appId\ntimeStamp\n
  nonceStr\npackage\n``, the appId the order's, ``package`` = ``prepay_id=`` of an order, the
  WeChat user the order's payer (the openid it was opened for). Then the order is paid and
  notified; the answer is the ``err_msg`` WeChat gives the page.
- ``POST /_sim/scan`` ``{"code_url"}``: a phone scanning a Native order's QR code and paying.

A JSAPI or Native order asked for again with the same out_trade_no (unpaid) keeps its
prepay_id or code_url, as WeChat does ("可使用原参数重新请求下单接口").

Service-provider mode (服务商) is played too: the stack's merchant is also a provider, and
``/v3/pay/partner/transactions/{h5,jsapi,native}`` open an order for a sub-merchant
(``sp_mchid``/``sp_appid`` ours, ``sub_mchid`` any merchant number but ours); such an order is
found only by the partner query naming its sub_mchid, refunded only with its ``sub_mchid``, and
notified in the partner shape (``sp_mchid``, ``sub_mchid``…); its statement lines carry the
sub-merchant in 特约商户号.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.domain.china_time import china_iso
from devstack.builders.wechatpay import (
    compact,
    partner_transaction_resource,
    refund_resource,
    sign_notification,
    sign_response,
    transaction_resource,
)
from devstack.notifications import own_private_key
from devstack.sim_common import (
    ChannelState,
    Reply,
    SimOrder,
    SimRefund,
    new_id,
    page,
)

_PARAM = re.compile(r'(\w+)="([^"]*)"')
H5 = "/v3/pay/transactions/h5"
JSAPI = "/v3/pay/transactions/jsapi"
NATIVE = "/v3/pay/transactions/native"
QUERY = "/v3/pay/transactions/out-trade-no/"
PARTNER = "/v3/pay/partner/transactions"
PARTNER_QUERY = f"{PARTNER}/out-trade-no/"
REFUNDS = "/v3/refund/domestic/refunds"
TRADE_BILL, BILL_FILE = "/v3/bill/tradebill", "/v3/billdownload/file"


class WechatPayServer:
    channel = "wechatpay"

    def __init__(self, servers: ChannelState) -> None:
        self.s = servers
        self.wx = servers.stack["channels"]["wechatpay"]
        self.platform_key: Any = own_private_key(self.wx["platform_private_key_pem"])
        merchant: Any = own_private_key(self.wx["merchant_private_key_pem"])
        self.merchant_public = merchant.public_key()

    def answer(self, status: int, data: dict[str, Any] | None) -> Reply:
        body = compact(data) if data is not None else b""
        headers = sign_response(body, platform_private_key=self.platform_key,
                                serial=self.wx["platform_serial"],
                                now=int(self.s.clock().timestamp()))
        return Reply(status, headers, body)

    def error(self, status: int, code: str, message: str) -> Reply:
        return self.answer(status, {"code": code, "message": message})

    def refused(self, method: str, url: str, headers: dict[str, str], body: bytes) -> str | None:
        """Why our request's Authorization does not hold, or None."""
        scheme, _, rest = headers.get("authorization", "").partition(" ")
        params = dict(_PARAM.findall(rest))
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return f"scheme {scheme!r}"
        if params.get("mchid") != self.wx["mchid"]:
            return "mchid"
        if params.get("serial_no") != self.wx["merchant_serial"]:
            return "serial_no is not our merchant certificate"
        timestamp = params.get("timestamp", "")
        if not timestamp.isdigit() or abs(self.s.clock().timestamp() - int(timestamp)) > 300:
            return "timestamp"
        message = b"%s\n%s\n%s\n%s\n%s\n" % (method.encode(), url.encode(), timestamp.encode(),
                                            params.get("nonce_str", "").encode(), body)
        try:
            self.merchant_public.verify(base64.b64decode(params.get("signature", "")), message,
                                        PKCS1v15(), SHA256())
        except (InvalidSignature, ValueError):
            return "signature"
        return None

    def handle(self, method: str, url: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        path = url.split("?", 1)[0]
        if method == "GET" and path == "/":
            order = next((o for o in self.s.orders.values()
                          if o.extra.get("prepay_id") == query.get("prepay_id")), None)
            if order is None:
                return page(self.channel, 404, "<p>订单不存在或已过期</p>")
            return self.s.cashier(order, query.get("redirect_url"))
        if method == "POST" and path in ("/_sim/jsapi-pay", "/_sim/scan"):
            return self.client(path, body)
        why = self.refused(method, url, headers, body)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        failing = self.s.record(self.channel, path, data)
        if why is not None:
            return self.error(401, "SIGN_ERROR", f"签名错误: {why}")
        if failing:
            return self.error(failing, "SYSTEM_ERROR", "系统错误")
        partner = path.startswith(PARTNER + "/")
        if partner:
            path = path.replace(PARTNER, "/v3/pay/transactions", 1)
        if method == "POST" and path in (H5, JSAPI, NATIVE):
            why = self.ids_refused(data, partner)
            if why is not None:
                return self.error(400, "PARAM_ERROR", why)
        if method == "POST" and path == H5:
            return self.prepay(data)
        if method == "POST" and path in (JSAPI, NATIVE):
            return self.prepay_in(path, data)
        if method == "GET" and path.startswith(QUERY):
            return self.query(path.removeprefix(QUERY), query, partner)
        if method == "POST" and path == REFUNDS:
            return self.refund(data)
        if method == "GET" and path == TRADE_BILL:
            return self.trade_bill(query)
        if method == "GET" and path == BILL_FILE:
            return self.bill_file(query)
        return self.error(404, "NOT_FOUND", "接口不存在")

    def trade_bill(self, query: dict[str, str]) -> Reply:
        """``GET /v3/bill/tradebill``: the day's ALL bill, kept under a token for its download;
        a day with nothing is ``NO_STATEMENT_EXIST``. Any day may be asked, today too (what has
        been processed so far): WeChat itself serves yesterday's after 10:00."""
        from devstack.builders.statements import gzipped, wechat_trade_bill
        from devstack.sim_statements import day_lines

        date = query.get("bill_date", "")
        if len(date) != 10 or query.get("bill_type", "ALL") != "ALL":
            return self.error(400, "PARAM_ERROR", "bill_date 或 bill_type 不正确")
        lines = day_lines(self.s, self.channel, date)
        if not lines:
            return self.error(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在")
        bill = wechat_trade_bill(lines, mchid=self.wx["mchid"], appid=self.wx["appid"],
                                 bom=True, crlf=True)
        token = secrets.token_urlsafe(16)
        body = gzipped(bill) if query.get("tar_type") == "GZIP" else bill
        with self.s.lock:
            self.s.files[token] = body
        return self.answer(200, {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(bill, usedforsecurity=False).hexdigest(),
            "download_url": f"{self.s.base_url}/{self.channel}{BILL_FILE}?token={token}"})

    def bill_file(self, query: dict[str, str]) -> Reply:
        """The file itself: not signed (WeChat: "需要跳过验签的流程"); one download a token."""
        with self.s.lock:
            body = self.s.files.pop(query.get("token", ""), None)
        if body is None:
            return self.error(400, "INVALID_REQUEST", "下载链接已失效")
        return Reply(200, {"Content-Type": "application/octet-stream"}, body)

    def ids_refused(self, data: dict[str, Any], partner: bool) -> str | None:
        """Why the order's merchant fields are not ours (direct: mchid, appid; partner:
        sp_mchid, sp_appid and a sub_mchid that is not ours), or None."""
        if not partner:
            if (data.get("mchid"), data.get("appid")) != (self.wx["mchid"], self.wx["appid"]) \
                    or "sub_mchid" in data:
                return "mchid 或 appid 不正确"
            return None
        sub = data.get("sub_mchid")
        if (data.get("sp_mchid"), data.get("sp_appid")) != (self.wx["mchid"], self.wx["appid"]) \
                or "mchid" in data or "appid" in data:
            return "sp_mchid 或 sp_appid 不正确"
        if not isinstance(sub, str) or not sub.isdigit() or sub == self.wx["mchid"]:
            return "sub_mchid 不是本服务商的特约商户"
        return None

    @staticmethod
    def merchant_of(data: dict[str, Any]) -> dict[str, str]:
        """What the order remembers of the sub-merchant it was opened for (none: direct)."""
        if "sub_mchid" not in data:
            return {}
        return {"sub_mchid": str(data["sub_mchid"]),
                **({"sub_appid": str(data["sub_appid"])} if data.get("sub_appid") else {})}

    def prepay(self, data: dict[str, Any]) -> Reply:
        prepay_id = "wx" + secrets.token_hex(15)
        order = self.s.remember(SimOrder(
            self.channel, data["out_trade_no"], int(data["amount"]["total"]), data["notify_url"],
            "", extra={"prepay_id": prepay_id, "time_expire": data.get("time_expire", ""),
                       **self.merchant_of(data)}))
        if order.txn_id:
            return self.error(400, "ORDERPAID", "该订单已支付")
        return self.answer(200, {"h5_url": f"{self.s.base_url}/wechatpay?prepay_id={prepay_id}"
                                           f"&package={secrets.randbelow(10**10)}"})

    def prepay_in(self, path: str, data: dict[str, Any]) -> Reply:
        """JSAPI (for ``payer.openid``, which must be a user of our appid; partner:
        ``payer.sp_openid``) or Native."""
        amount = data.get("amount") or {}
        if not isinstance(amount.get("total"), int) or amount["total"] <= 0 \
                or not data.get("description") or not data.get("notify_url"):
            return self.error(400, "PARAM_ERROR", "参数错误")
        openid = ""
        if path == JSAPI:
            name = "sp_openid" if "sub_mchid" in data else "openid"
            openid = str((data.get("payer") or {}).get(name) or "")
            if not openid:
                return self.error(400, "PARAM_ERROR", f"缺少参数 payer.{name}")
        kind = "jsapi" if path == JSAPI else "native"
        with self.s.lock:
            known = self.s.order(self.channel, str(data.get("out_trade_no")))
            if known is not None and known.txn_id:
                return self.error(400, "ORDERPAID", "该订单已支付")
            if known is not None and known.extra.get("kind") == kind \
                    and known.extra.get("openid", "") == openid \
                    and known.extra.get("sub_mchid") == data.get("sub_mchid"):
                order = known  # the same order asked again: the same prepay_id / code_url
            else:
                order = self.s.remember(SimOrder(
                    self.channel, data["out_trade_no"], int(amount["total"]),
                    data["notify_url"], "", extra={
                        "kind": kind, "openid": openid, "prepay_id": "wx" + secrets.token_hex(15),
                        "code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(7)}",
                        "time_expire": data.get("time_expire", ""), **self.merchant_of(data)}))
        if kind == "jsapi":
            return self.answer(200, {"prepay_id": order.extra["prepay_id"]})
        return self.answer(200, {"code_url": order.extra["code_url"]})

    def client(self, path: str, body: bytes) -> Reply:
        """The WeChat client paying: a JSAPI order from the bridge, or a scanned Native code."""
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if path == "/_sim/scan":
            code_url = str(data.get("code_url") or "")
            order = next((o for o in list(self.s.orders.values())
                          if o.channel == self.channel and code_url
                          and o.extra.get("code_url") == code_url), None)
            if order is None:
                return _plain(404, {"err_msg": "二维码已失效或不存在"})
            status = self.s.pay(self.channel, order.out_trade_no)
            return _plain(200, {"err_msg": "ok", "out_trade_no": order.out_trade_no,
                                "notify_status": status})
        given = data.get("params")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
        why = self.jsapi_refused(params, str(data.get("user") or ""))
        if why is not None:
            return _plain(200, {"err_msg": "get_brand_wcpay_request:fail", "err_desc": why})
        order = self.by_prepay(str(params["package"]).removeprefix("prepay_id="))
        assert order is not None
        status = self.s.pay(self.channel, order.out_trade_no)
        return _plain(200, {"err_msg": "get_brand_wcpay_request:ok", "notify_status": status})

    def by_prepay(self, prepay_id: str) -> SimOrder | None:
        return next((o for o in list(self.s.orders.values()) if o.channel == self.channel
                     and o.extra.get("kind") == "jsapi" and o.extra.get("prepay_id") == prepay_id),
                    None)

    def jsapi_refused(self, params: dict[str, Any], user: str) -> str | None:
        """Why WeChat would not pay these getBrandWCPayRequest parameters, or None."""
        from chalicelib.adapters.wechatpay.jsapi import verify_pay_sign
        from chalicelib.domain.errors import SignatureInvalid
        from devstack.sim_weixin import DEFAULT_USER, openid_of

        try:
            verify_pay_sign(params, self.merchant_public)
        except SignatureInvalid as exc:
            return f"paySign: {exc.message}"
        if params["appId"] != self.wx["appid"]:
            return "appId 与下单时不一致"
        if not str(params["timeStamp"]).isdigit() or len(str(params["timeStamp"])) > 32 \
                or len(str(params["nonceStr"])) > 32:
            return "timeStamp 或 nonceStr 格式错误"
        order = self.by_prepay(str(params["package"]).removeprefix("prepay_id="))
        if order is None or not str(params["package"]).startswith("prepay_id="):
            return "prepay_id 无效或已过期"
        if order.txn_id:
            return "该订单已支付"
        if order.extra.get("openid") != openid_of(self.wx["appid"], user or DEFAULT_USER):
            return "下单用户与当前微信用户不一致"
        return None

    def transaction(self, order: SimOrder) -> dict[str, Any]:
        assert order.txn_id and order.paid_at
        if order.extra.get("sub_mchid"):
            return partner_transaction_resource(
                sp_mchid=self.wx["mchid"], sp_appid=self.wx["appid"],
                sub_mchid=order.extra["sub_mchid"], sub_appid=order.extra.get("sub_appid", ""),
                out_trade_no=order.out_trade_no, transaction_id=order.txn_id,
                amount_fen=order.amount_fen, success_time=china_iso(order.paid_at))
        return transaction_resource(
            mchid=self.wx["mchid"], appid=self.wx["appid"], out_trade_no=order.out_trade_no,
            transaction_id=order.txn_id, amount_fen=order.amount_fen,
            success_time=china_iso(order.paid_at))

    def query(self, out_trade_no: str, query: dict[str, str], partner: bool = False) -> Reply:
        """An order by its number: direct (``mchid``) finds only our own orders, partner
        (``sp_mchid``, ``sub_mchid``) only that sub-merchant's."""
        order = self.s.order(self.channel, out_trade_no)
        sub = order.extra.get("sub_mchid") if order is not None else None
        if order is None or (partner and (query.get("sp_mchid") != self.wx["mchid"]
                                          or query.get("sub_mchid") != sub)) \
                or (not partner and (query.get("mchid") != self.wx["mchid"] or sub)):
            return self.error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.txn_id is None:
            ids = {"sp_appid": self.wx["appid"], "sp_mchid": self.wx["mchid"],
                   "sub_mchid": sub} if partner else {"appid": self.wx["appid"],
                                                      "mchid": self.wx["mchid"]}
            return self.answer(200, {**ids,
                                     "out_trade_no": out_trade_no, "trade_state": "NOTPAY",
                                     "trade_state_desc": "订单未支付",
                                     "amount": {"payer_currency": "CNY"}})
        return self.answer(200, self.transaction(order))

    def refund(self, data: dict[str, Any]) -> Reply:
        order = self.s.by_txn(self.channel, str(data.get("transaction_id")))
        if order is None or data.get("sub_mchid") != order.extra.get("sub_mchid"):
            return self.error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        number = str(data.get("out_refund_no"))
        with self.s.lock:
            refund = self.s.refunds.get((self.channel, number))
            if refund is None:
                amount = data.get("amount") or {}
                if amount.get("total") != order.amount_fen or not \
                        0 < int(amount.get("refund", 0)) <= order.amount_fen:
                    return self.error(400, "INVALID_REQUEST", "退款金额不正确")
                refund = SimRefund(self.channel, number, order, int(amount["refund"]),
                                   new_id("50", 27), "PROCESSING", str(data.get("notify_url")))
                self.s.refunds[(self.channel, number)] = refund
                if self.s.auto_complete_refunds:
                    self.s.later(lambda: self.complete_refund(number))
        return self.answer(200, {
            "refund_id": refund.refund_id, "out_refund_no": number,
            "transaction_id": order.txn_id, "out_trade_no": order.out_trade_no,
            "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": china_iso(self.s.clock()),
            "status": refund.status, "funds_account": "AVAILABLE",
            "amount": {"total": order.amount_fen, "refund": refund.amount_fen,
                       "payer_total": order.amount_fen, "payer_refund": refund.amount_fen,
                       "currency": "CNY"}})

    def complete_refund(self, out_refund_no: str, status: str = "SUCCESS") -> int:
        """The money reached the payer (or not): REFUND.* to the refund's notify URL."""
        refund = self.s.refunds[(self.channel, out_refund_no)]
        refund.status = status
        now = self.s.clock()
        refund.done_at = now if status == "SUCCESS" else None
        resource = refund_resource(
            mchid=self.wx["mchid"], out_trade_no=refund.order.out_trade_no,
            transaction_id=refund.order.txn_id or "", out_refund_no=out_refund_no,
            refund_id=refund.refund_id, refund_fen=refund.amount_fen,
            total_fen=refund.order.amount_fen, refund_status=status,
            success_time=china_iso(now), sub_mchid=refund.order.extra.get("sub_mchid", ""))
        body, headers = sign_notification(
            resource, event_type=f"REFUND.{status}", config_apiv3_key=self.wx["apiv3_key"].encode(),
            platform_private_key=self.platform_key, serial=self.wx["platform_serial"],
            now=int(now.timestamp()))
        return self.s.deliver(refund.notify_url, body, headers)

    def new_txn_id(self, now: datetime) -> str:
        return "4200" + now.strftime("%Y%m%d") + new_id("", 16)

    def notification(self, order: SimOrder) -> tuple[bytes, dict[str, str]]:
        body, headers = sign_notification(
            self.transaction(order), config_apiv3_key=self.wx["apiv3_key"].encode(),
            platform_private_key=self.platform_key, serial=self.wx["platform_serial"],
            now=int(self.s.clock().timestamp()))
        return body, headers


def _plain(status: int, data: dict[str, Any]) -> Reply:
    """An answer to the stand-in WeChat client (any origin may read it: it is a test's)."""
    return Reply(status, {"Content-Type": "application/json; charset=utf-8",
                          "Access-Control-Allow-Origin": "*"},
                 json.dumps(data, ensure_ascii=False).encode())
