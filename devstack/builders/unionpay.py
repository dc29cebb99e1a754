"""Building UnionPay ACP messages and a stand-in certificate chain, as UnionPay makes them.

For the local channel simulator and the tests only (payment-channels.md §3.3): the production
path verifies (``chalicelib/adapters/unionpay/verify.py``) and never builds.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from chalicelib.adapters.unionpay.verify import (
    _TIME,
    ENCODINGS,
    SIGN_METHOD,
    UNIONPAY_CN,
    VERSION,
    signed_digest,
)
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.statements import clearing_day


def crlf_pem(cert: x509.Certificate) -> str:
    """The certificate's PEM with CRLF line breaks, as UnionPay puts it in ``signPubKeyCert``."""
    return cert.public_bytes(Encoding.PEM).decode("ascii").replace("\n", "\r\n")


def sign_notification(fields: Mapping[str, str], leaf_private_key: RSAPrivateKey,
                      leaf_cert_pem_crlf: str) -> bytes:
    """A form body as UnionPay posts it: keys sorted, ``signPubKeyCert`` unchanged (see
    ``crlf_pem``), percent-encoded in ``encoding`` (space as ``+``), ``signature`` last."""
    if "signature" in fields or "signPubKeyCert" in fields:
        raise ValueError("fields must not contain signature or signPubKeyCert")
    data = {"signMethod": SIGN_METHOD, "version": VERSION, "encoding": "utf-8", **fields,
            "signPubKeyCert": leaf_cert_pem_crlf}
    codec = ENCODINGS[data["encoding"].lower()]
    signature = leaf_private_key.sign(signed_digest(data, codec), PKCS1v15(), SHA256())
    items = sorted(data.items()) + [("signature", base64.b64encode(signature).decode("ascii"))]
    return urlencode(items, encoding=codec).encode("ascii")


def settle_mmdd(moment: datetime) -> str:
    """UnionPay's settleDate (MMDD) of a transaction at ``moment``: its clearing day, which
    runs from 23:00 the day before to 23:00."""
    day = clearing_day("unionpay", moment.astimezone(CHINA_TZ).isoformat())
    return day[5:7] + day[8:10]


def txn_fields(*, mer_id: str, order_id: str, txn_amt_fen: int, now: datetime,
               resp_code: str = "00", query_id: str = "951807261002324791038",
               trace_no: str = "479103") -> dict[str, str]:
    """The fields of a consumption (消费) back notice shaped like the real sample (§3.1)."""
    at = now.astimezone(CHINA_TZ)
    return {"accNo": "6221558812340000", "accessType": "0", "bizType": "000201",
            "currencyCode": "156", "encoding": "utf-8", "merId": mer_id, "orderId": order_id,
            "queryId": query_id, "respCode": resp_code,
            "respMsg": "成功[0000000]" if resp_code == "00" else f"交易失败[{resp_code}]",
            "settleAmt": str(txn_amt_fen), "settleCurrencyCode": "156",
            "settleDate": settle_mmdd(at), "signMethod": SIGN_METHOD, "traceNo": trace_no,
            "traceTime": at.strftime("%m%d%H%M%S"), "txnAmt": str(txn_amt_fen),
            "txnSubType": "01", "txnTime": at.strftime(_TIME), "txnType": "01",
            "version": VERSION}


def _issue(subject: x509.Name, key: RSAPrivateKey, issuer: x509.Name, issuer_key: RSAPrivateKey,
           start: datetime, days: int, ca: bool) -> x509.Certificate:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, SHA256()))


def make_test_chain(cn_org: str = UNIONPAY_CN, *,
                    valid_from: datetime = datetime(2024, 1, 1, tzinfo=UTC),
                    leaf_days: int = 1826, middle_days: int = 3652,
                    ) -> tuple[x509.Certificate, x509.Certificate, x509.Certificate,
                               RSAPrivateKey]:
    """``(root, middle, leaf, leaf_key)``: a SHA-256 stand-in for UnionPay's chain (cryptography
    cannot create SHA-1 certificates), leaf CN like UnionPay's ``041@Z12345678@<cn_org>@00000001``.
    """
    root_key, middle_key, leaf_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3))
    root_name, middle_name = (x509.Name.from_rfc4514_string(f"CN={cn},O=Local Test CA,C=CN")
                              for cn in ("Local Test Root CA", "Local Test OCA1"))
    root = _issue(root_name, root_key, root_name, root_key, valid_from, 7305, True)
    middle = _issue(middle_name, middle_key, root_name, root_key, valid_from, middle_days, True)
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "cn"), x509.NameAttribute(
        NameOID.COMMON_NAME, f"041@Z12345678@{cn_org}@00000001")])
    leaf = _issue(leaf_name, leaf_key, middle_name, middle_key, valid_from, leaf_days, False)
    return root, middle, leaf, leaf_key


# What CFCA puts in the key usage of the certificates it issues UnionPay merchants for
# signing (the genuine test one: digitalSignature, nonRepudiation, keyEncipherment,
# keyAgreement); and of the encryption certificate it issues beside (acp_*_enc.cer).
SIGNING_USAGE = x509.KeyUsage(digital_signature=True, content_commitment=True,
                              key_encipherment=True, data_encipherment=False,
                              key_agreement=True, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False)
ENCRYPTION_USAGE = x509.KeyUsage(digital_signature=False, content_commitment=False,
                                 key_encipherment=True, data_encipherment=True,
                                 key_agreement=False, key_cert_sign=False, crl_sign=False,
                                 encipher_only=False, decipher_only=False)


def make_merchant_ca(name: str = "Local Test Merchant CA", *,
                     valid_from: datetime = datetime(2024, 1, 1, tzinfo=UTC),
                     days: int = 7305) -> tuple[x509.Certificate, RSAPrivateKey]:
    """``(root, key)``: a stand-in for CFCA, which issues UnionPay merchants their signing
    certificates: a self-signed CA (SHA-256: cryptography cannot make SHA-1 ones); the local
    stack configures it as its trust root for merchant certificates."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name.from_rfc4514_string(f"CN={name},O=Local Test CA,C=CN")
    return _issue(subject, key, subject, key, valid_from, days, True), key


def merchant_signing_pfx(mer_id: str, password: str, *,
                         issuer: tuple[x509.Certificate, RSAPrivateKey] | None = None,
                         valid_from: datetime = datetime(2024, 1, 1, tzinfo=UTC),
                         days: int = 1826, usage: x509.KeyUsage | None = SIGNING_USAGE,
                         chain: tuple[x509.Certificate, ...] = ()
                         ) -> tuple[bytes, x509.Certificate]:
    """``(pfx, certificate)``: a signing certificate issued to the merchant ``mer_id`` with its
    key, as UnionPay hands one to a merchant (``acp_*_sign.pfx``, PKCS#12, ``password``),
    issued by ``issuer`` (a stand-in for CFCA: ``make_merchant_ca``; None: self-issued, which
    no trust root accepts), key usage ``usage`` (None: no such extension), ``chain`` put in
    the PFX beside it; CN like ``041@<merId>@…@00000001``."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "cn"), x509.NameAttribute(
        NameOID.COMMON_NAME, f"041@{mer_id}@Local Test Merchant@00000001")])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(valid_from).not_valid_after(valid_from + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    cert = builder.sign(issuer_key, SHA256())
    pfx = pkcs12.serialize_key_and_certificates(
        b"acp_sign", key, cert, list(chain) or None,
        BestAvailableEncryption(password.encode("utf-8")))
    return pfx, cert
