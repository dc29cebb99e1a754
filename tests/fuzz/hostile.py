"""Hostile values for the fuzz tier: text, JSON (as text, so it can say what ``json.dumps``
cannot), bodies, headers and path parameters.

A value tree may hold ``Raw`` nodes: JSON text written verbatim into the document (a
5,000-digit integer, ``NaN``, a lone surrogate escape, 100,000 nested arrays). ``encode`` turns
a tree into bytes; ``mutate(draw, template)`` replaces, removes or adds a few fields of a valid
document, so most requests get past the first check and reach the code behind it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st


@dataclass(frozen=True)
class Raw:
    """JSON text put into a document as it is."""

    text: str


def _nest(depth: int, open_: str, close: str, inner: str = "1") -> Raw:
    return Raw(open_ * depth + inner + close * depth)


RAW_JSON = [
    Raw("1" * 5000), Raw("-" + "9" * 4400), Raw("9" * 4301), Raw("123456789012345678901234567890"),
    Raw("1e999"), Raw("-1e999"), Raw("1e-999"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"),
    Raw("1." + "0" * 3000), Raw("0.1"), Raw("-0"), Raw("1E400"), Raw("4.35"), Raw("8000.0"),
    Raw('"\\ud800"'), Raw('"\\udfff\\ud800"'), Raw('"\\u0000"'), Raw('"a\\u0000b"'),
    Raw('"\\uffff"'), Raw('"\\ufdd0"'), Raw('"\\u202e\\u0635"'),
    _nest(40, "[", "]"), _nest(1000, "[", "]"), _nest(100_000, "[", "]"),
    Raw('{"a":' * 3000 + "1" + "}" * 3000), Raw("[" * 50_000),
]

SPECIAL_TEXT = [
    "", " ", "\x00", "a\x00b", "%00", "\ud800", "\udfff", "\ud83d", "\uffff", "\ufffe", "\ufdd0",
    "\u202e", "\u200b", "\t\r\n", "\n", "🙂", "𠀀", "３４０１００", "٣٤٠", "null", "None", "true",
    "0", "-1", "1e9", "NaN", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
    "${jndi:ldap://x}", "{{7*7}}", "%s%s%s", "\\", '"', "a" * 3000, "1" * 3000, "張" * 1000,
    "x" * 70_000, "\x1b[31m", "\u0085", "\u2028", "<?xml version='1.0'?>", "=cmd|' /C calc'!A0",
]


@cache  # one strategy object: hypothesis validates and caches it once
def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SPECIAL_TEXT),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
        st.text(alphabet="0123456789", min_size=0, max_size=30),
    )


@cache  # one strategy object: hypothesis validates and caches it once
def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), text(),
        st.integers(), st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**20, 10**30]),
        st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(RAW_JSON),
    )


@cache  # one strategy object: hypothesis validates and caches it once
def values() -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(text(), inner, max_size=4)),
        max_leaves=8,
    )


def encode(value: Any, ascii_only: bool = False) -> str:
    """JSON text of a tree that may hold ``Raw`` nodes and lone surrogates."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=ascii_only)}:"
                              f"{encode(v, ascii_only)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def to_bytes(text_: str) -> bytes:
    """UTF-8, with lone surrogates written as the invalid bytes a hostile client would send."""
    return text_.encode("utf-8", "surrogatepass")


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


_CHANGES = {n: st.integers(0, n) for n in range(6)}
_ONE_IN = {n: st.integers(0, n - 1) for n in range(2, 13)}
_ACTIONS = st.sampled_from(["replace", "replace", "delete", "add", "wrap"])
_BOOL = st.booleans()
_INDEX = st.integers(0, 2**16)
_BODY_KINDS = st.sampled_from(["mutated"] * 6 + ["valid", "any", "bytes"])


