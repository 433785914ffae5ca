"""JSON text of records: orjson where it can, the standard library where it cannot.

Every feed record is decoded from a page, re-encoded for the store and decoded again to
reconcile: hundreds of thousands of times a run, so the encoder's speed is the fetch stage's.
orjson is several times faster, but it refuses some of what the standard library accepts
(non-string keys, NaN) and reads integers beyond 64 bits as floats: those few records take the
standard library's path, so every value comes back as the feed sent it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def dumps(obj: object) -> str:
    """Compact JSON text, non-ASCII kept, anything unknown as ``str`` (``json.dumps`` with
    ``separators=(",", ":")``, ``ensure_ascii=False``, ``default=str``)."""
    try:
        return orjson.dumps(obj, default=str).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


# Twenty digits in a row may be an integer beyond 64 bits, which orjson would turn into a float.
_LONG_NUMBER = re.compile(r"\d{20}")
_LONG_NUMBER_BYTES = re.compile(rb"\d{20}")


def loads(text: str | bytes) -> Any:
    """Decode JSON text; ValueError when it is not JSON."""
    long_number = _LONG_NUMBER_BYTES.search(text) if isinstance(text, bytes) else _LONG_NUMBER.search(text)
    if long_number:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # NaN, Infinity and the like, which the standard library reads
        return json.loads(text)
