"""统一社会信用代码 (unified social credit code), GB 32100-2015.

18 characters from the 31-character set ``0-9 A-H J-N P-R T U W-Y`` (no I, O, S, V, Z)::

    9  1  350100  M000100Y4  3
    |  |  |       |          └ check character (position 18)
    |  |  |       └ 主体标识码 (the organisation code, 9 characters)
    |  |  └ 登记管理机关行政区划码 (6 digits)
    |  └ 机构类别代码
    └ 登记管理部门代码

Position 18 is computed from the first 17 (GB 32100-2015 §4.2, ISO 7064 MOD 31-3 style):
each character's value (its index in the set) times the weight 3^(i-1) mod 31 of its position
``i``, summed; the check value is ``31 - sum % 31``, and 31 is written ``0``.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}


def check_character(first17: str) -> str:
    """The check character of the first 17 characters of a code (which must be from CHARSET)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a unified social credit code (upper-cased first), or None."""
    if len(code) != 18:
        return "must be 18 characters"
    if any(ch not in _VALUE for ch in code):
        return "must use only 0-9 and A-Y without I, O, S, V, Z"
    if not code[2:8].isdigit():
        return "characters 3-8 must be a region code (digits)"
    if code[17] != check_character(code[:17]):
        return "check character (18th) does not match (GB 32100-2015)"
    return None
