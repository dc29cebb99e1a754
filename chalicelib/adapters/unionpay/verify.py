"""UnionPay ACP 5.1.0 back notifications (后台通知, signMethod 01): verify them.

``verify_notification(raw_body, content_type, config, now)`` is a pure function. It reads the form
once, strictly, in the notice's ``encoding`` (``domain.forms.read_form``: one value per key), then
checks in order (payment-channels.md §3.2, §3.3): ``signMethod`` 01, ``version`` 5.1.0; the
certificate in ``signPubKeyCert`` chains leaf ← our middle ← our root (by hand: real UnionPay
certificates are SHA-1 signed, which ``verify_directly_issued_by`` refuses); leaf and middle are
valid at ``now``; the leaf's CN names 中国银联股份有限公司; ``signature`` is RSA PKCS#1 v1.5 SHA-256 over
the lower-hex SHA-256 of every other field sorted ``k=v&…`` (``signPubKeyCert`` exactly as
received, CRLF included). Only then: ``merId`` must be ours or a merchant number (15 digits: a
unit's own merId, which the payment must then match: the order's, checked where it is
recorded), ``txnAmt`` an integer of fen.
Authenticity failures raise ``SignatureInvalid``, a signed but malformed notice
``ValidationFailed``; a ``respCode`` other than 00/A6 comes back with ``succeeded=False``.
Acknowledge: HTTP 200, ``ok``. ``verify_fields`` checks any message UnionPay signed (API answers
too). ``sign_notification`` and ``make_test_chain`` (``devstack.builders.unionpay``) serve the
local simulator and the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.unionpay.config import UnionPayConfig, common_name
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.forms import read_form

SIGN_METHOD = "01"
VERSION = "5.1.0"
ACK_BODY = b"ok"
UNIONPAY_CN = "中国银联股份有限公司"
TEST_CN = "00040000:SIGN"  # the test environment's third CN field, accepted without validate_cn
SUCCESS_CODES = ("00", "A6")
ENCODINGS = {"utf-8": "utf-8", "gbk": "gbk", "gb2312": "gbk", "gb18030": "gb18030"}
_TXN_AMT = re.compile(r"^[0-9]{1,12}$")
_MER_ID = re.compile(r"^[0-9]{15}$")  # a unit's own merId (AN15; digits in practice)
_TIME = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class UnionPayTxn:
    """A verified back notification; ``txn_amt_fen`` is int fen, ``txn_time`` Beijing time."""

    order_id: str
    mer_id: str
    txn_time: str
    query_id: str
    txn_amt_fen: int
    resp_code: str
    txn_type: str
    txn_sub_type: str | None
    trace_no: str | None
    succeeded: bool
    raw: dict[str, str] = field(repr=False, compare=False)

    @property
    def paid_at(self) -> str:
        """``txnTime`` (YYYYMMDDhhmmss, Beijing) as ISO 8601 with the +08:00 offset."""
        moment = datetime.strptime(self.txn_time, _TIME).replace(tzinfo=CHINA_TZ)
        return moment.isoformat(timespec="seconds")


def verify_notification(raw_body: bytes, content_type: str, config: UnionPayConfig,
                        now: datetime) -> UnionPayTxn:
    """Verify the certificate chain and the signature of a notice, then check and return it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    fields, codec = read_form(raw_body, content_type, charset_field="encoding", codecs=ENCODINGS)
    verify_fields(fields, codec, config, now)
    # Authentic from here on: UnionPay said it, but was it said to us, and is it well formed?
    mer_id = fields.get("merId", "")
    if mer_id != config.mer_id and not _MER_ID.match(mer_id):
        raise SignatureInvalid(f"merId {mer_id[:40]!r} is neither ours nor a merchant number")
    txn_amt = _required(fields, "txnAmt", _TXN_AMT.match, "an integer of fen")
    txn_time = _required(fields, "txnTime", _is_txn_time, "YYYYMMDDhhmmss")
    resp_code = _required(fields, "respCode")
    return UnionPayTxn(
        order_id=_required(fields, "orderId"), mer_id=fields["merId"], txn_time=txn_time,
        query_id=_required(fields, "queryId"), txn_amt_fen=int(txn_amt), resp_code=resp_code,
        txn_type=_required(fields, "txnType"), txn_sub_type=fields.get("txnSubType") or None,
        trace_no=fields.get("traceNo") or None, succeeded=resp_code in SUCCESS_CODES, raw=fields)


