"""Hostile upstream behaviours for the feed simulator, as named, switchable modes.

A real agency feed will sooner or later do by accident what a hostile one does on purpose:
stop paging early, cap the page size, cut a CSV inside a quote, send a record id with a NUL
byte, date a record 9999-12-31, redirect to another origin. Each such behaviour is one
:class:`HostileMode` registered here, so that tests (``FeedSimulator(..., hostile=[...])``), the
simulator's CLI (``--hostile NAME,NAME``) and the hostile-world checks all name the same modes.

Two kinds of mode:

* **data** modes have a ``transform``: a pure function from a world's payloads to hostile
  payloads (records injected or altered), applied whenever the simulator is given payloads;
* **serving** modes have no transform: the simulator's request handler changes how it answers
  while the mode is on (``FeedSimulator.hostile`` holds the names that are on).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pipeline.errors import MalformedRecord
from pipeline.feed_registry import PARSERS
from pipeline.jsontext import MAX_DEPTH
from pipeline.normalise import a_number
from pipeline.records import MAX_RECORD_ID_CHARS
from pipeline.sim.payloads import RawRecord, WorldPayloads

Transform = Callable[[WorldPayloads], WorldPayloads]


@dataclass(frozen=True)
class HostileMode:
    """One hostile behaviour: its name, the feed it concerns, what it does, and for a data mode
    the transform of the payloads."""

    name: str
    feed: str
    description: str
    transform: Transform | None = None

    @property
    def serving(self) -> bool:
        """True when the mode changes how requests are answered rather than what data is served."""
        return self.transform is None


MODES: dict[str, HostileMode] = {}


def register(mode: HostileMode) -> HostileMode:
    """Add a mode to the registry (names are unique)."""
    if mode.name in MODES:
        raise ValueError(f"hostile mode {mode.name!r} is registered twice")
    MODES[mode.name] = mode
    return mode


def check_modes(names: Iterable[str]) -> frozenset[str]:
    """The names as a set; ValueError naming any that is not a registered mode."""
    chosen = frozenset(names)
    unknown = sorted(chosen - MODES.keys())
    if unknown:
        raise ValueError(
            f"unknown hostile mode(s) {', '.join(unknown)} (known: {', '.join(sorted(MODES)) or 'none'})"
        )
    return chosen


def apply_data_modes(payloads: WorldPayloads, names: Iterable[str]) -> WorldPayloads:
    """The payloads after every chosen data mode's transform, in name order (serving modes skip)."""
    for name in sorted(check_modes(names)):
        transform = MODES[name].transform
        if transform is not None:
            payloads = transform(payloads)
    return payloads


# --------------------------------------------------------------------------- the modes
# Each group of modes below is registered with ``register(HostileMode(...))``; serving modes are
# implemented in ``pipeline.sim.server._Handler`` where the request is answered.


# ---- feeds: paging, the removals CSV, sizes and time, redirects ---------------------------------
# (modes of the feed adapters' completeness and limits)
# All serving modes: ``_Handler`` in pipeline/sim/server.py implements them; the knobs they use
# (``ice_page_cap``, ``trickle_bytes``, ``oversized_page_bytes`` ...) are FeedSimulator attributes.

