"""WeChat Pay APIv3 payment notifications: verify, decrypt, and (for tests) build them.

The seam: ``verify_notification(raw_body, headers, config, now)`` is a pure function. It
checks the headers and the RSA signature over the *raw bytes received* first, and only then
parses the JSON, decrypts ``resource`` with the APIv3 key and checks that the payment was made
to our ``mchid``/``appid``. Every authenticity failure raises ``SignatureInvalid`` with a
message naming the check; a correctly signed but malformed body raises ``ValidationFailed``.
Matching the order and its amount against our records is the service's job, not this one.

``sign_notification`` builds a notification byte for byte as WeChat sends it (see
payment-channels.md §1.7); the local channel simulator and the tests use it.
No network, no boto3, no chalice: only the standard library and ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from chalicelib.domain.errors import SignatureInvalid, ValidationFailed

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
ALGORITHM = "AEAD_AES_256_GCM"
TOLERANCE_SECONDS = 300
FAIL_BODY = {"code": "FAIL", "message": "失败"}
_REQUIRED_HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
                     "Wechatpay-Serial")
_CHINA = timezone(timedelta(hours=8))
_KINDS: dict[type, str] = {int: "an integer", str: "a string", dict: "an object"}


@dataclass(frozen=True, repr=False)
class WechatPayConfig:
    """Our merchant identity, the APIv3 key, and every platform key WeChat may sign with.

    ``platform_keys`` maps a platform-certificate serial or a ``PUB_KEY_ID_…`` to its key;
    keep the old and the new one during a rotation so that neither is rejected.
    """

    mchid: str
    appid: str
    apiv3_key: bytes
    platform_keys: Mapping[str, RSAPublicKey]

    def __post_init__(self) -> None:
        if len(self.apiv3_key) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        if not self.platform_keys:
            raise ValueError("at least one platform public key is required")
        for serial, key in self.platform_keys.items():
            if not isinstance(key, RSAPublicKey):
                raise ValueError(f"platform key {serial!r} is not an RSA public key")
        object.__setattr__(self, "platform_keys", MappingProxyType(dict(self.platform_keys)))

    def __repr__(self) -> str:
        return (f"WechatPayConfig(mchid={self.mchid!r}, appid={self.appid!r}, "
                f"apiv3_key=<redacted>, platform_keys={sorted(self.platform_keys)!r})")

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> WechatPayConfig:
        """Build from the secret's JSON: mchid, appid, apiv3_key, platform_public_keys."""
        keys: dict[str, RSAPublicKey] = {}
        for serial, pem in data["platform_public_keys"].items():
            raw = pem.encode("ascii")
            if b"BEGIN CERTIFICATE" in raw:  # 平台证书 mode: the key is inside the cert
                key: Any = x509.load_pem_x509_certificate(raw).public_key()
            else:
                key = load_pem_public_key(raw)
            keys[serial] = key
        return cls(mchid=data["mchid"], appid=data["appid"],
                   apiv3_key=data["apiv3_key"].encode("utf-8"), platform_keys=keys)


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


def verify_notification(raw_body: bytes, headers: Mapping[str, str],
                        config: WechatPayConfig, now: int) -> WechatTransaction:
    """Verify a notification's signature over ``raw_body``, then decrypt and check it."""
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
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureInvalid(f"Wechatpay-Timestamp {timestamp!r} is not an integer")
    age = now - int(timestamp)
    if age >= TOLERANCE_SECONDS:
        raise SignatureInvalid(f"Wechatpay-Timestamp is too old ({age} s >= "
                               f"{TOLERANCE_SECONDS} s)")
    if -age >= TOLERANCE_SECONDS:
        raise SignatureInvalid(f"Wechatpay-Timestamp is in the future ({-age} s >= "
                               f"{TOLERANCE_SECONDS} s)")
    public_key = config.platform_keys.get(serial)
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
    try:
        plain = AESGCM(config.apiv3_key).decrypt(
            _get(resource, "nonce", str).encode("utf-8"), ciphertext,
            str(associated_data).encode("utf-8"))
    except InvalidTag:
        raise SignatureInvalid("resource could not be decrypted with the APIv3 key") from None
    data = _json_object(plain, "resource")
    for name, ours in (("mchid", config.mchid), ("appid", config.appid)):
        theirs = _get(data, name, str)
        if theirs != ours:
            raise SignatureInvalid(f"{name} {theirs!r} is not ours")
    amount = _get(data, "amount", dict)
    total = _get(amount, "total", int)
    payer_total = _get(amount, "payer_total", int) if "payer_total" in amount else total
    currency = _get(amount, "currency", str)
    if currency != "CNY":
        raise ValidationFailed(f"currency {currency!r} is not CNY", {"amount.currency": currency})
    return WechatTransaction(
        event_id=_get(body, "id", str), event_type=_get(body, "event_type", str),
        out_trade_no=_get(data, "out_trade_no", str),
        transaction_id=_get(data, "transaction_id", str),
        amount_fen=total, payer_total_fen=payer_total, currency=currency,
        trade_state=_get(data, "trade_state", str), success_time=_get(data, "success_time", str),
        mchid=data["mchid"], appid=data["appid"], raw=data)


def _json_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{where} is not JSON: {exc}", {where: "not JSON"}) from None
    if not isinstance(value, dict):
        raise ValidationFailed(f"{where} is not a JSON object", {where: "not an object"})
    return value


def _get(obj: Mapping[str, Any], name: str, kind: type) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValidationFailed(f"{name} is missing or not {_KINDS[kind]}",
                               {name: f"expected {_KINDS[kind]}"})
    return value


def transaction_resource(*, mchid: str, appid: str, out_trade_no: str, transaction_id: str,
                         amount_fen: int, success_time: str) -> dict[str, Any]:
    """The decrypted ``resource`` of a TRANSACTION.SUCCESS notice (payment-channels.md §1.3)."""
    return {
        "appid": appid, "mchid": mchid, "out_trade_no": out_trade_no,
        "transaction_id": transaction_id, "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
        "success_time": success_time, "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY",
                   "payer_currency": "CNY"},
    }


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign_notification(resource: dict[str, Any], *, event_type: str = "TRANSACTION.SUCCESS",
                      config_apiv3_key: bytes, platform_private_key: RSAPrivateKey,
                      serial: str, now: int, nonce: str | None = None,
                      event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """Build ``(body, headers)`` exactly as WeChat sends them; ``nonce`` is the header nonce.

    The body is serialised once, compact, UTF-8 unescaped; send those bytes unchanged.
    """
    original_type = "refund" if event_type.startswith("REFUND.") else "transaction"
    resource_nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
    ciphertext = AESGCM(config_apiv3_key).encrypt(
        resource_nonce.encode("ascii"), _compact(resource), original_type.encode("ascii"))
    body = _compact({
        "id": event_id or f"EV-{secrets.token_hex(16)}",
        "create_time": datetime.fromtimestamp(now, _CHINA).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource", "event_type": event_type,
        "summary": "支付成功" if event_type == "TRANSACTION.SUCCESS" else event_type,
        "resource": {"original_type": original_type, "algorithm": ALGORITHM,
                     "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
                     "associated_data": original_type, "nonce": resource_nonce},
    })
    header_nonce = nonce or secrets.token_hex(16).upper()
    message = b"%d\n%s\n%s\n" % (now, header_nonce.encode("utf-8"), body)
    signature = platform_private_key.sign(message, PKCS1v15(), SHA256())
    return body, {
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature": base64.b64encode(signature).decode("ascii"),
        "Wechatpay-Timestamp": str(now),
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        "Content-Type": "application/json",
    }
