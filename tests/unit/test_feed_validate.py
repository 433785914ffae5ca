"""validate_page: valid records kept as raw JSON, malformed ones quarantined with a reason."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from pipeline import feed_registry as registry
from pipeline import parse
from pipeline.feeds.validate import EXTRA_CELLS_KEY, ValidRecord, validate_page

CHILD: dict[str, Any] = {
    "childId": "ORR-0001929",
    "aNumber": "A216707355",
    "firstName": "Jennifer Daniela",
    "lastName": "López García",
    "dateOfBirth": "2012-05-19",
    "updatedAt": "2018-06-21T21:56:00Z",
}


def test_a_valid_record_keeps_its_raw_json_and_a_sortable_update_time() -> None:
    valid, quarantined = validate_page("orr", [CHILD, dict(CHILD, childId="ORR-2", updatedAt=None)])
    assert quarantined == []
    first, second = valid
    assert first == ValidRecord("ORR-0001929", "2018-06-21T21:56:00.000000+00:00", first.payload_json)
    assert json.loads(first.payload_json) == CHILD
    assert "López" in first.payload_json  # kept as text, not \\u-escaped
    assert second.updated_at == ""


def test_malformed_records_are_quarantined_with_the_parsers_reason() -> None:
    page: list[object] = ["not an object", {"firstName": "X"}, dict(CHILD, dateOfBirth="2012-13-45"), CHILD]
    valid, quarantined = validate_page("orr", page)
    assert [v.record_id for v in valid] == ["ORR-0001929"]
    assert [q.reason for q in quarantined] == [
        "child record is not a JSON object (got str)",
        "missing or invalid childId",
        "dateOfBirth is not valid (ValueError: unparseable value)",
    ]
    assert [q.record_id for q in quarantined] == [None, None, "ORR-0001929"]
    assert json.loads(quarantined[0].payload) == "not an object"
    assert all(q.feed == "orr" for q in quarantined)


def test_csv_rows_with_extra_or_missing_cells_are_quarantined() -> None:
    text = (
        "REMOVAL_ID,A_NUMBER,LAST_NAME,FIRST_NAME,DOB,COUNTRY,REMOVAL_DATE,PORT\n"
        "RM-1,,DIAZ,CARLOS,05/01/1980,GUATEMALA,05/24/2018,HARLINGEN TX\n"
        "RM-2,,DIAZ,CARLOS,05/01/1980,GUATEMALA,05/24/2018,HARLINGEN TX,EXTRA\n"
        "RM-3,,DIAZ\n"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    valid, quarantined = validate_page("removals", rows)
    assert [v.record_id for v in valid] == ["RM-1"] and valid[0].updated_at == ""
    assert [(q.record_id, q.reason) for q in quarantined] == [
        ("RM-2", "row has the wrong number of columns"),
        ("RM-3", "row has the wrong number of columns"),
    ]
    assert json.loads(quarantined[0].payload)[EXTRA_CELLS_KEY] == ["EXTRA"]
    assert parse.parse_removal(json.loads(valid[0].payload_json)).record_id == "RM-1"  # re-parsable


def test_a_parser_crash_quarantines_the_record_instead_of_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(raw: object) -> Any:
        raise KeyError("bug")

    monkeypatch.setitem(registry.PARSERS, "dna", boom)
    valid, quarantined = validate_page("dna", [{"case_id": "DNA-1"}])
    assert valid == [] and quarantined[0].reason == "record could not be parsed (KeyError)"


def test_records_nested_too_deep_are_quarantined_with_their_text_or_their_id() -> None:
    from pipeline import jsontext
    from pipeline.feeds.validate import TOO_DEEP

    notes: list[Any] = []
    for _ in range(jsontext.MAX_DEPTH):
        notes = [notes]
    deep = dict(CHILD, childId="ORR-DEEP", notes=notes)  # parses, but past what the store keeps
    unreadable = jsontext.Unreadable('{"childId": "ORR-X", "notes": ' + "[" * 5000 + "]" * 5000 + "}")
    valid, quarantined = validate_page("orr", [CHILD, deep, unreadable])
    assert [v.record_id for v in valid] == ["ORR-0001929"]
    assert [(q.record_id, q.reason) for q in quarantined] == [("ORR-DEEP", TOO_DEEP), (None, TOO_DEEP)]
    assert json.loads(quarantined[0].payload) == deep  # too deep for orjson, written by a stack
    assert json.loads(quarantined[1].payload) == unreadable.text  # the record's text as served
