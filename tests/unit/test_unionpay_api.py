"""The UnionPay client: our requests' signatures (recomputed here by hand: sorted ``k=v&…``,
lower-hex SHA-256, RSA-SHA256 over those 64 bytes, ``certId`` our certificate's serial), and
how the signed synchronous answers are verified and read."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.channel_http import HttpReply
from chalicelib.adapters.unionpay.api import BACK, FRONT, QUERY, UnionPayApi, parse_answer
from chalicelib.adapters.unionpay.config import UnionPayConfig
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.payments import ChannelOrder, RefundRequest
from devstack.builders.unionpay import crlf_pem, make_test_chain

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MER_ID = "777290058110097"
ORDER = ChannelOrder(out_trade_no="34010026000000000017aB3dE9", payment_code="34010026000000000017",
                     channel="unionpay", amount_fen=136, created_at="2026-03-02T10:00:00+08:00",
                     expires_at="2026-03-02T12:00:00+08:00")
REFUND = RefundRequest(payment_id="unionpay#951807261002324791038", channel="unionpay",
                       channel_txn_id="951807261002324791038", out_trade_no=ORDER.out_trade_no,
                       amount_fen=136, out_refund_no="R0123456789abcdef0123456789abcde",
                       requested_at=NOW, notify_url="https://x/callbacks/unionpay")


@pytest.fixture(scope="module")
def world():
    root, middle, leaf, leaf_key = make_test_chain()
    merchant_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name.from_rfc4514_string(f"CN=041@Z{MER_ID}@{MER_ID}@00000001")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(merchant_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=9))
            .sign(merchant_key, SHA256()))
    config = UnionPayConfig(mer_id=MER_ID, middle_cert=middle, root_cert=root,
                            merchant_sign_key=merchant_key, merchant_sign_cert=cert)
    return config, leaf, leaf_key


def by_hand(fields: dict[str, str]) -> bytes:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "signature")
    return hashlib.sha256(text.encode()).hexdigest().encode()


def answer(world, **fields: str) -> HttpReply:
    _, leaf, leaf_key = world
    data = {"version": "5.1.0", "encoding": "utf-8", "signMethod": "01", "merId": MER_ID,
            "signPubKeyCert": crlf_pem(leaf), **fields}
    signature = base64.b64encode(leaf_key.sign(by_hand(data), PKCS1v15(), SHA256())).decode()
    text = "&".join(f"{k}={v}" for k, v in sorted(data.items())) + "&signature=" + signature
    return HttpReply(200, {}, text.encode())


class Channel:
    def __init__(self, *replies: HttpReply) -> None:
        self.replies, self.requests = list(replies), []

    def __call__(self, method, url, headers, body):
        self.requests.append((url, dict(parse_qsl(body.decode(), keep_blank_values=True))))
        return self.replies.pop(0)


def client(world, *replies: HttpReply) -> tuple[UnionPayApi, Channel]:
    channel = Channel(*replies)
    return UnionPayApi(world[0], "https://gateway.95516.com", channel, lambda: NOW), channel


def test_the_front_form_is_signed_with_our_certificate_over_the_sorted_fields(world):
    config = world[0]
    opened = client(world)[0].checkout(ORDER, description="", notify_url="https://x/cb",
                                       return_url="https://x/pay/1", client_ip="")
    assert opened.pay_url == "https://gateway.95516.com" + FRONT
    assert opened.form_html is not None and 'action="https://gateway.95516.com' in opened.form_html
    fields = dict(x.split('" value="') for x in
                  opened.form_html.split('<input type="hidden" name="')[1:])
    fields = {k: v.split('">', 1)[0].replace("&amp;", "&") for k, v in fields.items()}
    assert fields["certId"] == str(config.merchant_sign_cert.serial_number)
    assert (fields["txnType"], fields["txnSubType"], fields["bizType"]) == ("01", "01", "000201")
    assert (fields["orderId"], fields["txnAmt"], fields["merId"]) == (
        ORDER.out_trade_no, "136", MER_ID)
    assert (fields["txnTime"], fields["payTimeout"]) == ("20260302100000", "20260302120000")
    assert (fields["backUrl"], fields["frontUrl"]) == ("https://x/cb", "https://x/pay/1")
    config.merchant_sign_cert.public_key().verify(
        base64.b64decode(fields["signature"]), by_hand(fields), PKCS1v15(), SHA256())


def test_a_query_finds_the_payment_and_sends_a_signed_request(world):
    up, channel = client(world, answer(world, respCode="00", origRespCode="00",
                                       orderId=ORDER.out_trade_no, txnTime="20260302100000",
                                       queryId="951807261002324791038", txnAmt="136"))
    payment = up.query(ORDER)
    assert payment is not None
    assert (payment.channel_txn_id, payment.amount_fen, payment.paid_at) == (
        "951807261002324791038", 136, "2026-03-02T10:00:00+08:00")
    url, sent = channel.requests[0]
    assert url.endswith(QUERY) and (sent["txnType"], sent["orderId"]) == ("00", ORDER.out_trade_no)
    world[0].merchant_sign_cert.public_key().verify(
        base64.b64decode(sent["signature"]), by_hand(sent), PKCS1v15(), SHA256())
    assert payment.settle_date == ""  # this answer names no clearing day: the 23:00 rule decides


def test_a_query_answer_keeps_unionpays_clearing_day(world):
    up, _ = client(world, answer(world, respCode="00", origRespCode="00",
                                 orderId=ORDER.out_trade_no, txnTime="20260302233000",
                                 queryId="951807261002324791038", txnAmt="136",
                                 settleDate="0303"))
    payment = up.query(ORDER)
    assert payment is not None
    assert (payment.paid_at, payment.settle_date) == ("2026-03-02T23:30:00+08:00", "2026-03-03")


@pytest.mark.parametrize("fields", [{"respCode": "34", "respMsg": "查无此交易"},
                                    {"respCode": "00", "origRespCode": "03"},
                                    {"respCode": "00", "origRespCode": "01"}])
def test_an_order_not_found_under_way_or_failed_is_not_paid(world, fields):
    up, _ = client(world, answer(world, orderId=ORDER.out_trade_no, **fields))
    assert up.query(ORDER) is None


def test_an_answer_tampered_or_for_another_merchant_or_busy_is_service_unavailable(world):
    genuine = answer(world, respCode="00", origRespCode="00", orderId=ORDER.out_trade_no,
                     queryId="9518", txnAmt="136")
    tampered = HttpReply(200, {}, genuine.body.replace(b"txnAmt=136", b"txnAmt=1"))
    other = answer(world, respCode="00", orderId=ORDER.out_trade_no, merId="898000000000001")
    busy = answer(world, respCode="03", orderId=ORDER.out_trade_no)
    for reply in (tampered, other, busy, HttpReply(503, {}, b"")):
        with pytest.raises(ServiceUnavailable):
            client(world, reply)[0].query(ORDER)


def test_a_refund_not_yet_known_is_asked_for_by_a_back_request(world):
    up, channel = client(world, answer(world, respCode="34", orderId=REFUND.out_refund_no),
                         answer(world, respCode="00", orderId=REFUND.out_refund_no,
                                queryId="951807261002324799999"))
    result = up.refund(REFUND)
    assert (result.status, result.refund_id) == ("requested", "951807261002324799999")
    (query_url, query), (back_url, back) = channel.requests
    assert query_url.endswith(QUERY) and back_url.endswith(BACK)
    assert (query["orderId"], query["txnTime"]) == (REFUND.out_refund_no, "20260302100000")
    assert (back["txnType"], back["origQryId"], back["txnAmt"], back["txnTime"]) == (
        "04", REFUND.channel_txn_id, "136", "20260302100000")


def test_a_refund_already_made_is_read_from_the_query_and_not_asked_again(world):
    up, channel = client(world, answer(world, respCode="00", origRespCode="00",
                                       orderId=REFUND.out_refund_no, queryId="95-refund"))
    assert up.refund(REFUND).status == "succeeded"
    assert len(channel.requests) == 1


def test_an_answer_is_parsed_with_ampersands_kept_inside_braces():
    assert parse_answer("a=1&reserved={x=1&y=2}&b=&c=d=e") == {
        "a": "1", "reserved": "{x=1&y=2}", "b": "", "c": "d=e"}
