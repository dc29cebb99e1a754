"""Alipay (RSA2), one module per concern.

- ``config.py``: ``AlipayConfig``, our application ids and Alipay's public key, from its secret.
- ``verify.py``: asynchronous notifications (异步通知), their ``sign`` checked over the
  received fields before they are read (``verify_notification``).
- ``messages.py``: open-platform messages (消息服务) to our application gateway, checked by the
  same verifier (``verify_message``): a merchant's cancelled authorisation.
- ``api.py``: ``AlipayApi``, the calls we make (wap pay, trade query, refund).

The names below are the channel's face. Building notices as Alipay does is the local stack's
business (``devstack.builders.alipay``), never production's.
"""

from chalicelib.adapters.alipay.api import AlipayApi
from chalicelib.adapters.alipay.config import AlipayConfig, load_alipay_public_key
from chalicelib.adapters.alipay.messages import verify_message
from chalicelib.adapters.alipay.verify import AlipayTrade, signing_string, verify_notification

__all__ = ["AlipayApi", "AlipayConfig", "AlipayTrade", "load_alipay_public_key",
           "signing_string", "verify_message", "verify_notification"]
