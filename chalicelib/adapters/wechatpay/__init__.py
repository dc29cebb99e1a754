"""WeChat Pay APIv3, one module per concern.

- ``config.py``: ``WechatPayConfig``, our merchant's identity and keys, from its secret.
- ``verify.py``: notifications (payments and refunds) and every message WeChat signs, verified
  over the raw bytes before anything is parsed, then decrypted (``verify_event``,
  ``verify_notification``, ``verify_signature``).
- ``api.py``: ``WechatPayApi``, the calls we make (H5, JSAPI and Native prepay, order query,
  refund).
- ``jsapi.py``: the signed ``getBrandWCPayRequest`` parameters of a JSAPI order (``paySign``).

The names below are the channel's face: ``wechatpay.verify_event(...)``,
``wechatpay.WechatPayApi(...)``. Building messages as WeChat does is the local stack's business
(``devstack.builders.wechatpay``), never production's.
"""

from chalicelib.adapters.wechatpay.api import WechatPayApi
from chalicelib.adapters.wechatpay.config import WechatPayConfig
from chalicelib.adapters.wechatpay.verify import (
    WechatRefund,
    WechatTransaction,
    parse_transaction,
    verify_event,
    verify_notification,
    verify_signature,
)

__all__ = ["WechatPayApi", "WechatPayConfig", "WechatRefund", "WechatTransaction",
           "parse_transaction", "verify_event", "verify_notification", "verify_signature"]
