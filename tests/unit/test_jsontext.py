"""Records' JSON text: orjson's output where it can, the standard library's where orjson refuses."""

from __future__ import annotations

import json
import math

import pytest

from pipeline import jsontext


def test_dumps_is_compact_and_keeps_non_ascii() -> None:
    raw = {"lastName": "Muñoz Pérez", "claimed_children": [{"dob": None}], "n": 3}
    assert jsontext.dumps(raw) == json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


def test_what_orjson_refuses_goes_through_the_standard_library() -> None:
    huge = {"aNumber": 10**30}  # beyond 64 bits: orjson alone would read back 1e+30
    assert jsontext.loads(jsontext.dumps(huge)) == huge
    assert jsontext.loads(jsontext.dumps(huge).encode()) == huge
    assert jsontext.dumps({1: "a"}) == '{"1":"a"}'  # a non-string key
    assert math.isnan(jsontext.loads("[NaN]")[0])


def test_loads_refuses_text_that_is_not_json() -> None:
    with pytest.raises(ValueError):
        jsontext.loads(b"<html>bad gateway</html>")
