"""JSON text of records: orjson where it can, the standard library where it cannot.

Every feed record is decoded from a page, re-encoded for the store and decoded again to
reconcile: hundreds of thousands of times a run, so the encoder's speed is the fetch stage's.
orjson is several times faster; it refuses what the standard library accepts (integers beyond
64 bits, non-string keys), so those few records take the slow path and lose nothing.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(obj: object) -> str:
    """Compact JSON text, non-ASCII kept, anything unknown as ``str`` (``json.dumps`` with
    ``separators=(",", ":")``, ``ensure_ascii=False``, ``default=str``)."""
    try:
        return orjson.dumps(obj, default=str).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def loads(text: str | bytes) -> Any:
    """Decode JSON text; ValueError when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits, NaN and the like that the standard library reads
        return json.loads(text)