def mutate(draw: st.DrawFn, template: Any, max_changes: int = 3) -> Any:
    """``template`` with up to ``max_changes`` fields replaced, removed or added.

    A plain function over ``draw`` (no strategy object per call: they are costly to make)."""
    value = copy.deepcopy(template)
    for _ in range(draw(_CHANGES[max_changes])):
        paths = _paths(value)
        path = paths[draw(_INDEX) % len(paths)]
        action = draw(_ACTIONS)
        if not path:
            if action == "replace":
                value = draw(values())
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if action == "replace":
            parent[last] = draw(values())
        elif action == "delete":
            del parent[last]
        elif action == "wrap":
            parent[last] = [parent[last]] if draw(_BOOL) else {"value": parent[last]}
        elif isinstance(parent[last], dict):
            parent[last][draw(text())] = draw(values())
        elif isinstance(parent[last], list):
            parent[last].append(draw(values()))
        else:
            parent[last] = draw(values())
    return value


@st.composite
def json_bodies(draw: st.DrawFn, template: Any) -> bytes:
    """A JSON body: mostly ``template`` mutated; sometimes anything at all."""
    kind = draw(_BODY_KINDS)
    if kind == "valid":
        return to_bytes(encode(template))
    if kind == "bytes":
        return draw(raw_bodies())
    value = mutate(draw, template) if kind == "mutated" else draw(values())
    return to_bytes(encode(value, ascii_only=draw(_BOOL)))


RAW_BODIES = [
    b"", b" ", b"\x00", b"null", b"{}", b"[]", b'""', b"{", b'{"a":}', b"\xff\xfe{\x00}\x00",
    b"\xef\xbb\xbf{}", b"\xed\xa0\x80", b"\xc0\x80", b"\x80\x81", b"<xml/>", b"a=1&b=2",
    '{"a":"\u5f20"}'.encode("utf-16"), b"\x89PNG\r\n\x1a\n", b"%PDF-1.7\n%%EOF", b"0" * 100_000,
    b"[" * 200_000, b'{"a":' * 100_000, b" " * 1_000_000, b"\x1f\x8b\x08\x00",
]


@cache  # one strategy object: hypothesis validates and caches it once
def raw_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=64))


def form_bodies(fields: dict[str, str]) -> st.SearchStrategy[bytes]:
    """A form post: the fields with hostile values, or any bytes."""
    from urllib.parse import quote

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        if draw(_ONE_IN[6]) == 0:
            return draw(raw_bodies())
        pairs = []
        for name, good in fields.items():
            choice = draw(_ONE_IN[5])
            if choice == 0:
                continue
            value = good if choice == 1 else draw(text())
            pairs.append(f"{quote(name)}={quote(to_bytes(value))}")
        if draw(_BOOL):
            pairs.append(f"{quote(to_bytes(draw(text())))}={quote(to_bytes(draw(text())))}")
        if draw(_ONE_IN[7]) == 0:
            pairs.append("%zz=%G0&&==&%ff%fe=%ed%a0%80")
        if draw(_BOOL):
            pairs.reverse()
        return "&".join(pairs).encode("ascii")

    return build()


# ---- path parameters ------------------------------------------------------------------------

HOSTILE_PARAMS = ["", " ", "%00", "\x00", "a%00", "1" * 3000, "a" * 2049, "9" * 20 + "\x00",
                  "..", ".", "%2e%2e", "%2F", "%", "%zz", "🙂", "３４０１００２６００００００００００００",
                  "\ud800", "\u202e", "null", "-1", "0" * 20, "9" * 20, "1" * 19, "1" * 21,
                  "00000000", "0000000000", "ZZZZZZZZ", "abcdef", "<b>", "'", '"', "+", "~",
                  "3401002600000000000１"]


def path_param(*good: str) -> st.SearchStrategy[str]:
    """A path parameter: one of ``good`` (real ones), the right shape, or hostile."""
    return st.one_of(
        st.sampled_from(list(good) or ["x"]),
        st.sampled_from(list(good) or ["x"]),
        st.sampled_from(HOSTILE_PARAMS),
        st.text(alphabet="0123456789", min_size=0, max_size=24),
        st.text(max_size=12).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
    )


# ---- headers --------------------------------------------------------------------------------

