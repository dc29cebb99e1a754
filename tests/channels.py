"""Test helpers that play the payment channels (the same code the local simulator uses)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from chalicelib.adapters.wechatpay import sign_notification, transaction_resource


def wechatpay_notification(stack: dict, out_trade_no: str, amount_fen: int, now: datetime, *,
                           transaction_id: str | None = None, **overrides) -> tuple[bytes, dict]:
    """A genuine-looking WeChat Pay payment notification for one of our channel orders."""
    wx = stack["channels"]["wechatpay"]
    key = serialization.load_pem_private_key(
        Path(wx["platform_private_key_pem"]).read_bytes(), None)
    resource = transaction_resource(
        mchid=overrides.pop("mchid", wx["mchid"]), appid=overrides.pop("appid", wx["appid"]),
        out_trade_no=out_trade_no,
        transaction_id=transaction_id or ("42000" + out_trade_no[-23:]).ljust(28, "0")[:28],
        amount_fen=amount_fen, success_time=now.astimezone().isoformat(timespec="seconds"))
    resource.update(overrides)
    return sign_notification(resource, config_apiv3_key=wx["apiv3_key"].encode(),
                             platform_private_key=key,  # type: ignore[arg-type]
                             serial=wx["platform_serial"], now=int(now.timestamp()))
