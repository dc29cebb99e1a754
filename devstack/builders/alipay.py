"""Building Alipay asynchronous notifications (异步通知, RSA2) as Alipay posts them, and the
open platform's messages (消息服务) to an application gateway, signed the same way.

For the local channel simulator and the tests only (payment-channels.md §2.1): the production
path verifies (``chalicelib/adapters/alipay/verify.py``, ``messages.py``) and never builds.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

from chalicelib.adapters.alipay.verify import (
    _ALIPAY_TIME,
    _UNSIGNED,
    CHARSETS,
    SIGN_TYPE,
    V1,
    V2,
    signing_string,
)
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.money import fen_to_yuan


def trade_fields(*, app_id: str, seller_id: str, out_trade_no: str, total_fen: int, now: datetime,
                 trade_no: str | None = None, trade_status: str = "TRADE_SUCCESS",
                 charset: str = "utf-8", subject: str = "非税收入缴款 水&电费",
                 notify_id: str | None = None) -> dict[str, str]:
    """The fields of a realistic payment notice (payment-channels.md §2.1), without sign."""
    paid = now.astimezone(CHINA_TZ)
    yuan = fen_to_yuan(total_fen)
    return {
        "gmt_create": (paid - timedelta(seconds=17)).strftime(_ALIPAY_TIME),
        "charset": charset,
        "gmt_payment": paid.strftime(_ALIPAY_TIME),
        "notify_time": (paid + timedelta(seconds=1)).strftime(_ALIPAY_TIME),
        "subject": subject,
        "buyer_id": "2088102177846875",
        "buyer_logon_id": "csq***@sandbox.com",
        "invoice_amount": yuan,
        "version": "1.0",
        "notify_id": notify_id or secrets.token_hex(16) + "rg",
        "fund_bill_list": json.dumps([{"amount": yuan, "fundChannel": "ALIPAYACCOUNT"}],
                                     separators=(",", ":")),
        "notify_type": "trade_status_sync",
        "out_trade_no": out_trade_no,
        "total_amount": yuan,
        "trade_status": trade_status,
        "trade_no": trade_no or paid.strftime("%Y%m%d") + "22001" + str(
            secrets.randbelow(10**15)).zfill(15),
        "auth_app_id": app_id,
        "receipt_amount": yuan,
        "point_amount": "0.00",
        "app_id": app_id,
        "buyer_pay_amount": yuan,
        "seller_id": seller_id,
    }


def message_fields(*, app_id: str, msg_method: str, now: datetime,
                   biz_content: Mapping[str, object] | None = None,
                   notify_id: str | None = None) -> dict[str, str]:
    """The common parameters of an open-platform message (version 1.1) to application
    ``app_id``, without sign (``chalicelib/adapters/alipay/messages.py`` names the source).
    What ``biz_content`` holds, and whether ``msg_type``, ``msg_uid`` or ``msg_app_id`` come
    with a given message, is not documented where we can read it: the caller adds them."""
    return {
        "notify_id": notify_id or secrets.token_hex(16),
        "utc_timestamp": str(int(now.timestamp() * 1000)),
        "msg_method": msg_method,
        "app_id": app_id,
        "version": "1.1",
        "biz_content": json.dumps(dict(biz_content or {}), ensure_ascii=False,
                                  separators=(",", ":")),
        "charset": "utf-8",
    }


def sign_notification(fields: Mapping[str, str], private_key: RSAPrivateKey,
                      charset: str = "utf-8", *, rule: str = V1) -> bytes:
    """A form body as Alipay posts it: the fields, ``sign`` (RSA2; over the V1 string for a
    payment notice, the V2 string, ``sign_type`` included, for an application-gateway message)
    and ``sign_type``.

    Values are percent-encoded in ``charset`` (space as ``+``, so ``+``/``/``/``=`` of the
    signature as ``%2B``/``%2F``/``%3D``).
    """
    codec = CHARSETS[charset.lower()]
    if any(key in fields for key in _UNSIGNED):
        raise ValueError("fields must not contain sign or sign_type")
    if fields.get("charset", charset) != charset:
        raise ValueError(f"fields say charset {fields['charset']!r}, not {charset!r}")
    data = {"charset": charset, **fields}
    if rule == V2:
        data["sign_type"] = SIGN_TYPE
    sign = private_key.sign(signing_string(data, rule=rule).encode(codec), PKCS1v15(), SHA256())
    data["sign"] = base64.b64encode(sign).decode("ascii")
    data["sign_type"] = SIGN_TYPE
    return urlencode(data, encoding=codec).encode("ascii")
