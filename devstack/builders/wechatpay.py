"""Building WeChat Pay messages as WeChat sends them: notifications and signed API answers.

For the local channel simulator and the tests only (payment-channels.md §1.7): the production
path verifies (``chalicelib/adapters/wechatpay/verify.py``) and never builds.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.wechatpay.verify import ALGORITHM, SIGNATURE_TYPE
from chalicelib.domain.china_time import CHINA_TZ


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


def partner_transaction_resource(*, sp_mchid: str, sp_appid: str, sub_mchid: str,
                                 sub_appid: str = "", out_trade_no: str, transaction_id: str,
                                 amount_fen: int, success_time: str) -> dict[str, Any]:
    """The decrypted ``resource`` of a service provider's TRANSACTION.SUCCESS notice (服务商
    模式): the provider as ``sp_mchid``/``sp_appid``, the sub-merchant paid as ``sub_mchid``
    (``sub_appid`` when it has one), the payer as ``sp_openid`` (wechatpay-go's
    ``partnerpayments.Transaction``)."""
    return {
        "sp_appid": sp_appid, "sp_mchid": sp_mchid,
        **({"sub_appid": sub_appid} if sub_appid else {}), "sub_mchid": sub_mchid,
        "out_trade_no": out_trade_no, "transaction_id": transaction_id, "trade_type": "NATIVE",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
        "attach": "", "success_time": success_time,
        "payer": {"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY",
                   "payer_currency": "CNY"},
    }


def compact(value: Any) -> bytes:
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
        resource_nonce.encode("ascii"), compact(resource), original_type.encode("ascii"))
    body = compact({
        "id": event_id or f"EV-{secrets.token_hex(16)}",
        "create_time": datetime.fromtimestamp(now, CHINA_TZ).isoformat(timespec="seconds"),
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


def refund_resource(*, mchid: str, out_trade_no: str, transaction_id: str, out_refund_no: str,
                    refund_id: str, refund_fen: int, total_fen: int, success_time: str,
                    refund_status: str = "SUCCESS", sub_mchid: str = "") -> dict[str, Any]:
    """The decrypted ``resource`` of a REFUND.* notice (payment-channels.md §1.3); with
    ``sub_mchid``, a service provider's (``sp_mchid`` then ``sub_mchid``)."""
    who = {"sp_mchid": mchid, "sub_mchid": sub_mchid} if sub_mchid else {"mchid": mchid}
    return {**who, "out_trade_no": out_trade_no, "transaction_id": transaction_id,
            "out_refund_no": out_refund_no, "refund_id": refund_id,
            "refund_status": refund_status, "success_time": success_time,
            "user_received_account": "支付用户零钱",
            "amount": {"total": total_fen, "refund": refund_fen, "payer_total": total_fen,
                       "payer_refund": refund_fen}}


def sign_response(body: bytes, *, platform_private_key: RSAPrivateKey, serial: str, now: int,
                  nonce: str | None = None) -> dict[str, str]:
    """The headers with which WeChat signs an API answer: the same scheme as a notification."""
    header_nonce = nonce or secrets.token_hex(16).upper()
    message = b"%d\n%s\n%s\n" % (now, header_nonce.encode("utf-8"), body)
    signature = platform_private_key.sign(message, PKCS1v15(), SHA256())
    return {"Wechatpay-Serial": serial, "Wechatpay-Nonce": header_nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode("ascii"),
            "Wechatpay-Timestamp": str(now), "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Request-ID": secrets.token_hex(16), "Content-Type": "application/json"}
