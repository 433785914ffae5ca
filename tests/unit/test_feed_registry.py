"""The feed registry is the one declaration of the feeds: every entry works end to end (adapter,
parser, record type, view), and what the settings, the run and incremental runs derive from it
agrees with it."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

import pytest

from pipeline import feed_registry as registry
from pipeline.errors import MalformedRecord
from pipeline.feeds.fetch import adapter
from pipeline.feeds.validate import validate_page
from pipeline.records import FeedSnapshot
from pipeline.settings import load_settings
from pipeline.sim.world import generate_world


@pytest.fixture(scope="module")
def raw_by_feed() -> dict[str, list[Any]]:
    payloads = generate_world(40, seed=5).to_payloads()
    removals = list(csv.DictReader(io.StringIO(payloads.removals_csv)))
    return {"orr": payloads.orr, "ice": payloads.ice, "removals": removals, "dna": payloads.dna}


@pytest.mark.parametrize("feed", registry.NAMES)
def test_each_feed_parses_and_shows_a_generated_record(feed: str, raw_by_feed: dict[str, list[Any]]) -> None:
    entry = registry.feed(feed)
    module = adapter(feed)
    assert feed == module.NAME and callable(module.fetch)
    records: list[Any] = []
    valid, _bad = validate_page(feed, raw_by_feed[feed], records)
    assert valid and all(isinstance(r, entry.record_type) for r in records)
    raw = next(r for r in raw_by_feed[feed] if isinstance(r, dict) and _parses(entry, r))
    shown = module.view(raw)
    assert shown and all(isinstance(v, str) for v in shown.values())


def _parses(entry: registry.Feed, raw: dict[str, Any]) -> bool:
    try:
        entry.parser(raw)
    except MalformedRecord:
        return False
    return True


def test_every_snapshot_field_is_filled_by_exactly_one_feed() -> None:
    filled = [f.snapshot_field for f in registry.REGISTRY if f.snapshot_field]
    assert sorted(filled) == sorted(f.name for f in dataclasses.fields(FeedSnapshot))


def test_the_settings_read_each_registered_feeds_url_and_token() -> None:
    env = {
        f"REUNIFY_{name.upper()}_{part}": f"{name}-{part}"
        for name in registry.NAMES
        for part in ("URL", "TOKEN")
    }
    settings = load_settings(environ=env)
    for name in registry.NAMES:
        configured = settings.feed(name)
        assert configured is not None and configured.url == f"{name}-URL"


def test_an_unknown_feed_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: orr, ice, removals, dna"):
        adapter("fbi")
