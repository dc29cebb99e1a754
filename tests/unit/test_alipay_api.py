"""The Alipay client: request signatures cross-checked with python-alipay-sdk (pycryptodomex,
independent of ``cryptography``), and how synchronous answers are verified and read."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from alipay import AliPay  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from chalicelib.adapters.alipay.api import (
    AlipayApi,
    request_signing_string,
    response_text,
    sign_request,
)
from chalicelib.adapters.alipay.config import AlipayConfig
from chalicelib.adapters.channel_http import HttpReply
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.payments import ChannelOrder, RefundRequest
from chalicelib.domain.statements import StatementInvalid

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
APP_ID, SELLER_ID = "2021004100000001", "2088621900000001"
ORDER = ChannelOrder(out_trade_no="34010026000000000017aB3dE9", payment_code="34010026000000000017",
                     channel="alipay", amount_fen=12345, created_at="2026-03-02T10:00:00+08:00",
                     expires_at="2026-03-02T12:00:00+08:00")


def pem(key: RSAPrivateKey, public: bool = False) -> str:
    if public:
        return key.public_key().public_bytes(Encoding.PEM,
                                             PublicFormat.SubjectPublicKeyInfo).decode()
    return key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL,
                             NoEncryption()).decode()


@pytest.fixture(scope="module")
def keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    """(Alipay's key, our application key)."""
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def config(keys) -> AlipayConfig:
    return AlipayConfig.from_secret({"app_id": APP_ID, "seller_id": SELLER_ID,
                                     "alipay_public_key_pem": pem(keys[0], public=True),
                                     "app_private_key_pem": pem(keys[1])})


def sdk(keys) -> AliPay:
    """The SDK as Alipay would verify us: our app key signs, our app public key verifies."""
    return AliPay(appid=APP_ID, app_notify_url=None, app_private_key_string=pem(keys[1]),
                  alipay_public_key_string=pem(keys[1], public=True), sign_type="RSA2")


def answer(alipay_key: RSAPrivateKey, key: str, data: dict, spaced: bool = False) -> HttpReply:
    text = json.dumps(data, ensure_ascii=False, separators=(", ", ": ") if spaced else (",", ":"))
    sign = base64.b64encode(alipay_key.sign(text.encode(), PKCS1v15(), SHA256())).decode()
    return HttpReply(200, {}, f'{{"{key}": {text},"sign":"{sign}"}}'.encode())


def paid_answer(alipay_key: RSAPrivateKey) -> HttpReply:
    """Alipay's answer to a query of ``ORDER``: paid, ¥123.45."""
    return answer(alipay_key, "alipay_trade_query_response", {
        "code": "10000", "msg": "Success", "trade_no": "2026030222001400000000000001",
        "out_trade_no": ORDER.out_trade_no, "trade_status": "TRADE_SUCCESS",
        "total_amount": "123.45", "send_pay_date": "2026-03-02 10:01:02"})


class Channel:
    def __init__(self, reply):
        self.reply, self.requests = reply, []

    def __call__(self, method, url, headers, body):
        self.requests.append(dict(parse_qsl((body or b"").decode())))
        return self.reply


def test_the_wap_pay_url_carries_the_signature_python_alipay_sdk_makes(keys, config):
    client = AlipayApi(config, "https://openapi.alipay.com/gateway.do", Channel(None), lambda: NOW)
    opened = client.checkout(ORDER, description="非税收入缴款 水&电", notify_url="https://x/cb",
                             return_url="https://x/pay/1", client_ip="")
    url = urlsplit(opened.pay_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://openapi.alipay.com/gateway.do"
    params = dict(parse_qsl(url.query))
    biz = json.loads(params["biz_content"])
    assert (params["method"], params["sign_type"], params["charset"]) == (
        "alipay.trade.wap.pay", "RSA2", "utf-8")
    assert (params["timestamp"], params["notify_url"]) == ("2026-03-02 10:00:00", "https://x/cb")
    assert biz == {"out_trade_no": ORDER.out_trade_no, "total_amount": "123.45",
                   "subject": "非税收入缴款 水&电", "product_code": "QUICK_WAP_WAY",
                   "timeout_express": "120m", "quit_url": "https://x/pay/1"}
    ours = params.pop("sign")
    theirs = dict(parse_qsl(sdk(keys).sign_data(dict(params))))["sign"]
    assert ours == theirs  # RSA PKCS#1 v1.5 is deterministic: the same string, the same sign
    assert sdk(keys)._verify(request_signing_string(params), ours)  # noqa: SLF001


def test_the_signing_string_keeps_sign_type_and_drops_sign_and_empty_values():
    assert request_signing_string({"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2",
                                   "c": ""}) == "a=1&b=2&sign_type=RSA2"


def test_the_signed_text_of_an_answer_is_found_as_python_alipay_sdk_finds_it(keys):
    reply = answer(keys[0], "alipay_trade_query_response",
                   {"code": "10000", "msg": "Success", "nested": {"a": "}{"}}, spaced=True)
    raw = reply.body.decode()
    theirs = AliPay(appid=APP_ID, app_notify_url=None, app_private_key_string=pem(keys[1]),
                    alipay_public_key_string=pem(keys[0], public=True))
    assert response_text(raw, "alipay_trade_query_response") == json.dumps(
        {"code": "10000", "msg": "Success", "nested": {"a": "}{"}}, ensure_ascii=False,
        separators=(", ", ": "))
    assert theirs._verify_and_return_sync_response(raw, "alipay_trade_query_response")[  # noqa: SLF001
        "code"] == "10000"


def test_a_paid_trade_is_read_as_its_payment_in_fen(keys, config):
    reply = paid_answer(keys[0])
    channel = Channel(reply)
    payment = AlipayApi(config, "https://gw", channel, lambda: NOW).query(ORDER)
    assert payment is not None
    assert (payment.amount_fen, payment.paid_at) == (12345, "2026-03-02T10:01:02+08:00")
    sent = channel.requests[0]
    assert sent["method"] == "alipay.trade.query"
    assert sdk(keys)._verify(request_signing_string(sent), sent["sign"])  # noqa: SLF001


@pytest.mark.parametrize("data", [
    {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"},
    {"code": "10000", "msg": "Success", "trade_status": "WAIT_BUYER_PAY"}])
def test_a_trade_that_does_not_exist_or_waits_is_not_paid(keys, config, data):
    reply = answer(keys[0], "alipay_trade_query_response", data)
    assert AlipayApi(config, "https://gw", Channel(reply), lambda: NOW).query(ORDER) is None


def test_an_answer_signed_by_another_key_or_tampered_is_service_unavailable(keys, config):
    forged = answer(keys[1], "alipay_trade_query_response", {"code": "10000"})
    genuine = answer(keys[0], "alipay_trade_query_response", {"code": "10000",
                                                               "total_amount": "1.00"})
    tampered = HttpReply(200, {}, genuine.body.replace(b"1.00", b"9.00"))
    for reply in (forged, tampered, HttpReply(502, {}, b"bad gateway")):
        with pytest.raises(ServiceUnavailable):
            AlipayApi(config, "https://gw", Channel(reply), lambda: NOW).query(ORDER)


REFUND = RefundRequest(payment_id="alipay#2026", channel="alipay", channel_txn_id="2026",
                       out_trade_no=ORDER.out_trade_no, amount_fen=12345,
                       out_refund_no="R0123456789abcdef0123456789abcde", requested_at=NOW,
                       notify_url="")


def test_a_refund_is_answered_at_once(keys, config):
    ok = answer(keys[0], "alipay_trade_refund_response", {
        "code": "10000", "msg": "Success", "trade_no": "2026", "fund_change": "Y",
        "refund_fee": "123.45"})
    channel = Channel(ok)
    result = AlipayApi(config, "https://gw", channel, lambda: NOW).refund(REFUND)
    assert (result.status, result.refund_id) == ("succeeded", REFUND.out_refund_no)
    biz = json.loads(channel.requests[0]["biz_content"])
    assert (biz["refund_amount"], biz["out_request_no"]) == ("123.45", REFUND.out_refund_no)
    refused = answer(keys[0], "alipay_trade_refund_response", {
        "code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"})
    assert AlipayApi(config, "https://gw", Channel(refused), lambda: NOW).refund(
        REFUND).status == "failed"
    busy = answer(keys[0], "alipay_trade_refund_response", {"code": "20000"})
    with pytest.raises(ServiceUnavailable):
        AlipayApi(config, "https://gw", Channel(busy), lambda: NOW).refund(REFUND)


def test_the_app_key_may_be_bare_base64_and_stays_out_of_repr(keys):
    der = keys[1].private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    config = AlipayConfig.from_secret({"app_id": APP_ID, "seller_id": SELLER_ID,
                                       "alipay_public_key_pem": pem(keys[0], public=True),
                                       "app_private_key_pem": base64.b64encode(der).decode()})
    assert config.app_private_key is not None
    assert "app_private_key=<redacted>" in repr(config) and "MII" not in repr(config)
    signed = sign_request({"a": "1"}, config.app_private_key)
    assert sdk(keys)._verify("a=1", signed["sign"])  # noqa: SLF001


# --- third-party application authorisation (第三方应用授权) --------------------------------

TOKEN = "202606BB2088000000000101a1b2c3d4e5f60718"
MERCHANT = replace(ORDER, merchant="2088000000000101", merchant_app="2021000000000101",
                   merchant_token=TOKEN)


def test_a_merchants_wap_pay_url_carries_its_token_signed_as_the_isv_client_of_the_sdk_does(
        keys, config):
    from alipay import ISVAliPay  # type: ignore[import-untyped]

    client = AlipayApi(config, "https://openapi.alipay.com/gateway.do", Channel(None), lambda: NOW)
    opened = client.checkout(MERCHANT, description="非税收入缴款", notify_url="https://x/cb",
                             return_url="https://x/pay/1", client_ip="")
    params = dict(parse_qsl(urlsplit(opened.pay_url).query))
    isv = ISVAliPay(appid=APP_ID, app_private_key_string=pem(keys[1]),
                    alipay_public_key_string=pem(keys[1], public=True), app_auth_token=TOKEN)
    body = isv.build_body("alipay.trade.wap.pay", json.loads(params["biz_content"]),
                          notify_url="https://x/cb", return_url="https://x/pay/1")
    assert set(body) == set(params) - {"sign", "format"}  # the SDK sends no format
    assert params["app_auth_token"] == body["app_auth_token"] == TOKEN
    ours = params.pop("sign")
    assert ours == dict(parse_qsl(isv.sign_data(dict(params))))["sign"]
    without = {k: v for k, v in params.items() if k != "app_auth_token"}
    assert not sdk(keys)._verify(request_signing_string(without), ours)  # noqa: SLF001
    assert TOKEN not in repr(MERCHANT)


def test_a_merchants_query_refund_and_bill_carry_its_token_and_its_payment_names_it(
        keys, config):
    paid = paid_answer(keys[0])
    channel = Channel(paid)
    payment = AlipayApi(config, "https://gw", channel, lambda: NOW).query(MERCHANT)
    assert payment is not None and payment.merchant == MERCHANT.merchant
    refunded = Channel(answer(keys[0], "alipay_trade_refund_response", {
        "code": "10000", "msg": "Success", "trade_no": "2026", "fund_change": "Y"}))
    AlipayApi(config, "https://gw", refunded, lambda: NOW).refund(replace(
        REFUND, merchant=MERCHANT.merchant, merchant_token=TOKEN))
    none = Channel(answer(keys[0], "alipay_data_dataservice_bill_downloadurl_query_response", {
        "code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist"}))
    bill = AlipayApi(config, "https://gw", none, lambda: NOW).merchant_statement(
        "2026-03-01", MERCHANT.merchant, TOKEN)
    assert bill.lines == ()
    for sent in (channel.requests[0], refunded.requests[0], none.requests[0]):
        assert sent["app_auth_token"] == TOKEN
        assert sdk(keys)._verify(request_signing_string(sent), sent["sign"])  # noqa: SLF001


def test_a_merchants_call_without_its_token_is_never_made_as_the_deployments(keys, config):
    channel = Channel(None)
    client = AlipayApi(config, "https://gw", channel, lambda: NOW)
    bare = replace(MERCHANT, merchant_token="")
    with pytest.raises(ServiceUnavailable, match="app_auth_token was not given"):
        client.query(bare)
    with pytest.raises(ServiceUnavailable):
        client.checkout(bare, description="", notify_url="", return_url="", client_ip="")
    with pytest.raises(ServiceUnavailable):
        client.refund(replace(REFUND, merchant=MERCHANT.merchant))
    with pytest.raises(ServiceUnavailable):
        client.merchant_statement("2026-03-01", MERCHANT.merchant, "")
    assert channel.requests == []


def test_an_authorisation_alipay_no_longer_honours_is_service_unavailable(keys, config):
    """公共错误码 20001 (授权权限不足): the merchant must authorise us again; retried later."""
    for sub_code in ("aop.invalid-app-auth-token", "aop.app-auth-token-time-out",
                     "aop.invalid-app-auth-token-no-api"):
        refused = answer(keys[0], "alipay_trade_refund_response", {
            "code": "20001", "msg": "Insufficient Token Permissions", "sub_code": sub_code})
        with pytest.raises(ServiceUnavailable, match="must authorise again"):
            AlipayApi(config, "https://gw", Channel(refused), lambda: NOW).refund(replace(
                REFUND, merchant=MERCHANT.merchant, merchant_token=TOKEN))


def test_a_merchants_bill_must_be_its_own(keys, config):
    from devstack.builders.statements import alipay_bill_zip

    url = "https://dwbillcenter.alipay.com/downloadBillFile.resource?token=x"
    asked = answer(keys[0], "alipay_data_dataservice_bill_downloadurl_query_response", {
        "code": "10000", "msg": "Success", "bill_download_url": url})

    def transport(zip_of: str):
        data = alipay_bill_zip([], pid=zip_of, date="2026-03-01")

        def call(method, url, headers, body):
            return asked if method == "POST" else HttpReply(200, {}, data)
        return call

    mine = AlipayApi(config, "https://gw", transport(MERCHANT.merchant), lambda: NOW)
    bill = mine.merchant_statement("2026-03-01", MERCHANT.merchant, TOKEN)
    assert [f.name for f in bill.files] == [f"alipay-2026-03-01-{MERCHANT.merchant}-trade.csv.zip"]
    other = AlipayApi(config, "https://gw", transport(SELLER_ID), lambda: NOW)
    with pytest.raises(StatementInvalid, match="is not merchant 2088000000000101's"):
        other.merchant_statement("2026-03-01", MERCHANT.merchant, TOKEN)


def test_alipay_says_who_granted_a_token_and_whether_it_holds(keys, config):
    """alipay.open.auth.token.app.query: user_id, auth_app_id, status valid | invalid."""
    found = Channel(answer(keys[0], "alipay_open_auth_token_app_query_response", {
        "code": "10000", "msg": "Success", "user_id": "2088000000000101",
        "auth_app_id": "2021000000000101", "expires_in": 31536000,
        "auth_methods": ["alipay.trade.wap.pay"], "auth_start": "2026-06-01 00:00:00",
        "auth_end": "2027-06-01 00:00:00", "status": "valid"}))
    said = AlipayApi(config, "https://gw", found, lambda: NOW).authorisation(TOKEN)
    assert said is not None and (said.merchant_id, said.app_id, said.valid, said.ends) == (
        "2088000000000101", "2021000000000101", True, "2027-06-01 00:00:00")
    sent = found.requests[0]
    assert (sent["method"], json.loads(sent["biz_content"])) == (
        "alipay.open.auth.token.app.query", {"app_auth_token": TOKEN})
    assert "app_auth_token" not in sent  # asked by us, about the token: not on its behalf
    lapsed = Channel(answer(keys[0], "alipay_open_auth_token_app_query_response", {
        "code": "10000", "msg": "Success", "user_id": "2088000000000101",
        "auth_app_id": "2021000000000101", "status": "invalid"}))
    said = AlipayApi(config, "https://gw", lapsed, lambda: NOW).authorisation(TOKEN)
    assert said is not None and not said.valid
    unknown = Channel(answer(keys[0], "alipay_open_auth_token_app_query_response", {
        "code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-app-auth-token"}))
    assert AlipayApi(config, "https://gw", unknown, lambda: NOW).authorisation(TOKEN) is None
    with pytest.raises(ServiceUnavailable):
        AlipayApi(config, "https://gw", Channel(HttpReply(502, {}, b"")), lambda: NOW
                  ).authorisation(TOKEN)
