"""UnionPay ACP 5.1.0 (signMethod 01), one module per concern.

- ``config.py``: ``UnionPayConfig``, our merId, UnionPay's middle and root certificates and our
  signing key, from its secret.
- ``verify.py``: back notifications (后台通知) and every message UnionPay signs: certificate
  chain, CN and signature checked before the fields are read (``verify_notification``,
  ``verify_fields``).
- ``api.py``: ``UnionPayApi``, the calls we make (front consumption, query, refund).

The names below are the channel's face. Building notices and a stand-in certificate chain is the
local stack's business (``devstack.builders.unionpay``), never production's.
"""

from chalicelib.adapters.unionpay.api import UnionPayApi
from chalicelib.adapters.unionpay.config import UnionPayConfig, load_certificate
from chalicelib.adapters.unionpay.verify import (
    UnionPayTxn,
    signed_digest,
    signing_string,
    verify_fields,
    verify_notification,
)

__all__ = ["UnionPayApi", "UnionPayConfig", "UnionPayTxn", "load_certificate", "signed_digest",
           "signing_string", "verify_fields", "verify_notification"]
