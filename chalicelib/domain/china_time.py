"""Beijing time: the one time zone of China (UTC+8, no daylight saving), and the one constant
for it. Due dates end at midnight Beijing time, bills are dated in it, and every channel writes
its times in it (WeChat's ``+08:00``, Alipay's ``yyyy-MM-dd HH:mm:ss``, UnionPay's
``YYYYMMDDhhmmss``). Define no other: import ``CHINA_TZ`` from here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8))


def china_iso(moment: datetime) -> str:
    """An aware moment as ISO 8601 in Beijing time, to the second: ``2026-06-15T10:00:00+08:00``."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in time: give it a time zone")
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")
