"""Two costs of moto's DynamoDB paid again on every request, cut for the in-process test tiers.

- **Attribute values in answers.** moto answers through one generic serializer that walks the
  operation's output shape. An item's attribute value is a structure of ten members (``S``,
  ``N``, ``B``, ``SS``, ``NS``, ``BS``, ``M``, ``L``, ``NULL``, ``BOOL``), so each value of each
  item asked its value picker ten times (nine answering "absent"); a map or list value did it
  again for each of its own values. moto's DynamoDB answers hand the serializer plain dicts
  (``DynamoResult``: ``{type: value}``, binary values as bytes), so a value of that form is
  written here directly, as the generic walk writes it: strings as they are, binary values in
  base64, booleans as they are, maps and lists value by value. Anything else (a value of another
  form, a serializer with response transformers) goes the generic way.
- **Update expressions.** moto parses an ``UpdateExpression`` twice per ``UpdateItem`` (in the
  response handler, to list the names and values it uses, and in the backend), tokenizing and
  building its tree each time, though the product sends the same few expressions again and
  again. The tree is a function of the text and neither caller changes it (the backend's
  validator works on a deep copy), so each text is parsed once (a text that fails to parse is
  not remembered and fails again).

Neither changes an answer: ``tests/contracts/test_moto_dynamodb.py`` compares the bytes of real
answers with and without. Installed by ``tests/world.py`` (the functional, faults and fuzz
tiers' moto).
"""

from __future__ import annotations

import base64
import functools
from typing import Any

_INSTALLED: list[tuple[Any, str, Any]] = []
_MISSING = object()
_STRINGS = frozenset({"S", "N"})
_STRING_SETS = frozenset({"SS", "NS"})
_FLAGS = frozenset({"BOOL", "NULL"})


def attribute_value(value: Any) -> Any:
    """``value`` (an attribute value as moto's answers hold it) as the generic serializer writes
    it, or ``_MISSING`` where this does not know how it would."""
    if type(value) is not dict or len(value) != 1:
        return _MISSING
    ((kind, inner),) = value.items()
    if kind in _STRINGS:
        return {kind: inner} if type(inner) is str else _MISSING
    if kind == "M":
        if type(inner) is not dict:
            return _MISSING
        members = {}
        for name, member in inner.items():
            written = attribute_value(member)
            if written is _MISSING or type(name) is not str:
                return _MISSING
            members[name] = written
        return {"M": members}
    if kind == "L":
        if type(inner) is not list:
            return _MISSING
        items = []
        for member in inner:
            written = attribute_value(member)
            if written is _MISSING:
                return _MISSING
            items.append(written)
        return {"L": items}
    if kind in _FLAGS:
        return {kind: inner} if type(inner) is bool else _MISSING
    if kind in _STRING_SETS:
        ok = type(inner) is list and all(type(i) is str for i in inner)
        return {kind: list(inner)} if ok else _MISSING
    if kind == "B":
        return {"B": _base64(inner)} if type(inner) is bytes else _MISSING
    if kind == "BS":
        ok = type(inner) is list and all(type(i) is bytes for i in inner)
        return {"BS": [_base64(i) for i in inner]} if ok else _MISSING
    return _MISSING


def _base64(value: bytes) -> str:
    return base64.b64encode(value).strip().decode("utf-8")  # the serializer's _base64


def install() -> None:
    """Both changes, for this process (idempotent)."""
    from moto.core import serialize
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    if _INSTALLED:
        return
    serializer = serialize.BaseJSONSerializer
    structure = serializer.__dict__["_serialize_type_structure"]

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any,
                                  key: str) -> None:
        if (key and shape.name == "AttributeValue"
                and not getattr(self._value_picker, "response_transformers", None)):
            written = attribute_value(value)
            if written is not _MISSING:
                serialized[shape.serialization.get("name", key)] = written
                return
        structure(self, serialized, value, shape, key)

    serializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    _INSTALLED.append((serializer, "_serialize_type_structure", structure))

    make = UpdateExpressionParser.__dict__["make"]
    parsed = functools.lru_cache(maxsize=1024)(make.__func__)
    UpdateExpressionParser.make = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls, expression_str: parsed(cls, expression_str))
    _INSTALLED.append((UpdateExpressionParser, "make", make))


def uninstall() -> None:
    """moto's own code again (for the contract test that compares both)."""
    while _INSTALLED:
        owner, name, original = _INSTALLED.pop()
        setattr(owner, name, original)
