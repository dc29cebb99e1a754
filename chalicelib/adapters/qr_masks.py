"""QR codes whose mask is chosen six times faster, with the same result as ``qrcode``'s own.

``qrcode`` chooses a code's mask (ISO/IEC 18004, 8.8.2) by building the whole matrix eight
times, once per mask, and scoring each one module by module in Python: about 25 ms of the
30 ms a bill URL costs, the largest single step of drawing a bill. ``FastMaskQRCode`` builds the
matrix once (with mask 0) and derives the other seven by XOR: the modules a mask changes do not
depend on the data, so the flips per mask are computed once per version. Each candidate is then
scored with the same four penalty rules on rows held as integers and strings, where the work
happens in C (bit counts, regular expressions). Ties go to the lower mask, as in ``qrcode``, so
the mask and the matrix are exactly those ``qrcode.QRCode`` makes (a test compares them).
"""

from __future__ import annotations

import re
from functools import cache

import qrcode

RUNS = re.compile(r"0{5,}|1{5,}")
# 1:1:3:1:1 finder-like patterns with four light modules before or after; overlaps count
FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


def _rows(modules: list[list[bool | None]]) -> list[int]:
    return [int("".join("1" if m else "0" for m in row), 2) for row in modules]


@cache
def _flips(version: int) -> tuple[tuple[int, ...], ...]:
    """Per mask, per row: the modules that differ from the same code under mask 0 (test mode,
    format information light, as ``qrcode`` scores them). They depend on the version only."""
    probe = qrcode.QRCode(version=version, border=0)
    probe.add_data("")
    matrices = []
    for mask in range(8):
        probe.makeImpl(True, mask)
        matrices.append(_rows(probe.modules))
    return tuple(tuple(a ^ b for a, b in zip(matrix, matrices[0], strict=True))
                 for matrix in matrices)


def penalty(rows: list[int], n: int) -> int:
    """ISO/IEC 18004's mask penalty (N1..N4) of an ``n``×``n`` matrix given as row bits, with
    the same arithmetic as ``qrcode.util.lost_point``."""
    texts = [format(r, f"0{n}b") for r in rows]
    # every row and column in one string, "2" between them: no run or pattern spans two
    lines = "2".join(texts + ["".join(column) for column in zip(*texts, strict=True)])
    score = sum(len(run) - 2 for run in RUNS.findall(lines))
    full = (1 << n) - 1
    blocks = 0
    for upper, lower in zip(rows, rows[1:], strict=False):
        dark, light = upper & lower, ~(upper | lower) & full
        blocks += (dark & (dark >> 1)).bit_count() + (light & (light >> 1)).bit_count()
    score += 3 * blocks
    score += 40 * len(FINDER_LIKE.findall(lines))
    percent = float(sum(r.bit_count() for r in rows)) / (n ** 2)
    return score + int(abs(percent * 100 - 50) / 5) * 10


class FastMaskQRCode(qrcode.QRCode):
    """``qrcode.QRCode`` with a faster ``best_mask_pattern`` (same choice)."""

    def best_mask_pattern(self) -> int:
        self.makeImpl(True, 0)
        base = _rows(self.modules)
        n = len(base)
        scores = [(penalty([r ^ f for r, f in zip(base, flips, strict=True)], n), mask)
                  for mask, flips in enumerate(_flips(self.version))]
        return min(scores)[1]
