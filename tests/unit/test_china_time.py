"""Beijing time has one constant (``chalicelib/domain/china_time.py``) and one way to be written."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.domain.china_time import CHINA_TZ, china_iso

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "chalicelib" / "domain" / "china_time.py"
# A time zone of UTC+8 made by hand, or China's by name.
OWN_ZONE = re.compile(r"timezone\(\s*timedelta\(\s*hours\s*=\s*\+?8\s*\)|ZoneInfo\(|"
                      r"Asia/(Shanghai|Chongqing|Harbin|Urumqi|Beijing)|\bPRC\b|"
                      r"timedelta\(\s*seconds\s*=\s*28800\s*\)")
SOURCES = sorted(p for folder in ("chalicelib", "devstack", "tests", "bench")
                 for p in (ROOT / folder).rglob("*.py")) + [ROOT / "app.py"]


def own_zones(text: str) -> list[str]:
    return [m.group(0) for m in OWN_ZONE.finditer(text)]


def test_china_iso_writes_an_aware_moment_in_beijing_time_to_the_second():
    assert china_iso(datetime(2026, 6, 15, 2, 0, 0, 999999, tzinfo=UTC)) == \
        "2026-06-15T10:00:00+08:00"
    assert china_iso(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == "2027-01-01T00:00:00+08:00"
    assert datetime(2026, 6, 15, 10, tzinfo=CHINA_TZ).utcoffset().total_seconds() == 8 * 3600


def test_china_iso_refuses_a_naive_moment_rather_than_guess_the_machine_zone():
    with pytest.raises(ValueError, match="naive"):
        china_iso(datetime(2026, 6, 15, 10, 0))


@pytest.mark.parametrize("path", [p for p in SOURCES if p != HOME and p != Path(__file__)],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_makes_its_own_china_time_zone(path):
    assert own_zones(path.read_text(encoding="utf-8")) == [], \
        f"{path.relative_to(ROOT)}: import CHINA_TZ from chalicelib.domain.china_time"


def test_the_check_knows_every_way_of_writing_the_zone():
    assert len(own_zones('_CHINA = timezone(timedelta(hours=8))\nZoneInfo("Asia/Shanghai")\n'
                         "timezone(timedelta(seconds=28800))\n")) == 4
    assert own_zones('created_at = "2026-06-15T10:00:00+08:00"\nCHINA_TZ\n') == []
    assert own_zones(HOME.read_text(encoding="utf-8")) != []