def verify_fields(fields: Mapping[str, str], codec: str, config: UnionPayConfig,
                  now: datetime) -> None:
    """The certificate chain and signature of a message UnionPay signed (notice or answer)."""
    for name, expected in (("signMethod", SIGN_METHOD), ("version", VERSION)):
        if fields.get(name) != expected:
            raise SignatureInvalid(f"{name} {fields.get(name)!r} is not {expected}")
    signature_text = fields.get("signature")
    if not signature_text:
        raise SignatureInvalid("signature is missing")
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("signature is not valid base64") from None
    pem = fields.get("signPubKeyCert")
    if not pem:
        raise SignatureInvalid("signPubKeyCert is missing")
    try:
        leaf = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SignatureInvalid("signPubKeyCert is not a PEM certificate") from None
    _check_issued(leaf, config.middle_cert, "signing certificate", "middle certificate")
    _check_issued(config.middle_cert, config.root_cert, "middle certificate", "root certificate")
    for cert, what in ((leaf, "signing certificate"), (config.middle_cert, "middle certificate")):
        if now < cert.not_valid_before_utc:
            raise SignatureInvalid(f"{what} is not valid before "
                                   f"{cert.not_valid_before_utc.isoformat()}")
        if now > cert.not_valid_after_utc:
            raise SignatureInvalid(f"{what} expired on {cert.not_valid_after_utc.isoformat()}")
    cn = common_name(leaf)
    parts = cn.split("@")
    accepted = (UNIONPAY_CN,) if config.validate_cn else (UNIONPAY_CN, TEST_CN)
    if len(parts) < 3 or parts[2] not in accepted:
        raise SignatureInvalid(f"signing certificate CN {cn!r} does not name {UNIONPAY_CN}")
    try:
        public_key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureInvalid("signing certificate holds a key of an unknown type") from None
    if not isinstance(public_key, RSAPublicKey):
        raise SignatureInvalid("signing certificate does not hold an RSA key")
    try:
        public_key.verify(signature, signed_digest(fields, codec), PKCS1v15(), SHA256())
    except InvalidSignature:
        raise SignatureInvalid("signature does not match the fields for the signing "
                               f"certificate {leaf.serial_number:x}") from None


def signing_string(fields: Mapping[str, str]) -> str:
    """Every field but ``signature`` (empties included), sorted by key, ``k=v&…``."""
    return "&".join(f"{key}={value}" for key, value in sorted(fields.items())
                    if key != "signature")


def signed_digest(fields: Mapping[str, str], codec: str = "utf-8") -> bytes:
    """The 64 lower-case hex ASCII bytes of SHA-256 over the signing string: what RSA signs."""
    return hashlib.sha256(signing_string(fields).encode(codec)).hexdigest().encode("ascii")


def _check_issued(cert: x509.Certificate, issuer: x509.Certificate, what: str,
                  by: str) -> None:
    if cert.issuer != issuer.subject:
        raise SignatureInvalid(f"{what} was issued by {cert.issuer.rfc4514_string()!r}, "
                               f"not by the {by} {issuer.subject.rfc4514_string()!r}")
    key = issuer.public_key()
    try:
        hash_algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:  # an OID cryptography does not know: made up, or exotic
        raise SignatureInvalid(f"{what} has an unknown signature algorithm "
                               f"{cert.signature_algorithm_oid.dotted_string}") from None
    if not isinstance(key, RSAPublicKey) or hash_algorithm is None:
        raise SignatureInvalid(f"{what} is not RSA-signed by the {by}")
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, PKCS1v15(), hash_algorithm)
    except (InvalidSignature, UnsupportedAlgorithm):
        raise SignatureInvalid(f"{what} signature does not verify with the {by}") from None


def _required(fields: Mapping[str, str], name: str,
              valid: Callable[[str], object] | None = None, form: str = "") -> str:
    value = fields.get(name)
    if not value:
        raise ValidationFailed(f"{name} is missing", {name: "missing"})
    if valid is not None and not valid(value):
        raise ValidationFailed(f"{name} {value!r} is not {form}", {name: f"not {form}"})
    return value


def _is_txn_time(text: str) -> bool:
    try:
        return len(text) == 14 and text.isdigit() and bool(datetime.strptime(text, _TIME))
    except ValueError:
        return False

