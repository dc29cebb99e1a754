"""WeChat Pay JSAPI: the parameters a page inside WeChat hands to ``getBrandWCPayRequest``.

After ``POST /v3/pay/transactions/jsapi`` gives a ``prepay_id``, the page calls
``WeixinJSBridge.invoke('getBrandWCPayRequest', {appId, timeStamp, nonceStr, package, signType,
paySign}, callback)``. As WeChat documents it (JSAPI调起支付, APIv3: "签名串一共有四行，每一行为
一个参数。行尾以\\n…结束，包括最后一行"):

    paySign = base64( RSA-SHA256( merchant API private key,
                                  appId + "\\n" + timeStamp + "\\n" + nonceStr + "\\n" + package + "\\n" ) )

with ``package`` = ``prepay_id=<prepay_id>``, ``timeStamp`` epoch seconds as a string (at most
32 characters), ``nonceStr`` at most 32 characters, ``signType`` ``RSA`` (not signed). Every
value is a string. ``verify_pay_sign`` is the check WeChat's client makes; the local simulator's
stand-in bridge and the tests use it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.domain.errors import SignatureInvalid

SIGN_TYPE = "RSA"
FIELDS = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")
_NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def pay_sign_message(app_id: str, time_stamp: str, nonce_str: str, package: str) -> bytes:
    """The four lines WeChat signs, each ending in ``\\n`` (the last one too)."""
    return f"{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n".encode()


def new_nonce() -> str:
    """32 random upper-case letters and digits (WeChat's example: 5K8264ILTKCH16CQ2502SI8ZNMTM67VS)."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(32))


def jsapi_params(app_id: str, prepay_id: str, private_key: RSAPrivateKey, *, timestamp: int,
                 nonce: str) -> dict[str, str]:
    """The signed ``getBrandWCPayRequest`` parameters for ``prepay_id``."""
    package = f"prepay_id={prepay_id}"
    message = pay_sign_message(app_id, str(timestamp), nonce, package)
    signature = private_key.sign(message, PKCS1v15(), SHA256())
    return {"appId": app_id, "timeStamp": str(timestamp), "nonceStr": nonce, "package": package,
            "signType": SIGN_TYPE, "paySign": base64.b64encode(signature).decode("ascii")}


def verify_pay_sign(params: Mapping[str, object], public_key: RSAPublicKey) -> None:
    """``SignatureInvalid`` unless ``params`` are complete strings whose ``paySign`` holds."""
    missing = [name for name in FIELDS if not isinstance(params.get(name), str)
               or not params.get(name)]
    if missing:
        raise SignatureInvalid(f"missing or not a string: {', '.join(missing)}")
    if params["signType"] != SIGN_TYPE:
        raise SignatureInvalid(f"signType {params['signType']!r} is not {SIGN_TYPE}")
    try:
        signature = base64.b64decode(str(params["paySign"]), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("paySign is not base64") from None
    message = pay_sign_message(str(params["appId"]), str(params["timeStamp"]),
                               str(params["nonceStr"]), str(params["package"]))
    try:
        public_key.verify(signature, message, PKCS1v15(), SHA256())
    except InvalidSignature:
        raise SignatureInvalid("paySign does not match appId, timeStamp, nonceStr, "
                               "package") from None
