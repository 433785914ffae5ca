"""JSON text of records: orjson where it can, the standard library where it cannot.

Every feed record is decoded from a page, re-encoded for the store and decoded again to
reconcile: hundreds of thousands of times a run, so the encoder's speed is the fetch stage's.
orjson is several times faster, but it refuses some of what the standard library accepts
(non-string keys, NaN, lone surrogates) and reads integers beyond 64 bits as floats: those few
records take the standard library's path, so every value comes back as the feed sent it.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

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


# Twenty digits in a row, or a minus sign and nineteen, may be an integer beyond 64 bits (orjson
# reads up to 2**64 - 1 and down to -2**63), which orjson would turn into a float: such a text goes
# to the standard library. The regular expressions define which texts do; the check below gives
# the same answer several times faster (a search at every offset was 4x the cost of the decode it
# guards): each byte becomes "0" when it may be a digit, "m" for a minus and "a" otherwise, and
# the runs are looked for. ASCII text and bytes (``rb"\d"`` is ASCII only) are answered exactly by
# that; in other text a Unicode digit (``\d`` of a str pattern) is encoded as bytes >= 0x80, which
# count as maybe-digits, and a run found is confirmed by the expression.
_LONG_NUMBER = re.compile(r"-\d{19}|\d{20}")
_LONG_NUMBER_BYTES = re.compile(rb"-\d{19}|\d{20}")
_DIGIT_RUN = b"0" * 20
_NEGATIVE_RUN = b"m" + b"0" * 19


def _digit_map(maybe: Callable[[int], bool]) -> bytes:
    return bytes(b"0"[0] if maybe(b) else b"m"[0] if b == b"-"[0] else b"a"[0] for b in range(256))


_ASCII_DIGITS = _digit_map(lambda b: b"0"[0] <= b <= b"9"[0])
_MAYBE_DIGITS = _digit_map(lambda b: b"0"[0] <= b <= b"9"[0] or b >= 0x80)


def _runs_in(mapped: bytes) -> bool:
    return _DIGIT_RUN in mapped or _NEGATIVE_RUN in mapped


def _has_long_number(text: str | bytes) -> bool:
    """Whether ``text`` holds twenty digits in a row, or a minus and nineteen: exactly what
    ``_LONG_NUMBER`` (a str) or ``_LONG_NUMBER_BYTES`` (bytes) finds, without searching at every
    offset."""
    if isinstance(text, bytes):
        return _runs_in(text.translate(_ASCII_DIGITS))
    if isinstance(text, str):
        if text.isascii():
            return _runs_in(text.encode("ascii").translate(_ASCII_DIGITS))
        if not _runs_in(text.encode("utf-8", "surrogatepass").translate(_MAYBE_DIGITS)):
            return False
    return _LONG_NUMBER.search(text) is not None  # anything else raises TypeError, as it did


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
    if _has_long_number(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # NaN, Infinity and the like, which the standard library reads (and nesting past
        # orjson's limit, on which the standard library raises RecursionError)
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
