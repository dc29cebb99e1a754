"""Free text a person or system sends us (names, reasons, remarks, voucher numbers): one rule.

Text ends up in DynamoDB (UTF-8: a lone surrogate cannot be encoded), in the bill's signed XML
(XML 1.0 forbids control characters, surrogates and U+FFFE/U+FFFF), on printed PDFs and pages.
So every text field of every route is checked by :func:`clean_text`:

- a string (not a number, list or object), stripped of surrounding whitespace;
- at most ``limit`` characters (checked before anything else is scanned);
- no control characters (C0, DEL, C1, U+2028/U+2029), no lone surrogates, no non-characters
  (U+FDD0–U+FDEF and every U+xxFFFE/U+xxFFFF), no bidirectional overrides (which reorder
  what a printed bill shows);
- at least one visible character: a value of only zero-width characters, spaces or combining
  marks is no name.
"""

from __future__ import annotations

import unicodedata

from chalicelib.domain.errors import ValidationFailed

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset({"Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Cc"})


def _forbidden(ch: str) -> bool:
    cp = ord(ch)
    return (unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
            or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE or ch in _BIDI_CONTROLS)


def clean_text(value: object, *, limit: int, required: bool) -> tuple[str | None, str | None]:
    """``(text, None)`` for acceptable text (None when absent and not required), else
    ``(None, why)`` with ``why`` in the words of the API's field errors."""
    if value is None or value == "":
        return None, ("is required" if required else None)
    if not isinstance(value, str):
        return None, "must be a string"
    text = value.strip()
    if not text:
        return None, ("is required" if required else None)
    if len(text) > limit:
        return None, f"must be at most {limit} characters"
    if any(_forbidden(ch) for ch in text):
        return None, "must not contain control characters"
    if all(unicodedata.category(ch) in _INVISIBLE for ch in text):
        return None, "must contain visible characters"
    return text, None


def check_text(value: object, field: str, *, limit: int, required: bool = True,
               message: str = "请求参数有误") -> str | None:
    """:func:`clean_text`, raising ``ValidationFailed`` that names ``field``."""
    text, problem = clean_text(value, limit=limit, required=required)
    if problem:
        raise ValidationFailed(message, {field: problem})
    return text
