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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

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