CONTENT_TYPES = [None, "application/json", "application/json; charset=utf-8",
                 "application/json; charset=gbk", "text/plain", "text/json",
                 "application/x-www-form-urlencoded",
                 "application/x-www-form-urlencoded; charset=utf-8",
                 "multipart/form-data; boundary=xyz", "application/xml", "text/xml",
                 "application/pdf", "image/png", "application/octet-stream", "", "garbage",
                 "application/json, text/html", "APPLICATION/JSON", "*/*", "text/html"]
ACCEPTS = [None, "*/*", "application/json", "text/html", "text/html,application/xhtml+xml",
           "application/pdf", "image/png", "garbage", ""]
_ACCEPTS = st.sampled_from(ACCEPTS)
_CLIENTS = st.one_of(st.ip_addresses(v=4).map(str), st.sampled_from(
    ["", "unknown", "1.1.1.1, 2.2.2.2", "\x00", "a" * 3000, "::1"]))
_EXTRAS = st.sampled_from([None, "Idempotency-Key", "Cookie", "User-Agent", "Content-Encoding",
                           "Origin"])
_EXTRA_VALUES = st.one_of(st.sampled_from(["gzip", "payer_session=" + "a" * 500,
                                           "payer_session=x.y", "MicroMessenger"]), text())


def headers(keys: dict[str, str], content_types: list[str | None] | None = None,
            wanted_key: str | None = None) -> st.SearchStrategy[dict[str, str]]:
    """Headers: content type, Accept, Authorization (none, wrong, another unit's, the right
    one), a client address (so rate limits spread over many clients), and odd extras.

    Half the time the content type and credential are the ones the route wants (the first of
    ``content_types``, ``wanted_key``) and no Accept is sent, so that the request gets past
    them to the checks behind."""
    auths = [None, "", "Bearer", "Bearer ", "Bearer wrong-key", "Basic dXNlcjpwYXNz",
             "bearer " + (wanted_key or "x"), "Bearer " + "k" * 3000, "Bearer \x00",
             "Bearer  " + (wanted_key or "x") + "  ", "Bearer 密钥",
             *("Bearer " + k for k in keys.values())]
    if wanted_key:
        auths += ["Bearer " + wanted_key] * 6

    types = st.sampled_from(content_types or CONTENT_TYPES)
    authorizations = st.sampled_from(auths)

    proper_type = (content_types or [None])[0]
    proper_auth = f"Bearer {wanted_key}" if wanted_key else None

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, str]:
        out: dict[str, str] = {}
        proper = draw(_BOOL)
        ct = proper_type if proper else draw(types)
        if ct is not None:
            out["Content-Type"] = ct
        accept = None if proper else draw(_ACCEPTS)
        if accept is not None:
            out["Accept"] = accept
        auth = proper_auth if proper else draw(authorizations)
        if auth is not None:
            out["Authorization"] = auth
        out["X-Forwarded-For"] = draw(_CLIENTS)
        extra = draw(_EXTRAS)
        if extra:
            out[extra] = draw(_EXTRA_VALUES)
        return out

    return build()


_ODD_QUERIES = st.sampled_from(["a", "=", "&&", "%zz=1", "x=%ff", "x=%00"])


def query(**good: list[str]) -> st.SearchStrategy[str]:
    """A query string: the right names with good or hostile values, repeats, junk."""
    from urllib.parse import quote

    goods_of = {name: st.sampled_from(goods) for name, goods in good.items()}

    @st.composite
    def build(draw: st.DrawFn) -> str:
        parts = []
        for name in good:
            choice = draw(_ONE_IN[5])
            if choice == 0:
                continue
            value = draw(goods_of[name]) if choice <= 2 else draw(text())
            parts.append(f"{name}={quote(to_bytes(value))}")
            if draw(_ONE_IN[9]) == 0:
                parts.append(f"{name}={quote(to_bytes(draw(text())))}")
        if draw(_ONE_IN[7]) == 0:
            parts.append(draw(_ODD_QUERIES))
        return ("?" + "&".join(parts)) if parts else ""

    return build()
