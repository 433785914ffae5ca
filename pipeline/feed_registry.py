"""The feeds, declared once: one :class:`Feed` entry each, in the order runs fetch and show them.

Everything per feed is derived from :data:`REGISTRY`: the settings' feed keys
(``REUNIFY_{NAME}_URL`` / ``_TOKEN``, which are required), the run's fetch steps (``fetch:NAME``)
and how its records reach the reconciliation, which feeds an incremental run asks for changes only,
the parsers that validate a page, and how an operator's screen shows a record. Adding a feed is one
adapter module (``fetch`` and ``view``, see :class:`pipeline.feeds.fetch.FeedAdapter`) and one entry
here (docs/ARCHITECTURE.md, "Recipe: add a feed").

This module sits below the settings (they read the names here), so it imports no adapter: an
entry names its adapter module, imported when the feed is fetched or shown.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pipeline.parse import parse_adult, parse_child, parse_dna, parse_removal
from pipeline.records import AdultRecord, ChildRecord, DnaResult, RemovalRecord


@dataclass(frozen=True)
class Feed:
    """One agency feed.

    ``adapter``: the module that fetches its pages and shows its records; ``parser``: raw record →
    ``record_type`` (or ``MalformedRecord``: quarantined); ``snapshot_field``: the
    ``FeedSnapshot`` field its records fill for the reconciliation (None: stored and shown only);
    ``incremental``: an incremental run asks it for what changed since the last good run's
    high-water mark (else it is fetched whole); ``required``: a run refuses to start without its
    URL and token.
    """

    name: str
    adapter: str
    parser: Callable[[Any], Any]
    record_type: type
    snapshot_field: str | None
    incremental: bool
    required: bool = True

    def adapter_module(self) -> ModuleType:
        """The feed's adapter module (imported on first use)."""
        return importlib.import_module(self.adapter)


REGISTRY: tuple[Feed, ...] = (
    Feed("orr", "pipeline.feeds.orr", parse_child, ChildRecord, "children", incremental=True),
    Feed("ice", "pipeline.feeds.ice", parse_adult, AdultRecord, "adults", incremental=True),
    # always whole: its `since` filters on REMOVAL_DATE, and a late entry can carry an earlier
    # date, so a filtered fetch could miss it (CONTRACT 3; pipeline/incremental.py)
    Feed("removals", "pipeline.feeds.removals", parse_removal, RemovalRecord, "removals", incremental=False),
    Feed("dna", "pipeline.feeds.dna", parse_dna, DnaResult, "dna", incremental=True, required=False),
)

BY_NAME: Mapping[str, Feed] = {feed.name: feed for feed in REGISTRY}
NAMES: tuple[str, ...] = tuple(BY_NAME)
REQUIRED: tuple[str, ...] = tuple(feed.name for feed in REGISTRY if feed.required)
INCREMENTAL: frozenset[str] = frozenset(feed.name for feed in REGISTRY if feed.incremental)
# raw record -> typed record, per feed (validate_page, reading a run's records back)
PARSERS: dict[str, Callable[[Any], Any]] = {feed.name: feed.parser for feed in REGISTRY}


def feed(name: str) -> Feed:
    """The registry entry of one feed; ValueError naming the known feeds for any other name."""
    found = BY_NAME.get(name)
    if found is None:
        raise ValueError(f"unknown feed {name!r} (known: {', '.join(NAMES)})")
    return found


def shown(value: Any) -> str:
    """A payload value as display text (an adapter's ``view``): None shows as nothing."""
    return "" if value is None else str(value)
