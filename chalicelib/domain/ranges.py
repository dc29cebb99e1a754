"""Number ranges (号段): blocks of bill numbers the finance department allocates to a unit.

A range belongs to one unit, one bill kind and one bill code; numbers are taken from it in order
(``next``), so every number of a range is either used, still left, or — when an issuance died
after taking it and could not be completed — recorded as void. Ranges of one bill code never
overlap: allocation moves a per-code high-water mark.
"""

from __future__ import annotations

from dataclasses import dataclass

# A range is low when fewer numbers are left than the larger of a tenth of its size and 50
# (``low_below``): a range of 100,000 warns at 10,000 left, one of 200 at 50. A unit issuing
# some thousand bills a day has days to ask for more; a small unit is not warned at once.
LOW_FRACTION = 0.1  # warn when less than a tenth of a range is left …
LOW_MINIMUM = 50  # … or fewer than this many numbers
MAX_RANGE = 1_000_000


@dataclass(frozen=True)
class NumberRange:
    unit_code: str
    kind_code: str
    bill_code: str
    start: int
    end: int  # inclusive
    next: int
    allocated_at: str
    voided: int = 0

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    @property
    def taken(self) -> int:
        return self.next - self.start

    @property
    def left(self) -> int:
        return max(0, self.end - self.next + 1)

    @property
    def used(self) -> int:
        """Numbers that carry an issued bill (taken, less those recorded void)."""
        return self.taken - self.voided

    @property
    def low_below(self) -> int:
        """The range is low once fewer than this many numbers are left."""
        return max(LOW_MINIMUM, int(self.size * LOW_FRACTION))

    @property
    def low(self) -> bool:
        return self.left < self.low_below

    def report(self) -> dict:
        return {"unit_code": self.unit_code, "kind_code": self.kind_code,
                "bill_code": self.bill_code, "start": f"{self.start:010d}",
                "end": f"{self.end:010d}", "used": self.used, "void": self.voided,
                "left": self.left, "low": self.low, "low_below": self.low_below,
                "allocated_at": self.allocated_at}


def check_allocation(count: int) -> None:
    if not 0 < count <= MAX_RANGE:
        raise ValueError(f"a range holds 1 to {MAX_RANGE} numbers")
