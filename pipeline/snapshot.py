"""A run's records read back from the store as typed records: what reconciling a run from the
store (``pipeline.run``) and the operators' discrepancy check (``pipeline.ops.discrepancies``)
both read, so neither has to import the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline import jsontext
from pipeline.feed_registry import PARSERS, REGISTRY
from pipeline.records import FeedSnapshot
from pipeline.store.ports import FeedRecordReader

#: each feed's field of ``FeedSnapshot`` (declared in pipeline/feed_registry.py)
FEED_ATTR: dict[str, str] = {f.name: f.snapshot_field for f in REGISTRY if f.snapshot_field}


def read_feed(run_id: str, feed: str, store: FeedRecordReader) -> Iterator[Any]:
    """A run's records of one feed read back from the store and parsed, in record id order."""
    parse = PARSERS[feed]
    return (parse(jsontext.loads(text)) for text in store.iter_feed_payloads(run_id, feed))


def load_snapshot(run_id: str, store: FeedRecordReader) -> FeedSnapshot:
    """Every valid record the run holds, read back from the store as typed records."""
    return FeedSnapshot(**{attr: list(read_feed(run_id, feed, store)) for feed, attr in FEED_ATTR.items()})
