"""Payment notifications for the local stack's merchant, signed as each channel signs them.

Each function reads the keys and merchant ids from the stack's state (``.local/stack.json``,
``seed.stack_document``) and returns ``(raw body, headers)`` ready to post to
``/callbacks/<channel>``; the messages themselves come from ``builders/``. The channels' servers
(``sim_*.py``) send them when a payer pays, the simulator's command line sends them on request
(``simulator.py``), and the tests post them to the app.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from chalicelib.adapters.wall_clock import utc_now
from chalicelib.domain.china_time import china_iso
from devstack.builders import alipay, bank, unionpay, wechatpay


def own_private_key(path: str | Path) -> Any:
    """A private key the seed made for a channel (``seed.py``): ours and trusted, so it is
    loaded without cryptography's RSA validation, which costs ~60 ms a key (the channels'
    servers load five each time they start, the simulator one per notification)."""
    return serialization.load_pem_private_key(Path(path).read_bytes(), None,
                                              unsafe_skip_rsa_key_validation=True)


def wechatpay_notification(stack: dict, out_trade_no: str, amount_fen: int, *,
                           now: datetime | None = None, transaction_id: str | None = None,
                           **overrides: object) -> tuple[bytes, dict[str, str]]:
    """A WeChat Pay payment notification for one of our orders, signed as WeChat signs it.

    ``overrides`` replace fields of the decrypted resource (tests use them to forge mistakes).
    """
    wx = stack["channels"]["wechatpay"]
    key = own_private_key(wx["platform_private_key_pem"])
    now = now or utc_now()
    resource = wechatpay.transaction_resource(
        mchid=wx["mchid"], appid=wx["appid"], out_trade_no=out_trade_no,
        transaction_id=transaction_id or "4200" + now.strftime("%Y%m%d") + secrets.token_hex(8),
        amount_fen=amount_fen, success_time=china_iso(now))
    resource.update(overrides)
    return wechatpay.sign_notification(resource, config_apiv3_key=wx["apiv3_key"].encode(),
                                       platform_private_key=key,  # type: ignore[arg-type]
                                       serial=wx["platform_serial"], now=int(now.timestamp()))


def alipay_notification(stack: dict, out_trade_no: str, amount_fen: int, *,
                        now: datetime | None = None, **overrides: str) -> tuple[bytes, dict]:
    """An Alipay asynchronous notification (RSA2), form-encoded as Alipay posts it."""
    ali = stack["channels"]["alipay"]
    key = own_private_key(ali["alipay_private_key_pem"])
    fields = alipay.trade_fields(app_id=ali["app_id"], seller_id=ali["seller_id"],
                                 out_trade_no=out_trade_no, total_fen=amount_fen,
                                 now=now or utc_now())
    fields.update(overrides)
    return (alipay.sign_notification(fields, key),  # type: ignore[arg-type]
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def alipay_message(stack: dict, msg_method: str, *, now: datetime | None = None,
                   biz_content: dict | None = None, notify_id: str | None = None,
                   **overrides: str) -> tuple[bytes, dict]:
    """An open-platform message (消息服务) to the stack's application, signed with Alipay's
    key under rule V2 (``sign_type`` signed too, as Alipay signs application-gateway messages),
    for ``/callbacks/alipay/gateway``; ``overrides`` add or replace common parameters
    (``msg_uid``, ``app_id``, …)."""
    ali = stack["channels"]["alipay"]
    key = own_private_key(ali["alipay_private_key_pem"])
    fields = alipay.message_fields(app_id=ali["app_id"], msg_method=msg_method,
                                   now=now or utc_now(), biz_content=biz_content,
                                   notify_id=notify_id)
    fields.update(overrides)
    return (alipay.sign_notification(fields, key, rule=alipay.V2),  # type: ignore[arg-type]
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def unionpay_notification(stack: dict, order_id: str, amount_fen: int, *,
                          now: datetime | None = None, **overrides: str) -> tuple[bytes, dict]:
    """A UnionPay ACP 5.1.0 back notification signed with the stack's UnionPay leaf key."""
    up = stack["channels"]["unionpay"]
    key = own_private_key(up["sign_key_pem"])
    fields = unionpay.txn_fields(mer_id=up["mer_id"], order_id=order_id, txn_amt_fen=amount_fen,
                                 now=now or utc_now(),
                                 query_id="95" + secrets.token_hex(10)[:19])
    fields.update(overrides)
    cert = Path(up["sign_cert_pem"]).read_bytes().decode()
    return (unionpay.sign_notification(fields, key, cert),  # type: ignore[arg-type]
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def bank_notification(stack: dict, payment_code: str, amount_fen: int, *,
                      now: datetime | None = None, bank_txn_id: str | None = None
                      ) -> tuple[bytes, dict]:
    """An agent bank's counter payment, signed with the bank's HMAC secret."""
    bank_state = stack["channels"]["bank"]
    now = now or utc_now()
    body = {"bank_code": bank_state["bank_code"], "payment_code": payment_code,
            "amount_fen": amount_fen, "bank_txn_id": bank_txn_id or secrets.token_hex(8),
            "paid_at": china_iso(now)}
    return bank.sign_notification(body, bank_state["bank_code"], bank_state["secret"].encode(),
                                  int(now.timestamp()))


# The channels a payer pays through (the bank is paid at its counter: ``bank_notification``).
NOTIFIERS: dict[str, Callable[..., tuple[bytes, dict]]] = {
    "wechatpay": wechatpay_notification, "alipay": alipay_notification,
    "unionpay": unionpay_notification}