_FEED_MODES: tuple[tuple[str, str, str], ...] = (
    ("ice_empty_page", "ice", "the middle page of the listing comes back empty, every time it is asked"),
    ("ice_empty_page_once", "ice", "the middle page comes back empty the first time only: a retry heals it"),
    (
        "ice_caps_per_page",
        "ice",
        "serves at most ice_page_cap (100) detainees a page and says so in per_page",
    ),
    (
        "ice_caps_per_page_late",
        "ice",
        "serves pages 1 and 2 at the size asked, then caps per_page at ice_page_cap from page 3 on",
    ),
    ("removals_empty_body", "removals", "the CSV comes back as a 200 with an empty body"),
    ("removals_header_only", "removals", "the CSV holds its header row and no rows"),
    ("removals_wrong_header", "removals", "the CSV's header names other columns (lower case)"),
    (
        "removals_unterminated_quote",
        "removals",
        "a quote opens a field in the middle row and is never closed: it swallows the rest of the file",
    ),
    ("trickle", "any", "every body is sent a few bytes at a time (trickle_bytes every trickle_interval s)"),
    ("orr_endless_cursors", "orr", "every children page has a new next_cursor and records, forever"),
    ("dna_endless_links", "dna", "every results page has a new next link and records, forever"),
    (
        "oversized_page",
        "any",
        "JSON pages are padded to oversized_page_bytes and sent chunked, without a Content-Length",
    ),
    (
        "dna_redirect_off_origin",
        "dna",
        "results pages answer 302 to a second server on another port that serves a valid-looking page",
    ),
    ("dna_redirect_same_origin", "dna", "results pages answer 307 to the same page on the same origin"),
    (
        "dna_redirect_loop",
        "dna",
        "results pages redirect on the same origin, each time somewhere new, forever",
    ),
    (
        "dna_redirect_unmatched_bracket",
        "dna",
        "results pages answer 302 with a Location whose host opens a '[' it never closes",
    ),
    ("dna_redirect_bad_port", "dna", "results pages answer 302 with a Location whose port is not a number"),
    ("dna_next_link_malformed", "dna", "the first results page's next link has a host with an unmatched '['"),
)
for _name, _feed, _description in _FEED_MODES:
    register(HostileMode(_name, _feed, _description))


# ---- records: ids, nesting, names ----------------------------------------------------------------
# (modes of single records that must be quarantined or capped)
# Data modes. Each adds altered copies of one well-formed record of each feed it concerns, beside
# the originals and under ids of their own, so a run that sets the copies aside publishes what
# it publishes without the mode; ``record_name_huge`` alters one child and one adult in place.

ID_FIELDS: dict[str, str] = {
    "orr": "childId",
    "ice": "subject_id",
    "removals": "REMOVAL_ID",
    "dna": "case_id",
}
DEEP_LEVELS = 100_000
"""Nesting of the deep records that no recursive JSON decoder reads."""
DECODABLE_LEVELS = MAX_DEPTH + 46
"""Nesting of the deep record that the decoders read but the store does not keep."""
HUGE_NAME_TOKENS = 5_000
"""Tokens of each name ``record_name_huge`` writes."""

Alter = Callable[[dict[str, Any]], "dict[str, Any] | RawRecord"]


def _well_formed(feed: str, records: Iterable[Any]) -> dict[str, Any]:
    """The first record of the feed that parses."""
    for record in records:
        if isinstance(record, dict) and _parses(feed, record):
            return dict(record)
    raise ValueError(f"the world has no well-formed {feed} record to copy")


def _with_copies(payloads: WorldPayloads, alters: dict[str, Alter]) -> WorldPayloads:
    """The payloads with one altered copy of a well-formed record of each feed in ``alters``."""
    out = replace(payloads, orr=list(payloads.orr), ice=list(payloads.ice), dna=list(payloads.dna))
    for feed, alter in alters.items():
        if feed == "removals":
            rows = list(csv.DictReader(io.StringIO(payloads.removals_csv, newline="")))
            altered = alter(_well_formed(feed, rows))
            assert isinstance(altered, dict)
            line = io.StringIO()
            csv.writer(line).writerow([altered[column] for column in rows[0]])
            text = out.removals_csv
            out.removals_csv = text + ("" if text.endswith("\n") else "\r\n") + line.getvalue()
        else:
            records: list[Any] = getattr(out, feed)
            records.append(alter(_well_formed(feed, records)))
    return out


def _field(feed: str, key: str, value: Callable[[str], str], id_suffix: str = "") -> Alter:
    """A copy with ``value(old)`` in ``key`` (and ``id_suffix`` after its id, when given)."""

    def alter(record: dict[str, Any]) -> dict[str, Any]:
        record = dict(record)
        if id_suffix:
            record[ID_FIELDS[feed]] = f"{record[ID_FIELDS[feed]]}{id_suffix}"
        record[key] = value(str(record.get(key) or ""))
        return record

    return alter


