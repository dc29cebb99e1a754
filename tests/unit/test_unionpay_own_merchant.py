"""A unit's own UnionPay merId: what the finance department may send (domain), how its signing
certificate is opened and kept (``services/signing_certificates``), and the client acting for
it (``UnionPayApi.for_merchant``): its merId and certificate in every request, an answer about
another merId refused, a query's payment naming it, its file's lines naming it."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from chalicelib.adapters.unionpay.bill import parse_zm
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.domain.merchants import pfx_parts, read_merchant
from chalicelib.domain.statements import PAYMENT, StatementLine
from chalicelib.services.signing_certificates import open_signing_pfx
from devstack.builders.statements import unionpay_zm
from devstack.builders.unionpay import make_merchant_ca, merchant_signing_pfx
from tests.unit.test_unionpay_api import (
    MER_ID,
    NOW,
    ORDER,
    REFUND,
    answer,
    client,
    world,  # noqa: F401  (the fixture)
)

UNIT_MER_ID = "898340100000001"
PASSWORD = "000000"
CA = make_merchant_ca()  # the stand-in for CFCA, the deployment's trust root for merchants
ROOTS = (CA[0],)


@pytest.fixture(scope="module")
def issued():
    pfx, cert = merchant_signing_pfx(UNIT_MER_ID, PASSWORD, issuer=CA)
    return base64.b64encode(pfx).decode(), cert


def body(issued, **changes) -> dict:
    return {"mer_id": UNIT_MER_ID, "sign_cert_pfx": issued[0], "sign_cert_password": PASSWORD,
            **changes}


def test_a_merid_and_its_pfx_are_read_and_the_pfx_is_left_to_open(issued):
    merchant, pending = read_merchant("unionpay", body(issued))
    assert (merchant.channel, merchant.merchant_id, merchant.sealed_token) == (
        "unionpay", UNIT_MER_ID, "")
    assert pfx_parts(pending) == (issued[0], PASSWORD)


def test_a_password_with_a_line_break_survives_the_hand_over(issued):
    _, pending = read_merchant("unionpay", body(issued, sign_cert_password="a\nb"))
    assert pfx_parts(pending) == (issued[0], "a\nb")


@pytest.mark.parametrize(("changes", "field"), [
    ({"mer_id": "89834010000000"}, "mer_id"), ({"mer_id": "8983401000000011"}, "mer_id"),
    ({"mer_id": None}, "mer_id"), ({"mer_id": 898340100000001}, "mer_id"),
    ({"sign_cert_pfx": "***"}, "sign_cert_pfx"), ({"sign_cert_pfx": "QUJD"
                                                   * 4097}, "sign_cert_pfx"),
    ({"sign_cert_pfx": ""}, "sign_cert_pfx"), ({"sign_cert_password": None}, "sign_cert_password"),
    ({"sign_cert_password": "x" * 65}, "sign_cert_password"), ({"cert_id": "1"}, "cert_id")])
def test_a_wrong_field_is_named_and_no_secret_is_repeated(issued, changes, field):
    with pytest.raises(ValidationFailed) as caught:
        read_merchant("unionpay", body(issued, **changes))
    assert field in caught.value.fields
    assert PASSWORD not in str(caught.value.fields) and issued[0][:40] not in caught.value.message


def test_the_pfx_opens_to_its_key_and_certificate_with_the_serial_as_certid(issued):
    secret, cert_id, until = open_signing_pfx(issued[0], PASSWORD, NOW, ROOTS)
    assert cert_id == str(issued[1].serial_number)
    assert datetime.fromisoformat(until) == issued[1].not_valid_after_utc.replace(microsecond=0)
    assert until.endswith("+08:00")  # China time
    assert secret.startswith("-----BEGIN PRIVATE KEY-----") and "BEGIN CERTIFICATE" in secret


@pytest.mark.parametrize(("make", "why"), [
    (lambda issued: (issued[0], "wrong"), "opens with this password"),
    (lambda issued: (base64.b64encode(b"not a pfx").decode(), PASSWORD), "PKCS#12"),
])
def test_a_pfx_that_does_not_open_is_refused_without_repeating_it(issued, make, why):
    pfx, password = make(issued)
    with pytest.raises(ValidationFailed, match=why) as caught:
        open_signing_pfx(pfx, password, NOW, ROOTS)
    assert set(caught.value.fields) == {"sign_cert_pfx"} and password not in caught.value.message


def test_an_expired_certificate_is_refused(issued):
    with pytest.raises(ValidationFailed, match="not now"):
        open_signing_pfx(issued[0], PASSWORD, issued[1].not_valid_after_utc + timedelta(days=1),
                         ROOTS)


def test_a_pfx_without_its_certificate_or_with_a_key_that_is_not_rsa_is_refused(issued):
    other, _ = merchant_signing_pfx(UNIT_MER_ID, PASSWORD)
    key, _, _ = pkcs12.load_key_and_certificates(other, PASSWORD.encode())
    apart = pkcs12.serialize_key_and_certificates(b"x", key, None, [issued[1]],  # type: ignore[arg-type]
                                                  BestAvailableEncryption(b"000000"))
    with pytest.raises(ValidationFailed, match="RSA private key and its certificate"):
        open_signing_pfx(base64.b64encode(apart).decode(), PASSWORD, NOW, ROOTS)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    alone = pkcs12.serialize_key_and_certificates(b"x", ec_key, None, None,
                                                  BestAvailableEncryption(b"000000"))
    with pytest.raises(ValidationFailed, match="RSA private key and its certificate"):
        open_signing_pfx(base64.b64encode(alone).decode(), PASSWORD, NOW, ROOTS)


def acting_for_unit(world, issued, *replies):  # noqa: F811
    secret, _, _ = open_signing_pfx(issued[0], PASSWORD, NOW, ROOTS)
    api, channel = client(world, *replies)
    return api.for_merchant(UNIT_MER_ID, secret), channel


def test_the_units_requests_carry_its_merid_and_certificate(world, issued):  # noqa: F811
    api, _ = acting_for_unit(world, issued)
    form = api.signed(txnType="01")
    assert (form["merId"], form["certId"]) == (UNIT_MER_ID, str(issued[1].serial_number))
    plain = client(world)[0].signed(txnType="01")
    assert (plain["merId"], plain["certId"]) == (MER_ID, str(world[0].merchant_sign_cert
                                                             .serial_number))


def test_a_query_for_the_unit_finds_a_payment_naming_its_merid(world, issued):  # noqa: F811
    paid = answer(world, merId=UNIT_MER_ID, respCode="00", origRespCode="00",
                  orderId=ORDER.out_trade_no, txnAmt="136", queryId="951807261002324791038",
                  txnTime="20260302100000", settleDate="0302")
    api, channel = acting_for_unit(world, issued, paid)
    payment = api.query(ORDER)
    assert payment is not None and payment.merchant == UNIT_MER_ID
    assert channel.requests[0][1]["merId"] == UNIT_MER_ID
    ours = answer(world, respCode="00", origRespCode="00", orderId=ORDER.out_trade_no,
                  txnAmt="136", queryId="951807261002324791038", txnTime="20260302100000")
    assert client(world, ours)[0].query(ORDER).merchant == ""  # type: ignore[union-attr]


def test_an_answer_about_another_merid_than_the_units_is_refused(world, issued):  # noqa: F811
    ours = answer(world, respCode="34", respMsg="查无此交易")  # names the deployment's merId
    api, _ = acting_for_unit(world, issued, ours)
    with pytest.raises(ServiceUnavailable, match=f"answer for merId {MER_ID}"):
        api.refund(REFUND)


def test_a_kept_secret_that_does_not_read_is_unavailable_not_a_crash(world):  # noqa: F811
    with pytest.raises(ServiceUnavailable, match="cannot be read"):
        client(world)[0].for_merchant(UNIT_MER_ID, "-----BEGIN PRIVATE KEY-----\nAAAA\n")


def test_a_file_line_names_its_merid_unless_it_is_the_deployments():
    line = StatementLine(PAYMENT, "951807261002324791038", ORDER.out_trade_no, 136, 1,
                         "2026-03-02T10:00:00+08:00", state="S22")
    for mer_id, named in ((UNIT_MER_ID, UNIT_MER_ID), (MER_ID, "")):
        raw = unionpay_zm([line], mer_id=mer_id)
        [parsed] = parse_zm(raw, "2026-03-02", ours=MER_ID).lines
        assert parsed.merchant == named
        assert parse_zm(raw, "2026-03-02").lines[0].merchant == ""  # without ``ours``: as before


def give_unit_merid(deps, issued, unit_code: str, mer_id: str = UNIT_MER_ID) -> None:
    from chalicelib.services.merchants import set_merchant

    deps.channel_api("unionpay").merchant_roots = ROOTS
    set_merchant(deps, deps.units.get(unit_code), "unionpay",
                 {"mer_id": mer_id, "sign_cert_pfx": issued[0], "sign_cert_password": PASSWORD},
                 "test")


def test_an_order_of_a_units_merid_carries_its_unsealed_key_to_the_call(deps, issued):
    from chalicelib.domain.payments import ChannelOrder
    from chalicelib.services.merchants import authorised
    from tests.unit.scenario import UNIT, create_note

    deps.clock.now = NOW
    note = create_note(deps)
    give_unit_merid(deps, issued, UNIT.unit_code)
    order = ChannelOrder(out_trade_no=note.payment_code + "A", payment_code=note.payment_code,
                         channel="unionpay", amount_fen=136, created_at="", expires_at="",
                         merchant=UNIT_MER_ID)
    secret = authorised(deps, order).merchant_token
    assert secret == open_signing_pfx(issued[0], PASSWORD, NOW, ROOTS)[0]
    deployment = authorised(deps, ChannelOrder(order.out_trade_no, order.payment_code,
                                               "unionpay", 136, "", ""))
    assert deployment.merchant_token == ""  # the deployment's: nothing opened


def test_an_order_of_a_merid_its_unit_no_longer_holds_cannot_be_signed_for(deps, issued):
    from chalicelib.domain.payments import ChannelOrder
    from chalicelib.services.merchants import authorised
    from tests.unit.scenario import OTHER_UNIT, UNIT, create_note

    deps.clock.now = NOW
    note = create_note(deps)
    order = ChannelOrder(out_trade_no=note.payment_code + "A", payment_code=note.payment_code,
                         channel="unionpay", amount_fen=136, created_at="", expires_at="",
                         merchant=UNIT_MER_ID)
    give_unit_merid(deps, issued, UNIT.unit_code, "898340100000009")
    with pytest.raises(ServiceUnavailable, match="not the unit's, nor one it still keeps"):
        authorised(deps, order)
    give_unit_merid(deps, issued, OTHER_UNIT.unit_code)  # another unit's: not this order's
    with pytest.raises(ServiceUnavailable, match="not the unit's, nor one it still keeps"):
        authorised(deps, order)


def test_an_order_of_a_units_merid_is_never_signed_with_the_deployments_key(world):  # noqa: F811
    from dataclasses import replace

    api, channel = client(world)
    with pytest.raises(ServiceUnavailable, match="no signing certificate given"):
        api.checkout(replace(ORDER, merchant=UNIT_MER_ID), description="", notify_url="x",
                     return_url="y", client_ip="")
    with pytest.raises(ServiceUnavailable, match="no signing certificate given"):
        api.refund(replace(REFUND, merchant=UNIT_MER_ID))
    assert channel.requests == []


def test_the_units_order_is_checked_out_with_its_merid_and_certificate(world, issued):  # noqa: F811
    from dataclasses import replace

    secret, cert_id, _ = open_signing_pfx(issued[0], PASSWORD, NOW, ROOTS)
    api, _ = client(world)
    opened = api.checkout(replace(ORDER, merchant=UNIT_MER_ID, merchant_token=secret),
                          description="", notify_url="https://x/cb", return_url="https://x/r",
                          client_ip="")
    assert f'name="merId" value="{UNIT_MER_ID}"' in opened.form_html  # type: ignore[operator]
    assert f'name="certId" value="{cert_id}"' in opened.form_html  # type: ignore[operator]
