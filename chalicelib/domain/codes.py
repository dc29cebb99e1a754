"""Identifiers printed on notes and bills: payment codes, bill codes and numbers, check codes.

payment_code (缴款码), 20 digits::

    RRRRRR YY SSSSSSSSSSS C
    region year sequence   check digit (Damm)

The 11-digit sequence is a counter run through a keyed permutation of 0..10^11-1 (an 8-round
Feistel network with HMAC-SHA256 rounds over 10^12, cycle-walked into 10^11): codes stay unique,
yet nobody without the key can tell the next or the previous note's code from one code. The Damm
check digit catches every single-digit typo and every swap of two adjacent digits.

bill_code (票据代码), 8 digits ``RRCCKKYY``: the supervising region (2), the bill 分类 (2) and
种类 (2), and the code's year (2) — which is the year of the code, not of the issue date.
bill_number (票据号码): 10 digits, sequential within a bill code. check_code (校验码): 6 random
characters from ``[0-9A-Za-z]``, case-sensitive; it is a secret that gates public lookups.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Callable

from chalicelib.domain.errors import ValidationFailed

PAYMENT_CODE_LENGTH = 20
_SEQ_SPACE = 10**11
_HALF = 10**6  # the Feistel network works on 10^12 = 10^6 × 10^6
_ROUNDS = 8

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

CHECK_CODE_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECK_CODE = re.compile(r"^[0-9A-Za-z]{6}$")
_BILL_CODE = re.compile(r"^[0-9]{8}$")
_BILL_NUMBER = re.compile(r"^[0-9]{10}$")
_OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z]{8,32}$")
_REGION = re.compile(r"^[1-9][0-9]{5}$")


def damm_digit(digits: str) -> int:
    """The Damm check digit of a string of decimal digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def permute_sequence(counter: int, key: bytes) -> int:
    """A keyed bijection of 0..10^11-1 onto itself (format-preserving, by cycle walking)."""
    x = counter
    while True:
        left, right = divmod(x, _HALF)
        for round_no in range(_ROUNDS):
            digest = hmac.new(key, f"{round_no}:{right}".encode(), hashlib.sha256).digest()
            left, right = right, (left + int.from_bytes(digest[:8], "big")) % _HALF
        x = left * _HALF + right
        if x < _SEQ_SPACE:
            return x


def make_payment_code(region_code: str, year: int, counter: int, key: bytes = b"") -> str:
    """Build the payment code for the ``counter``-th note of a region and year (counter ≥ 1).

    ``key`` is the deployment's secret payment-code key (``PAYMENT_CODE_KEY``).
    """
    if not _REGION.match(region_code):
        raise ValueError(f"region code must be 6 digits: {region_code!r}")
    if not 0 < counter < _SEQ_SPACE:
        raise ValueError("payment code counter exhausted for this region and year")
    seq = permute_sequence(counter, key)
    body = f"{region_code}{year % 100:02d}{seq:011d}"
    return body + str(damm_digit(body))


def payment_code_problem(code: object) -> str | None:
    """Why ``code`` cannot be a payment code (in Chinese, for the payer), or None if it can."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit():
        return "缴款码应为20位数字"
    if len(code) != PAYMENT_CODE_LENGTH:
        return f"缴款码应为20位数字，您输入了{len(code)}位"
    if code[0] == "0":
        return "缴款码应以地区代码开头"
    if damm_digit(code) != 0:
        return "缴款码校验不通过，请检查是否有输错或颠倒的数字"
    return None


def check_payment_code(code: object, field: str = "payment_code") -> str:
    """Return ``code`` if it is a well-formed payment code, else raise ``ValidationFailed``."""
    problem = payment_code_problem(code)
    if problem:
        raise ValidationFailed(problem, {field: problem}, code="invalid_payment_code")
    assert isinstance(code, str)
    return code


def make_bill_code(region_code: str, kind_code: str, year: int) -> str:
    """``RRCCKKYY`` from the 6-digit region code, the 4-digit 分类+种类 code and the year."""
    if not _REGION.match(region_code) or not re.match(r"^[0-9]{4}$", kind_code):
        raise ValueError("bad region or kind code")
    return f"{region_code[:2]}{kind_code}{year % 100:02d}"


def format_bill_number(number: int) -> str:
    if not 0 < number < 10**10:
        raise ValueError("bill number out of range")
    return f"{number:010d}"


def new_check_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """Draw a fresh, unpredictable 6-character check code."""
    return "".join(choice(CHECK_CODE_ALPHABET) for _ in range(6))


def new_out_trade_no(payment_code: str, choice: Callable[[str], str] = secrets.choice) -> str:
    """A channel order number: the payment code and 6 random letters or digits (26 chars)."""
    return payment_code + "".join(choice(CHECK_CODE_ALPHABET) for _ in range(6))


def is_check_code(value: object) -> bool:
    return isinstance(value, str) and bool(_CHECK_CODE.match(value))


def is_bill_code(value: object) -> bool:
    return isinstance(value, str) and bool(_BILL_CODE.match(value))


def is_bill_number(value: object) -> bool:
    return isinstance(value, str) and bool(_BILL_NUMBER.match(value))


def is_out_trade_no(value: object) -> bool:
    return isinstance(value, str) and bool(_OUT_TRADE_NO.match(value))


def check_bill_reference(bill_code: object, bill_number: object, check_code: object) -> None:
    """Raise ``ValidationFailed`` naming each malformed element of a bill reference."""
    fields = {}
    if not is_bill_code(bill_code):
        fields["bill_code"] = "must be 8 digits"
    if not is_bill_number(bill_number):
        fields["bill_number"] = "must be 10 digits"
    if not is_check_code(check_code):
        fields["check_code"] = "must be 6 letters or digits"
    if fields:
        raise ValidationFailed("票据信息格式不正确", fields)
