"""Reading an ``application/x-www-form-urlencoded`` body strictly: the channels' one form reader.

Alipay's notices and UnionPay's notices are forms whose signature covers every field as decoded,
so the form must be read exactly once and exactly one way, before anything else looks at it:

- the request's ``Content-Type`` must be the form type (parameters such as ``charset`` aside);
- the body's own character set is read first from the raw bytes (Alipay names the field
  ``charset``, UnionPay ``encoding``; its name and value are ASCII), at most once, and must be
  one we know (GB2312 text is read as GBK, a superset);
- the body is decoded strictly in that character set (``+`` is a space, ``%XX`` a byte);
- every field appears once: a second value for one name is refused, not silently chosen;
- the character-set field must be found again under its own name after decoding (a
  percent-encoded name would let the raw and the decoded readings disagree).

A form that breaks any of these cannot be what the channel signed, so ``SignatureInvalid``
names the rule. The local channel simulators read our requests with the same function.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_plus

from chalicelib.domain.errors import SignatureInvalid

FORM_TYPE = "application/x-www-form-urlencoded"


def read_form(raw_body: bytes, content_type: str, *, charset_field: str,
              codecs: Mapping[str, str], default: str = "utf-8") -> tuple[dict[str, str], str]:
    """``(fields, codec)``: the form's fields, one value each, and the codec that read them.

    ``charset_field`` names the field that declares the body's character set (absent: ``default``);
    ``codecs`` maps each accepted declared name (lower case) to the codec that reads it.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != FORM_TYPE:
        raise SignatureInvalid(f"Content-Type {content_type!r} is not {FORM_TYPE}")
    declared = _declared(raw_body, charset_field) or default
    codec = codecs.get(declared.lower())
    if codec is None:
        raise SignatureInvalid(f"{charset_field} {declared!r} is not one of {', '.join(codecs)}")
    try:
        pairs = parse_qsl(raw_body.decode(codec), keep_blank_values=True, encoding=codec,
                          errors="strict")
    except UnicodeDecodeError:
        raise SignatureInvalid(f"body is not valid {declared} form data") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise SignatureInvalid(f"field {key!r} appears more than once")
        fields[key] = value
    if fields.get(charset_field, declared) != declared:
        raise SignatureInvalid(f"field {charset_field!r} was sent under a percent-encoded name")
    return fields, codec


def _declared(raw_body: bytes, name: str) -> str | None:
    """The value of field ``name`` read from the raw bytes (ASCII), or None when absent."""
    key = name.encode("ascii")
    found = [unquote_plus(part.partition(b"=")[2].decode("ascii", "replace"))
             for part in raw_body.split(b"&") if part.partition(b"=")[0] == key]
    if len(found) > 1:
        raise SignatureInvalid(f"field {name!r} appears more than once")
    return found[0] if found else None
