"""In-memory fakes of the channel ports: ``ChannelApi`` (a channel's server), ``RefundStore`` and
``PayerIdentity`` (WeChat's web authorisation).

Kept next to ``tests/fakes.py`` (which wires them into ``fake_deps``) so that file stays about
the stores. ``FakeRefunds`` mirrors ``adapters/dynamo_refunds.DynamoRefunds`` over the shared
payments rows: each move is an ``if`` on the current status, as its conditional update.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.domain.merchants import Authorisation
from chalicelib.domain.payments import (
    ChannelOrder,
    Checkout,
    Payment,
    RefundRequest,
    RefundResult,
)
from chalicelib.domain.records import PaymentRecord
from chalicelib.domain.statements import Statement, clearing_day

_FROM = {"requested": ("pending", "requested"), "manual": ("pending",),
         "failed": ("requested",), "succeeded": ("requested", "failed"),
         "offline": ("manual", "failed")}


class FakeRefunds:
    """RefundStore; mirrors ``DynamoRefunds`` (the sparse index is ``refund_due == "due"``)."""

    def __init__(self, rows: dict[str, dict]) -> None:
        self.rows = rows  # the payments table, shared with FakePayments

    def due(self, limit: int = 100) -> list[PaymentRecord]:
        due = [r for r in self.rows.values() if r.get("refund_due") == "due"]
        return [PaymentRecord.of_row(r) for r in sorted(due, key=lambda r: r["paid_at"])[:limit]]

    def get(self, payment_id: str) -> PaymentRecord | None:
        row = self.rows.get(payment_id)
        return PaymentRecord.of_row(row) if row is not None else None

    def of_day(self, channel: str, date: str) -> list[PaymentRecord]:
        day = [r for r in self.rows.values() if r.get("refund_day") == f"{channel}#{date}"]
        return [PaymentRecord.of_row(r) for r in sorted(day, key=lambda r: r["refunded_at"])]

    def claim(self, payment_id: str, out_refund_no: str, now: str) -> bool:
        row = self.rows.get(payment_id)
        if row is None or row.get("refund_status") != "pending" or row["status"] != "exception":
            return False
        row.update(refund_status="requested", out_refund_no=out_refund_no,
                   refund_requested_at=now, refund_checked_at=now)
        return True

    def checked(self, payment_id: str, now: str) -> None:
        row = self.rows.get(payment_id)
        if row is not None and row.get("refund_status") == "requested":
            row["refund_checked_at"] = now

    def finish(self, payment_id: str, status: str, *, refund_id: str | None = None,
               detail: str = "", at: str = "") -> bool:
        row = self.rows.get(payment_id)
        if row is None or row.get("refund_status") not in _FROM[status]:
            return False
        row.update(refund_status=status, refund_detail=detail[:500] or status)
        if refund_id:
            row["refund_id"] = refund_id
        if status == "succeeded" and at:
            row.update(refunded_at=at,
                       refund_day=f"{row['channel']}#{clearing_day(row['channel'], at)}")
        if status != "requested":
            row.pop("refund_due", None)
        return True

    def retry(self, payment_id: str, failed_no: str, new_no: str) -> bool:
        row = self.rows.get(payment_id)
        if row is None or row.get("refund_status") != "failed" \
                or row.get("out_refund_no") != failed_no:
            return False
        for name in ("refund_id", "refund_requested_at", "refund_checked_at"):
            row.pop(name, None)
        row.update(refund_status="pending", refund_due="due", out_refund_no=new_no)
        return True


class FakeChannelApi:
    """ChannelApi of one channel, scripted: ``paid`` (out_trade_no → Payment) answers queries,
    ``refund_results`` the refunds in turn (default: succeeded); ``down`` makes every call
    raise ``ServiceUnavailable``. Every call is kept in ``calls``. MerchantAuthority too:
    ``authorisations`` (token → Authorisation) are the tokens the channel knows."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.authorisations: dict[str, Authorisation] = {}
        self.merchant_roots: tuple[Any, ...] = ()  # MerchantCertificateRoots (UnionPay: CFCA)
        self.paid: dict[str, Payment] = {}
        self.refund_results: list[RefundResult] = []
        self.down = False
        self.calls: list[tuple[str, Any]] = []

    def _call(self, name: str, what: Any) -> None:
        self.calls.append((name, what))
        if self.down:
            raise ServiceUnavailable(f"{self.channel} is down")

    def merchant_cert_roots(self) -> tuple[Any, ...]:
        return self.merchant_roots

    def checkout(self, order: ChannelOrder, *, description: str, notify_url: str,
                 return_url: str, client_ip: str, payer: str | None = None) -> Checkout:
        self._call("checkout", order)
        if order.mode == "native":
            return Checkout(pay_url=return_url,
                            code_url=f"weixin://wxpay/bizpayurl?pr={order.out_trade_no[-10:]}")
        if order.mode == "jsapi":
            if not payer:
                raise ValidationFailed("请在微信中打开缴款页面后再使用微信支付",
                                       {"mode": "jsapi needs the payer's WeChat session"},
                                       code="wechat_session_required")
            return Checkout(pay_url=return_url, jsapi={
                "appId": "wx-fake", "timeStamp": "0", "nonceStr": "N", "signType": "RSA",
                "package": f"prepay_id=wx{order.out_trade_no}", "paySign": "fake"})
        return Checkout(pay_url=f"https://{self.channel}.test/pay/{order.out_trade_no}")

    def authorisation(self, token: str) -> Authorisation | None:
        self._call("authorisation", len(token))  # never the token itself
        return self.authorisations.get(token)

    def query(self, order: ChannelOrder) -> Payment | None:
        self._call("query", order)
        return self.paid.get(order.out_trade_no)

    def refund(self, request: RefundRequest) -> RefundResult:
        self._call("refund", request)
        if self.refund_results:
            return self.refund_results.pop(0)
        return RefundResult("succeeded", f"refund-{request.out_refund_no}")