def _ids_with(value: Callable[[str], str]) -> Transform:
    return lambda payloads: _with_copies(
        payloads, {feed: _field(feed, key, value) for feed, key in ID_FIELDS.items()}
    )


def _nested(record: dict[str, Any], levels: int, *, closed: bool = True) -> RawRecord:
    """The record with a ``notes`` field nested ``levels`` deep, as text (no encoder writes it)."""
    head = json.dumps(record, ensure_ascii=False)[:-1]
    return RawRecord(f'{head}, "notes": {"[" * levels}{"]" * levels if closed else ""}}}')


def _deep(payloads: WorldPayloads) -> WorldPayloads:
    def decodable(record: dict[str, Any]) -> dict[str, Any]:
        notes: list[Any] = []
        for _ in range(DECODABLE_LEVELS - 2):  # with the record's own object: DECODABLE_LEVELS deep
            notes = [notes]
        return dict(record, childId=f"{record['childId']}-DEEP-300", notes=notes)

    once = _with_copies(payloads, {"orr": decodable})
    return _with_copies(
        once,
        {
            "orr": lambda r: _nested(dict(r, childId=f"{r['childId']}-DEEP"), DEEP_LEVELS),
            "ice": lambda r: _nested(dict(r, subject_id=f"{r['subject_id']}-DEEP"), DEEP_LEVELS),
        },
    )


def _deep_broken(payloads: WorldPayloads) -> WorldPayloads:
    return _with_copies(
        payloads,
        {"orr": lambda r: _nested(dict(r, childId=f"{r['childId']}-DEEP"), DEEP_LEVELS, closed=False)},
    )


