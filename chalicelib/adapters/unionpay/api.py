"""UnionPay ACP 5.1.0 gateway, the calls we make: front consumption, query, refund (退货), and
the day's reconciliation file (``statement``, file transfer; its format in ``bill.py``).

A request is a form signed with OUR signing certificate (signMethod 01): ``certId`` is that
certificate's serial number in decimal; ``signature`` is RSA PKCS#1 v1.5 SHA-256 over the
lower-hex SHA-256 of every other field sorted ``k=v&…`` (``verify.signed_digest``).

Front consumption (``/gateway/api/frontTransReq.do``) is the payer's browser posting a form
that submits itself; the result comes to ``backUrl`` as a notice. Query
(``/gateway/api/queryTrans.do``, txnType 00) and refund (``/gateway/api/backTransReq.do``,
txnType 04) are server-to-server: the synchronous answer is ``k=v&…`` (not percent-encoded; a
value in braces may hold ``&``), signed by UnionPay like a notice and verified the same way
(``verify.verify_fields``: chain to our middle/root, CN, signature) before it is read.
An order of a unit's own merId (``ChannelOrder.merchant``, with ``merchant_token``: the signing
key and certificate UnionPay issued to that merId, unsealed by the service for the call) is
checked out, queried and refunded by the same client acting for it (``for_merchant``): that
merId in every request, that certificate's serial as certId and its key signing (the SDK's
多证书签名); an answer naming another merId is refused, and an order of a unit's merId without
its key is never signed with ours (``ServiceUnavailable``). ``merchant_statement`` is that
merId's own file, each line naming the merId it lists (商户代码: ``StatementLine.merchant``,
"" for the deployment's). The deployment's own requests are exactly what they were.
Errors: the transport raises ``ServiceUnavailable`` for the network; a non-200, an answer that
fails verification, or a respCode asking to try later (03/04/05) is ``ServiceUnavailable``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.channel_http import Transport
from chalicelib.adapters.unionpay.bill import open_file_content, parse_zip
from chalicelib.adapters.unionpay.config import UnionPayConfig
from chalicelib.adapters.unionpay.verify import SIGN_METHOD, VERSION, signed_digest, verify_fields
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import DomainError, ServiceUnavailable
from chalicelib.domain.payments import (
    ChannelOrder,
    Checkout,
    Payment,
    RefundRequest,
    RefundResult,
)
from chalicelib.domain.statements import Statement, StatementFile, settle_date_of

_TIME = "%Y%m%d%H%M%S"
FRONT, BACK, QUERY = ("/gateway/api/frontTransReq.do", "/gateway/api/backTransReq.do",
                      "/gateway/api/queryTrans.do")
LATER = ("03", "04", "05")  # 交易状态未明: ask again later
NOT_FOUND = "34"
NO_FILE = "98"  # 文件不存在
# The file transfer host of each gateway (SDK key ``fileTransUrl``); any other gateway (the
# local simulator) takes files at its own ``/fileTransfer.do``.
FILE_HOSTS = {"gateway.95516.com": "https://filedownload.95516.com/",
              "gateway.test.95516.com": "https://filedownload.test.95516.com/"}
DUPLICATE = "12"


def txn_time(moment: datetime) -> str:
    """``YYYYMMDDhhmmss`` in Beijing time."""
    return moment.astimezone(CHINA_TZ).strftime(_TIME)


def sign_request(fields: Mapping[str, str], key: RSAPrivateKey) -> dict[str, str]:
    """``fields`` with their ``signature`` (signMethod 01, our signing key)."""
    signature = key.sign(signed_digest(fields), PKCS1v15(), SHA256())
    return {**fields, "signature": base64.b64encode(signature).decode("ascii")}


def parse_answer(text: str) -> dict[str, str]:
    """A synchronous answer ``k=v&k=v`` into fields; ``&`` inside ``{…}`` stays in the value."""
    fields: dict[str, str] = {}
    depth, start = 0, 0
    for i, ch in enumerate(text + "&"):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == "&" and depth == 0:
            key, sep, value = text[start:i].partition("=")
            if sep:
                fields[key] = value
            start = i + 1
    return fields


def form_page(action: str, fields: Mapping[str, str]) -> str:
    """A small page whose form posts itself to UnionPay (with a button if scripts are off)."""
    e = html.escape
    inputs = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">'
                     for k, v in fields.items())
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>正在前往银联支付…</title></head><body>'
            f'<form id="pay" action="{e(action)}" method="post">{inputs}'
            '<p>正在前往银联支付…</p><button type="submit">继续支付</button></form>'
            '<script>document.getElementById("pay").submit()</script></body></html>')


class UnionPayApi:
    """The channel client: ``checkout``, ``query``, ``refund`` (ChannelApi in ports)."""

    channel = "unionpay"

    def __init__(self, config: UnionPayConfig, gateway: str, transport: Transport,
                 clock: Callable[[], datetime]) -> None:
        if config.merchant_sign_key is None or config.merchant_sign_cert is None:
            raise ServiceUnavailable("UnionPay signing certificate is not configured")
        self.config, self.gateway = config, gateway.rstrip("/")
        self.transport, self.clock = transport, clock
        self.deployment_mer_id = config.mer_id  # as read from the secret (``for_merchant`` keeps)

    def signed(self, **fields: str) -> dict[str, str]:
        assert self.config.merchant_sign_key is not None and self.config.merchant_sign_cert
        common = {"version": VERSION, "encoding": "utf-8", "signMethod": SIGN_METHOD,
                  "accessType": "0", "merId": self.config.mer_id,
                  "certId": str(self.config.merchant_sign_cert.serial_number)}
        return sign_request({**common, **fields}, self.config.merchant_sign_key)

    def merchant_cert_roots(self) -> tuple[x509.Certificate, ...]:
        """The CA certificates a unit's merId's signing certificate must chain to (configured
        as ``merchant_cert_roots_pem``; MerchantCertificateRoots in ports)."""
        return self.config.merchant_cert_roots

    def for_merchant(self, merchant_id: str, secret: str) -> UnionPayApi:
        """This client acting for a unit's own merId, signing with its key (``secret``: the
        sealed PEM, opened by the service for this call); itself for the deployment's."""
        if not merchant_id:
            return self
        if not secret:
            raise ServiceUnavailable(f"UnionPay merId {merchant_id}: no signing certificate "
                                     "given for it")
        try:
            config = self.config.for_merchant(merchant_id, secret)
        except ValueError:
            raise ServiceUnavailable(f"the signing certificate kept for merId {merchant_id} "
                                     "cannot be read") from None
        api = UnionPayApi(config, self.gateway, self.transport, self.clock)
        api.deployment_mer_id = self.deployment_mer_id
        return api

    @property
    def own_merchant(self) -> str:
        """The unit's merId this client acts for; "" when it is the deployment's."""
        return "" if self.config.mer_id == self.deployment_mer_id else self.config.mer_id

    @property
    def file_url(self) -> str:
        host = urlsplit(self.gateway).hostname or ""
        return FILE_HOSTS.get(host, self.gateway + "/fileTransfer.do")

    def call(self, path: str, fields: dict[str, str], url: str | None = None) -> dict[str, str]:
        """A back request (to the gateway's ``path``, or to ``url``); the verified answer."""
        reply = self.transport("POST", url or self.gateway + path, {
            "Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            urlencode(fields).encode("ascii"))
        if reply.status != 200:
            raise ServiceUnavailable(f"UnionPay {path}: HTTP {reply.status}")
        try:
            answer = parse_answer(reply.body.decode("utf-8"))
            verify_fields(answer, "utf-8", self.config, self.clock())
        except (DomainError, UnicodeDecodeError) as exc:
            why = exc.message if isinstance(exc, DomainError) else "not utf-8"
            raise ServiceUnavailable(f"UnionPay {path}: answer not authentic: {why}") from None
        if answer.get("merId") != self.config.mer_id:
            raise ServiceUnavailable(f"UnionPay {path}: answer for merId {answer.get('merId')}")
        if answer.get("respCode") in LATER:
            raise ServiceUnavailable(f"UnionPay {path}: {_why(answer)}")
        return answer

    def checkout(self, order: ChannelOrder, *, description: str, notify_url: str,
                 return_url: str, client_ip: str, payer: str | None = None) -> Checkout:
        """Front consumption: the self-submitting form (and the gateway it posts to);
        channelType 07 (互联网, a desktop's browser) for a ``page`` order, else 08 (移动)."""
        del description, client_ip, payer
        fields = self.for_merchant(order.merchant, order.merchant_token).signed(
            txnType="01", txnSubType="01", bizType="000201",
            channelType="07" if order.mode == "page" else "08",
            orderId=order.out_trade_no, txnTime=order_txn_time(order),
            txnAmt=str(order.amount_fen), currencyCode="156", frontUrl=return_url,
            backUrl=notify_url, payTimeout=txn_time(datetime.fromisoformat(order.expires_at)))
        action = self.gateway + FRONT
        return Checkout(pay_url=action, form_html=form_page(action, fields))

    def _query(self, order_id: str, at: str) -> dict[str, str] | None:
        answer = self.call(QUERY, self.signed(txnType="00", txnSubType="00", bizType="000000",
                                              orderId=order_id, txnTime=at))
        if answer.get("respCode") == NOT_FOUND:
            return None
        if answer.get("respCode") != "00" or answer.get("orderId") != order_id:
            raise ServiceUnavailable(f"UnionPay query of {order_id} failed: {_why(answer)}")
        return answer

    def query(self, order: ChannelOrder) -> Payment | None:
        """queryTrans (txnType 00): the payment, if the consumption succeeded."""
        if order.merchant:
            return self.for_merchant(order.merchant, order.merchant_token).query(
                replace(order, merchant="", merchant_token=""))
        at = order_txn_time(order)
        answer = self._query(order.out_trade_no, at)
        if answer is None or answer.get("origRespCode") != "00":
            return None  # not found, under way (03/04/05) or failed
        amount, query_id = answer.get("txnAmt", ""), answer.get("queryId", "")
        if not amount.isdigit() or not query_id:
            raise ServiceUnavailable("UnionPay query: malformed txnAmt or queryId")
        paid = datetime.strptime(answer.get("txnTime") or at, _TIME).replace(tzinfo=CHINA_TZ)
        paid_at = paid.isoformat(timespec="seconds")
        return Payment(channel=self.channel, channel_txn_id=query_id,
                       out_trade_no=order.out_trade_no, amount_fen=int(amount),
                       paid_at=paid_at, notification_id="query",
                       settle_date=settle_date_of(answer.get("settleDate", ""), paid_at),
                       merchant=self.own_merchant)

    def refund(self, request: RefundRequest) -> RefundResult:
        """退货 (txnType 04), made idempotent: ask first whether this refund order exists."""
        if request.merchant:
            return self.for_merchant(request.merchant, request.merchant_token).refund(
                replace(request, merchant="", merchant_token=""))
        at = txn_time(request.requested_at)
        known = self._query(request.out_refund_no, at)
        if known is not None:
            code = known.get("origRespCode", "")
            status = "succeeded" if code == "00" else "requested" if code in LATER else "failed"
            return RefundResult(status, known.get("queryId") or None,
                                f"{code} {known.get('origRespMsg', '')}".strip())
        answer = self.call(BACK, self.signed(
            txnType="04", txnSubType="00", bizType="000201", channelType="07",
            orderId=request.out_refund_no, txnTime=at, txnAmt=str(request.amount_fen),
            currencyCode="156", origQryId=request.channel_txn_id, backUrl=request.notify_url))
        if answer.get("respCode") in ("00", DUPLICATE):
            return RefundResult("requested", answer.get("queryId") or None, _why(answer))
        return RefundResult("failed", None, _why(answer))


    def merchant_statement(self, settle_date: str, merchant: str, token: str) -> Statement:
        """The reconciliation file of a unit's own merId (``token``: its signing key and
        certificate): file transfer is per merId, each line naming the merId it lists."""
        return self.for_merchant(merchant, token).statement(settle_date)

    def statement(self, settle_date: str) -> Statement:
        """The reconciliation file (fileType 00) of the clearing day ``settle_date``
        (YYYY-MM-DD; UnionPay is asked for MMDD). 文件不存在 (98) is an empty statement."""
        answer = self.call("fileTransfer", self.signed(
            txnType="76", txnSubType="01", bizType="000000", channelType="07", fileType="00",
            settleDate=settle_date[5:7] + settle_date[8:10], txnTime=txn_time(self.clock())),
            url=self.file_url)
        if answer.get("respCode") == NO_FILE:
            return Statement(self.channel, settle_date, (), "", ("98 文件不存在",))
        if answer.get("respCode") != "00" or "fileContent" not in answer:
            raise ServiceUnavailable(f"UnionPay file transfer {settle_date}: {_why(answer)}")
        data = open_file_content(answer["fileContent"])
        statement = parse_zip(data, settle_date, ours=self.deployment_mer_id)
        named = "".join(c for c in answer.get("fileName", "")[:80] if c.isascii() and
                        (c.isalnum() or c in "._-"))
        own = f"-{self.own_merchant}" if self.own_merchant else ""
        return replace(statement, files=(StatementFile(
            f"unionpay-{settle_date}-fileType00{own}.zip", data, "application/zip",
            f"fileName {named}; fileContent unpacked (base64, zlib); the answer's ACP signature "
            f"verified"),))


def order_txn_time(order: ChannelOrder) -> str:
    """The order's ``txnTime``: when it was opened (with merId and orderId, it names the trade)."""
    return txn_time(datetime.fromisoformat(order.created_at))


def _why(answer: Mapping[str, str]) -> str:
    return f"{answer.get('respCode', '')} {answer.get('respMsg', '')}".strip()
