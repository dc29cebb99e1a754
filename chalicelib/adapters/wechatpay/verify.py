"""WeChat Pay APIv3 payment notifications: verify and decrypt them.

The seam: ``verify_notification(raw_body, headers, config, now)`` is a pure function. It
checks the headers and the RSA signature over the *raw bytes received* first, and only then
parses the JSON, decrypts ``resource`` with the APIv3 key and checks that the payment was made
to our ``mchid``/``appid``, or, in service-provider mode (服务商), that the resource names us as
``sp_mchid``/``sp_appid`` and which sub-merchant (``sub_mchid``, ``sub_appid``) was paid: the
service provider's APIv3 key and platform keys serve its sub-merchants' notifications too.
Every authenticity failure raises ``SignatureInvalid`` with a
message naming the check; a correctly signed but malformed body raises ``ValidationFailed``.
Matching the order, its amount and its sub-merchant against our records is the service's job,
not this one.

``verify_event`` also takes refund notifications (REFUND.*); ``verify_signature`` checks WeChat's
signature on any message, API answers included. ``sign_notification`` (``devstack.builders.wechatpay``)
builds a notification byte for byte as WeChat sends it, for the simulator and the tests.
No network, no boto3, no chalice: only the standard library and ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.json_text import parse_json

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
ALGORITHM = "AEAD_AES_256_GCM"
TOLERANCE_SECONDS = 300
FAIL_BODY = {"code": "FAIL", "message": "失败"}
_REQUIRED_HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
                     "Wechatpay-Serial")
_KINDS: dict[type, str] = {int: "an integer", str: "a string", dict: "an object"}
_MAX_TIMESTAMP_DIGITS = 12  # epoch seconds: 10 digits until the year 2286
NONCE_LENGTH = 12  # APIv3's resource nonce: 12 characters, the 96-bit AES-GCM nonce


@dataclass(frozen=True)
class WechatTransaction:
    """A verified, decrypted payment notification; amounts are int fen."""

    event_id: str
    event_type: str
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    payer_total_fen: int
    currency: str
    trade_state: str
    success_time: str
    mchid: str
    appid: str
    raw: dict[str, Any] = field(repr=False, compare=False)
    sub_mchid: str = ""  # the sub-merchant paid (service-provider mode); "" when we were
    sub_appid: str = ""


@dataclass(frozen=True)
class WechatRefund:
    """A verified, decrypted refund notification (REFUND.*); amounts are int fen."""

    event_id: str
    event_type: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    refund_status: str  # SUCCESS | CLOSED | ABNORMAL
    refund_fen: int
    mchid: str
    raw: dict[str, Any] = field(repr=False, compare=False)
    sub_mchid: str = ""  # the sub-merchant that refunded (service-provider mode)


def verify_signature(raw_body: bytes, headers: Mapping[str, str],
                     platform_keys: Mapping[str, RSAPublicKey], now: int) -> None:
    """Check a message WeChat signed (notification or API answer): headers, time, signature."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in _REQUIRED_HEADERS if not lowered.get(name.lower())]
    if missing:
        raise SignatureInvalid(f"missing header(s): {', '.join(missing)}")
    signature = lowered["wechatpay-signature"]
    timestamp = lowered["wechatpay-timestamp"]
    nonce = lowered["wechatpay-nonce"]
    serial = lowered["wechatpay-serial"]
    signature_type = lowered.get("wechatpay-signature-type")
    if signature_type is not None and signature_type != SIGNATURE_TYPE:
        raise SignatureInvalid(f"Wechatpay-Signature-Type {signature_type!r} is not "
                               f"{SIGNATURE_TYPE}")
    if signature.startswith(PROBE_PREFIX):
        raise SignatureInvalid("Wechatpay-Signature is a WECHATPAY/SIGNTEST/ probe")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise SignatureInvalid(f"Wechatpay-Timestamp {timestamp[:20]!r} is not an integer of "
                               f"at most {_MAX_TIMESTAMP_DIGITS} digits")
    age = now - int(timestamp)
    if age >= TOLERANCE_SECONDS:
        raise SignatureInvalid(f"Wechatpay-Timestamp is too old ({age} s >= "
                               f"{TOLERANCE_SECONDS} s)")
    if -age >= TOLERANCE_SECONDS:
        raise SignatureInvalid(f"Wechatpay-Timestamp is in the future ({-age} s >= "
                               f"{TOLERANCE_SECONDS} s)")
    public_key = platform_keys.get(serial)
    if public_key is None:
        raise SignatureInvalid(f"unknown Wechatpay-Serial {serial!r}")
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("Wechatpay-Signature is not valid base64") from None
    message = b"%s\n%s\n%s\n" % (timestamp.encode(), nonce.encode("utf-8"), raw_body)
    try:
        public_key.verify(signature_bytes, message, PKCS1v15(), SHA256())
    except InvalidSignature:
        raise SignatureInvalid(f"signature does not match the body for key {serial!r}") from None


