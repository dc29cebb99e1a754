"""Channel credentials from AWS Secrets Manager: fetched on first use, cached per process."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib.domain.errors import ServiceUnavailable

CACHE_SECONDS = 300


class Secrets:
    def __init__(self, client: Any) -> None:
        self._sm = client
        self._cache: dict[str, tuple[float, dict]] = {}

    def __repr__(self) -> str:  # never print what is cached
        return f"Secrets(cached={sorted(self._cache)})"

    def json(self, secret_id: str) -> dict:
        hit = self._cache.get(secret_id)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            value = json.loads(self._sm.get_secret_value(SecretId=secret_id)["SecretString"])
        except Exception as exc:  # noqa: BLE001 - any failure here means: cannot verify now
            raise ServiceUnavailable(f"secret {secret_id} unavailable") from exc
        self._cache[secret_id] = (time.monotonic(), value)
        return value
