"""A run's records read back from the store as typed records: what reconciling a run from the
store (``pipeline.run``) and the operators' discrepancy check (``pipeline.ops.discrepancies``)
both read, so neither has to import the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline import jsontext
from pipeline.parse import PARSERS
from pipeline.records import FeedSnapshot
from pipeline.settings import FEEDS
from pipeline.store.ports import FeedRecordReader

#: each feed's field of ``FeedSnapshot``
FEED_ATTR = {"orr": "children", "ice": "adults", "removals": "removals", "dna": "dna"}


def read_feed(run_id: str, feed: str, store: FeedRecordReader) -> Iterator[Any]:
    """A run's records of one feed read back from the store and parsed, in record id order."""
    parse = PARSERS[feed]
    return (parse(jsontext.loads(text)) for text in store.iter_feed_payloads(run_id, feed))


def load_snapshot(run_id: str, store: FeedRecordReader) -> FeedSnapshot:
    """Every valid record the run holds, read back from the store as typed records."""
    return FeedSnapshot(**{FEED_ATTR[feed]: list(read_feed(run_id, feed, store)) for feed in FEEDS})
