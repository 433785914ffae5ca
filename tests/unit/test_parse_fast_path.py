"""The msgspec fast path and the field-by-field parser agree: the same record for every record the
fast path reads, and every record it gives up on is read (or refused, with its reason) by the
checked path; on a generated world, with every hostile data mode applied, from objects and bytes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from pipeline import jsontext, parse
from pipeline.errors import MalformedRecord
from pipeline.feed_registry import PARSERS
from pipeline.feeds.validate import validate_page
from pipeline.sim.hostile import MODES, apply_data_modes
from pipeline.sim.payloads import RawRecord, WorldPayloads
from pipeline.sim.world import generate_world

PATHS: dict[str, tuple[Callable[[object], Any], Callable[[object], Any]]] = {
    "orr": (parse.fast_child, parse.checked_child),
    "ice": (parse.fast_adult, parse.checked_adult),
    "dna": (parse.fast_dna, parse.checked_dna),
}


PUBLIC = {"orr": parse.parse_child, "ice": parse.parse_adult, "dna": parse.parse_dna}


@pytest.fixture(scope="module")
def payloads() -> WorldPayloads:
    world = generate_world(300, seed=19)
    data_modes = [name for name, mode in MODES.items() if not mode.serving]
    return apply_data_modes(world.to_payloads(), data_modes)


def _records(payloads: WorldPayloads, feed: str) -> list[Any]:
    # a RawRecord is served verbatim and decoded by the page's decoder: decoded the same way here
    records: list[Any] = getattr(payloads, feed)
    out = []
    for raw in records:
        if isinstance(raw, RawRecord):
            try:
                raw = jsontext.loads(raw.text)
            except (ValueError, RecursionError):
                continue  # never reaches a parser (quarantined as unreadable, or the page fails)
        out.append(raw)
    return out


def _checked(checked: Callable[[object], Any], raw: object) -> Any:
    try:
        return checked(raw)
    except MalformedRecord as exc:
        return ("rejected", exc.reason, exc.record_id)


@pytest.mark.parametrize("feed", sorted(PATHS))
def test_the_fast_path_gives_the_checked_paths_record_or_leaves_it_to_it(
    payloads: WorldPayloads, feed: str
) -> None:
    fast, checked = PATHS[feed]
    records = _records(payloads, feed)
    read = gave_up = 0
    for raw in records:
        expected = _checked(checked, raw)
        got = fast(raw)
        if got is None:
            gave_up += 1
        else:
            read += 1
            assert got == expected, raw
        # the public parser is the fast path, else the checked one: always the checked answer
        assert _checked(PUBLIC[feed], raw) == expected
    # the hostile modes make malformed records of every feed; most records are well formed
    assert read > len(records) * 0.8 and gave_up > 0


@pytest.mark.parametrize("feed", sorted(PATHS))
def test_a_records_json_bytes_read_as_the_decoded_record(payloads: WorldPayloads, feed: str) -> None:
    fast, checked = PATHS[feed]
    for raw in _records(payloads, feed):
        text = jsontext.dumps(raw).encode()
        from_bytes = fast(text)
        if from_bytes is not None:
            assert from_bytes == _checked(checked, jsontext.loads(text)), raw


def test_a_page_validates_to_the_same_records_reasons_and_payloads_either_way(
    payloads: WorldPayloads, monkeypatch: pytest.MonkeyPatch
) -> None:
    for feed, (_, checked) in PATHS.items():
        records = _records(payloads, feed)
        typed: list[Any] = []
        fast_result = validate_page(feed, records, typed)
        with monkeypatch.context() as patch:
            patch.setitem(PARSERS, feed, checked)
            checked_typed: list[Any] = []
            assert validate_page(feed, records, checked_typed) == fast_result
        assert typed == checked_typed
        assert fast_result[1], f"{feed}: the hostile modes quarantine records of every JSON feed"


def _removal_rows(payloads: WorldPayloads) -> list[Any]:
    # as the adapter reads them: csv.DictReader (extra cells under None, missing ones None)
    rows: list[Any] = list(csv.DictReader(io.StringIO(payloads.removals_csv, newline="")))
    # and rows as a run reads them back from the store: JSON objects, of any value types
    odd: list[Any] = [
        {**rows[0], "DOB": 19800101},
        {**rows[0], "A_NUMBER": 204946313},
        {**rows[0], "FIRST_NAME": ["ANA"]},
        {**rows[0], "PORT": None},
        {**rows[0], "PORT": " ", "DOB": "", "A_NUMBER": "", "COUNTRY": ""},
        {**rows[0], "_extra_cells": ["x"]},
        {k: v for k, v in rows[0].items() if k != "PORT"},
        {**rows[0], "REMOVAL_DATE": " "},
        {**rows[0], "REMOVAL_ID": " RM-1\u200b"},
        {**rows[0], "LAST_NAME": "O\ud800"},
        list(rows[0].values()),
    ]
    return rows + odd


def _outcome(parser: Callable[[object], Any], raw: object) -> Any:
    try:
        return _checked(parser, raw)
    except Exception as exc:  # the checked path's own failure (validate_page quarantines it)
        return ("failed", type(exc).__name__)


def test_the_removal_fast_path_gives_the_checked_paths_record_or_leaves_it_to_it(
    payloads: WorldPayloads,
) -> None:
    rows = _removal_rows(payloads)
    read = gave_up = 0
    for row in rows:
        expected = _outcome(parse.checked_removal, row)
        got = parse.fast_removal(row)
        if got is None:
            gave_up += 1
        else:
            read += 1
            assert got == expected, row
        assert _outcome(parse.parse_removal, row) == expected
    assert read > len(rows) * 0.8 and gave_up >= 10


def test_a_removal_page_validates_to_the_same_records_reasons_and_payloads_either_way(
    payloads: WorldPayloads, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _removal_rows(payloads)
    typed: list[Any] = []
    fast_result = validate_page("removals", rows, typed)
    with monkeypatch.context() as patch:
        patch.setitem(PARSERS, "removals", parse.checked_removal)
        checked_typed: list[Any] = []
        assert validate_page("removals", rows, checked_typed) == fast_result
    assert typed == checked_typed
    assert fast_result[1], "the hostile modes quarantine removal rows"
