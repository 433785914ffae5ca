"""JSON text of records: orjson (encoding) and msgspec (decoding) where they can, the standard
library where they cannot.

Every feed record is decoded from a page, re-encoded for the store and decoded again to
reconcile: hundreds of thousands of times a run, so the encoder's speed is the fetch stage's.
orjson and msgspec are several times faster, but they refuse some of what the standard library
accepts (non-string keys, NaN, lone surrogates): those few records take the standard library's
path, so every value comes back as the feed sent it. msgspec reads integers of any width exactly
(orjson would read those beyond 64 bits as floats).

Nesting has a limit, :data:`MAX_DEPTH`. Both libraries recurse: a record nested a hundred
thousand levels deep would raise RecursionError out of the decoder and fail the whole page. A
page that is JSON but holds such a record is read with that record decoded on its own, or left
as :class:`Unreadable` (its text as served) when no decoder reaches its depth, for validation to
quarantine; only a page nested too deep outside its records, or one that is not JSON at all,
fails to decode.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from pipeline.errors import JSONDepthError

_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_DEPTH = 254
"""Levels of nesting a record may have (its own object is level 1): orjson's encoder limit, so
that every stored record takes the fast path. A record nested deeper is quarantined."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record of a page that no decoder could read (it nests deeper than their recursion
    allows); ``text`` is its JSON text exactly as the feed served it. Only its brackets and
    strings were checked: it is never used, only quarantined."""

    text: str


def dumps(obj: object, *, limit_depth: bool = False) -> str:
    """Compact JSON text, non-ASCII kept, anything unknown as ``str`` (``json.dumps`` with
    ``separators=(",", ":")``, ``ensure_ascii=False``, ``default=str``).

    The text is always valid UTF-8 (a lone surrogate is written as its ``\\uXXXX`` escape) and
    never holds a NUL, so both stores can keep it as text. A value of any depth is encoded,
    unless ``limit_depth`` is set: then one nested deeper than :data:`MAX_DEPTH` raises
    :class:`JSONDepthError`.
    """
    try:
        return orjson.dumps(obj, default=str).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is one
        pass
    if _deeper_than(obj, MAX_DEPTH):
        if limit_depth:
            raise JSONDepthError(f"the value nests deeper than {MAX_DEPTH} levels") from None
        return _dumps_deep(obj)
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    if not text.isascii():
        # a lone surrogate (only ever inside a string) as its escape: valid UTF-8 that reads back
        # as it was
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _deeper_than(obj: object, limit: int) -> bool:
    """True when ``obj`` nests more than ``limit`` levels of lists and objects (no recursion)."""
    stack: list[tuple[object, int]] = [(obj, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


_END = object()


def _dumps_deep(obj: object) -> str:
    """The JSON text of a value nested too deep for the recursive encoders, built with a stack
    (ASCII-escaped: rare, and only ever kept as a quarantined record's payload)."""
    parts: list[str] = []
    stack: list[tuple[Iterator[Any], bool]] = []  # open containers: their items, and whether an object
    fresh: list[bool] = []  # whether the open container has had no item yet
    value: Any = obj
    while True:
        if isinstance(value, dict):
            parts.append("{")
            stack.append((iter(value.items()), True))
            fresh.append(True)
        elif isinstance(value, list | tuple):
            parts.append("[")
            stack.append((iter(value), False))
            fresh.append(True)
        else:
            parts.append(json.dumps(value, default=str))
        while stack:
            items, is_object = stack[-1]
            item: Any = next(items, _END)
            if item is _END:
                stack.pop()
                fresh.pop()
                parts.append("}" if is_object else "]")
                continue
            if not fresh[-1]:
                parts.append(",")
            fresh[-1] = False
            if is_object:
                key, value = item
                parts.append(json.dumps(key if isinstance(key, str) else str(key)) + ":")
            else:
                value = item
            break
        else:
            return "".join(parts)


# msgspec reads integers of any width exactly (orjson, used before, reads those beyond 64 bits as
# floats, which took a guard scanning every page for long digit runs); what it refuses (NaN and
# Infinity, numbers beyond a float's range or an int's digit limit, lone surrogates, invalid
# text) goes to the standard library, which reads the first few and raises its own errors on the
# rest.
_DECODER = msgspec.json.Decoder()


def loads(text: str | bytes) -> Any:
    """Decode JSON text; ValueError when it is not JSON.

    When the decoders fail on the depth of the text, each record nested deeper than
    :data:`MAX_DEPTH` (an item of the top-level list, or of a list that is a value of the
    top-level object: a page's records) is decoded on its own, or comes back as
    :class:`Unreadable` when that fails too; JSONDepthError (a ValueError) when the text nests too
    deep anywhere else.
    """
    try:
        return _loads(text)
    except RecursionError:
        pass
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError: not UTF-8 JSON
    return _loads_setting_aside_deep_records(text)


def _loads(text: str | bytes) -> Any:
    try:
        return _DECODER.decode(text)
    except (msgspec.DecodeError, UnicodeEncodeError):
        # NaN, Infinity, 1e400, a lone surrogate in a str (UnicodeEncodeError) or in an escape,
        # which the standard library reads; anything else fails there with its own error.
        # RecursionError (too deep for msgspec) propagates to loads.
        return json.loads(text)


# What the scanner stops at: a quote, or a bracket outside strings.
_STRUCTURE = re.compile(r'["\[\]{}]')
# The rest of a string after its opening quote, escapes included.
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_CLOSERS = {"]": "[", "}": "{"}


def _deep_record_spans(text: str) -> list[tuple[int, int]]:
    """Where the page's records nested deeper than MAX_DEPTH are, as (start, end) offsets.

    A record is a list or object that is an item of the top-level list or of a list that is a
    value of the top-level object. Only quotes and brackets are looked at (the decoder checks
    the rest); ValueError when they do not pair up, JSONDepthError when the text nests deeper
    than MAX_DEPTH outside a record.
    """
    spans: list[tuple[int, int]] = []
    opened: list[str] = []  # the brackets open at this point
    base = -1  # len(opened) just outside the record being read, -1 outside any record
    start = deepest = 0
    pos = 0
    while match := _STRUCTURE.search(text, pos):
        char, pos = match.group(), match.end()
        if char == '"':
            rest = _STRING_REST.match(text, pos)
            if rest is None:
                raise ValueError("a string is not closed")
            pos = rest.end()
        elif char in "[{":
            if base < 0 and (opened == ["["] or opened == ["{", "["]):
                base, start, deepest = len(opened), match.start(), 0
            opened.append(char)
            if base >= 0:
                deepest = max(deepest, len(opened) - base)
            elif len(opened) > MAX_DEPTH:
                raise JSONDepthError(f"the page nests deeper than {MAX_DEPTH} levels outside its records")
        else:
            if not opened or opened.pop() != _CLOSERS[char]:
                raise ValueError("brackets do not pair up")
            if len(opened) == base:
                if deepest > MAX_DEPTH:
                    spans.append((start, pos))
                base = -1
    if opened:
        raise ValueError("a list or object is not closed")
    return spans


def _loads_setting_aside_deep_records(text: str) -> Any:
    """Decode a page the decoders could not (too deep): each record nested deeper than MAX_DEPTH
    is decoded on its own, and left as Unreadable when even that fails on its depth."""
    spans = _deep_record_spans(text)
    if not spans:
        raise JSONDepthError(f"the text nests deeper than {MAX_DEPTH} levels")
    # Each deep record is replaced by a string no feed can have sent, then put back.
    token = f"reunify-unreadable-{secrets.token_hex(16)}:"
    pieces: list[str] = []
    records: dict[str, Any] = {}
    done = 0
    for number, (start, end) in enumerate(spans):
        marker = f"{token}{number}"
        try:
            # a record within the decoders' reach (a few hundred levels) keeps its fields, its
            # id among them, for the quarantine to name; ValueError: the page is not JSON
            records[marker] = _loads(text[start:end])
        except RecursionError:
            records[marker] = Unreadable(text[start:end])
        pieces += [text[done:start], json.dumps(marker)]
        done = end
    pieces.append(text[done:])
    body = _loads("".join(pieces))
    if isinstance(body, dict):
        lists = [value for value in body.values() if isinstance(value, list)]
    else:
        lists = [body] if isinstance(body, list) else []
    found = 0
    for items in lists:
        for i, item in enumerate(items):
            if isinstance(item, str) and item.startswith(token):
                items[i] = records[item]
                found += 1
    if found != len(spans):  # a marker not at a record's place: the brackets were not the page's
        raise ValueError("the page's structure could not be read")
    return body