def huge_name(tokens: int, start: int = 0) -> str:
    """A name of ``tokens`` distinct tokens of letters (``NAAA NAAB ...``)."""
    return " ".join(
        "N" + "".join(chr(65 + (i // 26**k) % 26) for k in (2, 1, 0)) for i in range(start, start + tokens)
    )


def _huge_names(payloads: WorldPayloads) -> WorldPayloads:
    out = replace(payloads, orr=list(payloads.orr), ice=list(payloads.ice))
    half = HUGE_NAME_TOKENS // 2
    for feed, first, last in (("orr", "firstName", "lastName"), ("ice", "first_name", "last_name")):
        records: list[Any] = getattr(out, feed)
        target = _well_formed(feed, records)
        at = next(i for i, r in enumerate(records) if isinstance(r, dict) and r == target)
        records[at] = dict(target, **{first: huge_name(half), last: huge_name(HUGE_NAME_TOKENS - half, half)})
    return out


_RECORD_MODES: tuple[tuple[str, str, str, Transform], ...] = (
    (
        "record_id_nul",
        "any",
        "one more record of each feed, its id holding a NUL character",
        _ids_with(lambda rid: f"{rid[:4]}\x00{rid[4:]}"),
    ),
    (
        "record_id_too_long",
        "any",
        f"one more record of each feed, its id {MAX_RECORD_ID_CHARS + 1} characters long",
        _ids_with(lambda rid: f"{rid}-".ljust(MAX_RECORD_ID_CHARS + 1, "9")),
    ),
    (
        "record_id_control",
        "any",
        "one more record of each feed, its id holding an ESC sequence and a bidi override",
        _ids_with(lambda rid: f"{rid[:4]}\x1b[2J\u202e{rid[4:]}"),
    ),
    (
        "record_name_nul",
        "any",
        "one more child, detainee and removal row, a NUL character in a name",
        lambda payloads: _with_copies(
            payloads,
            {
                "orr": _field("orr", "firstName", lambda v: f"{v}\x00", "-NUL"),
                "ice": _field("ice", "last_name", lambda v: f"\x00{v}", "-NUL"),
                "removals": _field("removals", "FIRST_NAME", lambda v: f"{v[:2]}\x00{v[2:]}", "-NUL"),
            },
        ),
    ),
    (
        "record_name_surrogate",
        "any",
        "one more child and detainee, a lone surrogate in a name (JSON's \\ud800; a CSV cannot carry one)",
        lambda payloads: _with_copies(
            payloads,
            {
                "orr": _field("orr", "lastName", lambda v: f"{v}\ud800", "-SUR"),
                "ice": _field("ice", "first_name", lambda v: f"\udfff{v}", "-SUR"),
            },
        ),
    ),
    (
        "record_nested_deep",
        "any",
        f"one more child nested {DECODABLE_LEVELS} levels deep (decodable, too deep to keep), "
        f"and one more child and detainee nested {DEEP_LEVELS:,} deep (past every decoder)",
        _deep,
    ),
    (
        "record_nested_deep_broken",
        "orr",
        f"one more child nested {DEEP_LEVELS:,} deep that never closes: its page is not JSON",
        _deep_broken,
    ),
    (
        "record_name_huge",
        "any",
        f"one child's and one detainee's names hold {HUGE_NAME_TOKENS:,} tokens (given and surname halves)",
        _huge_names,
    ),
)
for _name, _feed, _description, _transform in _RECORD_MODES:
    register(HostileMode(_name, _feed, _description, _transform))


# ---- dates: future update times, impossible dates ------------------------------------------------
# (modes of dates that are not evidence)
# Each alters dates of one well-formed record that fits (the first in feed order; the last for
# separation_in_future), and nothing else: a test can serve the same payloads with those fields
# null (unknown) and expect the very same results. The custody and removal modes pick a parent
# whose location the other records still fix, so the family's status is the world's truth with
# the bad date taken as unknown.

FUTURE_STAMP = "9999-12-31T00:00:00Z"
FUTURE_DAY = "9999-12-31"


def _parses(feed: str, raw: object) -> bool:
    try:
        PARSERS[feed](raw)
    except (MalformedRecord, ValueError, TypeError, AttributeError):
        return False
    return True


def _first(
    feed: str, records: list[Any], fits: Callable[[dict[str, Any]], bool], from_end: bool = False
) -> int | None:
    """The index of the first (or last) well-formed record that fits, or None."""
    order = range(len(records) - 1, -1, -1) if from_end else range(len(records))
    for i in order:
        raw = records[i]
        if isinstance(raw, dict) and _parses(feed, raw) and fits(raw):
            return i
    return None


def _altered(records: list[Any], index: int | None, change: Callable[[dict[str, Any]], None]) -> list[Any]:
    if index is None:
        return records
    out = list(records)
    rec = copy.deepcopy(out[index])
    change(rec)
    out[index] = rec
    return out


def _a_number(value: object) -> str | None:
    try:
        return a_number(value)
    except (TypeError, ValueError):
        return None


def _year_moved(iso: str, year: Callable[[int], int]) -> str:
    day = date.fromisoformat(iso[:10])
    try:
        return day.replace(year=year(day.year)).isoformat()
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=year(day.year), day=28).isoformat()


def _claimant(rec: dict[str, Any]) -> bool:
    return bool(rec.get("claimed_children"))


def _future_updated_at(p: WorldPayloads) -> WorldPayloads:
    orr = _altered(p.orr, _first("orr", p.orr, lambda r: True), lambda r: r.update(updatedAt=FUTURE_STAMP))
    ice = _altered(p.ice, _first("ice", p.ice, _claimant), lambda r: r.update(updated_at=FUTURE_STAMP))
    return replace(p, orr=orr, ice=ice)


def _shared_a_numbers(orr: list[Any]) -> set[str]:
    seen: dict[str, int] = {}
    for raw in orr:
        if isinstance(raw, dict) and raw.get("dateOfBirth") and _parses("orr", raw):
            number = _a_number(raw.get("aNumber"))
            if number:
                seen[number] = seen.get(number, 0) + 1
    return {n for n, count in seen.items() if count > 1}


def _dob_after_as_of(p: WorldPayloads) -> WorldPayloads:
    # a re-referred child (another record carries the A-number and a date of birth): a century
    # mis-keyed, born "2112"
    shared = _shared_a_numbers(p.orr)
    index = _first(
        "orr", p.orr, lambda r: bool(r.get("dateOfBirth")) and _a_number(r.get("aNumber")) in shared
    )

    def change(rec: dict[str, Any]) -> None:
        rec["dateOfBirth"] = _year_moved(rec["dateOfBirth"], lambda y: y + 100)

    return replace(p, orr=_altered(p.orr, index, change))


def _dob_before_1900(p: WorldPayloads) -> WorldPayloads:
    # a child with one record, and a claimant adult: born "18xx"
    shared = _shared_a_numbers(p.orr)
    child = _first(
        "orr", p.orr, lambda r: bool(r.get("dateOfBirth")) and _a_number(r.get("aNumber")) not in shared
    )
    adult = _first(
        "ice", p.ice, lambda r: _claimant(r) and bool(r.get("birth_date") and r.get("apprehension_event_id"))
    )

    def child_change(rec: dict[str, Any]) -> None:
        rec["dateOfBirth"] = _year_moved(rec["dateOfBirth"], lambda y: 1800 + y % 100)

    def adult_change(rec: dict[str, Any]) -> None:
        rec["birth_date"] = _year_moved(rec["birth_date"], lambda y: 1800 + y % 100)

    return replace(p, orr=_altered(p.orr, child, child_change), ice=_altered(p.ice, adult, adult_change))


def _removal_rows(text: str) -> tuple[list[str], list[list[str] | None]]:
    """The CSV's lines and each one's cells when it is one well-formed row (else None)."""
    lines = text.split("\r\n")
    cells: list[list[str] | None] = []
    for line in lines:
        rows = list(csv.reader([line])) if line else []
        cells.append(rows[0] if len(rows) == 1 and len(rows[0]) == 8 else None)
    return lines, cells


def _custody_day(rec: dict[str, Any]) -> date | None:
    custody = rec.get("custody") or {}
    try:
        return date.fromisoformat(str(custody.get("as_of")))
    except ValueError:
        return None


def _us_day(text: str) -> date | None:
    try:
        month, day, year = text.split("/")
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _custody_in_future(p: WorldPayloads) -> WorldPayloads:
    # a claimant detained before the removal row of the same A-number: the removal is the latest
    # real event; a custody.as_of of 9999-12-31 would make them "in ICE custody" instead
    _, cells = _removal_rows(p.removals_csv)
    removed: dict[str, date] = {}
    for row in cells[1:]:
        number = _a_number(row[1]) if row else None
        day = _us_day(row[6]) if row else None
        if number and day and day >= removed.get(number, date.min):
            removed[number] = day

    def fits(rec: dict[str, Any]) -> bool:
        day, number = _custody_day(rec), _a_number(rec.get("a_number"))
        status = (rec.get("custody") or {}).get("status")
        return status == "detained" and day is not None and number in removed and day <= removed[number]

    def change(rec: dict[str, Any]) -> None:
        rec["custody"] = {**rec["custody"], "as_of": FUTURE_DAY}

    return replace(p, ice=_altered(p.ice, _first("ice", p.ice, fits), change))


def _removal_in_future(p: WorldPayloads) -> WorldPayloads:
    # the removal row of an adult whose latest ICE record says removed too: REMOVAL_DATE 12/31/9999
    latest: dict[str, tuple[date, str]] = {}
    for raw in p.ice:
        if isinstance(raw, dict) and _parses("ice", raw):
            number, day = _a_number(raw.get("a_number")), _custody_day(raw)
            if number and day and day >= latest.get(number, (date.min, ""))[0]:
                latest[number] = (day, str((raw.get("custody") or {}).get("status")))
    lines, cells = _removal_rows(p.removals_csv)
    for i, row in enumerate(cells):
        if i == 0 or row is None:
            continue
        number = _a_number(row[1])
        if number and latest.get(number, (None, ""))[1] == "removed" and _us_day(row[6]):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow([*row[:6], "12/31/9999", row[7]])
            lines = [*lines[:i], buf.getvalue(), *lines[i + 1 :]]
            return replace(p, removals_csv="\r\n".join(lines))
    return p


def _separation_in_future(p: WorldPayloads) -> WorldPayloads:
    # the last child with one record and no discharge (not the one born in the 1800s), apprehended
    # and admitted "9999-12-31": no day count of the separation may start there
    shared = _shared_a_numbers(p.orr)

    def fits(rec: dict[str, Any]) -> bool:
        app = rec.get("apprehension") or {}
        return (
            _a_number(rec.get("aNumber")) not in shared
            and not rec.get("discharge")
            and bool(rec.get("admittedAt") and app.get("date"))
        )

    def change(rec: dict[str, Any]) -> None:
        rec["admittedAt"] = FUTURE_DAY
        rec["apprehension"] = {**rec["apprehension"], "date": FUTURE_DAY}

    return replace(p, orr=_altered(p.orr, _first("orr", p.orr, fits, from_end=True), change))


register(
    HostileMode(
        "future_updated_at",
        "orr,ice",
        f"one ORR child and one ICE claimant record updated {FUTURE_STAMP}",
        _future_updated_at,
    )
)
register(
    HostileMode(
        "dob_after_as_of",
        "orr",
        "a re-referred child's record born a century late (after any report date)",
        _dob_after_as_of,
    )
)
register(
    HostileMode(
        "dob_before_1900",
        "orr,ice",
        "a one-record child and a claimant adult born in the 1800s",
        _dob_before_1900,
    )
)
register(
    HostileMode(
        "custody_in_future",
        "ice",
        "custody.as_of 9999-12-31 on a detained claimant whose removal row is their latest event",
        _custody_in_future,
    )
)
register(
    HostileMode(
        "removal_in_future",
        "removals",
        "REMOVAL_DATE 12/31/9999 on the row of an adult whose latest ICE record says removed",
        _removal_in_future,
    )
)
register(
    HostileMode(
        "separation_in_future",
        "orr",
        f"the last one-record child without a discharge apprehended and admitted {FUTURE_DAY}",
        _separation_in_future,
    )
)
#: the modes above that plant dates which are not evidence (all but ``future_updated_at``)
IMPOSSIBLE_DATE_MODES: tuple[str, ...] = (
    "dob_after_as_of",
    "dob_before_1900",
    "custody_in_future",
    "removal_in_future",
    "separation_in_future",
)


# ---- gates: shrunk feeds, quarantine floods ------------------------------------------------------
# (modes that the publish gates must stop; a removal list of its header only is the feeds
# section's serving mode ``removals_header_only``)


def _ice_shrunk(payloads: WorldPayloads) -> WorldPayloads:
    # every third detainee entry gone; the simulator's `total` counts what is left, so the feed
    # pages to its end and looks complete: only a comparison with the last good run can tell
    return replace(payloads, ice=[rec for i, rec in enumerate(payloads.ice) if i % 3 != 2])


def _orr_quarantine_flood(payloads: WorldPayloads) -> WorldPayloads:
    # every tenth child entry loses its childId, which the contract says must be quarantined
    def broken(rec: object) -> object:
        return {k: v for k, v in rec.items() if k != "childId"} if isinstance(rec, dict) else rec

    return replace(payloads, orr=[broken(rec) if i % 10 == 9 else rec for i, rec in enumerate(payloads.orr)])


# ---- output: feed text that must not act on the reader of an export, a report or a terminal -----
# (a data mode: the records stay valid, so the planted text reaches every output)

#: Text planted in names, facility names and ports by ``hostile_names``: a spreadsheet formula of
#: each kind, HTML, terminal escape sequences (OSC retitle, clear screen, a C1 CSI), a bidi
#: override, Markdown structure (a table cell, a link, a code span) and line breaks. Each is a
#: few name tokens only, so a name with one stays within the normaliser's token caps.
HOSTILE_TEXTS: tuple[str, ...] = (
    '=HYPERLINK("http://evil.example","open")',
    "<img src=x onerror=alert(1)>",
    "\x1b]0;pwned\x07",
    "\u202eacirémA",
    "+SUM(1,2)",
    "<script>alert(1)</script>",
    "\x1b[2J\x1b[H",
    "| fake | cell |",
    "-2+3+cmd|' /C calc'!A0",
    "[open](http://evil.example)",
    "\x9b31m",
    "@SUM(1+9)",
    "`id`",
    "ok\r\nstatus: eligible",
    "\t=1+2",
)
#: One record in this many (of each feed but DNA) gets hostile text.
HOSTILE_EVERY = 5


def _planted(index: int, value: str) -> str:
    """``value`` with the hostile text of this record in front (the rest of the name kept)."""
    text = HOSTILE_TEXTS[index % len(HOSTILE_TEXTS)]
    return f"{text} {value}" if value else text


def _hostile_json_records(records: list[Any], plant: Callable[[dict[str, Any], int], None]) -> list[Any]:
    out: list[Any] = []
    planted = 0
    for n, record in enumerate(records):
        if isinstance(record, dict) and n % HOSTILE_EVERY == 0:
            record = copy.deepcopy(record)
            plant(record, planted)
            planted += 1
        out.append(record)
    return out


def _plant_child(record: dict[str, Any], k: int) -> None:
    if isinstance(record.get("firstName"), str):
        record["firstName"] = _planted(k, record["firstName"])
    if isinstance(record.get("facilityName"), str):
        record["facilityName"] = _planted(k + 1, record["facilityName"])
    parent = record.get("reportedParent")
    if isinstance(parent, dict) and isinstance(parent.get("name"), str):
        parent["name"] = _planted(k + 2, parent["name"])


def _plant_adult(record: dict[str, Any], k: int) -> None:
    if isinstance(record.get("first_name"), str):
        record["first_name"] = _planted(k + 3, record["first_name"])
    custody = record.get("custody")
    if isinstance(custody, dict) and isinstance(custody.get("facility_name"), str):
        custody["facility_name"] = _planted(k + 4, custody["facility_name"])
    for claim in record.get("claimed_children") or []:
        if isinstance(claim, dict) and isinstance(claim.get("name"), str):
            claim["name"] = _planted(k + 5, claim["name"])


def _hostile_removals(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return text
    header, body = rows[0], rows[1:]
    first, port = header.index("FIRST_NAME"), header.index("PORT")
    planted = 0
    for n, row in enumerate(body):
        if len(row) == len(header) and n % HOSTILE_EVERY == 0:
            row[first] = _planted(planted + 6, row[first])
            row[port] = _planted(planted + 7, row[port])
            planted += 1
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    return out.getvalue()


def _hostile_names(payloads: WorldPayloads) -> WorldPayloads:
    return replace(
        payloads,
        orr=_hostile_json_records(payloads.orr, _plant_child),
        ice=_hostile_json_records(payloads.ice, _plant_adult),
        removals_csv=_hostile_removals(payloads.removals_csv),
    )


register(
    HostileMode(
        "ice_shrunk",
        "ice",
        "a third of the ICE detainee entries are gone, with a total that agrees (the feed looks whole)",
        _ice_shrunk,
    )
)
register(
    HostileMode(
        "orr_quarantine_flood",
        "orr",
        "one ORR child entry in ten comes without its childId (quarantined)",
        _orr_quarantine_flood,
    )
)
register(
    HostileMode(
        "hostile_names",
        "any",
        "one record in five carries a formula, HTML, a terminal escape sequence, a bidi override "
        "or Markdown in a name, a facility name or a port (HOSTILE_TEXTS); the records stay valid",
        _hostile_names,
    )
)

#: Where ``dna_redirect_control_chars`` redirects: another origin whose host name carries ESC c
#: (a terminal's full reset), ESC ( 0 (line-drawing characters from then on) and BEL.
CONTROL_CHARS_LOCATION = "http://evil.example\x1bc\x1b(0\x07:8080/v1/results"
#: Where ``dna_redirect_unmatched_bracket`` and ``dna_redirect_bad_port`` redirect: no URL parser
#: reads a host or port out of them.
MALFORMED_LOCATIONS = {
    "dna_redirect_unmatched_bracket": "http://[evil.example/v1/results?sig=decoy-signature-value",
    "dna_redirect_bad_port": "http://evil.example:http/v1/results?sig=decoy-signature-value",
}
register(
    HostileMode(
        "dna_redirect_control_chars",
        "dna",
        "results pages answer 302 to another origin whose host name holds terminal control "
        "characters: the run fails, and its recorded error quotes the host",
    )
)
