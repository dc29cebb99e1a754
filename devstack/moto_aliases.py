"""moto's response serializer, finding each attribute's name once per kind of object and shape.

moto 5 answers every DynamoDB, SQS, SNS and S3 call through one generic serializer that walks the
operation's output shape. For each member of each structure it instantiates six "alias
providers" (``moto.core.serialize.DEFAULT_ALIAS_PROVIDERS``) to list the names the value may
have on moto's object (``SS``, ``ss``, a class-prefixed or shape-prefixed form, ...). A DynamoDB
attribute value is a structure of ten members, so an item of twenty attributes meant some 1,200
provider objects per response, each time the same answer: in a profiled fuzz family the
serializer was over half of moto's time per request, most of it listing names.

What a provider answers depends only on the member's name, its shape and its parent shape (set
on the shape just before the member is serialized), the class of the object and that class's
``Meta.serialization_aliases``: ``install()`` remembers the list for that combination and hands
it out again. Objects that carry their own ``Meta`` (none of moto's do; theirs is a class
attribute) are asked each time, as before. The values are still read from each object, the
transformers still applied: the bytes of every response are moto's
(``tests/contracts/test_moto_aliases.py`` compares them with and without on real responses).

Installed by the in-process test tiers (``tests/world.py``, the contract tier's ``aws``) and by
the local stack's moto (``moto_tuning.apply``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_INSTALLED: list[Any] = []


def install() -> None:
    """Remember the possible names per (picker's providers, object class, member, shape,
    parent shape). Idempotent."""
    from moto.core import serialize

    if _INSTALLED:
        return
    picker = serialize.XFormedAttributePicker
    original = picker.get_possible_keys
    remembered: dict[tuple[Any, ...], tuple[tuple[str, ...], Any, Any]] = {}

    def get_possible_keys(self: Any, context: Any) -> Iterator[str]:
        obj, shape = context.obj, context.shape
        if "Meta" in getattr(obj, "__dict__", ()):  # an object's own aliases: ask each time
            yield from original(self, context)
            return
        parent = getattr(shape, "parent", None)
        key = (tuple(self.alias_providers), type(obj), context.key, id(shape), id(parent))
        found = remembered.get(key)
        if found is None or found[1] is not shape or found[2] is not parent:
            # the shapes are kept with the names, so their ids cannot be reused meanwhile
            found = (tuple(original(self, context)), shape, parent)
            remembered[key] = found
        yield from found[0]

    picker.get_possible_keys = get_possible_keys  # type: ignore[method-assign,assignment]
    _INSTALLED.append((picker, original))


def uninstall() -> None:
    """moto's own lookup again (for the contract test that compares both)."""
    while _INSTALLED:
        picker, original = _INSTALLED.pop()
        picker.get_possible_keys = original