def verify_event(raw_body: bytes, headers: Mapping[str, str], config: WechatPayConfig,
                 now: int) -> WechatTransaction | WechatRefund:
    """Verify any notification: a payment (every check of ``verify_notification``) or a refund.

    A refund is told by its signed outer body: ``event_type`` REFUND.* and ``original_type``
    ``refund``, both or neither. Its resource has no ``appid``; its ``mchid`` must be ours.
    """
    body, data = _verified(raw_body, headers, config, now)
    event_type = _get(body, "event_type", str)
    is_refund = body["resource"].get("original_type") == "refund"
    if event_type.startswith("REFUND.") != is_refund:
        raise SignatureInvalid(f"event_type {event_type!r} does not match original_type "
                               f"{body['resource'].get('original_type')!r}")
    if not is_refund:
        return parse_transaction(data, config, _get(body, "id", str), event_type)
    partner = _partner(data, config, ("mchid",))
    amount = _get(data, "amount", dict)
    return WechatRefund(
        event_id=_get(body, "id", str), event_type=event_type,
        out_trade_no=_get(data, "out_trade_no", str),
        transaction_id=_get(data, "transaction_id", str),
        out_refund_no=_get(data, "out_refund_no", str), refund_id=_get(data, "refund_id", str),
        refund_status=_get(data, "refund_status", str), refund_fen=_get(amount, "refund", int),
        mchid=config.mchid, raw=data, sub_mchid=partner.get("sub_mchid", ""))


def verify_notification(raw_body: bytes, headers: Mapping[str, str],
                        config: WechatPayConfig, now: int) -> WechatTransaction:
    """Verify a notification's signature over ``raw_body``, then decrypt and check it."""
    body, data = _verified(raw_body, headers, config, now)
    return parse_transaction(data, config, _get(body, "id", str), _get(body, "event_type", str))


