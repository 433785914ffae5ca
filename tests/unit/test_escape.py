"""The escapers of what Reunify writes for people (pipeline/ops/escape.py) and the writers built
on them: a CSV cell never starts a formula, Markdown text never opens HTML or structure, terminal
text never carries a control character, JSON keeps the exact value."""

from __future__ import annotations

import csv
import io
import json

import pytest
from terminal_chars import BIDI_CONTROLS, terminal_active

from pipeline.logging import configure_logging, get_logger
from pipeline.ops.common import md_table, table
from pipeline.ops.escape import csv_cell, json_text, md_text, term_text, write_text
from pipeline.ops.export import CSV_COLUMNS, write_export

ESC_SEQUENCES = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x1bc", "\x9b31m", "\x07", "\x7f", "\x00"]


# --------------------------------------------------------------------------- csv_cell


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","open")',
        "+SUM(1,2)",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+9)",
        "\t=1+2",
        "\r=1+2",
        "\n=1+2",
        "\x00=1",
        "  =1+2",  # a spreadsheet that trims on import would see the formula
        "\u3000=1+2",  # an ideographic space is whitespace too
    ],
)
def test_a_cell_that_would_start_a_formula_gets_a_leading_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["", "Jennifer Daniela López García", "2018-07-12", "ORR-0001929", "a=b", "O'Brien", "1+1"]
)
def test_a_cell_that_starts_no_formula_is_left_as_it_is(value: str) -> None:
    assert csv_cell(value) == value


def test_csv_cell_is_idempotent() -> None:
    once = csv_cell("=1+2")
    assert csv_cell(once) == once == "'=1+2"


# --------------------------------------------------------------------------- term_text


@pytest.mark.parametrize("sequence", ESC_SEQUENCES + sorted(BIDI_CONTROLS) + ["\u2028", "\u2029", "\x85"])
def test_terminal_text_shows_every_control_and_bidi_character_escaped(sequence: str) -> None:
    shown = term_text(f"Ana{sequence}García")
    assert terminal_active(shown, newlines_allowed=False) == []
    assert shown.startswith("Ana") and shown.endswith("García")
    assert "\\x" in shown or "\\u" in shown


def test_terminal_text_names_the_characters_it_escaped() -> None:
    assert term_text("a\x1b]0;pwned\x07b") == "a\\x1b]0;pwned\\x07b"
    assert term_text("\u202eacirémA") == "\\u202eacirémA"
    assert term_text("x\ty\r\nz") == "x\\ty\\r\\nz"
    assert term_text(None) == "" and term_text(42) == "42"


def test_terminal_text_keeps_newlines_only_when_asked() -> None:
    assert term_text("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"
    assert "\n" not in term_text("one\ntwo")


def test_terminal_text_leaves_printable_text_of_every_script_alone() -> None:
    # accents, CJK, Arabic, an emoji with a zero-width joiner, a Persian name's ZWNJ
    text = "José Muñoz 李小龍 محمد 👩\u200d👦 می\u200cخواهم back\\slash"
    assert term_text(text) == text


def test_terminal_text_is_idempotent() -> None:
    once = term_text("\x1b[2J\u202e\n\ud800")
    assert term_text(once) == once


def test_a_page_written_for_a_person_keeps_its_lines_and_escapes_the_rest() -> None:
    out = io.StringIO()
    write_text(out, "status: eligible\nname: \x1b]0;pwned\x07Ana\n")
    assert out.getvalue() == "status: eligible\nname: \\x1b]0;pwned\\x07Ana\n"


# --------------------------------------------------------------------------- md_text


def test_markdown_text_escapes_html_quotes_included() -> None:
    assert md_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert md_text("<script>alert(\"x\")</script> & 'y'") == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;y&#x27;"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a | b", "a \\| b"),
        ("`id`", "\\`id\\`"),
        ("[open](http://evil.example)", "\\[open\\](http://evil.example)"),
        ("![x](http://evil.example/p.png)", "!\\[x\\](http://evil.example/p.png)"),
        ("**bold** ~~gone~~ $x$", "\\*\\*bold\\*\\* \\~\\~gone\\~\\~ \\$x\\$"),
        ("_em_", "\\_em\\_"),
        ("ends in a backslash \\", "ends in a backslash \\\\"),  # would escape the cell's pipe
        ("one\ntwo", "one\\\\ntwo"),  # a cell stays one line; the break is shown as \n
        ("x\x1b]0;t\x07", "x\\\\x1b\\]0;t\\\\x07"),
    ],
)
def test_markdown_text_escapes_what_would_change_the_structure(value: str, shown: str) -> None:
    assert md_text(value) == shown


def test_markdown_text_leaves_words_and_vocabulary_readable() -> None:
    for word in ("no_parent_match", "5_and_over", "ORR-0001929", "2018-07-12", "López García", "1. x"):
        assert md_text(word) == word


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("# heading", "\\# heading"),
        ("- nested", "\\- nested"),
        ("+ x", "\\+ x"),
        ("12. x", "12\\. x"),
        ("3) x", "3\\) x"),
    ],
)
def test_a_list_item_cannot_start_a_block(value: str, shown: str) -> None:
    assert md_text(value, line_start=True) == shown


