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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.sim.payloads import WorldPayloads

Transform = Callable[["WorldPayloads"], "WorldPayloads"]


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
)
for _name, _feed, _description in _FEED_MODES:
    register(HostileMode(_name, _feed, _description))


# ---- records: ids, nesting, names ----------------------------------------------------------------
# (modes of single records that must be quarantined or capped)


# ---- dates: future update times, impossible dates ------------------------------------------------
# (modes of dates that are not evidence)


# ---- gates: shrunk feeds, quarantine floods ------------------------------------------------------
# (modes that the publish gates must stop)


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
register(
    HostileMode(
        "dna_redirect_control_chars",
        "dna",
        "results pages answer 302 to another origin whose host name holds terminal control "
        "characters: the run fails, and its recorded error quotes the host",
    )
)
