"""Records' JSON text: orjson's output where it can, the standard library's where orjson refuses."""

from __future__ import annotations

import json
import math
import random

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


def _nested(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_dumps_writes_text_both_stores_keep_and_that_reads_back_as_served() -> None:
    raw = {"lastName": "Pérez\ud800", "id": "A\x00B"}  # a lone surrogate, a NUL
    text = jsontext.dumps(raw)
    text.encode("utf-8")  # no UnicodeEncodeError: PostgreSQL and SQLite take it
    assert "\x00" not in text and "\\u0000" in text and "\\ud800" in text
    assert "é" in text  # the rest stays unescaped
    assert jsontext.loads(text) == raw


def test_a_value_too_deep_for_the_recursive_encoders_is_still_written_or_refused_on_request() -> None:
    deep = {"notes": _nested(5000)}
    with pytest.raises(jsontext.JSONDepthError):
        jsontext.dumps(deep, limit_depth=True)
    assert jsontext.dumps(deep) == '{"notes":' + "[" * 5000 + "]" * 5000 + "}"
    # within the limit, the fast path's text
    shallow = {"notes": _nested(jsontext.MAX_DEPTH - 1), "n": [1, "x", None]}
    assert jsontext.dumps(shallow, limit_depth=True) == json.dumps(shallow, separators=(",", ":"))


def test_the_stack_encoder_writes_what_the_standard_library_writes() -> None:
    value = {"a": [1, 2.5, {"b": None, "c": [True, "ñ\ud800"]}], "d": {}, "e": [[], [{}]], 3: "k"}
    assert jsontext._dumps_deep(value) == json.dumps(value, separators=(",", ":"))


def test_a_page_holding_records_too_deep_to_decode_reads_with_them_set_aside() -> None:
    ok = '{"childId": "A", "s": "[[[ not a bracket"}'
    readable = '{"childId": "B", "notes": ' + "[" * 600 + "]" * 600 + "}"
    unreadable = '{"childId": "C", "notes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    page = '{"children": [' + ", ".join([ok, readable, unreadable]) + '], "next_cursor": null}'
    for text in (page, page.encode()):
        body = jsontext.loads(text)
        first, second, third = body["children"]
        assert first == {"childId": "A", "s": "[[[ not a bracket"}
        assert second["childId"] == "B"  # decoded on its own: its id can be named
        assert third == jsontext.Unreadable(unreadable)
        assert body["next_cursor"] is None
    # a bare list of records too; past the decoders' reach only brackets and strings are checked
    # (a record set aside is only ever quarantined)
    assert jsontext.loads("[" + unreadable + "]") == [jsontext.Unreadable(unreadable)]
    broken = unreadable[:-1] + ",}"
    assert jsontext.loads("[" + broken + "]") == [jsontext.Unreadable(broken)]


@pytest.mark.parametrize(
    "text",
    [
        '{"children": [' + "[" * 100_000 + "]}",  # never closed
        '{"children": [' + "[" * 100_000 + "}" * 100_000 + "]}",  # brackets that do not pair
    ],
)
def test_a_deep_page_that_is_not_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(text)


def test_a_page_nested_too_deep_outside_its_records_is_refused_for_its_depth() -> None:
    with pytest.raises(jsontext.JSONDepthError):
        jsontext.loads('{"meta": {"notes": ' + "[" * 100_000 + "]" * 100_000 + "}}")


@pytest.mark.parametrize(
    "number",
    [
        2**63 - 1,
        2**63,
        2**64 - 1,
        2**64,  # the first that orjson reads as a float
        -(2**63),
        -(2**63) - 1,  # nineteen digits below int64: orjson would read a float
        -(10**19) + 1,
        10**19 - 1,  # nineteen digits
        10**19,  # twenty digits
        10**30,
        -(10**40),
        int("9" * 400),
    ],
)
def test_wide_integers_read_back_exactly_from_text_and_bytes(number: int) -> None:
    for page in (
        f'{{"aNumber":{number}}}',
        f'[{{"n":"Muñoz ٣","a":[1,{number}]}}]',  # non-ASCII text around it
        f'{{"records":[{{"id":"x"}},{{"v":{{"w":[{number}]}}}}]}}',
    ):
        for text in (page, page.encode()):
            decoded = jsontext.loads(text)
            assert decoded == json.loads(page)
            found = json.dumps(decoded)
            assert str(number) in found  # an int, not a float's rounding of it


def test_numbers_read_as_the_standard_library_reads_them() -> None:
    # msgspec decodes numbers itself (no guard sends long ones elsewhere): every form a feed
    # could write, read back with the standard library's value and type, or refused by both
    rng = random.Random(19)
    texts = ["-0", "-0.0", "0e0", "1E400", "-1e400", "1e-400", "01", "1.", ".5", "-", "9" * 5000]
    for _ in range(20_000):
        text = rng.choice(["", "-"]) + "".join(rng.choices("0123456789", k=rng.randint(1, 30)))
        if rng.random() < 0.5:
            text += "." + "".join(rng.choices("0123456789", k=rng.randint(1, 25)))
        if rng.random() < 0.3:
            text += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 999))
        texts.append(text)
    for text in texts:
        try:
            expected = json.loads(text)
        except ValueError:
            with pytest.raises(ValueError):
                jsontext.loads(text)
            continue
        got = jsontext.loads(f"[{text}]".encode())[0]
        assert type(got) is type(expected) and repr(got) == repr(expected), text


def test_twenty_unicode_digits_in_a_string_read_back_with_a_wide_integer() -> None:
    page = '{"note":"' + "٣" * 20 + '","n":' + str(2**70) + "}"
    assert jsontext.loads(page) == {"note": "٣" * 20, "n": 2**70}
    assert jsontext.loads(page.encode()) == {"note": "٣" * 20, "n": 2**70}


def test_lone_surrogates_read_back_as_the_standard_library_reads_them() -> None:
    for page in ('["\\ud800x"]', '{"a":"\\udc00\\ud800"}', '["\ud800"]'):
        assert jsontext.loads(page) == json.loads(page)
        if page.isascii():
            assert jsontext.loads(page.encode()) == json.loads(page)


def test_an_invalid_text_with_a_long_number_raises_the_standard_librarys_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads('{"n":' + "1" * 25 + ",}")
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads(b'{"n":' + b"1" * 25 + b",}")