# --------------------------------------------------------------------------- json_text


def test_json_text_escapes_what_a_terminal_acts_on_and_decodes_to_the_exact_value() -> None:
    value = {"name": "Ana\x9b31m \u202eacirémA \x7f\u2028 López \x1b]0;x\x07"}
    text = json_text(json.dumps(value, ensure_ascii=False))
    assert terminal_active(text, newlines_allowed=False) == []
    assert json.loads(text) == value
    assert "López" in text  # other non-ASCII stays readable
    assert json_text(text) == text


# --------------------------------------------------------------------------- tables and writers


def test_a_text_table_cell_with_controls_stays_on_its_line_and_aligned() -> None:
    rendered = table(["name", "n"], [["Ana\n\x1b[2J", 1], ["Bo", 22]], right=(1,))
    lines = rendered.split("\n")
    assert len(lines) == 4 and terminal_active(rendered) == []
    assert len({len(line) for line in lines[:2]}) == 1
    assert lines[2].startswith("Ana\\n\\x1b[2J")


def test_a_markdown_table_keeps_its_columns_whatever_the_cells_hold() -> None:
    rendered = md_table(["name", "n"], [["a | b\nc", "x\\"], ["<b>`y`</b>", "[z](u)"]])
    rows = rendered.split("\n")
    assert len(rows) == 4
    for row in rows:
        unescaped_pipes = sum(
            1 for i, ch in enumerate(row) if ch == "|" and (len(row[:i]) - len(row[:i].rstrip("\\"))) % 2 == 0
        )
        assert unescaped_pipes == 3, row
    assert "<" not in rendered


def _export_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "child_record_ids": ["ORR-1", "ORR-2"],
        "a_number": "216707355",
        "name": '=HYPERLINK("http://evil.example","open") Ana',
        "date_of_birth": "2012-05-19",
        "age_years": 6,
        "cohort": "5_and_over",
        "status": "parent_removed",
        "reasons": ["serious_criminal_history"],
        "parent": {
            "ice_record_ids": ["ICE-1"],
            "removal_record_ids": [],
            "a_number": None,
            "name": "@SUM(1+9)\x1b]0;x\x07 NORMA",
            "match_score": 0.97,
            "evidence": ["same apprehension date and station"],
        },
        "parent_location": {
            "state": "removed",
            "resolved": False,
            "facility": "-2+3 Eloy",
            "country": "GUATEMALA",
            "since": "2018-07-06",
            "days_unresolved": -3,
        },
        "needs_review": False,
        "run_id": "r1",
    }
    row.update(changes)
    return row


def test_the_csv_export_neutralises_text_cells_and_writes_numbers_as_numbers() -> None:
    out = io.StringIO()
    assert write_export([_export_row()], "csv", out) == 1
    header, cells = list(csv.reader(io.StringIO(out.getvalue()), quoting=csv.QUOTE_NONNUMERIC))
    row = dict(zip(header, cells, strict=True))
    assert tuple(header) == CSV_COLUMNS
    assert row["name"] == '\'=HYPERLINK("http://evil.example","open") Ana'
    assert row["parent_name"] == "'@SUM(1+9)\\x1b]0;x\\x07 NORMA"
    assert row["location_facility"] == "'-2+3 Eloy"
    # numbers come back as numbers (unquoted), a negative one unprefixed; dates and ids as text
    assert (row["age_years"], row["match_score"], row["days_unresolved"]) == (6, 0.97, -3)
    assert (row["date_of_birth"], row["location_since"]) == ("2012-05-19", "2018-07-06")
    assert row["child_record_ids"] == "ORR-1;ORR-2" and row["needs_review"] == "False"


@pytest.mark.parametrize(
    ("name", "written"),
    # OWASP's two examples: quoted, prefixed, inner quotes doubled; the separator stays inside
    [('=1+2";=1+2', '"\'=1+2"";=1+2"'), ("=1+2'\" ;,=1+2", '"\'=1+2\'"" ;,=1+2"')],
)
def test_a_text_cell_is_quoted_so_a_quote_or_separator_in_it_cannot_start_another(
    name: str, written: str
) -> None:
    out = io.StringIO()
    write_export([_export_row(name=name)], "csv", out)
    line = out.getvalue().splitlines()[1]
    assert f",{written}," in line
    assert next(csv.reader([line]))[CSV_COLUMNS.index("name")] == "'" + name


def test_the_jsonl_export_keeps_every_value_exactly() -> None:
    row = _export_row(name="\u202eacirémA\x9b Ana <b>")
    out = io.StringIO()
    write_export([row], "jsonl", out)
    assert terminal_active(out.getvalue()) == []
    assert json.loads(out.getvalue()) == row


def test_log_lines_on_a_terminal_show_controls_escaped() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=False, stream=stream)
    try:
        get_logger("test").error("run.failed\x1bc", error="origin http://evil.example\x1b(0\u202e")
    finally:
        configure_logging("INFO", json=True)
    logged = stream.getvalue()
    assert "run.failed\\x1bc" in logged and "\\x1b(0" in logged
    assert terminal_active(logged) == []
