"""Pages of one feed through its adapter.

Each adapter's ``fetch(client, since=None)`` yields pages (lists) of raw records exactly as the
feed served them, malformed ones included; :func:`pipeline.feeds.validate.validate_page` then
splits a page into valid records and quarantined ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Protocol, cast

from pipeline.feed_registry import feed as feed_entry
from pipeline.feeds.http import FeedClient
from pipeline.settings import Settings


class FeedAdapter(Protocol):
    """What every adapter module offers: its name, its pages, and how a record of it is shown."""

    NAME: str

    def fetch(self, client: FeedClient, since: datetime | date | None = None) -> Iterator[list[object]]: ...

    def view(self, raw: Mapping[str, object]) -> dict[str, str]: ...


def adapter(name: str) -> FeedAdapter:
    """The adapter module of a registered feed (ValueError for an unknown name)."""
    return cast(FeedAdapter, feed_entry(name).adapter_module())


def fetch_feed(name: str, settings: Settings, since: datetime | date | None = None) -> Iterator[list[object]]:
    """Pages of raw records of one configured feed (``ConfigError`` when it is not configured).

    The client (and its connection pool) lives as long as the iteration and is closed after it.
    """
    source = adapter(name)
    client = FeedClient.from_settings(settings, name)
    return _pages(source, client, since)


def _pages(source: FeedAdapter, client: FeedClient, since: datetime | date | None) -> Iterator[list[object]]:
    with client:
        yield from source.fetch(client, since)
