"""A page's times (``api/pages.china_time``, the ``china_time`` filter of every template): a time
already in Beijing time to the second is shown from its own digits, any other as it was before,
through ``astimezone`` and ``strftime``: both give the same text for every kind of value."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.api.pages import china_time
from chalicelib.domain.china_time import CHINA_TZ


def shown_before(iso: str) -> str:
    """The filter as it was: every value through astimezone and strftime."""
    try:
        return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@pytest.mark.parametrize("iso", [
    "2026-12-02T00:11:23+08:00", "2026-12-31T23:59:59+08:00", "2024-02-29T12:00:00+08:00",
    "2026-06-15T02:00:00+00:00", "2026-06-15T02:00:00Z", "2026-06-15T18:30:00-05:00",
    "2026-06-15T10:00:00.999999+08:00", "2026-06-15T10:00+08:00", "2026-06-15T10:00:00+0800",
    "2026-06-15T10:00:00+08:00:30", "2026-06-15 10:00:00+08:00", "20260615T100000+08:00",
    "2026-06-15T16:00:00+00:00", "0999-06-15T10:00:00+08:00", "2026-06-15T10:00:00",
    "2026-06-15", "2026-02-30T10:00:00+08:00", "2026-06-15T24:00:00+08:00",
    "2026-06-15T10:00:60+08:00", "２０２６-06-15T10:00:00+08:00", "not a time", "",
])
def test_a_time_is_shown_as_the_astimezone_and_strftime_way_shows_it(iso):
    assert china_time(iso) == shown_before(iso)


def test_a_beijing_time_to_the_second_is_shown_from_its_own_digits():
    assert china_time("2026-12-02T00:11:23+08:00") == "2026-12-02 00:11:23"
    assert china_time("2026-12-01T16:11:23+00:00") == "2026-12-02 00:11:23"