def _verified(raw_body: bytes, headers: Mapping[str, str], config: WechatPayConfig,
              now: int) -> tuple[dict[str, Any], dict[str, Any]]:
    verify_signature(raw_body, headers, config.platform_keys, now)
    # Authentic from here on: a malformed body is WeChat's mistake, not an attack.
    body = _json_object(raw_body, "body")
    resource = _get(body, "resource", dict)
    algorithm = _get(resource, "algorithm", str)
    if algorithm != ALGORITHM:
        raise SignatureInvalid(f"resource algorithm {algorithm!r} is not {ALGORITHM}")
    try:
        ciphertext = base64.b64decode(_get(resource, "ciphertext", str), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("resource ciphertext is not base64",
                               {"resource.ciphertext": "not base64"}) from None
    associated_data = resource.get("associated_data") or ""
    nonce = _get(resource, "nonce", str).encode("utf-8")
    if len(nonce) != NONCE_LENGTH:
        raise SignatureInvalid(f"resource nonce is {len(nonce)} bytes, not {NONCE_LENGTH}")
    try:
        plain = AESGCM(config.apiv3_key).decrypt(nonce, ciphertext,
                                                 str(associated_data).encode("utf-8"))
    except InvalidTag:
        raise SignatureInvalid("resource could not be decrypted with the APIv3 key") from None
    return body, _json_object(plain, "resource")


def _ours(data: Mapping[str, Any], config: WechatPayConfig, names: tuple[str, ...],
          prefix: str = "") -> None:
    for name in names:
        theirs = _get(data, prefix + name, str)
        if theirs != getattr(config, name):
            raise SignatureInvalid(f"{prefix + name} {theirs!r} is not ours")


def _partner(data: Mapping[str, Any], config: WechatPayConfig,
             names: tuple[str, ...]) -> dict[str, str]:
    """Check that ``data`` names us: as the merchant (``mchid``, ``appid``), or in
    service-provider mode as the provider (``sp_mchid``, ``sp_appid``), and then which
    sub-merchant it concerns (``{"sub_mchid", "sub_appid"?}``; ``{}`` for ourselves). A
    resource naming both shapes is refused: it is neither."""
    if "sp_mchid" not in data:
        if "sub_mchid" in data:
            raise SignatureInvalid("sub_mchid without sp_mchid")
        _ours(data, config, names)
        return {}
    if "mchid" in data:
        raise SignatureInvalid("both mchid and sp_mchid")
    _ours(data, config, names, "sp_")
    sub_mchid = _get(data, "sub_mchid", str)
    if not (sub_mchid.isascii() and sub_mchid.isdigit()) or not 8 <= len(sub_mchid) <= 32:
        raise ValidationFailed(f"sub_mchid {sub_mchid[:40]!r} is not a merchant number",
                               {"sub_mchid": "digits"})
    found = {"sub_mchid": sub_mchid}
    if data.get("sub_appid") is not None:
        found["sub_appid"] = _get(data, "sub_appid", str)
    return found


def parse_transaction(data: dict[str, Any], config: WechatPayConfig, event_id: str,
                      event_type: str) -> WechatTransaction:
    """A transaction (a notification's resource, or the order-query answer) paid to us, or
    to one of our sub-merchants (``sub_mchid``) in service-provider mode."""
    partner = _partner(data, config, ("mchid", "appid"))
    amount = _get(data, "amount", dict)
    total = _get(amount, "total", int)
    payer_total = _get(amount, "payer_total", int) if "payer_total" in amount else total
    currency = _get(amount, "currency", str)
    if currency != "CNY":
        raise ValidationFailed(f"currency {currency!r} is not CNY", {"amount.currency": currency})
    return WechatTransaction(
        event_id=event_id, event_type=event_type,
        out_trade_no=_get(data, "out_trade_no", str),
        transaction_id=_get(data, "transaction_id", str),
        amount_fen=total, payer_total_fen=payer_total, currency=currency,
        trade_state=_get(data, "trade_state", str), success_time=_success_time(data),
        mchid=config.mchid, appid=config.appid, raw=data,
        sub_mchid=partner.get("sub_mchid", ""), sub_appid=partner.get("sub_appid", ""))


def _success_time(data: Mapping[str, Any]) -> str:
    """``success_time``: RFC 3339 with an offset, as WeChat writes it; a payment is recorded
    with its time (an index key, so never empty), so anything else is refused."""
    text = _get(data, "success_time", str)
    try:
        moment = datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationFailed(f"success_time {text[:40]!r} is not a time with an offset",
                               {"success_time": "RFC 3339 with an offset"})
    return text


def _json_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        value = parse_json(raw, where)
    except ValidationFailed as exc:  # also: too long a number, too deep
        raise ValidationFailed(f"{where} is not JSON: {exc.fields[where]}",
                               {where: "not JSON"}) from None
    if not isinstance(value, dict):
        raise ValidationFailed(f"{where} is not a JSON object", {where: "not an object"})
    return value


def _get(obj: Mapping[str, Any], name: str, kind: type) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValidationFailed(f"{name} is missing or not {_KINDS[kind]}",
                               {name: f"expected {_KINDS[kind]}"})
    return value