class FakePayerIdentity:
    """PayerIdentity, scripted: ``codes`` maps a code to the openid WeChat gives for it, once
    (a code is single-use); ``down`` makes ``openid`` raise ``ServiceUnavailable``. The codes
    asked about are kept in ``asked``."""

    def __init__(self, appid: str = "wx8888888888888888") -> None:
        self.appid = appid
        self.codes: dict[str, str] = {}
        self.down = False
        self.asked: list[str] = []

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        return (f"https://open.weixin.test/connect/oauth2/authorize?appid={self.appid}"
                f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code"
                f"&scope=snsapi_base&state={state}#wechat_redirect")

    def openid(self, code: str) -> str | None:
        self.asked.append(code)
        if self.down:
            raise ServiceUnavailable("WeChat OAuth is down")
        return self.codes.pop(code, None)


class FakeStatements:
    """StatementSource: the statement a test set for a day (``by_date``); any other day is
    empty, as a channel's day without a payment. ``failing`` is raised instead, as a channel
    that does not answer (``ServiceUnavailable``) or serves a bad file (``StatementInvalid``).
    MerchantStatementSource too: a unit's merchant's statement a test set
    (``by_merchant[(date, merchant)]``), the token it was asked with kept in ``tokens``."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.by_date: dict[str, Statement] = {}
        self.by_merchant: dict[tuple[str, str], Statement] = {}
        self.tokens: dict[str, str] = {}
        self.failing: Exception | None = None
        self.asked: list[str] = []

    def statement(self, date: str) -> Statement:
        self.asked.append(date)
        if self.failing is not None:
            raise self.failing
        return self.by_date.get(date, Statement(self.channel, date))

    def merchant_statement(self, date: str, merchant: str, token: str) -> Statement:
        self.asked.append(f"{date}#{merchant}")
        self.tokens[merchant] = token
        if self.failing is not None:
            raise self.failing
        return self.by_merchant.get((date, merchant), Statement(self.channel, date))
