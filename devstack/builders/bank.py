"""Building an agent bank's counter-payment notification as the bank sends it.

For the local channel simulator and the tests only (CONTRACT.md, ``POST /callbacks/bank``): the
production path verifies (``chalicelib/adapters/bank.py``) and never builds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.bank import signature_for


def sign_notification(body: Mapping[str, Any], bank_code: str, secret: bytes,
                      now: int) -> tuple[bytes, dict[str, str]]:
    """Build ``(raw body, headers)`` as an agent bank sends them; send the bytes unchanged."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(now)
    return raw, {
        "Content-Type": "application/json",
        "X-Bank-Code": bank_code,
        "X-Timestamp": timestamp,
        "X-Signature": base64.b64encode(signature_for(secret, timestamp, raw)).decode("ascii"),
    }
