"""Feed text that could act on its reader, over real HTTP (issue 13, items 12-14).

The simulator's ``hostile_names`` mode plants spreadsheet formulas, HTML, terminal escape
sequences, bidi overrides and Markdown in the names, facility names and ports of valid records; a
run publishes them, and each output is read back through the ``reunify`` command as an operator
runs it: the CSV export holds no live formula, the Markdown report no HTML or structure of a
feed's making, no command prints a control character, and the JSONL export keeps every name
exactly as the feeds sent it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from terminal_chars import terminal_active

from entrypoints.cli import main
from pipeline.logging import configure_logging
from pipeline.ops.export import CSV_COLUMNS
from pipeline.run import run_embedded
from pipeline.settings import Settings, get_settings
from pipeline.sim import hostile
from pipeline.sim.payloads import WorldPayloads
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World, mutate_world
from pipeline.store import Store

NUMBER_COLUMNS = ("age_years", "match_score", "days_unresolved")

Cli = Callable[[list[str]], tuple[int, str, str]]


@dataclass
class HostileRun:
    """A store whose latest run published the hostile names, the payloads the feeds served, and
    the ``reunify`` command pointed at both."""

    served: WorldPayloads
    cli: Cli
    tmp_path: Path


def record_names(payloads: WorldPayloads) -> dict[str, str]:
    """Record id -> the name as the feed sent it (first and last name, each stripped)."""

    def name(first: Any, last: Any) -> str:
        parts = [p.strip() for p in (first, last) if isinstance(p, str) and p.strip()]
        return " ".join(parts)

    names = {}
    for r in payloads.orr:
        if isinstance(r, dict) and isinstance(r.get("childId"), str):
            names[r["childId"].strip()] = name(r.get("firstName"), r.get("lastName"))
    for r in payloads.ice:
        if isinstance(r, dict) and isinstance(r.get("subject_id"), str):
            names[r["subject_id"].strip()] = name(r.get("first_name"), r.get("last_name"))
    for row in csv.DictReader(io.StringIO(payloads.removals_csv, newline="")):
        if row.get("REMOVAL_ID"):
            names[row["REMOVAL_ID"].strip()] = name(row.get("FIRST_NAME"), row.get("LAST_NAME"))
    return names


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], Cli]]:
    """``reunify ARGS`` in this process under an environment of only the given REUNIFY_* settings:
    (exit code, stdout, stderr)."""
    empty_config = tmp_path / "reunify.toml"
    empty_config.write_text("")

    def bind(env: dict[str, str]) -> Cli:
        def run(args: list[str]) -> tuple[int, str, str]:
            for key in [k for k in os.environ if k.startswith("REUNIFY_")]:
                monkeypatch.delenv(key)
            for key, value in (env | {"REUNIFY_CONFIG": str(empty_config)}).items():
                monkeypatch.setenv(key, value)
            get_settings.cache_clear()  # each call is a new process's, which reads them once
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(args)
            return code, out.getvalue(), err.getvalue()

        return run

    yield bind
    get_settings.cache_clear()
    configure_logging("INFO", json=True)  # main() bound the log to a captured stream


@pytest.fixture
def hostile_run(
    small_world: World,
    simulator: FeedSimulator,
    make_settings: Callable[..., Settings],
    cli: Callable[[dict[str, str]], Cli],
    tmp_path: Path,
) -> HostileRun:
    simulator.set_hostile(["hostile_names"])
    settings = make_settings(simulator)
    run_embedded(settings, Store(settings.database_url), "test")
    env = simulator.env() | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_DATABASE_URL": settings.database_url}
    served = hostile.apply_data_modes(small_world.to_payloads(), ["hostile_names"])
    return HostileRun(served, cli(env), tmp_path)


def _ok(run: HostileRun, args: list[str]) -> str:
    code, out, err = run.cli(args)
    assert code == 0, err
    return out


def _jsonl(run: HostileRun) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _ok(run, ["export", "--format", "jsonl", "--out", "-"]).splitlines()]


def _planted(text: str) -> bool:
    return any(h.strip() in text for h in hostile.HOSTILE_TEXTS)


# --------------------------------------------------------------------------- item 12: exports


def test_the_jsonl_export_keeps_every_hostile_name_exactly_as_the_feeds_sent_it(
    hostile_run: HostileRun,
) -> None:
    names = record_names(hostile_run.served)
    rows = _jsonl(hostile_run)
    for row in rows:
        assert row["name"] in {names[rid] for rid in row["child_record_ids"]}
        parent = row["parent"]
        if parent is not None:
            assert parent["name"] in {
                names[rid] for rid in parent["ice_record_ids"] + parent["removal_record_ids"]
            }
    exported = [row["name"] for row in rows] + [row["parent"]["name"] for row in rows if row["parent"]]
    # every kind of hostile text reached the export, byte for byte (the parser strips a leading tab)
    assert {h for h in hostile.HOSTILE_TEXTS if any(h.strip() in n for n in exported)} == set(
        hostile.HOSTILE_TEXTS
    )


def _live_formula(cell: str) -> bool:
    return cell[:1] in ("\t", "\r", "\n", "\0") or cell.lstrip()[:1] in ("=", "+", "-", "@")


def test_the_csv_export_of_hostile_names_holds_no_live_formula_and_keeps_numbers_and_dates(
    hostile_run: HostileRun,
) -> None:
    path = hostile_run.tmp_path / "export.csv"
    _ok(hostile_run, ["export", "--format", "csv", "--out", str(path)])
    text = path.read_text(encoding="utf-8")
    header, *table = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(header) == CSV_COLUMNS
    rows = _jsonl(hostile_run)
    assert len(table) == len(rows)
    numbers = [header.index(c) for c in NUMBER_COLUMNS]
    neutralised = 0
    for cells, want in zip(table, rows, strict=True):
        texts = [cell for i, cell in enumerate(cells) if i not in numbers]
        assert [cell for cell in texts if _live_formula(cell)] == [], want["child_record_ids"]
        assert terminal_active("".join(texts), newlines_allowed=False) == []
        name = want["name"]
        if not terminal_active(
            name, newlines_allowed=False
        ):  # a name with controls shows them escaped instead
            quote = "'" if name.lstrip()[:1] in ("=", "+", "-", "@") else ""
            assert cells[header.index("name")] == quote + name
            neutralised += bool(quote)
    assert neutralised >= 4  # the planted formulas of each kind arrived, neutralised

    # numbers are written bare (read back as numbers), text quoted: dates and negatives unmangled
    _, *typed = list(csv.reader(io.StringIO(text, newline=""), quoting=csv.QUOTE_NONNUMERIC))
    for cells, want in zip(typed, rows, strict=True):
        row = dict(zip(header, cells, strict=True))
        loc, parent = want["parent_location"], want["parent"] or {}
        assert row["age_years"] == ("" if want["age_years"] is None else want["age_years"])
        assert row["days_unresolved"] == ("" if loc["days_unresolved"] is None else loc["days_unresolved"])
        assert row["match_score"] == parent.get("match_score", "")
        assert (row["date_of_birth"], row["location_since"]) == (
            want["date_of_birth"] or "",
            loc["since"] or "",
        )


# --------------------------------------------------------------------------- item 13: Markdown


def _unescaped(line: str, chars: str) -> list[int]:
    """Positions in a Markdown line of ``chars`` not escaped by a backslash."""
    found, escaped = [], False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in chars:
            found.append(i)
    return found


def test_the_markdown_report_escapes_the_html_and_markdown_hostile_names_carry(
    hostile_run: HostileRun,
    small_world: World,
    simulator: FeedSimulator,
    make_settings: Callable[..., Settings],
) -> None:
    # a second run on changed feeds, so the report lists changes (list items) besides its tables
    later = mutate_world(small_world, 0.12, seed=5)
    simulator.set_payloads(later.to_payloads())
    settings = make_settings(simulator, REUNIFY_AS_OF=later.as_of.isoformat())
    run_embedded(settings, Store(settings.database_url), "test")

    md = _ok(hostile_run, ["report", "--format", "md", "--with-names"])
    assert "<" not in md and ">" not in md and terminal_active(md) == []
    lines = md.split("\n")
    columns = 0  # pipes in the current table's header line
    for line in lines:
        if line.startswith("|"):
            pipes = len(_unescaped(line, "|"))
            columns = columns or pipes
            assert pipes == columns, line  # no cell of a feed's making
        else:
            columns = 0
        assert _unescaped(line, "`[]") == [], line  # no code span or link
    items = [line for line in lines if line.startswith("- ")]
    table_rows = [line for line in lines if line.startswith("| ORR-")]
    assert any(_planted_escaped(line) for line in items), "no hostile name reached a list item"
    assert any("&lt;img src=x onerror=alert(1)&gt;" in line for line in table_rows + items)
    assert any("\\[open\\](http://evil.example)" in line for line in table_rows + items)


def _planted_escaped(line: str) -> bool:
    return any(s in line for s in ("&lt;", "\\\\x1b", "\\\\u202e", "\\|", "\\`", "\\[", "\\\\x9b"))


# --------------------------------------------------------------------------- item 14: terminal


def test_no_command_prints_a_control_character_hostile_names_carry(hostile_run: HostileRun) -> None:
    rows = _jsonl(hostile_run)
    with_controls = [r for r in rows if terminal_active(json.dumps(r, ensure_ascii=False))]
    assert len(with_controls) >= 3
    children = [r["child_record_ids"][0] for r in with_controls[:3]]
    commands = [
        *(["show", child] for child in children),
        *(["review", "show", child] for child in children),
        ["review", "list", "--below", "1.01"],
        ["report", "--with-names"],
        ["report", "--format", "html", "--with-names"],
        ["discrepancies", "--with-names"],
        ["export", "--format", "jsonl", "--out", "-"],
        ["export", "--format", "csv", "--out", "-"],
        ["runs"],
        ["status"],
    ]
    printed: dict[str, str] = {}
    for args in commands:
        code, out, err = hostile_run.cli(args)
        assert code == 0, err
        if args[:3] == ["export", "--format", "csv"]:
            out = out.replace("\r\n", "\n")  # the CSV's own row ends
        assert terminal_active(out + err) == [], args
        printed[" ".join(args)] = out
    shown = "\n".join(printed.values())
    assert "\\x1b]0;pwned\\x07" in shown and "\\u202eacirémA" in shown and "\\x9b31m" in shown
    assert "\\x1b[2J\\x1b[H" in shown and "ok\\r\\nstatus: eligible" in shown
    assert "<img src=x" not in printed["report --format html --with-names"]


def test_a_failed_runs_error_quoting_a_hostile_host_is_printed_escaped(
    simulator: FeedSimulator, make_settings: Callable[..., Settings], cli: Callable[[dict[str, str]], Cli]
) -> None:
    simulator.set_hostile(["dna_redirect_control_chars"])
    settings = make_settings(simulator)
    run = cli(
        simulator.env() | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_DATABASE_URL": settings.database_url}
    )

    code, out, err = run(["run"])
    assert code == 1 and "redirecting to another origin" in err
    escaped = re.escape("http://evil.example\\x1bc\\x1b(0\\x07:8080")
    assert re.search(escaped, err) and terminal_active(out + err) == []
    for args, exit_code in ((["status"], 0), (["runs"], 0), (["status", "--check"], 2)):
        code, out, err = run(args)
        assert code == exit_code, err
        assert re.search(escaped, out), (args, out)
        assert terminal_active(out + err) == [], args
