"""Strict reading of untrusted JSON: every failure is a ``ValidationFailed``, never a 500.

Python's own ``json.loads`` raises more than ``JSONDecodeError`` on hostile input: a ValueError
for an integer longer than the interpreter's 4,300-digit conversion limit, a RecursionError for
deep nesting, and it accepts ``NaN``/``Infinity``. Every JSON body we read (API routes, channel
notifications after their signature, the decrypted WeChat resource) goes through
:func:`parse_json`, which bounds what the parse can cost and what comes out of it:

- integers of at most ``MAX_INT_DIGITS`` digits (no amount, count or timestamp needs more);
- numbers with a fraction or exponent of at most ``MAX_NUMBER_CHARS`` characters, finite;
- no ``NaN``, ``Infinity`` or ``-Infinity``;
- at most ``MAX_DEPTH`` nested arrays/objects.
"""

from __future__ import annotations

import json
import math
from typing import Any

from chalicelib.domain.errors import ValidationFailed

MAX_INT_DIGITS = 20
MAX_NUMBER_CHARS = 40
MAX_DEPTH = 32


class _Refused(ValueError):
    """Raised inside the parse hooks; turned into ``ValidationFailed`` by ``parse_json``."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of more than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"a number out of range: {text}")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """How deeply ``value`` nests arrays and objects (0 for a scalar), without recursion; the
    walk stops as soon as it passes ``MAX_DEPTH``."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 1
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                break
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return deepest


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def parse_json(raw: bytes | str, where: str = "body") -> Any:
    """Parse ``raw`` (UTF-8 bytes or text) strictly; ``ValidationFailed`` naming ``where``."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = _DECODER.decode(text)
    except UnicodeDecodeError:
        raise ValidationFailed(f"{where} 不是 UTF-8 编码的 JSON",
                               {where: "invalid JSON: not UTF-8"}) from None
    except _Refused as exc:
        raise ValidationFailed(f"{where} 中的数值超出范围", {where: f"invalid JSON: {exc}"}) from None
    except RecursionError:
        raise ValidationFailed(f"{where} 嵌套过深",
                               {where: f"invalid JSON: nested deeper than {MAX_DEPTH}"}) from None
    except ValueError as exc:  # JSONDecodeError, and any other conversion limit
        raise ValidationFailed(f"{where} 不是有效的 JSON", {where: f"invalid JSON: {exc}"}) from None
    if _depth(value) > MAX_DEPTH:
        raise ValidationFailed(f"{where} 嵌套过深",
                               {where: f"invalid JSON: nested deeper than {MAX_DEPTH}"})
    return value
