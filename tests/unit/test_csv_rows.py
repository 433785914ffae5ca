"""``removals.CsvRows`` reads exactly what ``csv.DictReader`` reads: the same dicts, the same line
numbers after every row, and the same failure at the same line."""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

import pytest

from pipeline.feeds.removals import CsvRows
from pipeline.parse import REMOVAL_COLUMNS

HEADER = ",".join(REMOVAL_COLUMNS)
ROW = 'RM-1,A-204-946-313,REYES,ANA,04/20/1973,HONDURAS,07/06/2018,"SAN PEDRO, SULA"'
PIECES = [
    ROW,
    "",  # a blank line
    "",
    "RM-2,,SHORT",  # missing cells
    ROW + ",extra,cells",  # surplus cells
    '"RM-3","A 1","LINE\nBREAK",X,,,01/01/2018,P',  # a quoted newline
    " ",  # a line of a space: one cell
    ",,,,,,,",
    'RM-4,"a ""quoted"" name",X,Y,,,02/02/2018,P',
]
BROKEN = ['RM-5,"stray" quote,X,Y,,,,P', 'RM-6,"unterminated,X,Y,,,,P']


def _read(rows: Any) -> tuple[list[Any], Any]:
    """(dict, line number) after every row, then the failure and its line number (or None)."""
    out = []
    try:
        for row in rows:
            out.append((row, rows.line_num))
    except csv.Error as exc:
        return out, (str(exc), rows.line_num)
    return out, None


def _texts() -> list[str]:
    texts = [HEADER + "\r\n", HEADER, ""]
    for size in (1, 2, 3):
        for combo in itertools.permutations(PIECES + BROKEN[:1], size):
            texts.append("\r\n".join((HEADER, *combo)) + "\r\n")
    texts += ["\r\n".join((HEADER, ROW, "", bad, ROW)) for bad in BROKEN]
    texts.append(HEADER + "\n\n" + ROW)  # no final newline, blank line first
    return texts


@pytest.mark.parametrize("strict", [True, False])
def test_rows_and_line_numbers_are_dictreaders(strict: bool) -> None:
    failures = 0
    for text in _texts():
        expected_reader = csv.DictReader(io.StringIO(text, newline=""), strict=strict)
        header = expected_reader.fieldnames
        expected_line = expected_reader.line_num
        if header is not None:
            expected_reader.fieldnames = list(REMOVAL_COLUMNS)
        rows = CsvRows(iter(io.StringIO(text, newline="")), REMOVAL_COLUMNS, strict=strict)
        assert rows.read_header() == header
        assert rows.line_num == expected_line
        expected = _read(expected_reader)
        assert _read(rows) == expected, text
        failures += expected[1] is not None
    assert (failures > 0) == strict  # the broken quotes fail when read strictly


def test_iterating_reads_the_header_first() -> None:
    text = HEADER + "\r\n" + ROW + "\r\n"
    rows = CsvRows(iter(io.StringIO(text, newline="")), REMOVAL_COLUMNS)
    assert [r["PORT"] for r in rows] == ["SAN PEDRO, SULA"]
    assert rows.header == list(REMOVAL_COLUMNS)
