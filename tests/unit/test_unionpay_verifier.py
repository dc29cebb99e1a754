"""UnionPay verify_notification: the real test-environment notice, then one test per failure.

``tests/events/unionpay/`` holds a genuine ACP 5.1.0 back notice (from UnionPay's PHP demo) and
UnionPay's public test middle and root certificates: something real that no one here wrote. The
other tests use a SHA-256 stand-in chain from ``make_test_chain`` and ``sign_notification``.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from chalicelib.adapters.unionpay.config import UnionPayConfig, load_certificate
from chalicelib.adapters.unionpay.verify import (
    ACK_BODY,
    signed_digest,
    signing_string,
    verify_notification,
)
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from devstack.builders.unionpay import crlf_pem, make_test_chain, sign_notification, txn_fields

EVENTS = Path(__file__).resolve().parents[1] / "events" / "unionpay"
FORM = "application/x-www-form-urlencoded; charset=UTF-8"
NOW = datetime(2025, 10, 9, 8, 53, 20, tzinfo=UTC)
MER_ID = "777290058110048"
ORDER_ID = "53010025000000000017Ab3xQ9"
VECTOR_MER_ID = "700000000000001"
IN_VECTOR_LEAF_LIFE = datetime(2019, 1, 1, tzinfo=UTC)
AFTER_VECTOR_LEAF_EXPIRED = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # the functional tier's day


Chain = tuple[x509.Certificate, x509.Certificate, x509.Certificate, RSAPrivateKey]


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_test_chain()


@pytest.fixture(scope="module")
def other_chain() -> Chain:
    """Same names as ``chain`` (make_test_chain names are fixed), different keys."""
    return make_test_chain()


@pytest.fixture(scope="module")
def config(chain: Chain) -> UnionPayConfig:
    root, middle, _, _ = chain
    return UnionPayConfig(mer_id=MER_ID, middle_cert=middle, root_cert=root)


def notify(chain: Chain, *, leaf: x509.Certificate | None = None,
           key: RSAPrivateKey | None = None, **changes: str | None) -> bytes:
    data = txn_fields(mer_id=MER_ID, order_id=ORDER_ID, txn_amt_fen=136, now=NOW)
    data.update(changes)
    clean = {k: v for k, v in data.items() if v is not None}
    return sign_notification(clean, key or chain[3], crlf_pem(leaf or chain[2]))


# --- the real UnionPay notice --------------------------------------------------------------


@pytest.fixture(scope="module")
def vector() -> bytes:
    # The file is a text file: its final newline is not part of the form body UnionPay posted.
    return (EVENTS / "back-notification.txt").read_bytes().rstrip(b"\r\n")


@pytest.fixture(scope="module")
def vector_config() -> UnionPayConfig:
    # Both .cer files are PEM here; load_certificate would take DER as well.
    middle, root = (load_certificate((EVENTS / f"acp_test_{name}.cer").read_bytes())
                    for name in ("middle", "root"))
    return UnionPayConfig(mer_id=VECTOR_MER_ID, middle_cert=middle, root_cert=root,
                          validate_cn=False)


def vector_leaf(vector: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(dict(parse_qsl(vector.decode()))["signPubKeyCert"]
                                          .encode())


def test_the_real_notice_verifies_within_its_leaf_certificate_life(vector, vector_config):
    leaf = vector_leaf(vector)
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "041@Z2017-11-1@00040000:SIGN@00000001", f"the test leaf's CN is {cn!r}"
    assert str(cn).split("@")[2] == "00040000:SIGN", f"third CN field of {cn!r}"
    assert leaf.signature_hash_algorithm is not None
    assert leaf.signature_hash_algorithm.name == "sha1", "real UnionPay certs are SHA-1 signed"
    assert (leaf.not_valid_before_utc, leaf.not_valid_after_utc) == (
        datetime(2017, 11, 1, 7, 24, 8, tzinfo=UTC), datetime(2020, 11, 1, 7, 24, 8, tzinfo=UTC))
    txn = verify_notification(vector, FORM, vector_config, IN_VECTOR_LEAF_LIFE)
    assert (txn.mer_id, txn.order_id, txn.txn_time, txn.query_id) == (
        VECTOR_MER_ID, "201807251814000000175473", "20180726100232", "951807261002324791038")
    assert (txn.txn_amt_fen, txn.resp_code, txn.succeeded) == (136, "00", True)
    assert (txn.txn_type, txn.txn_sub_type, txn.trace_no) == ("01", "01", "479103")
    assert txn.raw["respMsg"] == "成功[0000000]"
    assert txn.paid_at == "2018-07-26T10:02:32+08:00"


def test_the_real_notice_fails_once_its_leaf_expired(vector, vector_config):
    with pytest.raises(SignatureInvalid,
                       match=r"signing certificate expired on 2020-11-01T07:24:08\+00:00"):
        verify_notification(vector, FORM, vector_config, AFTER_VECTOR_LEAF_EXPIRED)


def test_the_real_notice_fails_with_txn_amt_changed(vector, vector_config):
    tampered = vector.replace(b"&txnAmt=136&", b"&txnAmt=1&")
    assert tampered != vector
    with pytest.raises(SignatureInvalid, match="signature does not match the fields"):
        verify_notification(tampered, FORM, vector_config, IN_VECTOR_LEAF_LIFE)


def test_the_real_notice_fails_when_crlf_in_the_certificate_becomes_lf(vector, vector_config):
    normalised = vector.replace(b"%0D%0A", b"%0A")
    assert normalised != vector
    with pytest.raises(SignatureInvalid, match="signature does not match the fields"):
        verify_notification(normalised, FORM, vector_config, IN_VECTOR_LEAF_LIFE)


def test_the_real_notice_fails_the_production_cn_rule(vector, vector_config):
    strict = UnionPayConfig(VECTOR_MER_ID, vector_config.middle_cert, vector_config.root_cert)
    with pytest.raises(SignatureInvalid, match="CN '041@Z2017-11-1@00040000:SIGN@00000001' "
                                               "does not name 中国银联股份有限公司"):
        verify_notification(vector, FORM, strict, IN_VECTOR_LEAF_LIFE)


def test_the_real_notice_to_another_merid_than_ours_names_that_merchant(vector, vector_config):
    """A unit's own merId is notified at our backUrl too: the notice is genuine, and it says
    whose it is; the payment then records nothing unless its order was opened for that merId
    (``tests/functional/test_unionpay_own_merchant.py``)."""
    from chalicelib.adapters.notices import UnionPayNotices

    other = UnionPayConfig(MER_ID, vector_config.middle_cert, vector_config.root_cert, False)
    assert verify_notification(vector, FORM, other, IN_VECTOR_LEAF_LIFE).mer_id == VECTOR_MER_ID
    notice = UnionPayNotices(lambda: other).verify(vector, {"Content-Type": FORM},
                                                   IN_VECTOR_LEAF_LIFE)
    assert notice.payment is not None and notice.payment.merchant == VECTOR_MER_ID
    ours = UnionPayNotices(lambda: vector_config).verify(vector, {"Content-Type": FORM},
                                                         IN_VECTOR_LEAF_LIFE)
    assert ours.payment is not None and ours.payment.merchant == ""


def test_the_real_notice_fails_against_another_middle_certificate(vector, config):
    with pytest.raises(SignatureInvalid, match="signing certificate was issued by "
                                               "'CN=CFCA TEST OCA1,.*not by the middle"):
        verify_notification(vector, FORM, config, IN_VECTOR_LEAF_LIFE)


def test_openssl_agrees_on_the_real_signature(vector, tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    fields = dict(parse_qsl(vector.decode(), keep_blank_values=True))
    (tmp_path / "leaf.pem").write_text(fields["signPubKeyCert"], newline="")
    (tmp_path / "hex").write_bytes(signed_digest(fields))
    (tmp_path / "sig").write_bytes(base64.b64decode(fields["signature"]))
    (tmp_path / "pub.pem").write_bytes(subprocess.run(
        [openssl, "x509", "-in", tmp_path / "leaf.pem", "-pubkey", "-noout"],
        check=True, capture_output=True).stdout)
    result = subprocess.run([openssl, "dgst", "-sha256", "-verify", tmp_path / "pub.pem",
                             "-signature", tmp_path / "sig", tmp_path / "hex"],
                            capture_output=True, text=True)
    assert result.stdout.strip() == "Verified OK", result.stdout + result.stderr


# --- each failure, in the order the verifier checks them --------------------------------


def test_rejects_a_naive_clock(chain, config):
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_notification(notify(chain), FORM, config, NOW.replace(tzinfo=None))


def test_rejects_a_content_type_other_than_a_form(chain, config):
    with pytest.raises(SignatureInvalid, match="Content-Type 'text/plain' is not"):
        verify_notification(notify(chain), "text/plain", config, NOW)


def without(name: str) -> Callable[[bytes], bytes]:
    """Drop one field from a form body, keeping every other byte."""
    return lambda body: b"&".join(part for part in body.split(b"&")
                                  if not part.startswith(name.encode() + b"="))


# (what is wrong, how the received body is changed, the message) in the verifier's order
TAMPERED: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("the encoding field sent twice", lambda b: b + b"&encoding=gbk",
     "field 'encoding' appears more than once"),
    ("an unknown encoding", lambda b: b.replace(b"encoding=utf-8", b"encoding=big5"),
     "encoding 'big5' is not one of"),
    ("a percent-encoded encoding name",
     lambda b: b.replace(b"encoding=utf-8", b"%65ncoding=gbk"),
     "field 'encoding' was sent under a percent-encoded name"),
    ("bytes that do not decode", lambda b: b + b"&x=%C3%28", "body is not valid utf-8 form data"),
    ("a field sent twice", lambda b: b + b"&txnAmt=1", "field 'txnAmt' appears more than once"),
    ("no signMethod", without("signMethod"), "signMethod None is not 01"),
    ("no signature", without("signature"), "signature is missing"),
    ("a signature that is not base64", lambda b: b.replace(b"&signature=", b"&signature=%2A"),
     "signature is not valid base64"),
    ("no signing certificate", without("signPubKeyCert"), "signPubKeyCert is missing"),
    ("a signing certificate that is not PEM",
     lambda b: b.replace(b"signPubKeyCert=-----BEGIN", b"signPubKeyCert=-----BEGAN"),
     "signPubKeyCert is not a PEM certificate"),
    ("a tampered amount", lambda b: b.replace(b"&txnAmt=136&", b"&txnAmt=1&"),
     "signature does not match the fields"),
    ("CRLF in the certificate normalised to LF", lambda b: b.replace(b"%0D%0A", b"%0A"),
     "signature does not match the fields"),
]


@pytest.mark.parametrize(("edit", "message"), [t[1:] for t in TAMPERED],
                         ids=[t[0] for t in TAMPERED])
def test_rejects_a_notice_changed_after_signing(chain, config, edit, message):
    body = notify(chain)
    assert edit(body) != body
    with pytest.raises(SignatureInvalid, match=message):
        verify_notification(edit(body), FORM, config, NOW)


@pytest.mark.parametrize(("name", "value"), [("signMethod", "11"), ("version", "5.0.0")])
def test_rejects_another_sign_method_or_version(chain, config, name, value):
    expected = "01" if name == "signMethod" else "5.1.0"
    with pytest.raises(SignatureInvalid, match=f"{name} '{value}' is not {expected}"):
        verify_notification(notify(chain, **{name: value}), FORM, config, NOW)


def test_rejects_a_leaf_issued_by_a_middle_of_the_same_name_but_another_key(
        chain, other_chain, config):
    body = notify(chain, leaf=other_chain[2], key=other_chain[3])
    with pytest.raises(SignatureInvalid, match="signing certificate signature does not verify "
                                               "with the middle certificate"):
        verify_notification(body, FORM, config, NOW)


def test_rejects_a_middle_not_issued_by_the_root(chain, other_chain):
    swapped = UnionPayConfig(MER_ID, middle_cert=chain[1], root_cert=other_chain[0])
    with pytest.raises(SignatureInvalid, match="middle certificate signature does not verify "
                                               "with the root certificate"):
        verify_notification(notify(chain), FORM, swapped, NOW)


def test_rejects_a_middle_issued_by_another_root_name(chain, vector_config):
    mixed = UnionPayConfig(MER_ID, middle_cert=chain[1], root_cert=vector_config.root_cert)
    with pytest.raises(SignatureInvalid, match="middle certificate was issued by "
                                               "'CN=Local Test Root CA.*not by the root"):
        verify_notification(notify(chain), FORM, mixed, NOW)


def test_rejects_a_leaf_not_yet_valid(chain, config):
    with pytest.raises(SignatureInvalid, match=r"signing certificate is not valid before "
                                               r"2024-01-01T00:00:00\+00:00"):
        verify_notification(notify(chain), FORM, config, datetime(2023, 12, 31, tzinfo=UTC))


def test_rejects_an_expired_leaf(chain, config):
    expiry = chain[2].not_valid_after_utc
    assert verify_notification(notify(chain), FORM, config, expiry).succeeded
    with pytest.raises(SignatureInvalid, match="signing certificate expired on 2028-12-31"):
        verify_notification(notify(chain), FORM, config, expiry + timedelta(seconds=1))


def test_rejects_an_expired_middle_while_the_leaf_is_valid():
    root, middle, leaf, key = make_test_chain(leaf_days=3000, middle_days=1000)
    short = UnionPayConfig(MER_ID, middle_cert=middle, root_cert=root)
    body = notify((root, middle, leaf, key))
    with pytest.raises(SignatureInvalid, match="middle certificate expired on 2026-09-27"):
        verify_notification(body, FORM, short, datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("validate_cn", [True, False])
def test_rejects_a_leaf_whose_cn_names_another_organisation(validate_cn):
    root, middle, leaf, key = make_test_chain(cn_org="某某网络科技有限公司")
    cfg = UnionPayConfig(MER_ID, middle_cert=middle, root_cert=root, validate_cn=validate_cn)
    with pytest.raises(SignatureInvalid, match="CN '041@Z12345678@某某网络科技有限公司@00000001' "
                                               "does not name 中国银联股份有限公司"):
        verify_notification(notify((root, middle, leaf, key)), FORM, cfg, NOW)


def test_accepts_the_test_cn_only_when_cn_validation_is_off():
    root, middle, leaf, key = make_test_chain(cn_org="00040000:SIGN")
    body = notify((root, middle, leaf, key))
    with pytest.raises(SignatureInvalid, match="does not name 中国银联股份有限公司"):
        verify_notification(body, FORM, UnionPayConfig(MER_ID, middle, root), NOW)
    relaxed = UnionPayConfig(MER_ID, middle, root, validate_cn=False)
    assert verify_notification(body, FORM, relaxed, NOW).txn_amt_fen == 136


def test_rejects_a_signature_made_with_another_key(chain, other_chain, config):
    with pytest.raises(SignatureInvalid, match="signature does not match the fields"):
        verify_notification(notify(chain, key=other_chain[3]), FORM, config, NOW)


def test_a_notice_to_another_merid_carries_it(chain, config):
    assert verify_notification(notify(chain, merId="898000000000002"), FORM, config,
                               NOW).mer_id == "898000000000002"


@pytest.mark.parametrize("mer_id", ["", "89800000000000", "8980000000000021", "89800000000000X",
                                    "898000000000002 "])
def test_rejects_a_notice_whose_merid_is_not_a_merchant_number(chain, config, mer_id):
    with pytest.raises(SignatureInvalid, match="is neither ours nor a merchant number"):
        verify_notification(notify(chain, merId=mer_id), FORM, config, NOW)


@pytest.mark.parametrize(("changes", "message"), [
    *[({"txnAmt": amount}, f"txnAmt '{amount}' is not an integer of fen")
      for amount in ("1.36", "-136", "1e3", "1234567890123")],
    ({"txnAmt": ""}, "txnAmt is missing"),
    ({"txnTime": "2025-10-09"}, "txnTime '2025-10-09' is not YYYYMMDDhhmmss"),
    ({"txnTime": "20250230120000"}, "txnTime '20250230120000' is not YYYYMMDDhhmmss"),
    ({"orderId": None}, "orderId is missing"),
    ({"queryId": None}, "queryId is missing")])
def test_an_authentic_but_malformed_notice_is_a_validation_failure(chain, config, changes,
                                                                   message):
    with pytest.raises(ValidationFailed, match=message):
        verify_notification(notify(chain, **changes), FORM, config, NOW)


# --- happy paths ---------------------------------------------------------------------------


def test_accepts_a_notice_built_by_sign_notification(chain, config):
    txn = verify_notification(notify(chain), FORM, config, NOW)
    assert (txn.order_id, txn.mer_id, txn.txn_amt_fen, txn.succeeded) == (
        ORDER_ID, MER_ID, 136, True)
    assert txn.txn_time == "20251009165320" and txn.paid_at == "2025-10-09T16:53:20+08:00"
    assert ACK_BODY == b"ok"


@pytest.mark.parametrize(("code", "succeeded"), [("00", True), ("A6", True), ("03", False),
                                                 ("34", False)])
def test_returns_failed_transactions_flagged_not_succeeded(chain, config, code, succeeded):
    txn = verify_notification(notify(chain, respCode=code), FORM, config, NOW)
    assert (txn.resp_code, txn.succeeded) == (code, succeeded)


def test_signs_and_verifies_empty_values_too(chain, config):
    assert signing_string({"b": "", "a": "1", "signature": "x"}) == "a=1&b="
    body = notify(chain, reqReserved="")
    assert b"&reqReserved=&" in body
    assert verify_notification(body, FORM, config, NOW).raw["reqReserved"] == ""


def test_accepts_a_gbk_encoded_notice(chain, config):
    body = notify(chain, encoding="gbk", respMsg="成功[0000000]")
    assert "成".encode("gbk").hex().upper() in body.decode().replace("%", "")
    assert verify_notification(body, FORM, config, NOW).raw["respMsg"] == "成功[0000000]"


# --- configuration and helpers -------------------------------------------------------------


def test_config_from_secret_and_repr(chain):
    root, middle, _, _ = chain
    cfg = UnionPayConfig.from_secret({
        "mer_id": MER_ID, "middle_cert_pem": middle.public_bytes(Encoding.PEM).decode(),
        "root_cert_pem": root.public_bytes(Encoding.PEM).decode(), "validate_cn": False})
    assert (cfg.middle_cert, cfg.root_cert, cfg.validate_cn) == (middle, root, False)
    assert repr(cfg) == (f"UnionPayConfig(mer_id='{MER_ID}', middle='Local Test OCA1', "
                         "root='Local Test Root CA', validate_cn=False)")
    default = UnionPayConfig.from_secret({
        "mer_id": MER_ID, "middle_cert_pem": middle.public_bytes(Encoding.PEM).decode(),
        "root_cert_pem": root.public_bytes(Encoding.PEM).decode()})
    assert default.validate_cn is True


def test_load_certificate_reads_pem_and_der(vector_config):
    middle = vector_config.middle_cert
    assert (EVENTS / "acp_test_middle.cer").read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    assert load_certificate(middle.public_bytes(Encoding.DER)) == middle


def test_sign_notification_refuses_fields_that_carry_a_signature(chain):
    with pytest.raises(ValueError, match="signature or signPubKeyCert"):
        sign_notification({"signature": "x"}, chain[3], crlf_pem(chain[2]))


def _with_signature_oid(cert: x509.Certificate, oid_der: bytes) -> x509.Certificate:
    """``cert`` with its signature algorithm OID (in the TBS and outside it) replaced."""
    sha256_rsa = bytes.fromhex("06092a864886f70d01010b")  # 1.2.840.113549.1.1.11
    der = cert.public_bytes(Encoding.DER)
    assert der.count(sha256_rsa) == 2 and len(oid_der) == len(sha256_rsa)
    return x509.load_der_x509_certificate(der.replace(sha256_rsa, oid_der))


@pytest.mark.parametrize("oid_der", [
    bytes.fromhex("06092a864886f70d010163"),  # 1.2.840.113549.1.1.99: no such algorithm
    bytes.fromhex("06092b0601040182370a02"),  # 1.3.6.1.4.1.311.10.2: not a signature algorithm
], ids=["made-up-rsa-oid", "unrelated-oid"])
def test_rejects_a_leaf_whose_signature_algorithm_is_unknown(chain, config, oid_der):
    leaf = _with_signature_oid(chain[2], oid_der)
    with pytest.raises(SignatureInvalid, match="signing certificate .*signature algorithm"):
        verify_notification(notify(chain, leaf=leaf), FORM, config, NOW)


def test_rejects_a_leaf_signed_with_ed25519(chain, config):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    leaf = (x509.CertificateBuilder().subject_name(chain[2].subject)
            .issuer_name(chain[1].subject).public_key(chain[2].public_key())
            .serial_number(7).not_valid_before(chain[2].not_valid_before_utc)
            .not_valid_after(chain[2].not_valid_after_utc).sign(key, None))
    with pytest.raises(SignatureInvalid, match="signing certificate is not RSA-signed"):
        verify_notification(notify(chain, leaf=leaf), FORM, config, NOW)


def test_a_notice_paid_after_23_carries_the_next_clearing_day_and_the_payment_keeps_it(
        chain, config):
    from chalicelib.adapters.notices import UnionPayNotices

    late = datetime(2025, 10, 9, 15, 30, tzinfo=UTC)  # 23:30 China
    body = sign_notification(txn_fields(mer_id=MER_ID, order_id=ORDER_ID, txn_amt_fen=136,
                                        now=late), chain[3], crlf_pem(chain[2]))
    assert dict(parse_qsl(body.decode()))["settleDate"] == "1010"
    notice = UnionPayNotices(lambda: config).verify(body, {"Content-Type": FORM}, late)
    assert notice.payment is not None
    assert (notice.payment.paid_at, notice.payment.settle_date) == (
        "2025-10-09T23:30:00+08:00", "2025-10-10")
    odd = sign_notification({**txn_fields(mer_id=MER_ID, order_id=ORDER_ID, txn_amt_fen=136,
                                          now=late), "settleDate": "0230"},
                            chain[3], crlf_pem(chain[2]))
    kept = UnionPayNotices(lambda: config).verify(odd, {"Content-Type": FORM}, late)
    assert kept.payment is not None and kept.payment.settle_date == ""  # the 23:00 rule decides
