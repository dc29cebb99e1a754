"""UnionPay's ACP gateway (``/unionpay/gateway/api/…``), played locally.

``frontTransReq.do`` is the payer's browser posting our signed form (the cashier);
``queryTrans.do`` and ``backTransReq.do`` (refund, txnType 04) answer ``k=v&…`` signed with
UnionPay's signing key, its certificate in ``signPubKeyCert``, as UnionPay answers. Our requests'
``certId`` must name the signing certificate of the request's ``merId`` (ours, from the stack's
state, or a unit's own merId's: ``issue_merchant_certificate``, as UnionPay issues each merchant
its ``acp_sign.pfx``) and their ``signature`` verify with it.

``POST /unionpay/_sim/merchant-certificate`` ``{"mer_id", "password"}`` plays UnionPay issuing a
merchant its signing certificate: ``{"mer_id", "cert_id", "sign_cert_pfx"}`` (base64 of the
PFX), what the finance department uploads for a unit (``PUT /v1/admin/units/{code}/merchants/
unionpay``); not UnionPay's API.

Each merId is its own merchant, as at UnionPay ("merId、orderId、txnTime三要素唯一确定一笔交易"):
an order is found by a query only under the merId it was opened with, refunded only by it,
notified naming it, and listed only in that merId's reconciliation file.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.unionpay.config import load_certificate
from chalicelib.adapters.unionpay.verify import ENCODINGS, SIGN_METHOD, VERSION, signed_digest
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import SignatureInvalid
from chalicelib.domain.forms import read_form
from devstack.builders.unionpay import settle_mmdd
from devstack.notifications import own_private_key, unionpay_notification
from devstack.sim_common import (
    ChannelState,
    Reply,
    SimOrder,
    SimRefund,
    new_id,
    page,
)

FRONT, BACK, QUERY = ("/gateway/api/frontTransReq.do", "/gateway/api/backTransReq.do",
                      "/gateway/api/queryTrans.do")
FILES = "/fileTransfer.do"  # filedownload.95516.com, played here


class UnionPayServer:
    channel = "unionpay"

    def __init__(self, servers: ChannelState) -> None:
        self.s = servers
        self.up = servers.stack["channels"]["unionpay"]
        self.sign_key: Any = own_private_key(self.up["sign_key_pem"])
        self.sign_cert_pem = Path(self.up["sign_cert_pem"]).read_bytes().decode()  # CRLF kept
        self.merchant_cert = load_certificate(
            Path(self.up["merchant_sign_cert_pem"]).read_bytes())
        self.merchants: dict[str, Any] = {self.up["mer_id"]: self.merchant_cert}
        # The stack's stand-in for CFCA, which issues merchants their certificates (the stack
        # configures its certificate as the trust root for them: merchant_cert_roots_pem).
        self.merchant_ca: Any = (
            load_certificate(Path(self.up["merchant_ca_cert_pem"]).read_bytes()),
            own_private_key(self.up["merchant_ca_key_pem"])) \
            if self.up.get("merchant_ca_cert_pem") else None

    def issue_merchant_certificate(self, mer_id: str, password: str, **how: Any) -> bytes:
        """A signing certificate for the merchant ``mer_id`` (a unit's own merId), issued by
        the stack's merchant CA, as the PFX UnionPay gives it; requests of ``mer_id`` are
        checked with it from now on. ``how``: ``merchant_signing_pfx``'s own (tests)."""
        from devstack.builders.unionpay import merchant_signing_pfx

        pfx, cert = merchant_signing_pfx(mer_id, password,
                                         **{"issuer": self.merchant_ca, **how})
        self.merchants[mer_id] = cert
        return pfx

    def certificate_request(self, body: bytes) -> Reply:
        import json
        import re

        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        mer_id = data.get("mer_id") if isinstance(data, dict) else None
        password = data.get("password", "000000") if isinstance(data, dict) else None
        if not isinstance(mer_id, str) or not re.fullmatch(r"[0-9]{15}", mer_id) \
                or mer_id == self.up["mer_id"] or not isinstance(password, str):
            return Reply(400, {"Content-Type": "application/json"}, json.dumps(
                {"error": "mer_id (15 digits, not the deployment's) and password"}).encode())
        pfx = self.issue_merchant_certificate(mer_id, password)
        return Reply(200, {"Content-Type": "application/json"}, json.dumps({
            "mer_id": mer_id, "cert_id": str(self.merchants[mer_id].serial_number),
            "sign_cert_pfx": base64.b64encode(pfx).decode("ascii")}).encode())

    def verified(self, fields: dict[str, str]) -> bool:
        cert = self.merchants.get(fields.get("merId", ""))
        if cert is None or fields.get("certId") != str(cert.serial_number):
            return False
        try:
            cert.public_key().verify(  # type: ignore[call-arg,union-attr]
                base64.b64decode(fields.get("signature", ""), validate=True),
                signed_digest(fields), PKCS1v15(), SHA256())  # type: ignore[arg-type]
        except (InvalidSignature, ValueError):
            return False
        return True

    def answer(self, fields: dict[str, str]) -> Reply:
        data = {"version": VERSION, "encoding": "utf-8", "signMethod": SIGN_METHOD,
                "merId": self.up["mer_id"], **fields, "signPubKeyCert": self.sign_cert_pem}
        if not data["merId"]:
            data["merId"] = self.up["mer_id"]
        signature = self.sign_key.sign(signed_digest(data), PKCS1v15(), SHA256())
        text = "&".join(f"{k}={v}" for k, v in sorted(data.items()))
        text += "&signature=" + base64.b64encode(signature).decode()
        return Reply(200, {"Content-Type": "text/plain;charset=utf-8"}, text.encode("utf-8"))

    def handle(self, method: str, url: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        path = url.split("?", 1)[0]
        if method == "POST" and path == "/_sim/merchant-certificate":
            return self.certificate_request(body)
        fields: dict[str, str] = {}
        if method == "POST":
            try:
                fields, _ = read_form(body, headers.get("content-type", ""),
                                      charset_field="encoding", codecs=ENCODINGS)
            except SignatureInvalid as exc:
                return page(self.channel, 400, f"<p>报文格式错误：{html.escape(exc.message)}</p>")
        if method == "POST" and path == FRONT:  # the payer's browser
            if not self.verified(fields):
                return page(self.channel, 400, "<p>验证签名失败[11]</p>")
            order = self.s.remember(SimOrder(
                self.channel, fields["orderId"], int(fields["txnAmt"]), fields["backUrl"],
                fields.get("frontUrl", ""), txn_time=fields["txnTime"],
                extra={"payTimeout": fields.get("payTimeout", ""), "merId": fields["merId"]}))
            return self.s.cashier(order)
        if method != "POST" or path not in (BACK, QUERY, FILES):
            return page(self.channel, 404, "<p>未知的模拟支付请求</p>")
        failing = self.s.record(self.channel, path, fields)
        if failing:
            return Reply(failing, {"Content-Type": "text/plain"}, b"")
        echo = {k: fields.get(k, "") for k in ("orderId", "txnTime", "txnType", "txnSubType",
                                                  "bizType", "accessType", "merId")}
        if not self.verified(fields):
            return self.answer({**echo, "respCode": "11", "respMsg": "验证签名失败"})
        if path == FILES:
            return self.file_transfer(fields, echo)
        return self.query(fields, echo) if path == QUERY else self.refund(fields, echo)

    def file_transfer(self, fields: dict[str, str], echo: dict[str, str]) -> Reply:
        """文件传输 (txnType 76, fileType 00): the clearing day's ZM file, as fileContent =
        base64(zlib(zip)); 98 文件不存在 for a day with nothing. The settle date's year is
        the one of the request's txnTime (a January request for 12xx: the year before)."""
        from devstack.builders.statements import unionpay_file_content
        from devstack.sim_statements import day_lines

        settle, at = fields.get("settleDate", ""), fields.get("txnTime", "")
        if fields.get("txnType") != "76" or fields.get("fileType") != "00" \
                or len(settle) != 4 or len(at) != 14:
            return self.answer({**echo, "respCode": "01", "respMsg": "报文格式错误"})
        year = int(at[:4]) - (1 if settle[:2] > at[4:6] else 0)
        date = f"{year}-{settle[:2]}-{settle[2:]}"
        mer_id = fields["merId"]
        lines = [line for line in day_lines(self.s, self.channel, date)
                 if (line.merchant or self.up["mer_id"]) == mer_id]
        if not lines:
            return self.answer({**echo, "respCode": "98", "respMsg": "文件不存在"})
        return self.answer({**echo, "respCode": "00", "respMsg": "成功[0000000]",
                            "settleDate": settle, "fileType": "00",
                            "fileName": f"{mer_id}_{date.replace('-', '')}.zip",
                            "fileContent": unionpay_file_content(lines, mer_id=mer_id,
                                                                 date=date)})

    def query(self, fields: dict[str, str], echo: dict[str, str]) -> Reply:
        key = (self.channel, fields.get("orderId", ""))
        order, refund = self.s.orders.get(key), self.s.refunds.get(key)
        if order is not None and self.mer_id_of(order) != fields.get("merId"):
            order = None  # another merchant's order: not this one's to see
        if refund is not None and self.mer_id_of(refund.order) != fields.get("merId"):
            refund = None
        if order is not None and order.txn_id and order.txn_time == fields.get("txnTime"):
            assert order.paid_at is not None
            at = order.paid_at.astimezone(CHINA_TZ)
            return self.answer({**echo, "respCode": "00", "respMsg": "成功[0000000]",
                                "origRespCode": "00", "origRespMsg": "成功[0000000]",
                                "queryId": order.txn_id, "txnAmt": str(order.amount_fen),
                                "txnType": "01", "currencyCode": "156", "traceNo": "479103",
                                "traceTime": at.strftime("%m%d%H%M%S"),
                                "settleDate": settle_mmdd(at)})
        if refund is not None and refund.txn_time == fields.get("txnTime"):
            return self.answer({**echo, "respCode": "00", "respMsg": "成功[0000000]",
                                "origRespCode": "00", "origRespMsg": "成功[0000000]",
                                "queryId": refund.refund_id, "txnType": "04",
                                "txnAmt": str(refund.amount_fen)})
        return self.answer({**echo, "respCode": "34", "respMsg": "查无此交易"})

    def refund(self, fields: dict[str, str], echo: dict[str, str]) -> Reply:
        original = self.s.by_txn(self.channel, fields.get("origQryId", ""))
        number = fields.get("orderId", "")
        amount = int(fields["txnAmt"]) if fields.get("txnAmt", "").isdigit() else 0
        if fields.get("txnType") != "04" or original is None \
                or self.mer_id_of(original) != fields.get("merId"):
            return self.answer({**echo, "respCode": "35", "respMsg": "原交易不存在或状态不正确"})
        with self.s.lock:
            if (self.channel, number) in self.s.refunds:
                return self.answer({**echo, "respCode": "12", "respMsg": "重复交易"})
            if not 0 < amount <= original.amount_fen:
                return self.answer({**echo, "respCode": "30", "respMsg": "退货金额超限"})
            refund = SimRefund(self.channel, number, original, amount,
                               self.new_txn_id(self.s.clock()), "SUCCESS",
                               fields.get("backUrl", ""), fields.get("txnTime", ""),
                               done_at=self.s.clock())
            self.s.refunds[(self.channel, number)] = refund
        return self.answer({**echo, "respCode": "00", "respMsg": "成功[0000000]",
                            "queryId": refund.refund_id, "origQryId": fields["origQryId"],
                            "txnAmt": str(amount)})

    def mer_id_of(self, order: SimOrder) -> str:
        """The merId the order was opened with (ours for one kept before merIds were)."""
        return str(order.extra.get("merId") or self.up["mer_id"])

    def new_txn_id(self, now: datetime) -> str:
        return "95" + now.astimezone(CHINA_TZ).strftime("%m%d%H%M%S") + new_id("", 9)

    def notification(self, order: SimOrder) -> tuple[bytes, dict[str, str]]:
        return unionpay_notification(self.s.stack, order.out_trade_no, order.amount_fen,
                                     now=order.paid_at or self.s.clock(),
                                     queryId=order.txn_id or "", txnTime=order.txn_time,
                                     merId=self.mer_id_of(order))
