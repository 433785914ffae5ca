"""Feed adapters: one module per agency over a shared :class:`FeedClient`.

Each adapter's ``fetch(client, since=None)`` yields pages (lists) of raw records exactly as the
feed served them, malformed ones included; :func:`pipeline.feeds.validate.validate_page` then
splits a page into valid records and quarantined ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Protocol

from pipeline.feeds import dna, ice, orr, removals
from pipeline.feeds.http import FeedClient
from pipeline.settings import Settings


class FeedAdapter(Protocol):
    """What every adapter module offers."""

    NAME: str

    def fetch(self, client: FeedClient, since: datetime | date | None = None) -> Iterator[list[object]]: ...


FEEDS: dict[str, FeedAdapter] = {"orr": orr, "ice": ice, "removals": removals, "dna": dna}


def fetch_feed(name: str, settings: Settings, since: datetime | date | None = None) -> Iterator[list[object]]:
    """Pages of raw records of one configured feed (``ConfigError`` when it is not configured).

    The client (and its connection pool) lives as long as the iteration and is closed after it.
    """
    adapter = FEEDS.get(name)
    if adapter is None:
        raise ValueError(f"unknown feed {name!r} (known: {', '.join(FEEDS)})")
    client = FeedClient.from_settings(settings, name)
    return _pages(adapter, client, since)


def _pages(adapter: FeedAdapter, client: FeedClient, since: datetime | date | None) -> Iterator[list[object]]:
    with client:
        yield from adapter.fetch(client, since)


__all__ = ["FEEDS", "FeedAdapter", "FeedClient", "fetch_feed"]
